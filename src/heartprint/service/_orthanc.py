"""Orthanc in and out: watch the archive for stable studies, fetch each, and store heartprint's
DICOM SEG and SR back beside the images.

In. Orthanc numbers every change it makes (``GET /changes?since=N&limit=M`` answers
``{"Changes": [...], "Last": N, "Done": bool}``, Orthanc REST API, book chapter "Changes").
:meth:`Orthanc.poll_changes` reads the changes after the last one seen, queues a job for each
``StableStudy`` (a study that has received no new instance for ``StableAge`` seconds) and stores
the new last-seen number in the same transaction as the jobs (table ``service_state``), so a
watcher restarted at any point resumes where it stopped, and neither skips a study nor queues it
twice. A study is queued when first reported stable, and again when it holds more source images
than when last queued (new images came in): the SEG and SR stored back make the study change and
Orthanc reports it stable again, but they are not source images (:func:`heartprint_output`), so
that report queues nothing.

The worker fetches a queued study as the archive Orthanc builds of it (``GET
/studies/{id}/archive``, a zip of its DICOM files, read in place by heartprint's zip reader) and,
after the writer has made its results, stores ``dicom/seg_*.dcm`` and ``dicom/sr_*.dcm`` back by
DICOMweb STOW-RS (``POST {root}/studies``, PS3.18 §10.5) with ``dicomweb-client``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from heartprint.service._db import jobs, state, utcnow, writer

__all__ = ["LAST_CHANGE_KEY", "Orthanc"]

#: ``service_state`` key holding the last Orthanc change seen.
LAST_CHANGE_KEY = "orthanc.last_change"


def heartprint_output(tags: dict[str, Any]) -> bool:
    """Whether a series (its Orthanc main DICOM tags) is one heartprint wrote back: a SEG or SR whose
    Manufacturer is ``heartprint`` and whose Series Description starts with ``heartprint`` (``heartprint
    SEG``, ``heartprint measurements: …``; :mod:`heartprint.io.seg`, :mod:`heartprint.io.sr`). Images
    are never outputs, whoever made them (heartprint's own phantoms say Manufacturer ``heartprint``)."""
    return (tags.get("Modality") in ("SEG", "SR") and tags.get("Manufacturer") == "heartprint"
            and str(tags.get("SeriesDescription", "")).startswith("heartprint"))


class Orthanc:
    """An Orthanc server at ``url`` (REST root; DICOMweb at ``url + dicomweb_root``)."""

    def __init__(self, url: str, *, dicomweb_root: str = "/dicom-web", auth: tuple[str, str] | None = None,
                 timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.dicomweb_url = self.url + dicomweb_root
        self.auth = auth
        self.http = httpx.Client(base_url=self.url, auth=auth, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    # -- in ---------------------------------------------------------------------------------

    def lookup_study(self, study_uid: str) -> str | None:
        """Orthanc's id of the study with Study Instance UID ``study_uid`` (``POST /tools/lookup``); ``None``: not there."""
        r = self.http.post("/tools/lookup", content=study_uid)
        r.raise_for_status()
        return next((x["ID"] for x in r.json() if x.get("Type") == "Study"), None)

    def poll_changes(self, engine: Engine, *, max_attempts: int = 3, limit: int = 100) -> list[str]:
        """Queue a job for each new ``StableStudy`` since the last change seen; returns the new job ids."""
        queued: list[str] = []
        while True:
            with engine.connect() as conn:
                row = conn.execute(select(state.c.value).where(state.c.key == LAST_CHANGE_KEY)).first()
            since = int(row.value) if row else 0
            r = self.http.get("/changes", params={"since": since, "limit": limit})
            r.raise_for_status()
            doc = r.json()
            stable = list(dict.fromkeys(c["ID"] for c in doc.get("Changes", []) if c.get("ChangeType") == "StableStudy"))
            last = int(doc.get("Last", since))
            counts = {sid: self.source_instances(sid) for sid in stable}
            try:
                queued += self._queue_stable(engine, counts, since_row=row is not None, last=last,
                                             max_attempts=max_attempts)
            except IntegrityError:  # another watcher queued the same study at the same moment: read again
                continue
            if doc.get("Done", True) or last == since:
                return queued

    def source_instances(self, study: str) -> int | None:
        """How many instances of Orthanc study ``study`` are source images: not in a series heartprint
        wrote (:func:`heartprint_output`: its SEG and SR). ``None``: the study is gone."""
        r = self.http.get(f"/studies/{study}/series", params={"expand": ""})
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return sum(len(x.get("Instances", [])) for x in r.json() if not heartprint_output(x.get("MainDicomTags") or {}))

    @staticmethod
    def _queue_stable(engine: Engine, counts: dict[str, int | None], *, since_row: bool, last: int,
                      max_attempts: int) -> list[str]:
        """In one transaction: a job for each stable study with source images not analysed before, and
        the last change seen. A study is queued when first seen stable, and again when it holds more
        source images than when it was last queued (new images came in); the SEG and SR stored back
        are not source images, so storing them queues nothing. A watcher's job id is a function of the
        Orthanc study id and its source image count, so two watchers racing on one study collide on
        the primary key instead of queuing it twice."""
        queued = []
        with writer(engine).begin() as conn:
            seen: dict[str, int] = {}
            if counts:
                for ref, params in conn.execute(select(jobs.c.source_ref, jobs.c.parameters).where(
                        jobs.c.source == "orthanc", jobs.c.source_ref.in_(list(counts)))):
                    n = (params or {}).get("source_instances")
                    seen[ref] = max(seen.get(ref, -1), n if isinstance(n, int) else 1 << 62)
            for study_id, n in counts.items():
                if n is None or n == 0 or (study_id in seen and n <= seen[study_id]):
                    continue
                key = f"orthanc-watch:{study_id}" if study_id not in seen else f"orthanc-watch:{study_id}:{n}"
                job_id = hashlib.sha256(key.encode()).hexdigest()[:32]
                conn.execute(insert(jobs).values(
                    id=job_id, status="queued", source="orthanc", source_ref=study_id, submitted_by="orthanc",
                    parameters={"orthanc_study": study_id, "source_instances": n}, attempts=0,
                    max_attempts=max_attempts, created_at=utcnow()))
                queued.append(job_id)
            values = {"value": str(last), "updated_at": utcnow()}
            if not since_row:
                conn.execute(insert(state).values(key=LAST_CHANGE_KEY, **values))
            else:
                conn.execute(update(state).where(state.c.key == LAST_CHANGE_KEY).values(**values))
        return queued

    def fetch_input(self, job: Any, path: Path) -> None:
        """Download the Orthanc study of ``job`` as a zip to ``path`` (written whole, then renamed)."""
        if job.source != "orthanc":
            raise FileNotFoundError(f"job {job.id}: its uploaded input is missing")
        self.fetch_study(str(job.source_ref), path)

    def fetch_study(self, study: str, path: Path, *, max_bytes: int | None = None) -> None:
        """Download Orthanc study ``study`` (an Orthanc id) as a zip to ``path``: streamed to a temporary file
        and renamed when whole. With ``max_bytes``, an answer that declares or streams more is abandoned
        (:class:`ValueError` naming the cap); a non-2xx answer raises :class:`httpx.HTTPStatusError`."""
        if not study.replace("-", "").isalnum():
            raise ValueError(f"{study!r} is not an Orthanc study id")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        what = f"study {study} (/studies/{study}/archive)"
        try:
            with self.http.stream("GET", f"/studies/{study}/archive") as r:
                r.raise_for_status()
                declared = r.headers.get("content-length")
                if max_bytes is not None and declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ValueError(f"archive {what}: {int(declared)} bytes declared, over the cap of {max_bytes} "
                                     f"bytes; not fetched")
                n = 0
                with open(tmp, "wb") as fh:
                    for chunk in r.iter_bytes(1 << 16):
                        n += len(chunk)
                        if max_bytes is not None and n > max_bytes:
                            raise ValueError(f"archive {what}: over the cap of {max_bytes} bytes; abandoned")
                        fh.write(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    # -- out --------------------------------------------------------------------------------

    def store(self, files: list[Path]) -> None:
        """STOW-RS ``files`` (DICOM Part 10) into the archive."""
        import pydicom
        import requests
        from dicomweb_client.api import DICOMwebClient

        if not files:
            return
        session = requests.Session()
        session.auth = self.auth
        client = DICOMwebClient(url=self.dicomweb_url, session=session)
        client.store_instances([pydicom.dcmread(f) for f in files])

    def delete_instances(self, sop_instance_uids: list[str]) -> int:
        """Delete from the archive the instances with these SOP Instance UIDs (``POST /tools/lookup``,
        ``DELETE /instances/{id}``); those it does not hold are passed over. Returns how many went."""
        gone = 0
        for uid in sop_instance_uids:
            r = self.http.post("/tools/lookup", content=uid)
            r.raise_for_status()
            for x in r.json():
                if x.get("Type") == "Instance":
                    d = self.http.delete(f"/instances/{x['ID']}")
                    if d.status_code != 404:
                        d.raise_for_status()
                        gone += 1
        return gone

    def store_results(self, settings: Any):  # noqa: ANN201
        """``after(job, result)`` for the worker: STOW-RS each study's SEG and SR of an Orthanc job.

        At least once, never twice: the SOP Instance UIDs about to be stored are written first to
        ``<jobs>/<job>/archive_stow.json``. A job retried after a worker died between its STOW-RS and
        its "done" (its new SEG and SR have new UIDs) finds that record and deletes what the earlier
        attempt stored before storing its own, so the archive holds one SEG and one SR per series."""
        import json

        import pydicom

        from heartprint._atomic import atomic_file

        def after(job: Any, result: dict[str, Any]) -> None:
            if job.source != "orthanc":
                return
            root = settings.results_dir / job.id
            files = [root / f for st in result.get("studies", []) for f in st.get("files", [])
                     if f.split("/")[-1].startswith(("seg_", "sr_")) and f.endswith(".dcm")]
            record = settings.jobs_dir / job.id / "archive_stow.json"
            uids = [str(pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).SOPInstanceUID)
                    for f in files]
            if record.exists():  # an earlier attempt of this job stored (or began to store) these
                earlier = [u for u in json.loads(record.read_text()).get("sop_instance_uids", []) if u not in uids]
                self.delete_instances(earlier)
            record.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(record) as tmp:
                Path(tmp).write_text(json.dumps({"sop_instance_uids": uids}))
            self.store(files)
            for st in result.get("studies", []):
                st["stored_to_archive"] = [f for f in st.get("files", []) if root / f in files]

        return after
