"""Receive studies by DICOM C-STORE (pynetdicom), for archives without DICOMweb.

A Storage SCP (PS3.4 Annex B) accepts every storage SOP class and writes each instance as it
arrives to ``incoming/<study>/<instance>.dcm`` in the service's data folder; file names come
from the Study and SOP Instance UIDs only through :func:`heartprint.outputs.uid_file_part` (a
crafted UID becomes a hash, never a path). A study counts as complete once no instance has
arrived for ``stable_s`` seconds (what Orthanc calls ``StableAge``; the folder's modification
time, so the wait survives a restart). :meth:`StoreReceiver.flush` then moves the study's folder
into a new job's folder in one rename, packs it as the job's ``input.zip`` and queues the job
(source ``cstore``); a study moved but not yet queued when the process died is queued by the
next flush. Results stay in the service (read them through the API): such an archive has no
STOW-RS to take SEG and SR back.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from heartprint.service._jobs import JobQueue
from heartprint.service._settings import Settings

__all__ = ["StoreReceiver"]

_RECEIVED = "received"


class StoreReceiver:
    """A C-STORE SCP on ``host:port`` feeding ``settings``' queue."""

    def __init__(self, settings: Settings, engine: Engine, *, host: str = "127.0.0.1", port: int = 11112,
                 ae_title: str = "HEARTPRINT", stable_s: float = 60.0) -> None:
        self.settings, self.host, self.port, self.ae_title, self.stable_s = settings, host, port, ae_title, stable_s
        self.queue = JobQueue(engine, max_attempts=settings.max_attempts)
        self.incoming = settings.data_dir / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self._server: Any = None
        self._lock = threading.Lock()  # no flush while an instance of the same study is being written

    def start(self) -> None:
        """Start listening (a background thread of pynetdicom)."""
        from pynetdicom import AE, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification

        ae = AE(ae_title=self.ae_title)
        ae.supported_contexts = AllStoragePresentationContexts
        ae.add_supported_context(Verification)
        self._server = ae.start_server((self.host, self.port), block=False,
                                       evt_handlers=[(evt.EVT_C_STORE, self._on_store)])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _on_store(self, event: Any) -> int:
        """Write one received instance; DICOM status 0x0000 (success) or 0xA700/0xC000 (PS3.4 B.2.3)."""
        from heartprint._atomic import atomic_write
        from heartprint.outputs import inside, uid_file_part

        try:
            ds = event.dataset
            study = uid_file_part(str(getattr(ds, "StudyInstanceUID", "") or ""))
            sop = uid_file_part(str(event.request.AffectedSOPInstanceUID or ""))
            data = event.encoded_dataset()
            with self._lock:
                folder = inside(self.incoming, self.incoming / study)
                folder.mkdir(exist_ok=True)
                atomic_write(inside(self.incoming, folder / f"{sop}.dcm"), data, fsync=False)
                os.utime(folder)  # the study's last arrival
        except OSError:
            return 0xA700  # out of resources
        except Exception:  # noqa: BLE001 - a dataset that cannot be read: refused, the association goes on
            return 0xC000
        return 0x0000

    def flush(self, engine: Engine | None = None) -> list[str]:
        """Queue every study that has been still for ``stable_s``; returns the new job ids."""
        queued = []
        now = time.time()
        with self._lock:
            for folder in sorted(self.incoming.iterdir()):
                if folder.is_dir() and now - folder.stat().st_mtime >= self.stable_s:
                    received = self.settings.jobs_dir / uuid.uuid4().hex / _RECEIVED
                    received.mkdir(parents=True)
                    os.rename(folder, received / folder.name)
        for received in sorted(self.settings.jobs_dir.glob(f"*/{_RECEIVED}")):
            queued.append(self._queue(received))
        return queued

    def _queue(self, received: Path) -> str:
        """Pack ``jobs/<id>/received/<study>/`` as the job's input and queue it (once)."""
        job_dir = received.parent
        files = sorted(received.glob("*/*.dcm"))
        study = files[0].parent.name if files else ""
        tmp = job_dir / ".input.zip.part"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
        os.replace(tmp, job_dir / "input.zip")
        if self.queue.get(job_dir.name) is None:
            self.queue.submit(source="cstore", source_ref=study, submitted_by="cstore", job_id=job_dir.name,
                              parameters={"instances": len(files)})
        shutil.rmtree(received)
        return job_dir.name
