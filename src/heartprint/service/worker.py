"""The worker process: ``python -m heartprint.service.worker --registry URL --data DIR``.

Claims jobs from the queue (:class:`heartprint.service._jobs.JobQueue`), renews the lease from
a heartbeat thread every third of the lease while it works, runs each job
(:func:`heartprint.service._run.run_job`) and marks it done, or failed with the reason (retried
while attempts remain; an input that is not a readable study is not retried). Several workers
may share one database; a worker killed mid-study (even ``SIGKILL``) stops renewing its lease,
and the job goes to the next worker once the lease has run out. ``SIGTERM``/``SIGINT`` finish
the current job and then stop.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heartprint.service._settings import Settings

if TYPE_CHECKING:
    from heartprint.service._jobs import Job

__all__ = ["Worker", "main"]

#: Tests only: ``module:function`` called as ``hook(job, input_path)`` before each analysis.
HOOK_ENV = "HEARTPRINT_SERVICE_TEST_HOOK"


class Worker:
    """A worker on ``settings``' database; :meth:`run_once` does at most one job."""

    def __init__(self, settings: Settings, *, name: str | None = None, fetch: Any = None, after: Any = None,
                 watch: Any = None) -> None:
        from heartprint.service._db import open_engine
        from heartprint.service._jobs import JobQueue
        from heartprint.store import Registry

        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.engine = open_engine(settings.registry)
        self.queue = JobQueue(self.engine, max_attempts=settings.max_attempts)
        self.registry = Registry(settings.registry)
        #: ``fetch(job, path)``: bring an archive study's input; ``after(job, result)``: e.g. store SEG/SR back;
        #: ``watch(engine)``: queue new archive studies (called before each claim)
        self.fetch, self.after, self.watch = fetch, after, watch
        self.stopping = threading.Event()

    def close(self) -> None:
        self.registry.close()
        self.engine.dispose()

    def _heartbeat(self, job: Job, done: threading.Event, lost: threading.Event) -> None:
        while not done.wait(self.settings.lease_s / 3):
            if not self.queue.heartbeat(job, self.settings.lease_s):
                lost.set()
                return

    def run_once(self) -> Job | None:
        """Claim and run one job; returns the job as claimed (``None``: the queue was empty)."""
        from heartprint.errors import InvalidInputError
        from heartprint.outputs import one_line
        from heartprint.service._run import run_job

        if self.watch is not None:
            try:
                self.watch(self.engine)
            except Exception as exc:  # noqa: BLE001 - an unreachable archive never stops the queued work
                print(f"heartprint worker {self.name}: archive not polled: {exc}", file=sys.stderr, flush=True)
        job = self.queue.claim(self.name, self.settings.lease_s)
        if job is None:
            return None
        done, lost = threading.Event(), threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, done, lost), daemon=True)
        beat.start()
        try:
            result = run_job(job, self.settings, self.registry, fetch=self.fetch)
            if self.after is not None:
                self.after(job, result)
        except (KeyboardInterrupt, SystemExit):
            raise
        except InvalidInputError as exc:  # the input is not a study: retrying cannot help
            self.queue.fail(job, one_line(exc), retry=False)
        except BaseException as exc:  # noqa: BLE001 - one job's failure never stops the worker
            self.queue.fail(job, one_line(exc))
        else:
            self.queue.finish(job, result)  # False: the lease was lost; the new holder records it
        finally:
            done.set()
            beat.join()
        return job

    def run(self, *, poll_s: float = 1.0, drain: bool = False) -> None:
        """Work until stopped (``drain``: until the queue is empty)."""
        while not self.stopping.is_set():
            if self.run_once() is None:
                if drain:
                    return
                self.stopping.wait(poll_s)


def _hook_from_env() -> Any:
    spec = os.environ.get(HOOK_ENV)
    if not spec:
        return None
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", required=True, metavar="URL", help="registry database (SQLite path or URL, "
                   "postgresql://…) holding the job queue")
    p.add_argument("--data", required=True, metavar="DIR", help="the service's data folder (uploads and results)")
    p.add_argument("--lease", type=float, default=60.0, metavar="S", help="lease on a job, seconds (default 60)")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N", help="tries per job (default 3)")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="wait between polls of an empty queue")
    p.add_argument("--drain", action="store_true", help="stop when the queue is empty")
    p.add_argument("--no-report", action="store_true", help="write no report.html/pdf")
    p.add_argument("--no-tta", action="store_true", help="no test-time augmentation (faster)")
    p.add_argument("--orthanc", metavar="URL", help="an Orthanc server: studies queued from it are fetched "
                   "from it, and their SEG and SR stored back by STOW-RS")
    p.add_argument("--store-scp", metavar="[HOST:]PORT", help="also receive studies by DICOM C-STORE on HOST:PORT "
                   "(default host 127.0.0.1), for archives without DICOMweb")
    p.add_argument("--ae-title", default="HEARTPRINT", help="AE title of the C-STORE receiver")
    p.add_argument("--stable-age", type=float, default=60.0, metavar="S",
                   help="a received study is complete after S seconds without a new instance (default 60)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(registry=args.registry, data_dir=Path(args.data), lease_s=args.lease,
                    max_attempts=args.max_attempts, report=not args.no_report, tta=not args.no_tta,
                    analysis_hook=_hook_from_env())


def run_worker(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    fetch = after = None
    watches = []
    if getattr(args, "orthanc", None):
        from heartprint.service._orthanc import Orthanc

        orthanc = Orthanc(args.orthanc)
        fetch, after = orthanc.fetch_input, orthanc.store_results(settings)
        watches.append(lambda engine: orthanc.poll_changes(engine, max_attempts=settings.max_attempts))
    worker = Worker(settings, fetch=fetch, after=after)
    receiver = None
    if getattr(args, "store_scp", None):
        from heartprint.service._scp import StoreReceiver

        host, _, port = args.store_scp.rpartition(":")
        receiver = StoreReceiver(settings, worker.engine, host=host or "127.0.0.1", port=int(port),
                                 ae_title=args.ae_title, stable_s=args.stable_age)
        receiver.start()
        watches.append(receiver.flush)
    if watches:
        def watch(engine: Any) -> None:
            for w in watches:
                w(engine)

        worker.watch = watch

    def stop(signum: int, _frame: Any) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"heartprint worker {worker.name}: polling {worker.registry!r}", file=sys.stderr, flush=True)
    try:
        worker.run(poll_s=args.poll, drain=args.drain)
    finally:
        if receiver is not None:
            receiver.stop()
        worker.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m heartprint.service.worker", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run_worker(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
