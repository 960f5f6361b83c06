"""Cohort runs from an Orthanc query (issue 22, SOURCE ``orthanc+http://…``): listing, keys,
per-study fetch into staging, failures tabled, reruns.

A fake Orthanc (``http.server`` in a thread on 127.0.0.1, Basic auth) answers the three calls
the cohort makes — ``POST /tools/find`` (study level, DICOM range and ModalitiesInStudy
matching), ``GET /studies/{id}/instances`` and ``GET /studies/{id}/archive`` —
for seven studies: two good ones (two copies of one small cine phantom, so their measurements
must be equal), one answering HTTP 500, one sending a truncated zip, one a zip with a ``..``
member name, and two outside the query (a CT study, a 2023 study). The run uses the real
``heartprint.pipeline.analyze`` on an in-process Dask client.

``test_real_orthanc`` (opt-in, ``HEARTPRINT_ORTHANC_TESTS=1``, about 20 s) runs the same against
Orthanc 1.10 with a password, inside a private network namespace (``unshare -rn``, as
``tests/test_service_orthanc.py`` does): this file run as a script is that scenario.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _procs import stop

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from heartprint.cohort import _archive, discover, key_salt, study_key  # noqa: E402
from heartprint.errors import InvalidInputError  # noqa: E402

USER, PASSWORD = "cohort", "not-on-the-command-line"


def _orthanc_id(text: str) -> str:
    h = hashlib.sha1(text.encode()).hexdigest()
    return "-".join(h[i:i + 8] for i in range(0, 40, 8))


class FakeOrthanc:
    """The studies of a fake archive and the requests it got."""

    def __init__(self) -> None:
        self.studies: dict[str, dict] = {}
        self.requests: list[str] = []

    def add(self, uid: str, date: str, modality: str, files: list[tuple[str, bytes]], mode: str = "ok",
            length: bool = True) -> str:
        """A study; ``length``: its zip is sent with a Content-Length (else until the connection closes)."""
        oid = _orthanc_id(uid)
        self.studies[oid] = {"uid": uid, "date": date, "modality": modality, "files": files, "mode": mode,
                             "generation": 0, "length": length}
        return oid

    def matches(self, s: dict, query: dict) -> bool:
        for key, want in query.items():
            if key == "StudyDate":
                lo, _, hi = want.partition("-")
                if not (lo <= s["date"] <= (hi or lo)):
                    return False
            elif key == "ModalitiesInStudy":
                if s["modality"] not in want.split("\\"):
                    return False
            else:
                raise AssertionError(f"unexpected query key {key}")
        return True

    def zip_of(self, s: dict) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, (_, data) in enumerate(s["files"]):
                name = f"PATIENT/STUDY/MR SERIES/IM{i:04d}.dcm"
                zf.writestr("../evil.dcm" if s["mode"] == "unsafe" and i == 0 else name, data)
        data = buf.getvalue()
        return data[: len(data) // 2] if s["mode"] == "truncated" else data

    def handler(self):  # noqa: ANN201
        fake = self
        token = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                return None

            def send(self, code: int, body: bytes, ctype: str = "application/json", length: bool = True) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorised(self) -> bool:
                fake.requests.append(f"{self.command} {self.path}")
                if self.headers.get("Authorization") != token:
                    self.send(401, b"{}")
                    return False
                return True

            def do_POST(self):  # noqa: N802
                if not self.authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert self.path == "/tools/find" and body.keys() == {"Level", "Query", "Expand"}
                assert body["Level"] == "Study" and body["Expand"] is True
                hits = [(oid, s) for oid, s in fake.studies.items() if fake.matches(s, body["Query"])]
                self.send(200, json.dumps([{"ID": oid, "Type": "Study", "MainDicomTags": {
                    "StudyInstanceUID": s["uid"], "StudyDate": s["date"]}} for oid, s in hits]).encode())

            def do_GET(self):  # noqa: N802
                if not self.authorised():
                    return
                parts = self.path.strip("/").split("/")
                s = fake.studies.get(parts[1]) if len(parts) == 3 and parts[0] == "studies" else None
                if s is None:
                    self.send(404, b"{}")
                elif parts[2] == "instances":
                    self.send(200, json.dumps([{
                        "ID": _orthanc_id(sop), "Type": "Instance", "FileSize": len(data),
                        "FileUuid": _orthanc_id(f"{sop}/{s['generation']}")[:36],
                        "MainDicomTags": {"SOPInstanceUID": sop}} for sop, data in s["files"]]).encode())
                elif parts[2] == "archive":
                    if s["mode"] == "500":
                        self.send(500, b'{"Message": "Internal error"}')
                    else:
                        self.send(200, fake.zip_of(s), "application/zip", s["length"])
                else:
                    self.send(404, b"{}")

        return Handler


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """(fake, base URL, the phantom rows) with the fake Orthanc serving on 127.0.0.1."""
    import pydicom

    from heartprint.cohort import write_phantom_cohort

    root = tmp_path_factory.mktemp("archive")
    rows = write_phantom_cohort(root, 2, broken_every=0, small=True, distinct=1)

    def files(row):
        out = []
        for p in sorted(Path(row["path"]).glob("*.dcm")):
            out.append((str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID), p.read_bytes()))
        return out

    fake = FakeOrthanc()
    a, b = (files(r) for r in rows)
    c = b  # never analysed: refused before, or not asked for
    fake.add("1.2.826.0.1.3680043.10.1.1", "20240315", "MR", a)
    fake.add("1.2.826.0.1.3680043.10.1.2", "20240601", "MR", b, length=False)
    fake.add("1.2.826.0.1.3680043.10.1.3", "20240701", "MR", c, mode="500")
    fake.add("1.2.826.0.1.3680043.10.1.4", "20240801", "MR", c, mode="truncated")
    fake.add("1.2.826.0.1.3680043.10.1.5", "20240901", "MR", c, mode="unsafe")
    fake.add("1.2.826.0.1.3680043.10.1.6", "20240901", "CT", c)  # not MR
    fake.add("1.2.826.0.1.3680043.10.1.7", "20231231", "MR", c)  # not 2024
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake, f"127.0.0.1:{server.server_address[1]}", rows
    server.shutdown()
    server.server_close()


@pytest.fixture
def credentials(tmp_path, monkeypatch):
    f = tmp_path / "orthanc.auth"
    f.write_text(f"{USER}:{PASSWORD}\n")
    f.chmod(0o600)
    monkeypatch.delenv(_archive.AUTH_ENV, raising=False)
    monkeypatch.setenv(_archive.AUTH_FILE_ENV, str(f))
    return f


QUERY = "?StudyDate=20240101-20241231&ModalitiesInStudy=MR"


def test_source_syntax_credentials_listing_keys(archive, credentials, tmp_path, monkeypatch):
    fake, host, _ = archive
    # credentials are never taken from SOURCE; a misspelt keyword is refused by name
    with pytest.raises(InvalidInputError, match="never taken from the command line"):
        discover(f"orthanc+http://{USER}:{PASSWORD}@{host}/{QUERY}")
    with pytest.raises(InvalidInputError, match="'StudyDat' is not a DICOM keyword"):
        discover(f"orthanc+http://{host}/?StudyDat=2024")
    credentials.chmod(0o644)
    with pytest.raises(InvalidInputError, match="may be read by others"):
        discover(f"orthanc+http://{host}/{QUERY}")
    credentials.chmod(0o600)
    monkeypatch.delenv(_archive.AUTH_FILE_ENV)
    with pytest.raises(InvalidInputError, match="HTTP 401"):  # the archive wants credentials
        discover(f"orthanc+http://{host}/{QUERY}")
    monkeypatch.setenv(_archive.AUTH_ENV, f"{USER}:{PASSWORD}")
    # the query reaches Orthanc as given, in one request (no Limit/Since: Orthanc cannot page ModalitiesInStudy)
    fake.requests.clear()
    items = discover(f"orthanc+http://{host}/{QUERY}")
    assert fake.requests == ["POST /tools/find"]
    uids = [f"1.2.826.0.1.3680043.10.1.{i}" for i in range(1, 6)]
    assert [i.item_id for i in items] == ["orthanc-" + hashlib.sha256(u.encode()).hexdigest()[:16] for u in uids]
    assert [i.path for i in items] == [f"orthanc+http://{host}/studies/{_orthanc_id(u)}" for u in uids]
    with pytest.raises(InvalidInputError, match="no study matches"):
        discover(f"orthanc+http://{host}/?StudyDate=19990101-19991231")
    # the key: the archive's instance list (SOP UID, size, attachment); a re-stored instance redoes it
    salt = key_salt({"report": False})
    first = study_key(items[0], salt)
    assert study_key(items[0], salt) == first and study_key(items[1], salt) != first
    study = fake.studies[_orthanc_id(uids[0])]
    study["generation"] += 1
    try:
        assert study_key(items[0], salt) != first
    finally:
        study["generation"] -= 1
    assert study_key(items[0], salt) == first
    # the cap, declared or streamed, and an id that is not Orthanc's: nothing is left written
    with pytest.raises(_archive.ArchiveError, match="bytes declared, over the cap of 1000 bytes"):
        _archive.fetch_study(items[0], tmp_path / "staging", max_bytes=1000)
    with pytest.raises(_archive.ArchiveError, match="over the cap of 100000 bytes; abandoned"):
        _archive.fetch_study(items[1], tmp_path / "staging", max_bytes=100_000)
    assert not any((tmp_path / "staging").iterdir())
    bad = items[0].__class__("x", f"orthanc+http://{host}/studies/..%2F..%2Fsystem")
    with pytest.raises(_archive.ArchiveError, match="not an Orthanc identifier"):
        _archive.fetch_study(bad, tmp_path / "staging")


def test_run_tables_failures_and_rerun(archive, credentials, tmp_path, monkeypatch):
    from distributed import Client

    from heartprint.cohort import _summary, run_cohort

    # the summary page's plots cost ~2.5 s a run here and are tested in test_cohort.py; this run
    # writes the page from the same tables without them
    summaries = []

    def summary(tables, path):
        summaries.append({t: len(df) for t, df in tables.items()})
        path.write_text("summary")
        return path

    monkeypatch.setattr(_summary, "write_summary", summary)

    fake, host, rows = archive
    source = f"orthanc+http://{host}/{QUERY}"
    out = tmp_path / "out"
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        run = run_cohort(source, out, client=client, report=False, options={"tta": False}, dashboard=None)
        assert (run.n_studies, run.n_done, run.n_failed, run.n_skipped) == (5, 5, 3, 0)
        studies = pd.read_parquet(out / "tables" / "studies.parquet")
        failures = pd.read_parquet(out / "tables" / "failures.parquet")
        uids = [f"1.2.826.0.1.3680043.10.1.{i}" for i in range(1, 6)]
        by_uid = {u: "orthanc-" + hashlib.sha256(u.encode()).hexdigest()[:16] for u in uids}
        item = list(by_uid.values())
        assert list(studies["item_id"]) == sorted(item)
        status = dict(zip(studies["item_id"], studies["status"]))
        assert [status[i] for i in item] == ["ok", "ok", "failed", "failed", "failed"]
        why = dict(zip(failures["item_id"], failures["error"]))
        assert set(why) == set(item[2:]) and set(failures["stage"]) == {"fetch"} and failures["retry"].all()
        assert "HTTP 500 Internal Server Error" in why[item[2]]
        assert "damaged zip" in why[item[3]]
        assert "unsafe member name '../evil.dcm'" in why[item[4]]
        ok = studies[studies["status"] == "ok"].set_index("item_id").loc[item[:2]]
        # the analysis saw the archive's study (its UIDs), named by its archive address; the two
        # copies of one phantom measure the same
        assert list(ok["study_uid"]) == [_study_uid(rows[i]) for i in (0, 1)]
        assert list(ok["path"]) == [f"orthanc+http://{host}/studies/{_orthanc_id(u)}" for u in uids[:2]]
        assert ok["lv_edv"].iloc[0] == ok["lv_edv"].iloc[1] and ok["lv_ef"].iloc[0] == ok["lv_ef"].iloc[1]
        assert abs(ok["lv_edv"].iloc[0] - rows[0]["truth"]["lv_edv_ml"]) < 0.2 * rows[0]["truth"]["lv_edv_ml"]
        m = pd.read_parquet(out / "tables" / "measurements.parquet")
        for name, r in ok.iterrows():
            doc = json.loads((out / r["folder"] / "measurements.json").read_text())
            written = [(x["code"], x["value"]) for s in doc["series"] for x in s["measurements"]]
            tabled = m[m["item_id"] == name]
            assert written == list(zip(tabled["code"], tabled["value"]))
            assert str(r["path"]) in json.dumps(doc) and "staging" not in json.dumps(doc)
        keys = dict(zip(studies["item_id"], studies["key"]))
        salt = key_salt({"tta": False, "report": False})
        assert [keys[i.item_id] for i in discover(source)] == [study_key(i, salt) for i in discover(source)]
        assert not any((out / ".cohort" / "staging").glob("*"))  # every staging copy deleted
        # rerun: the two analysed studies are skipped (not fetched again), the failed ones retried
        fake.requests.clear()
        again = run_cohort(source, out, client=client, report=False, options={"tta": False}, dashboard=None)
    assert (again.n_studies, again.n_skipped, again.n_done, again.n_failed, again.n_retry) == (5, 2, 3, 3, 3)
    fetched = sorted(r.split("/")[2] for r in fake.requests if r.endswith("/archive"))
    assert fetched == sorted(_orthanc_id(u) for u in uids[2:])
    studies2 = pd.read_parquet(out / "tables" / "studies.parquet").set_index("item_id")
    assert list(studies2.loc[item, "status"]) == ["ok", "ok", "failed", "failed", "failed"]
    assert list(studies2.loc[item, "key"]) == [keys[i] for i in item]
    assert sorted(pd.read_parquet(out / "tables" / "failures.parquet")["item_id"]) == sorted(item[2:])
    assert not any((out / ".cohort" / "staging").glob("*"))
    assert summaries == [{"measurements": len(m), "studies": 5, "findings": summaries[0]["findings"],
                          "failures": 3, "timings": 5}] * 2


def _study_uid(row: dict) -> str:
    """The Study Instance UID inside a phantom study's files."""
    import pydicom

    first = sorted(Path(row["path"]).glob("*.dcm"))[0]
    return str(pydicom.dcmread(first, stop_before_pixels=True).StudyInstanceUID)


