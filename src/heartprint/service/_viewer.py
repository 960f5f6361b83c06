"""The OHIF viewer (v3) served by the API at ``/viewer/``, reading the archive through the API.

What is served. The OHIF project publishes its built web app in the npm package ``@ohif/app``
(folder ``dist/``). :func:`install` fetches one pinned version with ``npm pack`` (no
dependencies are installed: the build is self-contained), checks the tarball against the
pinned SHA-512 (the npm registry's ``integrity`` field, Subresource Integrity format) and
unpacks ``dist/`` into ``.ohif/dist`` (``tools/install_ohif.sh``). The build is never
committed. If it is absent, ``/viewer/`` answers 404 with JSON saying how to install it.

How it is served. The build expects to live at ``/``: its ``index.html`` names its scripts
and styles from the root and sets ``window.PUBLIC_URL = "/"``, from which the app loads its
chunks. :func:`index_html` rewrites those to ``/viewer/`` when serving (the files on disk stay
as published). The app routes in the browser (``/viewer/viewer?StudyInstanceUIDs=...``), so
any path under ``/viewer/`` that is not a file answers ``index.html``.

Where it reads images. ``/viewer/app-config.js`` is generated (:func:`app_config_js`): one
DICOMweb data source at ``<this origin>/dicom-web``, which the API proxies, read-only, to the
archive's DICOMweb root (Orthanc's ``/dicom-web``, PS3.18 QIDO-RS and WADO-RS). Same origin, so
Orthanc needs no CORS headers and the archive stays on loopback; the proxy needs the reader role
like every other read (a token in the ``Authorization`` header, or the session cookie set by
``POST /login``), so each read is audited. SEG and SR that heartprint stored back into the
archive appear in the study as series of their own: OHIF shows the SEG as a coloured overlay on
the cine and the SR's measurements in its panel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

__all__ = ["OHIF_INTEGRITY", "OHIF_PACKAGE", "OHIF_VERSION", "ViewerFiles", "app_config_js", "default_viewer_dir",
           "index_html", "install", "rebased", "register_viewer", "viewer_installed"]

#: The pinned OHIF release (npm ``@ohif/app``) and its tarball's SHA-512, as the npm registry
#: lists it (``npm view @ohif/app@3.13.2 dist.integrity``; checked on download by :func:`install`).
OHIF_PACKAGE = "@ohif/app"
OHIF_VERSION = "3.13.2"
OHIF_INTEGRITY = "sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="

#: Where the API serves the viewer and proxies DICOMweb (same origin as the API).
VIEWER_BASE = "/viewer"
DICOMWEB_BASE = "/dicom-web"

INSTALL_HINT = ("the OHIF viewer is not installed on this server: run tools/install_ohif.sh (it fetches "
                f"{OHIF_PACKAGE}@{OHIF_VERSION} from npm into .ohif/dist), or point HEARTPRINT_VIEWER_DIR at an "
                "unpacked OHIF build, then restart the service")


def default_viewer_dir() -> Path:
    """``$HEARTPRINT_VIEWER_DIR``, else ``.ohif/dist`` under the working folder (the repository
    root, where ``tools/install_ohif.sh`` puts it)."""
    return Path(os.environ.get("HEARTPRINT_VIEWER_DIR") or Path.cwd() / ".ohif" / "dist")


# -- installing --------------------------------------------------------------------------------


def _sri_sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode()


def install(dest: Path, *, npm: str = "npm", version: str = OHIF_VERSION, integrity: str = OHIF_INTEGRITY,
            tarball: Path | None = None) -> Path:
    """Fetch ``@ohif/app@version`` (``npm pack``; or use ``tarball``), check its SHA-512 against
    ``integrity``, unpack its ``dist/`` to ``dest`` (replacing what was there, atomically by
    rename) and write ``dest/OHIF_VERSION``. Returns ``dest``. Raises ``RuntimeError`` with the
    reason on a failed download, a wrong checksum or an unsafe archive member."""
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".ohif-") as tmp:
        work = Path(tmp)
        if tarball is None:
            proc = subprocess.run([npm, "pack", f"{OHIF_PACKAGE}@{version}", "--json", "--pack-destination", str(work)],
                                  capture_output=True, text=True, cwd=work)
            if proc.returncode != 0:
                raise RuntimeError(f"npm pack {OHIF_PACKAGE}@{version} failed: {proc.stderr.strip()[-500:]}")
            tarball = work / json.loads(proc.stdout)[0]["filename"]
        got = _sri_sha512(tarball)
        if got != integrity:
            raise RuntimeError(f"{tarball.name}: SHA-512 {got} is not the pinned {integrity}; not installed")
        out = work / "dist"
        with tarfile.open(tarball, "r:gz") as tf:
            members = [m for m in tf.getmembers() if m.name.startswith("package/dist/")]
            if not members:
                raise RuntimeError(f"{tarball.name} holds no package/dist/: not an OHIF app build")
            for m in members:
                m.name = m.name[len("package/dist/"):]
            tf.extractall(out, members=[m for m in members if m.name], filter="data")
        (out / "OHIF_VERSION").write_text(f"{OHIF_PACKAGE}@{version} {integrity}\n")
        old = work / "old"
        if dest.exists():
            os.replace(dest, old)
        os.replace(out, dest)
    return dest


# -- serving -----------------------------------------------------------------------------------


def app_config_js(*, base: str = VIEWER_BASE, dicomweb: str = DICOMWEB_BASE, name: str = "heartprint archive") -> str:
    """The viewer's ``window.config``: the browser router under ``base`` and one DICOMweb data
    source at ``<page origin><dicomweb>`` (the API's proxy to the archive). Options are OHIF
    v3's (``platform/app/public/config/default.js`` of the pinned release) for a DICOMweb server
    that is not a static WADO store: Orthanc answers QIDO without ``includefield`` support,
    without fuzzy matching, and serves frames and bulk data by WADO-RS."""
    source = {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "heartprint",
        "configuration": {
            "friendlyName": name, "name": "heartprint",
            "qidoSupportsIncludeField": False, "imageRendering": "wadors", "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True, "supportsFuzzyMatching": False, "supportsWildcard": True,
            "staticWado": False, "singlepart": "bulkdata,video", "omitQuotationForMultipartRequest": True,
            "bulkDataURI": {"enabled": True, "relativeResolution": "studies"}, "dicomUploadEnabled": False,
        },
    }
    config = {"routerBasename": base, "showStudyList": True, "extensions": [], "modes": [],
              "maxNumberOfWebWorkers": 2, "showWarningMessageForCrossOrigin": False,
              "showCPUFallbackMessage": True, "showLoadingIndicator": True, "strictZSpacingForVolumeViewport": True,
              # a SEG or SR opened in a viewport is shown at once (no "load this?" prompt)
              "disableConfirmationPrompts": True,
              "investigationalUseDialog": {"option": "never"}, "defaultDataSourceName": "heartprint",
              "dataSources": [source]}
    return ("/* Generated by heartprint.service (heartprint.service._viewer.app_config_js): OHIF reads the archive "
            "through this server's DICOMweb proxy. */\n"
            f"(function () {{\n  var root = window.location.origin + {json.dumps(dicomweb)};\n"
            f"  var config = {json.dumps(config, indent=2)};\n"
            "  var c = config.dataSources[0].configuration;\n"
            "  c.qidoRoot = root; c.wadoRoot = root; c.wadoUriRoot = root;\n"
            f"{_SR_WITHOUT_COORDINATES}"
            "  window.config = config;\n})();\n")


#: Two faults of OHIF 3.13 keep it from drawing an SR that holds measurements without image coordinates
#: (heartprint's hold heart rate, indexed and per-segment values: TID 1501/1411 groups without them):
#: its SOP class handler reads ``measurement.coords[0].ReferencedSOPSequence`` of an empty list, and it
#: keeps looking for such a measurement's image in every other series, failing on a SEG's (its image ids
#: are unknown to the metadata provider). The viewer's ``onBeforeSRAddMeasurement`` customization, called
#: for each measurement not yet placed, marks a coordinate-less one as placed, so the search ends, and
#: hands the loader a copy with an empty coordinate, which it passes over; the values are unchanged.
_SR_WITHOUT_COORDINATES = (
    "  config.customizationService = [{onBeforeSRAddMeasurement: {$set: function (args) {\n"
    "    var m = args.measurement;\n"
    "    if (m.coords && m.coords.length) { return m; }\n"
    "    m.loaded = true;\n"
    "    return Object.assign({}, m, {coords: [{}]});\n"
    "  }}}];\n")


_ROOT_REF = re.compile(r'(\s(?:src|href)=")/(?!/)')


def index_html(dist: Path, *, base: str = VIEWER_BASE) -> str:
    """The build's ``index.html`` with its root references (``src="/…"``, ``href="/…"``,
    ``PUBLIC_URL="/"``) moved under ``base``."""
    text = (dist / "index.html").read_text(encoding="utf-8")
    text = _ROOT_REF.sub(lambda m: f"{m.group(1)}{base}/", text)
    return text.replace('PUBLIC_URL="/"', f'PUBLIC_URL="{base}/"')


#: webpack's public path as the build sets it in each entry bundle (the app and its workers): the
#: root. The app's chunks, workers and WebAssembly are loaded from it.
_PUBLIC_PATH = b'__webpack_require__.p = "/";'


def rebased(path: str, data: bytes, *, base: str = VIEWER_BASE) -> bytes:
    """A build file's bytes with its root-relative self-references moved under ``base``: the
    webpack public path in an entry bundle (``*.js``), fonts and images in style sheets
    (``url(/…)`` in ``*.css``), the icon paths of ``manifest.json``."""
    if path.endswith(".js") and _PUBLIC_PATH in data:
        return data.replace(_PUBLIC_PATH, f'__webpack_require__.p = "{base}/";'.encode())
    if path.endswith(".css"):
        return re.sub(rb"url\((['\"]?)/(?!/)", lambda m: b"url(" + m.group(1) + base.encode() + b"/", data)
    if path == "manifest.json":
        return data.replace(b'"/assets/', f'"{base}/assets/'.encode())
    return data


_REBASED = (".js", ".css", "manifest.json")


class ViewerFiles(StaticFiles):
    """The OHIF build under ``/viewer/``: its files as they are, but for the few that name the
    root (:func:`rebased`, rewritten once in memory); ``app-config.js`` generated;
    ``index.html`` (rewritten, :func:`index_html`) for the app's own routes."""

    def __init__(self, dist: Path, *, base: str = VIEWER_BASE, config_js: str | None = None) -> None:
        super().__init__(directory=str(dist), check_dir=True)
        self.index = index_html(dist, base=base).encode()
        self.config_js = (config_js or app_config_js(base=base)).encode()
        self.base = base
        self._rebased: dict[str, bytes | None] = {}

    def _rebased_file(self, path: str) -> bytes | None:
        """The rewritten bytes of ``path`` if it needs rewriting, else ``None`` (cached)."""
        if path not in self._rebased:
            full, stat = self.lookup_path(path)
            data = None
            if stat is not None and path.endswith(_REBASED) and "/" not in path:
                raw = Path(full).read_bytes()
                new = rebased(path, raw, base=self.base)
                data = new if new != raw else None
            self._rebased[path] = data
        return self._rebased[path]

    async def get_response(self, path: str, scope: Any) -> Response:
        # the app's code is public; what it reads (the archive) is behind the API's roles
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        if path == "app-config.js":
            return Response(self.config_js, media_type="text/javascript", headers=headers)
        if path in ("", ".", "index.html"):
            return Response(self.index, media_type="text/html", headers=headers)
        if path.endswith(_REBASED):
            data = self._rebased_file(path)
            if data is not None:
                media = {"js": "text/javascript", "css": "text/css", "json": "application/json"}[path.rsplit(".", 1)[1]]
                return Response(data, media_type=media, headers=headers)
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            # the app's routes (viewer, segmentation, ...) are pages of index.html; a missing
            # asset (a name with an extension) is a 404
            if exc.status_code == 404 and "." not in path.rsplit("/", 1)[-1]:
                return Response(self.index, media_type="text/html", headers=headers)
            raise


