"""A cohort whose studies are in an Orthanc archive: list them, key them, fetch each one.

SOURCE ``orthanc+http://HOST:PORT[/PREFIX]/?Keyword=value&…`` (or ``orthanc+https://``) names an
Orthanc server's REST root (``http://HOST:PORT[/PREFIX]``) and a study-level query: each parameter
is a DICOM keyword with a value in DICOM matching form, sent as is to Orthanc's ``POST
/tools/find`` (``{"Level": "Study", "Query": {…}}``; Orthanc REST API, book chapter "REST API of
the Orthanc server", "/tools/find"): ``StudyDate=20240101-20241231`` is a range,
``ModalitiesInStudy=MR`` matches a study holding any MR series, ``*`` and ``?`` are wildcards. No
parameter: every study. A keyword that is not a DICOM keyword is refused by name (a misspelt
filter would otherwise widen the query silently). The query is one request without ``Limit`` or
``Since``: Orthanc pages only over tags its database stores (tried with Orthanc 1.10 and
``ModalitiesInStudy``: pages of one study listed one study of two; later versions refuse the
combination with HTTP 400). Orthanc's ``LimitFindResults`` option, when not 0, also caps
``/tools/find`` (Orthanc's Configuration.json, 2025 note): keep it 0 on the archive, or split a
cohort by ``StudyDate`` ranges.

Credentials never travel in SOURCE (a URL with ``user:password@`` is refused): the driver and
every worker read them from the file named by ``HEARTPRINT_ORTHANC_AUTH_FILE`` (one line
``user:password``; refused when group or others may read it) or from ``HEARTPRINT_ORTHANC_AUTH``
(``user:password``); neither set: no authentication.

Each study found is one :class:`~heartprint.cohort._source.CohortItem`: ``item_id``
``orthanc-<first 16 hex of SHA-256(StudyInstanceUID)>`` (nothing the archive sends becomes a
file name), ``path`` the study's address ``orthanc+http://HOST:PORT[/PREFIX]/studies/<Orthanc
id>`` (no credentials; the ``path`` column of the tables). Its key (:func:`archive_key`) is the
SHA-256 of the run's salt, the item's facts and, for every instance the archive lists for the
study (``GET /studies/{id}/instances``, one request per study), its SOP Instance UID, file size
and Orthanc attachment UUID (and its ``UncompressedMD5`` when the listing carries one). Orthanc gives a
stored file a new attachment UUID whenever an instance is stored anew, so an instance added,
removed or replaced changes the key and the study is redone; Orthanc 1.10 serves the MD5 only
one instance per request (``/instances/{id}/attachments/dicom/md5``), which for 100,000 studies of
300 instances is 30 million requests per run, so the key does not ask for it.

A worker fetches its study (:func:`fetch_study`) as the zip Orthanc builds of it (``GET
/studies/{id}/archive``, as the service's worker does, through the same client,
:class:`heartprint.service._orthanc.Orthanc`) into a staging folder inside the output, refusing
an answer larger than the cap (declared or streamed) and a zip with an absolute or ``..`` member
name; heartprint's zip reader then reads the members in place (never as paths on disk).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from heartprint.cohort._item import CohortItem, safe_id as _safe_id
from heartprint.errors import InvalidInputError

__all__ = ["AUTH_ENV", "AUTH_FILE_ENV", "MAX_STUDY_BYTES", "ArchiveError", "archive_key", "archive_study",
           "fetch_study", "is_archive_source", "list_studies"]

#: SOURCE schemes of an Orthanc query (the part after ``orthanc+`` is the REST root's scheme).
SCHEMES = ("orthanc+http", "orthanc+https")
#: Environment variable naming a file that holds ``user:password`` for the archive.
AUTH_FILE_ENV = "HEARTPRINT_ORTHANC_AUTH_FILE"
#: Environment variable holding ``user:password`` for the archive.
AUTH_ENV = "HEARTPRINT_ORTHANC_AUTH"
#: Largest study fetched (bytes of the zip Orthanc sends), unless the run sets another.
MAX_STUDY_BYTES = 4 << 30
#: Seconds the client waits for each read (Orthanc may take long to start sending the zip of a
#: large study) and for a connection.
TIMEOUT_S, CONNECT_TIMEOUT_S = 300.0, 10.0
#: An Orthanc identifier: SHA-1 hex in five dash-separated groups of 8.
_ORTHANC_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{8}){4}$")


class ArchiveError(InvalidInputError):
    """The archive could not give a study (unreachable, an HTTP error, too large, an unsafe zip)."""


def is_archive_source(source: Any) -> bool:
    """Whether ``source`` is an Orthanc query (``orthanc+http://`` or ``orthanc+https://``)."""
    return isinstance(source, str) and source.split("://", 1)[0].lower() in SCHEMES and "://" in source


def _parse(source: str) -> tuple[str, str, dict[str, str]]:
    """(``orthanc+scheme://netloc/prefix`` without a trailing slash, the REST root, the query)."""
    from pydicom.datadict import tag_for_keyword

    u = urlsplit(source)
    if "@" in u.netloc:  # checked first: no message below repeats a password
        raise InvalidInputError(f"cohort source: credentials are never taken from the command line; put "
                                f"user:password in a file named by {AUTH_FILE_ENV} (mode 600) or in {AUTH_ENV}")
    scheme = u.scheme.lower()
    if scheme not in SCHEMES or not u.hostname:
        raise InvalidInputError(f"cohort source {source!r}: expected orthanc+http://HOST:PORT/?Keyword=value&…")
    if u.fragment:
        raise InvalidInputError(f"cohort source {source!r}: a '#' fragment means nothing here")
    query: dict[str, str] = {}
    try:
        pairs = parse_qsl(u.query, keep_blank_values=True, strict_parsing=bool(u.query))
    except ValueError as exc:
        raise InvalidInputError(f"cohort source {source!r}: bad query ({exc})") from None
    for key, value in pairs:
        if tag_for_keyword(key) is None:
            raise InvalidInputError(f"cohort source: {key!r} is not a DICOM keyword (e.g. StudyDate, "
                                    f"ModalitiesInStudy, StudyDescription, PatientID)")
        if key in query:
            raise InvalidInputError(f"cohort source: {key} given twice")
        if not value:
            raise InvalidInputError(f"cohort source: {key} has no value")
        query[key] = value
    prefix = u.path.rstrip("/")
    root = f"{scheme}://{u.netloc}{prefix}"
    return root, f"{scheme.split('+', 1)[1]}://{u.netloc}{prefix}", query


def archive_study(path: str) -> tuple[str, str] | None:
    """(REST root, Orthanc study id) of an archive item's ``path``; ``None``: not an archive study.
    The id is returned as given; :func:`fetch_study` and :func:`archive_key` refuse one that is
    not an Orthanc identifier."""
    if not is_archive_source(path):
        return None
    _, rest, _ = _parse(path)
    head, sep, study = rest.rpartition("/studies/")
    if not sep:
        return None
    return head, study


def _credentials() -> tuple[str, str] | None:
    """``(user, password)`` from :data:`AUTH_FILE_ENV` or :data:`AUTH_ENV` (module docstring)."""
    file, text = os.environ.get(AUTH_FILE_ENV), os.environ.get(AUTH_ENV)
    if file and text:
        raise InvalidInputError(f"archive credentials: both {AUTH_FILE_ENV} and {AUTH_ENV} are set; set one")
    if file:
        p = Path(file).expanduser()
        try:
            st = p.stat()
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise InvalidInputError(f"archive credentials: {AUTH_FILE_ENV} file {p} may be read by others; "
                                        f"chmod 600 it")
            lines = p.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInputError(f"archive credentials: {AUTH_FILE_ENV} file {p}: {exc.strerror or exc}") from None
        text = lines[0] if lines else ""
        where = f"{AUTH_FILE_ENV} file {p}"
    else:
        where = AUTH_ENV
    if not text:
        return None
    user, sep, password = text.strip().partition(":")
    if not sep or not user:
        raise InvalidInputError(f"archive credentials: {where} must hold user:password")
    return user, password


def _client(rest: str):  # noqa: ANN202
    """The service's Orthanc client on ``rest`` with this process's credentials."""
    import httpx

    from heartprint.service._orthanc import Orthanc

    return Orthanc(rest, auth=_credentials(), timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S))