# -- a real Orthanc (opt-in) ----------------------------------------------------------------------

ORTHANC = "/usr/sbin/Orthanc"


def _real_orthanc_scenario(tmp: Path) -> dict:
    """Inside ``unshare -rn``: Orthanc 1.10 with a password, three phantom studies (two in 2024,
    one in 2019), a cohort run on the 2024 ones, a rerun, one instance deleted and a rerun, one
    instance stored again (overwritten, same SOP Instance UID) and a rerun."""
    import subprocess
    import time

    import httpx
    import pydicom
    from distributed import Client

    from heartprint.cohort import run_cohort, write_phantom_cohort

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    config = {"Name": "hp-cohort", "HttpPort": 8042, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}, "OverwriteInstances": True,
              "StorageDirectory": str(tmp / "orthanc"), "IndexDirectory": str(tmp / "orthanc")}
    (tmp / "orthanc.json").write_text(json.dumps(config))
    auth = tmp / "auth"
    auth.write_text(f"{USER}:{PASSWORD}\n")
    auth.chmod(0o600)
    os.environ[_archive.AUTH_FILE_ENV] = str(auth)
    log = open(tmp / "orthanc.log", "wb")
    proc = subprocess.Popen([ORTHANC, str(tmp / "orthanc.json")], stdout=log, stderr=log)
    base, out = "http://127.0.0.1:8042", {}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/system", auth=(USER, PASSWORD), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "orthanc.log").read_text()
            time.sleep(0.1)
        rows = write_phantom_cohort(tmp / "phantoms", 3, broken_every=0, small=True, distinct=1)
        for row, date in zip(rows, ("20240315", "20240601", "20190101")):
            for p in sorted(Path(row["path"]).glob("*.dcm")):
                ds = pydicom.dcmread(p)
                ds.StudyDate = date
                buf = io.BytesIO()
                ds.save_as(buf)
                httpx.post(f"{base}/instances", content=buf.getvalue(), auth=(USER, PASSWORD)).raise_for_status()
        source = f"orthanc+http://127.0.0.1:8042/{QUERY}"
        from heartprint.cohort import discover as find

        try:
            find("orthanc+http://127.0.0.1:8042/?ModalitiesInStudy=CT")
        except InvalidInputError as exc:
            out["ct"] = str(exc)
        result_dir = tmp / "out"
        with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
            def run() -> list:
                r = run_cohort(source, result_dir, client=client, report=False, options={"tta": False},
                               dashboard=None)
                t = pd.read_parquet(result_dir / "tables" / "studies.parquet")
                return [r.n_studies, r.n_skipped, r.n_done, r.n_failed,
                        sorted(zip(t["study_uid"], t["status"], t["lv_edv"].round(3)))]
            out["first"] = run()
            out["again"] = run()
            sid = httpx.post(f"{base}/tools/lookup", content=_study_uid(rows[1]), auth=(USER, PASSWORD)).json()[0]["ID"]
            inst = httpx.get(f"{base}/studies/{sid}/instances", auth=(USER, PASSWORD)).json()
            httpx.delete(f"{base}/instances/{inst[-1]['ID']}", auth=(USER, PASSWORD)).raise_for_status()
            out["changed"] = run()[:4]
            # one instance of the other study stored again with one header changed (same SOP UID)
            first = sorted(Path(rows[0]["path"]).glob("*.dcm"))[0]
            ds = pydicom.dcmread(first)
            ds.StudyDate, ds.SeriesDescription = "20240315", "stored again"
            buf = io.BytesIO()
            ds.save_as(buf)
            httpx.post(f"{base}/instances", content=buf.getvalue(), auth=(USER, PASSWORD)).raise_for_status()
            out["restored"] = run()[:4]
        out["uids"] = [_study_uid(r) for r in rows]
        out["staging_left"] = sorted(p.name for p in (result_dir / ".cohort" / "staging").glob("*"))
    finally:
        stop(proc, log)
    return out


