"""The viewer side of the service: heartprint's patient page (content against the registry,
escaping of hostile text, roles), the OHIF viewer's generated configuration and its serving at
``/viewer/`` (or a 404 saying how to install it), the DICOMweb proxy's refusals, and the page in
headless Chromium (driven over the DevTools protocol on a pipe: loads, renders its figures, no
console error, no blocked resource).

The registry holds two studies of one patient written as ``StudyResult.to_dict()`` documents:
exact values in, the page must show them with the flags the reference ranges imply.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from heartprint.measure import Finding, Measurement  # noqa: E402
from heartprint.service import Settings  # noqa: E402
from heartprint.service._auth import TokenStore, new_token  # noqa: E402

PATIENT = "P-<script>alert('x')&\"1\""  # no "/": a path segment
STUDY_1 = "1.2.826.0.1.3680043.8.498.11"
STUDY_2 = "1.2.826.0.1.3680043.8.498.12"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _m(code: str, value: float, unit: str, series: str, **kw) -> dict:
    return Measurement(code=code, name=kw.pop("name", code.replace("_", " ")), value=value, unit=unit, source=series,
                       **kw).to_dict()


def _study(study: str, ef: float, edv: float, wall: list[float]) -> dict:
    series = study + ".1"
    ranges = {"lv_ef": {"low": 57.0, "high": 77.0, "population": "adult men", "reference": "Kawel-Boehm 2020 Table 4"},
              "lv_edv": {"low": 106.0, "high": 214.0, "population": "adult men",
                         "reference": "Kawel-Boehm 2020 Table 4"}}
    ms = [_m("lv_ef", ef, "%", series, phase=None, modality="MR", reference_range=ranges["lv_ef"],
             name="LV ejection fraction"),
          _m("lv_edv", edv, "mL", series, phase="ED", modality="MR", reference_range=ranges["lv_edv"],
             name="LV end-diastolic volume"),
          _m("lv_mass", 120.0, "g", series, phase="ED", name=HOSTILE_NAME)]
    ms += [_m("lv_wall_thickness", w, "mm", series, segment=i + 1, phase="ED") for i, w in enumerate(wall)]
    findings = [Finding(code="hfref", statement=f"LVEF {ef} % is reduced {HOSTILE_NAME}", status="present",
                        rule="clinical.hf.type", citation="McDonagh 2021 ESC HF guideline, Table 3",
                        inputs={"lv_ef": {"value": ef, "unit": "%"}}).to_dict(),
                Finding(code="lvh", statement="LV hypertrophy", status="not_assessable", rule="clinical.lvh",
                        citation="Kawel-Boehm 2020", inputs={}, missing=["sex"]).to_dict()]
    return {
        "schema": "heartprint.study/2", "heartprint_version": "0.1.0", "disclaimer": "research only",
        "source": f"/data/{study}", "status": "ok",
        "patient": {"patient_id": PATIENT, "issuer": None, "name": None, "sex": None, "birth_date": None,
                    "age_years": None, "height_cm": None, "weight_kg": None, "bsa_m2": None},
        "study": {"study_uid": study, "date": "2024-03-01", "description": "", "accession_number": "",
                  "modalities": ["MR"]},
        "study_uids": [study], "history": [],
        "series": [{"series_uid": series, "kind": "cine_sax", "status": "analysed", "seconds": 1.0,
                    "qc_status": "ok", "measurements": ms, "qc": [], "segment_maps": [], "figure_data": {},
                    "details": {}}],
        "skipped_files": [], "notes": [],
        "interpretation": {"findings": findings},
    }


@pytest.fixture(scope="module")
def tokens():
    made = {role: new_token(f"test {role}", role) for role in ("reader", "submitter", "admin")}
    return {role: tok for role, (tok, _) in made.items()}, TokenStore([rec for _, rec in made.values()])


@pytest.fixture(scope="module")
def env(tmp_path_factory, tokens):
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app
    from heartprint.store import Registry

    root = tmp_path_factory.mktemp("viewer")
    db = str(root / "registry.db")
    with Registry(db) as reg:
        reg.record_study_result(_study(STUDY_1, 55.0, 150.0, [8.0 + 0.25 * i for i in range(17)]),
                                started_at=datetime(2024, 3, 1, 9, tzinfo=timezone.utc))
        reg.record_study_result(_study(STUDY_2, 40.0, 250.0, [9.0 + 0.25 * i for i in range(17)]),
                                started_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc))
    settings = Settings(registry=db, data_dir=root / "data", report=False, tta=False)
    # no viewer where this app looks (an OHIF installed in the checkout by make test-e2e must not count)
    saved = os.environ.get("HEARTPRINT_VIEWER_DIR")
    os.environ["HEARTPRINT_VIEWER_DIR"] = str(root / "no-viewer")
    try:
        client = TestClient(create_app(settings, tokens=tokens[1]))
    finally:
        if saved is None:
            del os.environ["HEARTPRINT_VIEWER_DIR"]
        else:
            os.environ["HEARTPRINT_VIEWER_DIR"] = saved
    return settings, client, tokens[0], root


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_url(patient: str = PATIENT) -> str:
    from urllib.parse import quote

    return f"/patients/{quote(patient, safe='')}/page"


# -- the patient page ------------------------------------------------------------------------


def test_patient_page_needs_a_reader_token(env):
    _, client, tok, _ = env
    r = client.get(page_url())
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = client.get(page_url(), headers=auth("hp_not-a-token"))
    assert r.status_code == 401
    r = client.get(page_url("nobody"), headers=auth(tok["reader"]))
    assert r.status_code == 404 and r.json()["error"] == "patient_not_found"


def test_patient_page_content(env):
    _, client, tok, _ = env
    r = client.get(page_url(), headers=auth(tok["reader"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no script at all
    html = r.text
    # the latest values against their ranges: EF 40 % below 57–77 → low, EDV 250 mL above 106–214 → high
    assert re.search(r"<tr><td>LV ejection fraction</td><td>MRI</td><td></td><td class=\"num\">40 %</td>\s*"
                     r"<td>57–77 % "
                     r"<sup>\[1\]</sup></td>\s*<td><span class=\"flag flag-low\">low</span></td>", html)
    assert re.search(r"<tr><td>LV end-diastolic volume</td><td>MRI</td><td>ED</td><td class=\"num\">250 mL</td>\s*"
                     r"<td>106–214 mL "
                     r"<sup>\[1\]</sup></td>\s*<td><span class=\"flag flag-high\">high</span></td>", html)
    assert "<li>adult men; Kawel-Boehm 2020 Table 4</li>" in html
    assert "2 analyses, 2024-03-01 to 2025-03-01." in html
    # findings with evidence and citation, the not-assessable one with what it needs
    assert "McDonagh 2021 ESC HF guideline, Table 3" in html
    assert "Evidence: LV ejection fraction = 40 %" in html and "Evidence: LV ejection fraction = 55 %" in html
    assert "Needs: sex" in html
    # one bull's-eye (wall thickness, 17 segments, inline PNG), the trend 55 → 40
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 1
    trend = html[html.index('<section id="trend">'):]
    assert re.search(r"<td>55 <span[^>]*>\(2024-03-01\)</span> → 40 <span[^>]*>\(2025-03-01\)</span> %</td>\s*"
                     r"<td class=\"num\">−15 %</td>", trend)
    assert re.search(r"→ 250 <span[^>]*>\(2025-03-01\)</span> mL</td>\s*<td class=\"num\">\+100 mL</td>", trend)
    assert '<td class="num">no change</td>' in trend  # LV mass 120 g both times
    assert '<polyline points="2.0,2.0 118.0,26.0"/>' in trend  # EF falls: top left to bottom right
    # a link into the viewer per study, newest first
    links = re.findall(r'href="(/viewer/viewer\?StudyInstanceUIDs=[^"]+)"', html)
    assert links == [f"/viewer/viewer?StudyInstanceUIDs={STUDY_2}", f"/viewer/viewer?StudyInstanceUIDs={STUDY_1}"]
    assert "research" in html.lower() and "not a diagnosis" in html


def test_patient_page_escapes_hostile_text(env):
    _, client, tok, _ = env
    html = client.get(page_url(), headers=auth(tok["reader"])).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "P-&lt;script&gt;alert(&#39;x&#39;)&amp;&#34;1&#34;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "%3Cscript%3E" in html  # the phenotype link: the key percent-encoded, not raw


def test_patient_page_is_audited(env):
    from sqlalchemy import create_engine, select

    from heartprint.service._db import audit

    settings, client, tok, _ = env
    client.get(page_url(), headers=auth(tok["reader"]))
    engine = create_engine(f"sqlite:///{settings.registry}")
    with engine.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.action == "read_patient_page")).all()
    engine.dispose()
    assert rows and rows[-1].target == PATIENT and rows[-1].status_code == 200 and rows[-1].role == "reader"


def test_browser_session_cookie_reads_only(env):
    from fastapi.testclient import TestClient

    _, shared, tok, _ = env
    client = TestClient(shared.app)  # its own cookie jar
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert "<form" in client.get("/login?next=//evil.example/x").text
    assert 'value="/viewer/"' in client.get("/login?next=//evil.example/x").text  # not sent elsewhere
    r = client.post("/login", content="token=hp_wrong", headers=form, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    from urllib.parse import quote

    r = client.post("/login", content=f"token={quote(tok['reader'])}&next={quote(page_url(), safe='')}", headers=form,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == page_url()
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=28800" in cookie
    assert client.get(page_url()).status_code == 200  # the cookie alone reads
    r = client.post("/studies", content=b"PK", headers={"Content-Type": "application/zip"})
    assert r.status_code == 401  # ... but does not write
    r = client.post("/login", content=f"token={quote(tok['reader'])}&next=//evil.example/", headers=form,
                    follow_redirects=False)
    assert r.headers["location"] == "/viewer/"
    assert client.post("/logout").json() == {"status": "signed out"}
    client.cookies.clear()
    assert client.get(page_url()).status_code == 401


# -- the viewer: configuration and serving ----------------------------------------------------


def test_app_config_points_at_the_same_origin_dicomweb_proxy():
    from heartprint.service._viewer import app_config_js

    js = app_config_js()
    body = re.search(r"var config = (\{.*?\});\n", js, re.S).group(1)
    config = json.loads(body)
    assert config["routerBasename"] == "/viewer" and config["defaultDataSourceName"] == "heartprint"
    (source,) = config["dataSources"]
    assert source["namespace"] == "@ohif/extension-default.dataSourcesModule.dicomweb"
    c = source["configuration"]
    assert c["staticWado"] is False and c["imageRendering"] == "wadors" and c["qidoSupportsIncludeField"] is False
    assert 'var root = window.location.origin + "/dicom-web";' in js
    assert "c.qidoRoot = root; c.wadoRoot = root; c.wadoUriRoot = root;" in js
    if shutil.which("node"):  # the file is valid JavaScript and sets window.config as read above
        out = subprocess.run(["node", "-e", "global.window={location:{origin:'http://h:1'}};" + js
                              + ";const c=window.config.dataSources[0].configuration;"
                              "console.log(JSON.stringify([c.qidoRoot,c.wadoRoot,window.config.routerBasename]))"],
                             capture_output=True, text=True, timeout=20)
        assert json.loads(out.stdout) == ["http://h:1/dicom-web", "http://h:1/dicom-web", "/viewer"], out.stderr


def test_viewer_absent_answers_404_with_how_to_install(env):
    _, client, _, _ = env
    r = client.get("/viewer/viewer?StudyInstanceUIDs=1.2.3")
    assert r.status_code == 404
    assert r.json()["error"] == "viewer_not_installed" and "tools/install_ohif.sh" in r.json()["detail"]


def test_viewer_serves_the_build_under_viewer(tmp_path, tokens, monkeypatch):
    """A build laid out as ``@ohif/app``'s ``dist/`` (root-relative references, PUBLIC_URL "/")."""
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app

    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<html><head><script>window.PUBLIC_URL="/"</script>'
                                     '<link href="/app.bundle.css" rel="stylesheet"><script src="/app-config.js">'
                                     '</script><script defer src="/app.bundle.1.js"></script>'
                                     '<a href="//cdn.example/x">x</a></head></html>')
    (dist / "app-config.js").write_text("window.config = {aws: true};")
    (dist / "app.bundle.1.js").write_text("console.log(1)")
    (dist / "assets" / "a.png").write_bytes(b"\x89PNG")
    monkeypatch.setenv("HEARTPRINT_VIEWER_DIR", str(dist))
    client = TestClient(create_app(Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "d",
                                            orthanc_url=None), tokens=tokens[1]))
    for path in ("/viewer/", "/viewer/viewer?StudyInstanceUIDs=1.2.3", "/viewer/segmentation"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert 'PUBLIC_URL="/viewer/"' in r.text and 'src="/viewer/app.bundle.1.js"' in r.text
        assert 'href="/viewer/app.bundle.css"' in r.text and 'href="//cdn.example/x"' in r.text
    r = client.get("/viewer/app-config.js")
    assert "aws" not in r.text and '"/dicom-web"' in r.text and r.headers["content-type"].startswith("text/javascript")
    assert client.get("/viewer/app.bundle.1.js").text == "console.log(1)"
    assert client.get("/viewer/assets/missing.png").status_code == 404
    assert client.get("/viewer/../registry.db").status_code == 404
    # the DICOMweb proxy: a reader's read, and no archive configured here
    assert client.get("/dicom-web/studies").status_code == 401
    r = client.get("/dicom-web/studies", headers=auth(tokens[0]["reader"]))
    assert r.status_code == 404 and r.json()["error"] == "no_archive"


def test_viewer_reads_are_rate_limited_apart_from_the_api(tmp_path, tokens):
    """OHIF reads every frame through the proxy: its reads count against ``viewer_rate_limit``, and
    neither bucket uses up the other."""
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app

    settings = Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "data", rate_limit=2, viewer_rate_limit=4)
    client = TestClient(create_app(settings, tokens=tokens[1]))
    h = auth(tokens[0]["reader"])
    assert [client.get("/dicom-web/studies", headers=h).status_code for _ in range(5)] == [404] * 4 + [429]
    r = client.get("/dicom-web/studies", headers=h)
    assert r.json()["error"] == "rate_limited" and "4 viewer reads" in r.json()["detail"]
    assert [client.get("/jobs/x", headers=h).status_code for _ in range(3)] == [404, 404, 429]