def _why(exc: BaseException, what: str) -> str:
    """A network failure as one plain line."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        r = exc.response
        hint = f" (credentials: {AUTH_FILE_ENV} or {AUTH_ENV}, on every worker)" if r.status_code in (401, 403) else ""
        return f"archive answered HTTP {r.status_code} {r.reason_phrase} to {what}{hint}"
    if isinstance(exc, httpx.HTTPError):
        return f"archive unreachable for {what}: {type(exc).__name__}: {' '.join(str(exc).split())}"
    if isinstance(exc, ValueError):  # a body that is not the JSON Orthanc sends
        return f"archive sent an unreadable answer to {what}: {' '.join(str(exc).split())}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def list_studies(source: str) -> list[CohortItem]:
    """The studies matching the query of ``source`` (module docstring), sorted by Study Instance
    UID. Raises :class:`InvalidInputError` for a bad SOURCE or credentials and :class:`ArchiveError`
    when the archive cannot be asked (before any study is analysed)."""
    root, rest, query = _parse(source)
    orthanc = _client(rest)
    try:
        r = orthanc.http.post("/tools/find", json={"Level": "Study", "Query": query, "Expand": True})
        r.raise_for_status()
        found = r.json()
    except Exception as exc:  # noqa: BLE001 - named, then refused as a whole
        raise ArchiveError(f"cohort source {root}: {_why(exc, 'the study query (/tools/find)')}") from None
    finally:
        orthanc.close()
    if not isinstance(found, list) or not all(isinstance(s, dict) for s in found):
        raise ArchiveError(f"cohort source {root}: /tools/find did not answer a list of studies")
    found.sort(key=lambda s: (str((s.get("MainDicomTags") or {}).get("StudyInstanceUID") or ""), str(s.get("ID"))))
    items: list[CohortItem] = []
    used: set[str] = set()
    for s in found:
        uid = str((s.get("MainDicomTags") or {}).get("StudyInstanceUID") or s.get("ID") or "")
        name = "orthanc-" + hashlib.sha256(uid.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        study = quote(str(s.get("ID")), safe="")  # an odd id stays one path segment; the fetch refuses it
        items.append(CohortItem(_safe_id(name, used), f"{root}/studies/{study}"))
    return items


def _study_id(path: str) -> tuple[str, str]:
    where = archive_study(path)
    if where is None:
        raise ArchiveError(f"{path}: not an archive study address")
    rest, study = where
    if not _ORTHANC_ID.match(study):
        raise ArchiveError(f"archive study {study[:80]!r}: not an Orthanc identifier; not fetched")
    return rest, study


def archive_key(item: CohortItem, salt: str) -> str:
    """SHA-256 (hex) of ``salt``, the item's facts and the archive's instance list of the study
    (module docstring). A study that cannot be listed hashes its error instead, so the key
    exists and the study fails (and is tabled) when fetched."""
    h = hashlib.sha256()
    h.update(salt.encode())
    h.update(json.dumps({"patient": item.patient, "facts": dict(item.facts)}, sort_keys=True, default=str).encode())
    try:
        rest, study = _study_id(item.path)
        orthanc = _client(rest)
        try:
            r = orthanc.http.get(f"/studies/{study}/instances")
            r.raise_for_status()
            listed = r.json()
        finally:
            orthanc.close()
        rows = sorted(tuple(str(v) for v in ((x.get("MainDicomTags") or {}).get("SOPInstanceUID"), x.get("FileSize"),
                                             x.get("FileUuid"), x.get("UncompressedMD5"))) for x in listed)
        h.update(json.dumps({"instances": rows}, default=str).encode())
    except Exception as exc:  # noqa: BLE001 - the key must exist; the fetch then fails and is tabled
        h.update(f"\0unlisted\0{_why(exc, 'the instance list')}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _check_zip(path: Path) -> None:
    """Refuse a zip that is not one, or whose member names are absolute or climb (``..``)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"archive sent a damaged zip ({exc})") from None
    for n in names:
        parts = PurePosixPath(n.replace("\\", "/")).parts
        if n.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", n) or ".." in parts:
            raise ArchiveError(f"archive zip holds an unsafe member name {n[:120]!r}; refused")


def fetch_study(item: CohortItem, staging: Path, *, max_bytes: int = MAX_STUDY_BYTES) -> Path:
    """Fetch the study of ``item`` into ``staging/study.zip`` and return that path.

    The zip is streamed to a temporary file and renamed when complete and checked; an answer
    that declares or streams more than ``max_bytes`` is abandoned. Raises :class:`ArchiveError`
    with the reason in one plain line (HTTP status, network error, size, damaged or unsafe zip).
    """
    rest, study = _study_id(item.path)
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / "study.zip"
    what = f"study {study} (/studies/{study}/archive)"
    try:
        orthanc = _client(rest)
    except InvalidInputError as exc:  # this worker's credentials: a fetch failure, retried when fixed
        raise ArchiveError(str(exc)) from None
    try:
        orthanc.fetch_study(study, target, max_bytes=max_bytes)
    except ValueError as exc:  # the id or the size cap
        raise ArchiveError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - every network failure becomes the study's error
        raise ArchiveError(_why(exc, what)) from None
    finally:
        orthanc.close()
    _check_zip(target)
    return target
