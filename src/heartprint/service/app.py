"""The HTTP API (FastAPI): submit a study, follow its job, read its results, a patient's
phenotype over time and risk. The OpenAPI document is at ``/openapi.json``, the interactive
one at ``/docs``.

Every request but ``/health``, ``/login`` and the viewer's files needs ``Authorization: Bearer <token>``
(:mod:`heartprint.service._auth`; for reads from a browser, the session cookie of :mod:`heartprint.service._session`);
every error is JSON ``{"error": <code>, "detail": <sentence>}`` with its HTTP status (400 bad
input, 401 no or wrong token, 403 role too low, 404 not found, 409 not ready, 413 upload too
large, 415 not a zip, 422 malformed request, 429 rate limit, 500 server fault, 501 no risk
model). Every authenticated request to a study, job, patient or the audit log is written to
the audit table (who, role, what, which, answer status, client address).

Research use only: the results are decision support, not a diagnosis.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from heartprint.service._auth import Principal, TokenStore, allows
from heartprint.service._db import audit, open_engine, utcnow, writer
from heartprint.service._errors import ApiError
from heartprint.service._jobs import JobQueue
from heartprint.service._session import SESSION_COOKIE, register_session
from heartprint.service._settings import Settings

__all__ = ["ApiError", "create_app"]

log = logging.getLogger("heartprint.service")

#: Media types accepted for an upload body (the zip itself, streamed).
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
_CHUNK = 1 << 16


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
          429: "rate_limited", 500: "internal_error", 501: "not_configured"}


def _error(status: int, error: str, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


class ArchiveStudy(BaseModel):
    """A study to fetch from the archive: its Study Instance UID (0020,000D)."""

    study_uid: str = Field(pattern=r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$", max_length=64)


class _RateLimiter:
    """At most ``limit`` requests per token in each fixed window of ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._counts: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        self._lock = threading.Lock()

    def allow(self, key: str) -> float | None:
        """``None`` if allowed, else seconds until the window resets."""
        now = time.monotonic()
        with self._lock:
            start, n = self._counts[key]
            if now - start >= self.window_s:
                start, n = now, 0
            if n >= self.limit:
                return self.window_s - (now - start)
            self._counts[key] = (start, n + 1)
        return None


def safe_member_name(name: str) -> bool:
    """Whether a zip member name is a plain relative path: no absolute path, drive, ``..``,
    backslash or control character (the "zip slip" names, CVE-2018-1002200 and its kin).
    Members are never extracted (the reader takes them from the archive), so this refuses a
    crafted archive outright rather than relying on that."""
    if not name or "\\" in name or any(ord(c) < 32 for c in name) or ":" in name.split("/", 1)[0]:
        return False
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts


def check_upload(path: Path, max_members: int) -> int:
    """Check an uploaded archive; returns its member count. Raises :class:`ApiError` (415 not a
    zip, 400 unsafe or too many members)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ApiError(415, "not_a_zip", f"the upload is not a readable zip archive ({exc})") from None
    if len(infos) > max_members:
        raise ApiError(400, "too_many_members", f"the archive holds {len(infos)} members; at most {max_members}")
    bad = [i.filename for i in infos if not safe_member_name(i.filename)]
    if bad:
        raise ApiError(400, "unsafe_member_name", f"the archive names {len(bad)} member(s) outside itself "
                       f"(absolute, '..' or backslash paths), e.g. {bad[0]!r}: refused")
    if not any(not i.is_dir() for i in infos):
        raise ApiError(400, "empty_archive", "the archive holds no files")
    return len(infos)


def create_app(settings: Settings, *, tokens: TokenStore | None = None) -> FastAPI:
    """The API on ``settings`` (tokens from ``settings.token_file`` unless ``tokens`` is given)."""
    from heartprint import __version__

    engine = open_engine(settings.registry)
    queue = JobQueue(engine, max_attempts=settings.max_attempts)
    store = tokens if tokens is not None else TokenStore.load(settings.token_file) if settings.token_file else TokenStore()
    limiter = _RateLimiter(settings.rate_limit, settings.rate_window_s)
    viewer_limiter = _RateLimiter(settings.viewer_rate_limit, settings.rate_window_s)  # the DICOMweb proxy's reads
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    registry_lock = threading.Lock()
    registry_box: dict[str, Any] = {}

    def registry() -> Any:
        with registry_lock:
            if "r" not in registry_box:
                from heartprint.store import Registry

                registry_box["r"] = Registry(settings.registry)
            return registry_box["r"]

    app = FastAPI(title="heartprint service", version=__version__,
                  description="Cardiac imaging analysis beside the PACS: submit a study, follow its job, read its "
                              "measurements, report, DICOM SEG/SR and FHIR; a patient's phenotype over time. "
                              "Research use only.")
    app.state.settings, app.state.queue, app.state.engine = settings, queue, engine
    auth_scheme = {"bearerAuth": {"type": "http", "scheme": "bearer"}}

    # -- errors: always JSON ------------------------------------------------------------------

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "error", None) or _CODES.get(exc.status_code, "error")
        return _error(exc.status_code, code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return _error(422, "invalid_request", errors)

    @app.exception_handler(Exception)
    async def _fault(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"the server failed on this request ({type(exc).__name__}); "
                      "it is logged")

    # -- audit: one row per authenticated request to a resource, written after the answer ----

    def _write_audit(row: dict[str, Any]) -> None:
        with writer(engine).begin() as conn:
            conn.execute(insert(audit).values(**row))

    @app.middleware("http")
    async def _audit(request: Request, call_next: Any) -> Any:
        try:
            response = await call_next(request)
        except Exception:  # answered 500 by the ``_fault`` handler; audited here, then passed on
            await _audit_row(request, 500)
            raise
        await _audit_row(request, response.status_code)
        return response

    async def _audit_row(request: Request, status_code: int) -> None:
        row = _row(request, status_code)
        if row is not None:
            try:
                await run_in_threadpool(_write_audit, row)
            except Exception:  # noqa: BLE001 - the answer is already made; the failure is logged
                log.exception("audit row not written: %s", row)

    def _row(request: Request, status_code: int) -> dict[str, Any] | None:
        act = getattr(request.state, "audit", None)
        if act is not None:
            principal: Principal | None = act.get("principal")
            return {"at": utcnow(), "token_id": principal.token_id if principal else None,
                    "role": principal.role if principal else None, "action": act["action"], "target": act["target"],
                    "status_code": status_code, "client": request.client.host if request.client else None}
        return None

    # -- authentication, roles, rate limit ---------------------------------------------------

    def need(role: str, action: str):  # noqa: ANN202
        def dependency(request: Request) -> Principal:
            target = "/".join(str(v) for v in request.path_params.values()) or request.url.path
            request.state.audit = {"principal": None, "action": action, "target": target}
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if not header and request.method in ("GET", "HEAD"):  # a browser's session (reads only: _session.py)
                scheme, token = "bearer", request.cookies.get(SESSION_COOKIE, "")
            principal = store.verify(token.strip()) if scheme.lower() == "bearer" else None
            if principal is None:
                raise ApiError(401, "unauthorized", "a valid token is needed: send 'Authorization: Bearer <token>'",
                               {"WWW-Authenticate": "Bearer"})
            request.state.audit["principal"] = principal
            viewer = action == "read_archive"
            wait = (viewer_limiter if viewer else limiter).allow(principal.token_id)
            if wait is not None:
                limit = settings.viewer_rate_limit if viewer else settings.rate_limit
                raise ApiError(429, "rate_limited", f"more than {limit} {'viewer reads' if viewer else 'requests'} in "
                               f"{settings.rate_window_s:g} s with this token; retry in {wait:.0f} s",
                               {"Retry-After": str(max(1, int(wait + 0.999)))})
            if not allows(principal.role, role):
                raise ApiError(403, "forbidden", f"this needs the {role} role; the token's role is {principal.role}")
            return principal

        return Depends(dependency)

    def _job(job_id: str) -> Any:
        job = queue.get(job_id) if len(job_id) <= 64 else None
        if job is None:
            raise ApiError(404, "job_not_found", f"no job {job_id!r}")
        return job

    # -- endpoints ---------------------------------------------------------------------------

    @app.get("/health", tags=["service"], summary="Liveness (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/studies", status_code=202, tags=["jobs"], summary="Submit a study (a zip of its DICOM files)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                  "security": [{"bearerAuth": []}]})
    async def submit(request: Request, principal: Principal = need("submitter", "submit")) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ZIP_TYPES:
            raise ApiError(415, "unsupported_media_type", f"send the study as a zip body (Content-Type "
                           f"application/zip); got {ctype or 'none'!r}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_upload_bytes:
            raise ApiError(413, "too_large", f"the upload declares {int(declared)} bytes; at most "
                           f"{settings.max_upload_bytes}")
        job_id = uuid.uuid4().hex
        folder = settings.jobs_dir / job_id
        tmp = settings.jobs_dir / f".{job_id}.upload"
        size = 0
        try:
            with open(tmp, "xb") as fh:
                try:
                    async for chunk in request.stream():
                        size += len(chunk)
                        if size > settings.max_upload_bytes:
                            raise ApiError(413, "too_large", f"the upload exceeds {settings.max_upload_bytes} bytes")
                        fh.write(chunk)
                except ClientDisconnect:
                    raise ApiError(400, "upload_interrupted", "the client closed the connection before the upload "
                                   "ended") from None
            if size == 0:
                raise ApiError(400, "empty_upload", "the request body is empty; send the study's zip")
            n = await run_in_threadpool(check_upload, tmp, settings.max_upload_members)
            folder.mkdir()
            os.replace(tmp, folder / "input.zip")
        finally:
            tmp.unlink(missing_ok=True)
        await run_in_threadpool(queue.submit, source="upload", source_ref=f"{size} bytes, {n} members",
                                submitted_by=principal.token_id, job_id=job_id)
        request.state.audit["target"] = job_id
        return {"job_id": job_id, "status": "queued", "links": {"status": f"/jobs/{job_id}",
                                                                "results": f"/jobs/{job_id}/results"}}

    @app.post("/archive-studies", status_code=202, tags=["jobs"],
              summary="Queue a study that is in the archive (Orthanc), by its Study Instance UID",
              openapi_extra={"security": [{"bearerAuth": []}]})
    def submit_archive_study(body: ArchiveStudy, request: Request,
                             principal: Principal = need("submitter", "submit_archive")) -> dict[str, Any]:
        if settings.orthanc_url is None:
            raise ApiError(501, "no_archive", "no archive (Orthanc) is configured on this server")
        from heartprint.service._orthanc import Orthanc

        orthanc = Orthanc(settings.orthanc_url)
        try:
            study_id = orthanc.lookup_study(body.study_uid)
            n = orthanc.source_instances(study_id) if study_id is not None else None
        finally:
            orthanc.close()
        if study_id is None:
            raise ApiError(404, "study_not_in_archive", f"the archive holds no study {body.study_uid}")
        # the source image count lets the watcher tell new images from this analysis' own SEG and SR
        job_id = queue.submit(source="orthanc", source_ref=study_id, submitted_by=principal.token_id,
                              parameters={"orthanc_study": study_id, "study_uid": body.study_uid,
                                          **({"source_instances": n} if n is not None else {})})
        request.state.audit["target"] = job_id
        return {"job_id": job_id, "status": "queued", "links": {"status": f"/jobs/{job_id}",
                                                                "results": f"/jobs/{job_id}/results"}}

    @app.get("/jobs", tags=["jobs"], summary="The newest jobs: all of them for an admin, a caller's own otherwise",
             openapi_extra={"security": [{"bearerAuth": []}]})
    def job_list(status: Literal["queued", "running", "done", "failed"] | None = None,
                 limit: int = Query(100, ge=1, le=1000),
                 principal: Principal = need("reader", "list_jobs")) -> dict[str, Any]:
        mine = None if principal.role == "admin" else principal.token_id
        return {"jobs": [j.to_dict() for j in queue.list(status=status, submitted_by=mine, limit=limit)]}

    @app.get("/jobs/{job_id}", tags=["jobs"], summary="A job's status", openapi_extra={"security": [{"bearerAuth": []}]})
    def job_status(job_id: str, principal: Principal = need("reader", "read_status")) -> dict[str, Any]:
        return _job(job_id).to_dict()

    @app.get("/jobs/{job_id}/results", tags=["results"], summary="A finished job's studies and their files",
             openapi_extra={"security": [{"bearerAuth": []}]})
    def job_results(job_id: str, principal: Principal = need("reader", "read_results")) -> dict[str, Any]:
        job = _job(job_id)
        if job.status != "done":
            raise ApiError(409, "not_ready", f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))
        studies = []
        for st in (job.result or {}).get("studies", []):
            links = {f: f"/jobs/{job_id}/files/{f}" for f in st.get("files", [])}
            studies.append({**st, "files": links})
        return {"job_id": job_id, "status": job.status, "studies": studies}

    @app.get("/jobs/{job_id}/files/{file_path:path}", tags=["results"], response_class=FileResponse,
             summary="One result file (measurements.json, report.html/.pdf, dicom/seg_*.dcm, dicom/sr_*.dcm, "
                     "fhir_bundle.json, labels/*.nii.gz)", openapi_extra={"security": [{"bearerAuth": []}]})
    def job_file(job_id: str, file_path: str, principal: Principal = need("reader", "read_file")) -> FileResponse:
        from heartprint.outputs import OutputError, inside

        job = _job(job_id)
        listed = {f for st in (job.result or {}).get("studies", []) for f in st.get("files", [])}
        if job.status != "done" or file_path not in listed:
            raise ApiError(404, "file_not_found", f"job {job_id} has no result file {file_path!r}")
        root = settings.results_dir / job_id
        try:
            path = inside(root, root / file_path)
        except OutputError:
            raise ApiError(404, "file_not_found", f"job {job_id} has no result file {file_path!r}") from None
        if path.is_symlink() or not path.is_file():
            raise ApiError(404, "file_not_found", f"job {job_id}: result file {file_path!r} is gone")
        media = {".json": "application/json", ".html": "text/html", ".pdf": "application/pdf",
                 ".dcm": "application/dicom", ".gz": "application/gzip"}.get(path.suffix, "application/octet-stream")
        headers = {"X-Content-Type-Options": "nosniff"}
        if media == "text/html":  # the report: shown, but with no script, form or same-origin rights
            headers["Content-Security-Policy"] = "sandbox"
        return FileResponse(path, media_type=media, filename=path.name if media != "text/html" else None,
                            headers=headers)

    @app.get("/patients/{patient_id}/phenotype", tags=["patients"],
             summary="A patient's measurements over time (every complete registry run, oldest first)",
             openapi_extra={"security": [{"bearerAuth": []}]})
    def phenotype(patient_id: str, principal: Principal = need("reader", "read_phenotype")) -> dict[str, Any]:
        return _phenotype(registry(), patient_id)

    @app.get("/patients/{patient_id}/risk", tags=["patients"], summary="A patient's risk from the configured model",
             openapi_extra={"security": [{"bearerAuth": []}]})
    def risk(patient_id: str, principal: Principal = need("reader", "read_risk")) -> dict[str, Any]:
        if settings.risk_model is None:
            raise ApiError(501, "no_risk_model", "no risk model is configured on this server")
        reg = registry()
        latest = reg.latest_measurements(patient_id)
        if not latest:
            raise ApiError(404, "patient_not_found", f"no measurements of patient {patient_id!r} in the registry")
        return {"patient_id": patient_id, "risk": risk_hook(settings.risk_model, latest)}

    @app.get("/audit", tags=["service"], summary="The latest audit rows (admin)",
             openapi_extra={"security": [{"bearerAuth": []}]})
    def audit_log(limit: int = 100, principal: Principal = need("admin", "read_audit")) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        with engine.connect() as conn:
            rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit)).all()
        return {"rows": [{**r._mapping, "at": r.at.isoformat()} for r in rows]}

    from heartprint.service._page import register_page
    from heartprint.service._viewer import register_viewer

    register_page(app, need, registry)
    register_viewer(app, settings, need)
    register_session(app, store)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = auth_scheme
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _phenotype(registry: Any, patient_id: str) -> dict[str, Any]:
    """Each quantity's values over the patient's complete runs, oldest first: ``{"quantities":
    [{"code", "name", "unit", "phase", "segment", "points": [{"at", "value", "run_id", "study_uids"}]}]}``."""
    runs = [r for r in registry.runs(patient_id=patient_id) if r.status == "complete"]
    if not runs:
        raise ApiError(404, "patient_not_found", f"no complete analysis of patient {patient_id!r} in the registry")
    series: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in runs:
        for m in registry.measurements(r.run_id):
            key = (m.code, m.phase, m.segment, m.vessel, m.vessel_segment, m.pattern)
            q = series.setdefault(key, {"code": m.code, "name": m.name, "unit": m.unit, "phase": m.phase,
                                        "segment": m.segment, "vessel": m.vessel, "points": []})
            at = m.time or r.started_at
            q["points"].append({"at": at.isoformat() if at else None, "value": m.value, "run_id": r.run_id,
                                "study_uids": list(r.study_uids)})
    return {"patient_id": patient_id, "n_runs": len(runs), "quantities": list(series.values())}


def risk_hook(model_path: Path, measurements: list[Any]) -> dict[str, Any]:
    """The patient's risk from the saved model at ``model_path`` (:func:`heartprint.risk.load`,
    :func:`heartprint.risk.explain`) on the latest global measurement of each quantity. Imported
    here, not at module top: :mod:`heartprint.risk` and its scientific stack load only when a
    model is configured. Unknown inputs stay unknown (``explain`` answers ``not_assessable``)."""
    from heartprint.risk import explain, load

    row = {m.code: float(m.value) for m in measurements if m.segment is None and getattr(m, "vessel", None) is None}
    return explain(load(model_path), row)
