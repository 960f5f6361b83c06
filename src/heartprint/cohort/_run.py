"""The driver of a cohort run: a Dask cluster, the studies' keys, what is left to do, batches of
finished studies committed as table parts and recorded in the registry, the merged tables and
the summary report.

Resuming. A study is done when its rows are in a committed part (:mod:`._tables`); the driver
commits a part every ``batch_size`` studies or ``batch_seconds`` seconds, whichever comes first.
A run killed at any point (the driver, a worker, the machine) loses at most the studies finished
since the last commit, and their output folders are rewritten, atomically, when they are
redone; nothing is counted twice because the merge keeps one part's rows per study.

Registry. Only the driver writes to the registry, once per committed part: each study of the part
as one run (its ``measurements.json`` as :meth:`heartprint.store.Registry.record_study_result`
reads it, or :meth:`~heartprint.store.Registry.record_failure`), with the study's key in the
run's parameters (``{"cohort": {"key": …}}``). Which parts are recorded is kept in
``OUT/.cohort/registry/``; after a kill between the two, the next run records the rest and
skips keys the registry already holds, so a study is recorded once. Workers never open the
database, so many workers are safe on SQLite too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from heartprint._atomic import atomic_write
from heartprint.cohort._source import CohortItem, discover, key_salt
from heartprint.cohort._tables import TABLES, done_id, done_keys, merge_parts, write_part
from heartprint.cohort._task import ModelPlugin, analyse_item, failure_rows, item_key
from heartprint.errors import InvalidInputError

__all__ = ["CohortRun", "default_workers", "run_cohort"]


def default_workers() -> int:
    """Worker processes of the default local cluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class CohortRun:
    """What :func:`run_cohort` did (counts are studies of this run; ``skipped``: done before)."""

    out: Path
    n_studies: int
    n_skipped: int
    n_done: int = 0
    n_failed: int = 0
    n_retry: int = 0
    seconds: float = 0.0
    workers: int = 0
    memory_limit: str = ""
    dashboard: str | None = None
    tables: dict[str, Path] = field(default_factory=dict)
    summary: Path | None = None
    parts: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def studies_per_hour(self) -> float:
        return 3600.0 * self.n_done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "studies": self.n_studies, "skipped": self.n_skipped, "done": self.n_done,
                "failed": self.n_failed, "retry": self.n_retry, "seconds": round(self.seconds, 3),
                "studies_per_hour": round(self.studies_per_hour, 1), "workers": self.workers,
                "memory_limit": self.memory_limit, "dashboard": self.dashboard, "parts": self.parts,
                "tables": {k: str(v) for k, v in self.tables.items()},
                "summary": str(self.summary) if self.summary else None, "notes": self.notes}


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _client(workers: int | None, scheduler: str | None, memory_limit: str | None,
            dashboard: str | None):  # noqa: ANN202
    """(client, cluster or None, workers, memory limit text)."""
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        ws = list(client.scheduler_info(n_workers=-1).get("workers", {}).values())
        limits = sorted({_gib(w.get("memory_limit") or 0) for w in ws})
        return client, None, sum(int(w.get("nthreads", 1)) for w in ws), (", ".join(limits) or "set by the cluster")
    import psutil

    n = workers or default_workers()
    limit = memory_limit or "auto"
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=limit,
                           dashboard_address=dashboard, host="127.0.0.1")
    per = next(iter(cluster.scheduler_info["workers"].values()), {}).get("memory_limit") or \
        psutil.virtual_memory().total / n
    return Client(cluster), cluster, n, f"{_gib(per)} per worker"


def _dashboard(client: Any, local: bool, address: str | None) -> str | None:
    """The dashboard's address when the scheduler serves one, else ``None``. A local cluster
    serves it when asked for (``address``) and bokeh is installed; a remote scheduler decides."""
    if local:
        import importlib.util

        if address is None or importlib.util.find_spec("bokeh") is None:
            return None
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # noqa: BLE001
        return None
    return client.dashboard_link if "dashboard" in services else None