@pytest.mark.slow  # Orthanc in a private network namespace, four real analyses: about 20 s
def test_real_orthanc(tmp_path):
    import shutil
    import subprocess

    if os.environ.get("HEARTPRINT_ORTHANC_TESTS") != "1":
        pytest.skip("set HEARTPRINT_ORTHANC_TESTS=1 to run the cohort against a real Orthanc (about 20 s)")
    if not Path(shutil.which("Orthanc") or ORTHANC).exists():
        pytest.skip("Orthanc is not installed (Debian package orthanc)")
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("no user network namespace here (unshare -rn)")
    r = subprocess.run(["unshare", "-rn", sys.executable, __file__, str(tmp_path)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "HEARTPRINT_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-4000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    first, again, changed = out["first"], out["again"], out["changed"]
    assert first[:4] == [2, 0, 2, 0]  # the 2019 study is not asked for
    assert [u for u, _, _ in first[4]] == sorted(out["uids"][:2])
    assert [s for _, s, _ in first[4]] == ["ok", "ok"] and first[4][0][2] == first[4][1][2]
    assert again[:4] == [2, 2, 0, 0] and again[4] == first[4]
    assert changed == [2, 1, 1, changed[3]]  # the study with an instance deleted is redone, the other skipped
    assert out["restored"] == [2, 1, 1, 0]  # an instance overwritten: its study redone
    assert out["staging_left"] == [] and "no study matches" in out["ct"]


if __name__ == "__main__":
    print(json.dumps(_real_orthanc_scenario(Path(sys.argv[1]))))