def test_install_checks_the_pinned_checksum(tmp_path):
    """A tarball that is not the pinned one is refused; the right one unpacks ``dist/`` only."""
    import base64 as b64
    import hashlib
    import io
    import tarfile

    from heartprint.service._viewer import install, viewer_installed

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("package/dist/index.html", b"<html></html>"), ("package/dist/app-config.js", b"x"),
                           ("package/README.md", b"r")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    tgz = tmp_path / "ohif.tgz"
    tgz.write_bytes(buf.getvalue())
    sri = "sha512-" + b64.b64encode(hashlib.sha512(buf.getvalue()).digest()).decode()
    with pytest.raises(RuntimeError, match="not the pinned"):
        install(tmp_path / "bad", tarball=tgz)
    assert not (tmp_path / "bad").exists()
    dest = install(tmp_path / "dist", tarball=tgz, integrity=sri, version="0.0.0")
    assert viewer_installed(dest) and not (dest / "README.md").exists()
    assert (dest / "OHIF_VERSION").read_text().split()[1] == sri


# -- headless Chromium ------------------------------------------------------------------------


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    JSON messages ending in NUL, commands on fd 3, answers and events on fd 4), so no WebDriver
    is needed. Collects console errors, uncaught exceptions and log entries of level error
    (failed loads, Content-Security-Policy refusals)."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        # bash puts the pipe ends on fds 3 and 4, where Chromium expects them
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', CHROMIUM,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "--window-size=1200,900", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.errors: list[str] = []
        target = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _read(self, timeout: float) -> dict:
        import select

        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._in], [], [], timeout)
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        event = json.loads(msg)
        self._note(event)
        return event

    def _note(self, e: dict) -> None:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            self.errors.append("exception: " + json.dumps(p["exceptionDetails"])[:300])
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        if method:
            self.events.append(e)

    def call(self, method: str, session: bool = False, timeout: float = 30.0, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        while True:
            e = self._read(timeout)
            if e.get("id") == self._id:
                if "error" in e:
                    raise RuntimeError(f"{method}: {e['error']}")
                return e["result"]

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while True:
            for e in self.events[seen:]:
                if e.get("method") == method:
                    return e
            seen = len(self.events)
            self._read(max(0.1, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")

    def open(self, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        if headers:
            self.call("Network.setExtraHTTPHeaders", session=True, headers=headers)
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired", timeout)

    def evaluate(self, expression: str):  # noqa: ANN201
        answer = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        return answer["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", session=True, format="png")["data"])

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._in)
        os.close(self._out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import sys, uvicorn
from heartprint.service import Settings
from heartprint.service.app import create_app
root = sys.argv[1]
app = create_app(Settings(registry=root + "/registry.db", data_dir=root + "/data", token_file=root + "/tokens.json"))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@pytest.fixture(scope="module")
def served(env):
    """The API in a uvicorn subprocess on loopback, on the module's registry, with a reader token."""
    import httpx

    settings, _, _, root = env
    token = TokenStore.add_to_file(root / "tokens.json", "browser", "reader")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        yield base, token
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_patient_page_in_headless_chromium(served, tmp_path):
    base, token = served
    browser = Chromium(tmp_path / "profile")
    try:
        browser.open(base + page_url(), headers={"Authorization": f"Bearer {token}"})
        state = browser.evaluate("JSON.stringify({title: document.title, sections: [...document.querySelectorAll("
                                 "'main section h2')].map(h => h.textContent), images: [...document.images].map("
                                 "i => [i.complete, i.naturalWidth]), links: document.querySelectorAll("
                                 "'a[href^=\"/viewer/viewer?\"]').length, "
                                 "width: document.documentElement.scrollWidth})")
        png = browser.screenshot()
        errors = list(browser.errors)
    finally:
        browser.close()
    state = json.loads(state)
    assert errors == []
    assert state["title"] == f"Patient {PATIENT} · heartprint"
    assert state["sections"][:4] == ["Measurements", "Findings", "Segmental maps", "Trend over studies"]
    assert state["images"] and all(ok and w > 100 for ok, w in state["images"])  # the bull's-eye decoded
    assert state["links"] == 2 and state["width"] <= 1200  # no horizontal overflow at 1200 px
    out = os.environ.get("HEARTPRINT_SCREENSHOT_DIR")
    if out:
        Path(out, "service_patient_page.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


# The archive's study with heartprint's SEG and SR in OHIF, end to end: tests/test_service_e2e.py.


def test_risk_endpoint_answers_from_the_configured_model(env, tokens, tmp_path):
    """With a risk model configured, ``GET /patients/{id}/risk`` answers what :func:`heartprint.risk.explain`
    answers on the patient's latest measurements (LVEF 40 %, EDV 250 mL, the 2025 study), JSON-clean
    (a confidence interval the model could not estimate is null, not NaN); an unknown patient is a 404."""
    import dataclasses

    from _risk_cohort import lvef_cohort
    from fastapi.testclient import TestClient

    risk = pytest.importorskip("heartprint.risk")
    from heartprint.service.app import create_app

    settings, _, tok, _ = env
    table = lvef_cohort(200, ef=(20, 70), noise=("lv_edv", 80, 250))
    model = risk.fit(table, time="time", event="event", model="cox", horizon=5.0,
                     cv=risk.CV(outer=2, inner=2, bootstrap=0, bootstrap_models=0, seed=1))  # no bootstrap: CI unknown
    folder = model.save(tmp_path / "model")
    client = TestClient(create_app(dataclasses.replace(settings, risk_model=folder), tokens=tokens[1]))
    r = client.get(f"/patients/{PATIENT}/risk", headers={"Authorization": f"Bearer {tok['reader']}"})
    assert r.status_code == 200, r.text
    got = r.json()["risk"]
    expected = risk.explain(risk.load(folder), {"lv_ef": 40.0, "lv_edv": 250.0})
    assert got["status"] == "assessed" and got["risk"] == pytest.approx(expected["risk"])
    assert {c["feature"]: c["value"] for c in got["contributions"]} == {"lv_ef": 40.0, "lv_edv": 250.0}
    assert got["performance"]["harrell_c_ci95"] == [None, None]
    assert client.get("/patients/nobody/risk", headers={"Authorization": f"Bearer {tok['reader']}"}).status_code == 404