def _lock(state: Path) -> int:
    """Hold ``state/lock`` (``fcntl.flock``, released by the kernel when this process ends, however
    it ends) so that two drivers never run into one output folder at once."""
    import fcntl

    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InvalidInputError(f"output folder {state.parent}: another cohort run is writing into it") from None
    return fd


class _Registry:
    """The driver's registry writer (module docstring)."""

    def __init__(self, url: str, state: Path, out: Path, source: str) -> None:
        from heartprint.store import Registry

        self.reg = Registry(url)
        self.ledger = state / "registry"
        self.ledger.mkdir(parents=True, exist_ok=True)
        self.out, self.source = out, source
        self.notes: list[str] = []

    def recorded(self) -> set[str]:
        keys: set[str] = set()
        for p in sorted(self.ledger.glob("*.json")):
            keys.update(json.loads(p.read_text()))
        return keys

    def record(self, name: str, studies: Sequence[Mapping[str, Any]], *, check: bool = False) -> None:
        """Record the studies (``studies`` table rows) of one part, then note the part as recorded.
        ``check``: skip keys the registry already holds (after a kill between the two steps)."""
        from heartprint.outputs import one_line

        held: set[str] = set()
        if check:
            held = {done_id(str(c.get("item")), str(c.get("key")))
                    for c in ((r.parameters or {}).get("cohort") or {} for r in self.reg.runs())}
        keys = []
        for row in studies:
            if row.get("retry"):
                continue
            key = str(row["key"])
            ident = done_id(str(row["item_id"]), key)
            keys.append(ident)
            if ident in held:
                continue
            params = {"cohort": {"key": key, "item": row["item_id"], "source": self.source}}
            try:
                folder = row.get("folder")
                if folder and not row.get("error"):
                    doc = json.loads((self.out / folder / "measurements.json").read_text())
                    self.reg.record_study_result(doc, parameters=params)
                else:
                    self.reg.record_failure(str(row.get("path") or ""), str(row.get("error") or "failed"),
                                            study_uids=[row["study_uid"]] if row.get("study_uid") else [],
                                            patient_id=row.get("patient") or None, parameters=params)
            except Exception as exc:  # noqa: BLE001 - the registry refusing one study never stops the run
                self.notes.append(f"registry: {row['item_id']} not recorded: {one_line(exc)}")
        atomic_write(self.ledger / f"{name}.json", json.dumps(sorted(set(keys))))

    def close(self) -> None:
        self.reg.close()