def viewer_installed(dist: Path) -> bool:
    """Whether ``dist`` holds an OHIF build (its ``index.html`` and ``app-config.js``)."""
    return (dist / "index.html").is_file() and (dist / "app-config.js").is_file()


def register_viewer(app: Any, settings: Any, need: Any, *, dist: Path | None = None) -> None:
    """Serve the viewer at ``/viewer/`` (or a 404 JSON with :data:`INSTALL_HINT` when the build
    at ``dist`` (default :func:`default_viewer_dir`) is absent) and the read-only DICOMweb proxy
    at ``/dicom-web/`` (reader role; 404 when no archive is configured)."""
    import httpx

    from heartprint.service._errors import ApiError

    dist = Path(dist) if dist is not None else default_viewer_dir()
    if viewer_installed(dist):
        app.mount(VIEWER_BASE, ViewerFiles(dist), name="viewer")
    else:
        @app.get(VIEWER_BASE + "/{path:path}", tags=["viewer"], include_in_schema=False)
        def viewer_missing(path: str) -> None:
            raise ApiError(404, "viewer_not_installed", INSTALL_HINT)

    @app.get(DICOMWEB_BASE + "/{path:path}", tags=["viewer"],
             summary="The archive's DICOMweb (QIDO-RS, WADO-RS), read-only, for the viewer",
             openapi_extra={"security": [{"bearerAuth": []}]})
    async def dicomweb(path: str, request: Request, principal: Any = need("reader", "read_archive")) -> Response:
        if settings.orthanc_url is None:  # no archive: no DICOMweb resource here at all
            raise ApiError(404, "no_archive", "no archive (Orthanc) is configured on this server")
        if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
            raise ApiError(404, "not_found", "no such DICOMweb resource")
        headers = {"Accept": request.headers.get("accept", "application/dicom+json"),
                   # Orthanc writes BulkDataURIs from the Host it was asked on: this server's
                   "Host": request.headers.get("host", "")}
        url = f"{settings.orthanc_url.rstrip('/')}{DICOMWEB_BASE}/{path}"
        async with httpx.AsyncClient(timeout=120) as client:
            try:
                r = await client.get(url, params=list(request.query_params.multi_items()), headers=headers)
            except httpx.HTTPError as exc:
                raise ApiError(502, "archive_unreachable",
                               f"the archive did not answer ({type(exc).__name__})") from None
        if r.status_code == 404:
            raise ApiError(404, "not_found", "the archive has no such DICOMweb resource")
        if r.status_code >= 400:
            raise ApiError(502, "archive_error", f"the archive answered {r.status_code}")
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type",)}
        return Response(r.content, status_code=r.status_code, headers=keep)