class _Progress:
    """Studies done/failed and throughput on a tqdm bar (stderr), or nothing."""

    def __init__(self, total: int, on: bool) -> None:
        self.bar = None
        self.t0 = time.perf_counter()
        self.done = self.failed = 0
        if on:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="study", file=sys.stderr, dynamic_ncols=True)

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        if self.bar is not None:
            rate = 3600.0 * self.done / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix_str(f"failed {self.failed}, {rate:,.0f} studies/h", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_cohort(source: str | os.PathLike, out: str | os.PathLike, *, workers: int | None = None,
               scheduler: str | None = None, registry: str | None = None, report: bool = True,
               options: Mapping[str, Any] | None = None, batch_size: int | None = None,
               batch_seconds: float = 30.0, progress: bool = False, memory_limit: str | None = None,
               dashboard: str | None = ":8787", client: Any = None,
               analyse: Callable[..., Any] | None = None, echo: Callable[[str], None] | None = None,
               max_study_bytes: int | None = None) -> CohortRun:
    """Analyse every study of ``source`` into ``out`` on Dask; resumable (module docstring).

    Parameters
    ----------
    source
        A folder of studies, a CSV/Parquet manifest or an Orthanc query
        (``orthanc+http://HOST:PORT/?StudyDate=…``; :func:`heartprint.cohort.discover`).
    out
        Output folder: ``studies/<item>/<study folder>/`` (as ``heartprint analyze`` writes
        them), ``tables/*.parquet``, ``cohort_summary.html`` and the run's state ``.cohort/``.
        With an external scheduler it must be a folder every worker can write.
    workers
        Worker processes of the local cluster (default: the usable cores), one thread each.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); then no local cluster.
    registry
        Registry URL or SQLite path; studies are recorded in batches by this process only.
    report
        Write each study's report (``report.html``/``.pdf``) — part of the key.
    options
        :class:`~heartprint.pipeline.AnalysisOptions` keywords for every study (part of the key).
    batch_size, batch_seconds
        Commit a part when this many studies finished (default: 4 per worker, at most 50) or
        this many seconds passed since the last commit.
    memory_limit
        Per local worker (Dask's form: ``"4GiB"``; default ``"auto"``: the machine's memory
        divided by the workers); a worker above it is restarted and its study retried.
    dashboard
        Address of the local cluster's dashboard (``None``: none); it is served only when
        bokeh is installed, and its address is then printed.
    client
        A ``distributed.Client`` to use instead (tests, notebooks); not closed here.
    analyse
        Replaces :func:`heartprint.pipeline.analyze` (tests of the orchestration only).
    echo
        Receives the lines a user should see (cluster, dashboard, counts).
    max_study_bytes
        Largest study fetched from an archive (default
        :data:`heartprint.cohort._archive.MAX_STUDY_BYTES`); a larger one fails (``fetch``).
    """
    from distributed import as_completed

    from heartprint.cohort._summary import write_summary
    from heartprint.outputs import check_output_root, one_line

    say = echo or (lambda line: None)
    t_start = time.perf_counter()
    out_root = check_output_root(out)
    state = out_root / ".cohort"
    parts_dir = state / "parts"
    check_output_root(parts_dir)
    lock = _lock(state)
    import shutil

    shutil.rmtree(state / "staging", ignore_errors=True)  # archive studies a killed run left staged
    reg = None
    own_client = client is None
    cluster = None
    try:
        items = discover(source)
        opts = dict(options or {})
        if opts.get("model_path") is not None:
            opts["model_path"] = str(opts["model_path"])
        salt = key_salt({**opts, "report": bool(report)})
        run = CohortRun(out=out_root, n_studies=len(items), n_skipped=0)
        reg = _Registry(registry, state, out_root, str(source)) if registry else None
        if own_client:
            client, cluster, run.workers, run.memory_limit = _client(workers, scheduler, memory_limit, dashboard)
        else:
            run.workers = sum(int(w.get("nthreads", 1))
                              for w in client.scheduler_info(n_workers=-1).get("workers", {}).values())
            run.memory_limit = "set by the caller's cluster"
        run.dashboard = _dashboard(client, cluster is not None, dashboard)
        if run.dashboard:
            board = f"; dashboard {run.dashboard}"
        elif cluster is not None and dashboard is not None:
            board = "; no dashboard (it needs bokeh, not installed)"
        else:
            board = ""
        say(f"cluster: {run.workers} worker thread(s), memory limit {run.memory_limit}{board}")
        client.register_plugin(ModelPlugin(opts.get("model_path")), name=ModelPlugin.name)
        stamp = f"{time.time_ns()}"
        key_futures = client.map(item_key, items, salt=salt, pure=False,
                                 key=[f"heartprint-key-{stamp}-{i}" for i in range(len(items))])
        keys = client.gather(key_futures)
        del key_futures
        done = done_keys(parts_dir)
        if reg is not None:  # parts committed but not recorded (a kill between the two steps)
            missing = done - reg.recorded()
            if missing:
                from heartprint.cohort._tables import read_parts

                studies = read_parts(parts_dir, "studies")
                ids = studies["item_id"].astype(str) + "/" + studies["key"].astype(str)
                rows = studies[ids.isin(missing)].drop(columns=["_part"]).to_dict("records")
                reg.record(f"catch-up-{stamp}", rows, check=True)
        pending = [(it, k) for it, k in zip(items, keys) if done_id(it.item_id, k) not in done]
        run.n_skipped = len(items) - len(pending)
        say(f"{len(items)} studies: {run.n_skipped} done before, {len(pending)} to analyse")
        bsize = batch_size or max(1, min(50, 4 * max(run.workers, 1)))
        window = max(4, 2 * max(run.workers, 1))
        bar = _Progress(len(pending), progress)
        buffer: list[dict[str, list[dict[str, Any]]]] = []
        last = time.perf_counter()

        def commit() -> None:
            nonlocal last
            if not buffer:
                return
            merged: dict[str, list[dict[str, Any]]] = {}
            for rows in buffer:
                for table, r in rows.items():
                    merged.setdefault(table, []).extend(r)
            part = write_part(parts_dir, merged)
            run.parts += 1
            if reg is not None:
                reg.record(part.name, merged.get("studies", []))
            buffer.clear()
            last = time.perf_counter()

        t_work = time.perf_counter()
        queue = deque(pending)
        by_future: dict[Any, tuple[CohortItem, str]] = {}
        ac = as_completed()

        def submit() -> None:
            item, key = queue.popleft()
            f = client.submit(analyse_item, item, key, str(out_root), opts, report=report, analyse=analyse,
                              max_study_bytes=max_study_bytes, pure=False,
                              key=f"heartprint-study-{stamp}-{item.item_id}")
            by_future[f] = (item, key)
            ac.add(f)

        for _ in range(min(window, len(queue))):
            submit()
        for fut in ac:
            item, key = by_future.pop(fut)
            try:
                rows = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker (KilledWorker) or a task error
                rows = failure_rows(item, key, "worker", one_line(exc), retry=True)
                rows["timings"] = []
            fut.release()
            study_rows = rows.get("studies", [])
            retry = any(r.get("retry") for r in study_rows)
            failed = retry or any(r.get("status") == "failed" for r in study_rows)
            run.n_done += 1
            run.n_failed += int(failed)
            run.n_retry += int(retry)
            bar.update(failed)
            buffer.append(rows)
            if len(buffer) >= bsize or time.perf_counter() - last >= batch_seconds:
                commit()
            if queue:
                submit()
        commit()
        bar.close()
        run.seconds = time.perf_counter() - t_work
        ids = [done_id(it.item_id, k) for it, k in zip(items, keys)]
        run.tables = {t: out_root / "tables" / f"{t}.parquet" for t in TABLES}
        run.summary = out_root / "cohort_summary.html"
        stamp_file = state / "merged.json"
        merged_from = json.dumps({"parts": sorted(p.name for p in parts_dir.iterdir()), "ids": ids,
                                  "paths": [it.path for it in items]})
        current = (stamp_file.is_file() and stamp_file.read_text() == merged_from and run.summary.is_file()
                   and all(p.is_file() for p in run.tables.values()))
        if not current:  # tables and summary as of these parts and this source (else already so)
            stamp_file.unlink(missing_ok=True)
            merged = merge_parts(parts_dir, out_root / "tables", ids, {it.item_id: it.path for it in items})
            write_summary(merged, run.summary)
            atomic_write(stamp_file, merged_from)
        if reg is not None:
            run.notes.extend(reg.notes)
    finally:
        os.close(lock)
        if reg is not None:
            reg.close()
        if own_client and client is not None:
            client.close()
            if cluster is not None:
                cluster.close()
    say(f"analysed {run.n_done} studies ({run.n_failed} failed) in {run.seconds:.1f} s "
        f"({run.studies_per_hour:,.0f} studies/h); total {time.perf_counter() - t_start:.1f} s")
    return run

