"""heartprint.service: the API (tokens, roles, uploads, errors, audit) and the durable job queue
(leases, retries, a worker SIGKILLed mid-study) through to results of a real phantom study.

One real analysis runs (a 6-slice, 5-phase, 80 × 80 cine phantom, no TTA, no report); everything else
is the API and the queue on a SQLite registry in a temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from heartprint.service import Settings  # noqa: E402
from heartprint.service._auth import TokenStore, new_token  # noqa: E402

TESTS = Path(__file__).resolve().parent


def stall_for_kill(job, source) -> None:  # noqa: ANN001
    """Test hook run by the subprocess worker before its analysis: says it has the job, then
    waits to be killed (``HEARTPRINT_SERVICE_TEST_HOOK=test_service:stall_for_kill``)."""
    (Path(source).parent / f"stalled.{os.getpid()}").write_text(job.id)
    time.sleep(300)


@pytest.fixture(scope="module")
def tokens():
    made = {role: new_token(f"test {role}", role) for role in ("reader", "submitter", "admin")}
    return {role: tok for role, (tok, _) in made.items()}, TokenStore([rec for _, rec in made.values()])


@pytest.fixture(scope="module")
def env(tmp_path_factory, tokens):
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app

    root = tmp_path_factory.mktemp("service")
    settings = Settings(registry=str(root / "registry.db"), data_dir=root / "data", max_upload_bytes=4 << 20,
                        report=False, tta=False, lease_s=1.0, max_attempts=3)
    client = TestClient(create_app(settings, tokens=tokens[1]))
    return settings, client, tokens[0]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def _audit_rows(settings: Settings) -> list[dict]:
    from sqlalchemy import create_engine, select

    from heartprint.service._db import audit

    engine = create_engine(f"sqlite:///{settings.registry}")
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(audit).order_by(audit.c.id))]
    engine.dispose()
    return rows


# -- tokens and roles -------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_checked(tmp_path):
    path = tmp_path / "tokens.json"
    token = TokenStore.add_to_file(path, "alice", "reader")
    text = path.read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text and token not in text  # only the scrypt hash is kept
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    store = TokenStore.load(path)
    assert store.verify(token).role == "reader"
    assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # one character wrong
    assert store.verify("hp_00000000_" + secret) is None  # unknown id
    assert store.verify(None) is None and store.verify("Bearer") is None
    # revoked by editing the file: refused at the next check, no restart
    doc = json.loads(text)
    doc["tokens"] = []
    path.write_text(json.dumps(doc))
    store._checked -= 2  # the file is looked at once a second
    assert store.verify(token) is None


def test_requests_without_a_valid_token_are_refused(env):
    settings, client, tok = env
    for headers in ({}, auth("hp_deadbeef_nope"), auth(tok["reader"] + "x"), {"Authorization": tok["reader"]}):
        r = client.get("/jobs/0123", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert client.get("/health").status_code == 200  # the one open endpoint
    refused = [a for a in _audit_rows(settings) if a["status_code"] == 401]
    assert len(refused) >= 4 and all(a["token_id"] is None and a["action"] == "read_status" for a in refused)


def test_roles_are_enforced(env):
    settings, client, tok = env
    body = _zip({"a.dcm": b"x"})
    r = client.post("/studies", headers={**auth(tok["reader"]), "Content-Type": "application/zip"}, content=body)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    for role in ("reader", "submitter"):
        assert client.get("/audit", headers=auth(tok[role])).status_code == 403
    r = client.get("/audit", headers=auth(tok["admin"]))
    assert r.status_code == 200 and r.json()["rows"]
    assert client.get("/jobs/nope", headers=auth(tok["reader"])).json() == {"error": "job_not_found",
                                                                            "detail": "no job 'nope'"}


# -- uploads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.dcm", "a/../../evil.dcm", "/etc/evil.dcm", "..\\evil.dcm", "C:evil.dcm"])
def test_zip_slip_upload_is_refused(env, name):
    settings, client, tok = env
    before = set(settings.jobs_dir.iterdir())
    r = client.post("/studies", headers={**auth(tok["submitter"]), "Content-Type": "application/zip"},
                    content=_zip({"ok/1.dcm": b"x", name: b"evil"}))
    assert r.status_code == 400 and r.json()["error"] == "unsafe_member_name", r.text
    assert set(settings.jobs_dir.iterdir()) == before  # nothing kept, nothing queued
    assert not (settings.data_dir / "evil.dcm").exists() and not (settings.data_dir.parent / "evil.dcm").exists()


def test_oversize_upload_is_refused_while_streaming(env):
    settings, client, tok = env
    headers = {**auth(tok["submitter"]), "Content-Type": "application/zip"}
    big = b"\0" * (settings.max_upload_bytes + 1)
    r = client.post("/studies", headers=headers, content=big)  # declared length over the limit
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    def chunks():  # no Content-Length: counted while the body streams in
        for _ in range(settings.max_upload_bytes // 65536 + 2):
            yield b"\0" * 65536

    r = client.post("/studies", headers=headers, content=chunks())
    assert r.status_code == 413 and "exceeds" in r.json()["detail"]
    assert not [p for p in settings.jobs_dir.iterdir() if p.name.endswith(".upload")]
    r = client.post("/studies", headers={**auth(tok["submitter"]), "Content-Type": "text/plain"}, content=b"x")
    assert r.status_code == 415
    r = client.post("/studies", headers=headers, content=b"not a zip")
    assert r.status_code == 415 and r.json()["error"] == "not_a_zip"


def test_rate_limit_per_token(tmp_path, tokens):
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app

    settings = Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "d", rate_limit=3, rate_window_s=60)
    client = TestClient(create_app(settings, tokens=tokens[1]))
    codes = [client.get("/jobs/x", headers=auth(tokens[0]["reader"])).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    r = client.get("/jobs/x", headers=auth(tokens[0]["reader"]))
    assert r.json()["error"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    assert client.get("/jobs/x", headers=auth(tokens[0]["admin"])).status_code == 404  # per token


def test_openapi_is_published_with_bearer_security(env):
    _, client, _ = env
    doc = client.get("/openapi.json").json()
    assert {"/studies", "/jobs/{job_id}", "/jobs/{job_id}/results", "/patients/{patient_id}/phenotype"} <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_a_server_fault_is_a_json_500_and_audited(tmp_path, tokens):
    from fastapi.testclient import TestClient

    from heartprint.service.app import create_app

    settings = Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "d")
    app = create_app(settings, tokens=tokens[1])
    app.state.queue.get = lambda job_id: 1 / 0  # the database layer failing
    r = TestClient(app, raise_server_exceptions=False).get("/jobs/x", headers=auth(tokens[0]["reader"]))
    assert r.status_code == 500 and r.json()["error"] == "internal_error" and "ZeroDivision" in r.json()["detail"]
    assert [(a["action"], a["status_code"]) for a in _audit_rows(settings)] == [("read_status", 500)]


def test_every_operation_refuses_without_a_token_and_never_answers_500(env):
    """Each operation of the published schema, with hostile path and query values, without a
    token and with an admin's: never a 5xx, always JSON, and without a valid
    token either 401 or no such route (a value with an encoded slash that routes nowhere)."""
    _, client, tok = env
    doc = client.get("/openapi.json").json()
    hostile = ["0" * 300, "..%2F..%2Fetc%2Fpasswd", "%00%7B%7D", "-1%E2%80%AE"]
    n = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            secured = bool(op.get("security"))
            for value in hostile:
                url = path
                for name in ("job_id", "patient_id", "file_path"):
                    url = url.replace("{" + name + "}", value)
                for headers in ({}, auth(tok["admin"])):  # a wrong token: test_requests_without_a_valid_token_...
                    r = client.request(method.upper(), url + "?limit=" + value, headers=headers, content=value)
                    n += 1
                    assert r.status_code < 500 or (r.status_code, r.json()["error"]) == (501, "no_risk_model"), \
                        (method, url, headers, r.text)
                    assert r.headers["content-type"].startswith("application/json"), (method, url, r.headers)
                    if secured and headers != auth(tok["admin"]):  # refused, or no such route at all
                        assert r.status_code == 401 or (r.status_code in (404, 405) and r.json()["error"] in (
                            "not_found", "method_not_allowed")), (method, url, r.status_code, r.text)
    assert n >= 60


def test_risk_without_a_model_is_501(env):
    _, client, tok = env
    r = client.get("/patients/P1/risk", headers=auth(tok["reader"]))
    assert r.status_code == 501 and r.json()["error"] == "no_risk_model"


# -- the queue --------------------------------------------------------------------------------


def test_claims_are_exclusive_and_attempts_bounded(tmp_path):
    from heartprint.service._db import open_engine
    from heartprint.service._jobs import JobQueue

    engine = open_engine(tmp_path / "q.db")
    queue = JobQueue(engine, max_attempts=2)
    ids = {queue.submit(source="upload", source_ref="t", submitted_by="t") for _ in range(12)}
    claimed: list[str] = []

    def work(name: str) -> None:
        q = JobQueue(open_engine(tmp_path / "q.db"), max_attempts=2)
        while (job := q.claim(name, lease_s=60)) is not None:
            claimed.append(job.id)
            assert q.finish(job, {"studies": []})

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every job once, none twice

    job_id = queue.submit(source="upload", source_ref="t", submitted_by="t")
    first = queue.claim("a", lease_s=0.001)
    time.sleep(0.01)  # lease expired: the worker "died"
    second = queue.claim("b", lease_s=0.001)
    assert (first.id, second.id, second.attempts) == (job_id, job_id, 2)
    assert not queue.heartbeat(first, 60) and not queue.finish(first, {})  # the old holder lost it
    time.sleep(0.01)
    assert queue.claim("c", lease_s=60) is None  # two attempts used: failed, not claimed a third time
    gone = queue.get(job_id)
    assert gone.status == "failed" and "after 2 attempts" in gone.error
    engine.dispose()


def test_orthanc_watch_resumes_and_queues_each_study_once(tmp_path):
    """``/changes`` scripted as Orthanc answers it (pages of ``limit``, ``Done``, ``Last``): every
    StableStudy is queued once, in order, from the last change stored; a study re-reported stable
    because heartprint's SEG and SR were stored back is not queued again; a watcher that restarts
    asks from where the last one stopped; a study re-reported stable with new source images is
    queued again, once."""
    import httpx

    from heartprint.service._db import open_engine
    from heartprint.service._jobs import JobQueue
    from heartprint.service._orthanc import Orthanc

    changes = [{"Seq": i, "ChangeType": t, "ID": sid} for i, (t, sid) in enumerate(
        [("NewInstance", "i1"), ("StableStudy", "s1"), ("NewInstance", "i2"), ("StableSeries", "x"),
         ("StableStudy", "s2"), ("NewSeries", "seg"), ("StableStudy", "s1")], start=1)]
    asked = []

    def series(*kinds: str) -> list[dict]:
        tags = {"MR": {"Modality": "MR", "Manufacturer": "heartprint", "SeriesDescription": "CINE"},  # a phantom's
                "SEG": {"Modality": "SEG", "Manufacturer": "heartprint", "SeriesDescription": "heartprint SEG"},
                "SR": {"Modality": "SR", "Manufacturer": "heartprint", "SeriesDescription": "heartprint measurements: CINE"},
                "vendor SR": {"Modality": "SR", "Manufacturer": "Echo Inc", "SeriesDescription": "heartprint-like"}}
        return [{"MainDicomTags": tags[k], "Instances": [f"{k}{i}" for i in range(3)]} for k in kinds]

    # s1 holds heartprint's SEG/SR series by the time it is re-reported at Seq 7: still 3 source images
    studies = {"s1": series("MR", "SEG", "SR"), "s2": series("MR"), "s3": series("MR")}

    def orthanc(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/studies/"):
            return httpx.Response(200, json=studies[request.url.path.split("/")[2]])
        since, limit = int(request.url.params["since"]), int(request.url.params["limit"])
        asked.append(since)
        page = [c for c in changes if c["Seq"] > since][:limit]
        last = page[-1]["Seq"] if page else since
        return httpx.Response(200, json={"Changes": page, "Done": last == changes[-1]["Seq"], "Last": last})

    engine = open_engine(tmp_path / "q.db")
    watcher = Orthanc("http://orthanc")
    watcher.http = httpx.Client(base_url="http://orthanc", transport=httpx.MockTransport(orthanc))
    queued = watcher.poll_changes(engine, limit=2)
    queue = JobQueue(engine)
    assert [queue.get(j).source_ref for j in queued] == ["s1", "s2"]  # s1 re-reported at Seq 7: not again
    assert asked == [0, 2, 4, 6]
    changes.append({"Seq": 8, "ChangeType": "StableStudy", "ID": "s3"})
    restarted = Orthanc("http://orthanc")
    restarted.http = watcher.http
    again = restarted.poll_changes(engine, limit=2)
    assert [queue.get(j).source_ref for j in again] == ["s3"] and asked[-1] == 7  # resumed after change 7
    # new images in s2 (a second scanner series): queued again, with its new source image count; once
    studies["s2"] = series("MR", "vendor SR")  # a vendor's measurement SR is a source
    changes.append({"Seq": 9, "ChangeType": "StableStudy", "ID": "s2"})
    changes.append({"Seq": 10, "ChangeType": "StableStudy", "ID": "s2"})
    third = restarted.poll_changes(engine, limit=2)
    assert [(queue.get(j).source_ref, queue.get(j).parameters["source_instances"]) for j in third] == [("s2", 6)]
    changes.append({"Seq": 11, "ChangeType": "StableStudy", "ID": "s2"})
    assert restarted.poll_changes(engine, limit=2) == []
    engine.dispose()


def test_a_job_retried_after_its_stow_replaces_what_it_stored(tmp_path):
    """A worker that dies between STOW-RS and "done" leaves its SEG and SR in the archive; the retry
    (new files, new UIDs) deletes them before storing its own: one copy in the archive, never two."""
    from types import SimpleNamespace

    import httpx
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from heartprint.service._orthanc import Orthanc

    settings = Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "data")
    job = SimpleNamespace(id="job1", source="orthanc")
    archive: dict[str, str] = {}  # Orthanc id -> SOP Instance UID

    def attempt() -> dict:
        files = []
        for name in ("seg_1.dcm", "sr_1.dcm"):
            ds = Dataset()
            ds.SOPInstanceUID, ds.SOPClassUID = generate_uid(), "1.2.840.10008.5.1.4.1.1.88.34"
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            path = settings.results_dir / job.id / "study" / "dicom" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            files.append(f"study/dicom/{name}")
        return {"studies": [{"files": [*files, "study/measurements.json"]}]}

    def orthanc(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tools/lookup":
            uid = request.content.decode()
            return httpx.Response(200, json=[{"Type": "Instance", "ID": k} for k, v in archive.items() if v == uid])
        if request.method == "DELETE":
            return httpx.Response(200 if archive.pop(request.url.path.rsplit("/", 1)[1], None) else 404, json={})
        return httpx.Response(404)

    o = Orthanc("http://orthanc")
    o.http = httpx.Client(base_url="http://orthanc", transport=httpx.MockTransport(orthanc))
    o.store = lambda files: archive.update({f"o{len(archive) + i}": str(pydicom.dcmread(f).SOPInstanceUID)
                                            for i, f in enumerate(files)})
    after = o.store_results(settings)
    first = attempt()
    after(job, first)  # ... and the worker is killed before it marks the job done
    stored_first = set(archive.values())
    assert len(stored_first) == 2 and first["studies"][0]["stored_to_archive"] == ["study/dicom/seg_1.dcm",
                                                                                   "study/dicom/sr_1.dcm"]
    second = attempt()  # the retry writes the results again, with new UIDs
    after(job, second)
    assert len(archive) == 2 and not (set(archive.values()) & stored_first)  # replaced, not added
    after(SimpleNamespace(id="job2", source="upload"), attempt())  # an uploaded study is not stored back
    assert len(archive) == 2


# -- a real study through the queue, with a worker killed mid-study ---------------------------


@pytest.fixture(scope="module")
def phantom_zip(tmp_path_factory):
    from heartprint.phantoms import make_cine_sax, write_cine_sax_dicom

    folder = tmp_path_factory.mktemp("cine")
    phantom = make_cine_sax(seed=5, n_phases=5, n_slices=6, matrix=(80, 80), spacing=(8.0, 1.75, 1.75))
    paths = write_cine_sax_dicom(phantom, folder, overwrite=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, p.relative_to(folder).as_posix())
    return buf.getvalue(), phantom


def test_killed_worker_job_is_retried_and_results_served(env, phantom_zip):
    from heartprint.service.worker import Worker
    from heartprint.store import Registry

    settings, client, tok = env
    body, phantom = phantom_zip
    r = client.post("/studies", headers={**auth(tok["submitter"]), "Content-Type": "application/zip"}, content=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert client.get(f"/jobs/{job_id}", headers=auth(tok["reader"])).json()["status"] == "queued"
    assert client.get(f"/jobs/{job_id}/results", headers=auth(tok["reader"])).status_code == 409

    cmd = [sys.executable, "-m", "heartprint.service.worker", "--registry", settings.registry, "--data",
           str(settings.data_dir), "--lease", str(settings.lease_s), "--no-report", "--no-tta", "--poll", "0.1"]
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               "HEARTPRINT_SERVICE_TEST_HOOK": "test_service:stall_for_kill", "HEARTPRINT_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = settings.jobs_dir / job_id / f"stalled.{proc.pid}"
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the subprocess worker never claimed the job"
            time.sleep(0.05)
        status = client.get(f"/jobs/{job_id}", headers=auth(tok["reader"])).json()
        assert (status["status"], status["attempts"]) == ("running", 1)
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-study: no cleanup, no lease release
        proc.wait()
        proc.stderr.close()

    worker = Worker(settings, name="second")
    try:
        deadline = time.monotonic() + 30
        while (job := worker.run_once()) is None:  # nothing to claim until the dead worker's lease runs out
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job.id == job_id and job.attempts == 2
    finally:
        worker.close()

    status = client.get(f"/jobs/{job_id}", headers=auth(tok["reader"])).json()
    assert (status["status"], status["attempts"], status["error"]) == ("done", 2, None), status
    # the job list: an admin sees every job, a submitter its own, a reader (who submitted none) nothing
    listed = {role: [j["job_id"] for j in client.get("/jobs", params={"status": "done"}, headers=auth(tok[role]))
                     .json()["jobs"]] for role in ("admin", "submitter", "reader")}
    assert job_id in listed["admin"] and listed["submitter"] == [job_id] and listed["reader"] == []
    assert client.get("/jobs", params={"status": "lost"}, headers=auth(tok["admin"])).status_code == 422
    res = client.get(f"/jobs/{job_id}/results", headers=auth(tok["reader"])).json()
    [study] = res["studies"]
    assert study["study_uid"] == phantom.image.study_uid and study["status"] in ("ok", "partial")
    names = set(study["files"])
    folder = study["folder"]
    sop = phantom.image.series_uid
    assert {f"{folder}/measurements.json", f"{folder}/dicom/seg_{sop}.dcm", f"{folder}/dicom/sr_{sop}.dcm",
            f"{folder}/fhir_bundle.json"} <= names
    # served byte for byte from inside the job's folder, and only what the job lists
    doc = client.get(study["files"][f"{folder}/measurements.json"], headers=auth(tok["reader"]))
    assert doc.status_code == 200
    on_disk = settings.results_dir / job_id / folder / "measurements.json"
    assert doc.content == on_disk.read_bytes()
    seg = client.get(f"/jobs/{job_id}/files/{folder}/dicom/seg_{sop}.dcm", headers=auth(tok["reader"]))
    assert seg.headers["content-type"] == "application/dicom" and seg.content[128:132] == b"DICM"
    for bad in (f"{folder}/report.html", "..%2F..%2Fregistry.db", f"{folder}/..%2F..%2F..%2Fjobs/{job_id}/input.zip",
                "%2Fetc%2Fpasswd"):
        r = client.get(f"/jobs/{job_id}/files/{bad}", headers=auth(tok["reader"]))
        assert r.status_code == 404 and r.json()["error"] == "file_not_found", bad
    # nothing duplicated: one result folder, no leftovers of the killed run, one registry run of this job
    assert [p.name for p in (settings.results_dir / job_id).iterdir()] == [folder]
    with Registry(settings.registry) as reg:
        runs = [x for x in reg.runs(phantom.image.study_uid) if x.parameters.get("service_job") == job_id]
        assert len(runs) == 1 and runs[0].run_id == study["run_id"]
    # the phenotype over time comes from the registry and agrees with the served document
    lvef = next(m for s in json.loads(doc.content)["series"] for m in s["measurements"] if m["code"] == "lv_ef")
    pheno = client.get(f"/patients/{study['patient_id']}/phenotype", headers=auth(tok["reader"])).json()
    [q] = [q for q in pheno["quantities"] if q["code"] == "lv_ef"]
    assert [p["value"] for p in q["points"]] == [pytest.approx(lvef["value"])]
    # audit: who submitted and who read what
    rows = _audit_rows(settings)
    sub = [a for a in rows if a["action"] == "submit" and a["target"] == job_id]
    assert len(sub) == 1 and sub[0]["role"] == "submitter" and sub[0]["status_code"] == 202
    reads = {(a["action"], a["status_code"]) for a in rows if a["target"].startswith(job_id) and a["role"] == "reader"}
    assert {("read_status", 200), ("read_results", 409), ("read_results", 200), ("read_file", 200),
            ("read_file", 404)} <= reads


# -- receiving by DICOM C-STORE -----------------------------------------------------------------


def test_cstore_receiver_queues_a_study_once_it_is_still(tmp_path, phantom_zip):
    import pydicom
    from pynetdicom import AE

    from heartprint.service._db import open_engine
    from heartprint.service._scp import StoreReceiver

    settings = Settings(registry=str(tmp_path / "r.db"), data_dir=tmp_path / "data")
    engine = open_engine(settings.registry)
    with zipfile.ZipFile(io.BytesIO(phantom_zip[0])) as zf:
        sent = [pydicom.dcmread(io.BytesIO(zf.read(n))) for n in zf.namelist()[:8]]  # ~50 ms per C-STORE
    import copy
    import warnings

    crafted = copy.deepcopy(sent[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pydicom: not a valid UID, which is the point
        crafted.StudyInstanceUID, crafted.SOPInstanceUID = "../../escape", "1.2.3.4"
    receiver = StoreReceiver(settings, engine, port=0, stable_s=0.3)
    receiver.start()
    try:
        port = receiver._server.socket.getsockname()[1]
        ae = AE(ae_title="TESTSCU")
        ae.add_requested_context(sent[0].SOPClassUID)
        assoc = ae.associate("127.0.0.1", port, ae_title="HEARTPRINT")
        assert assoc.is_established
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the crafted UID again, as it is encoded and decoded
            statuses = [assoc.send_c_store(ds).Status for ds in [*sent, crafted]]
        assoc.release()
        assert statuses == [0] * (len(sent) + 1)
        assert receiver.flush() == []  # still arriving: not queued yet
        time.sleep(0.35)
        job_ids = receiver.flush()
    finally:
        receiver.stop()
    assert len(job_ids) == 2  # the phantom study, and the crafted one under a hashed name, inside the data folder
    from heartprint.service._jobs import JobQueue

    jobs = {JobQueue(engine).get(j).source_ref: j for j in job_ids}
    study = sent[0].StudyInstanceUID
    assert set(jobs) == {study, "x" + __import__("hashlib").sha256(b"../../escape").hexdigest()[:16]}
    with zipfile.ZipFile(settings.jobs_dir / jobs[study] / "input.zip") as zf:
        got = {pydicom.dcmread(io.BytesIO(zf.read(n))).SOPInstanceUID for n in zf.namelist()}
    assert got == {ds.SOPInstanceUID for ds in sent}
    assert list((settings.data_dir / "incoming").iterdir()) == [] and not (tmp_path / "escape").exists()
    assert receiver.flush() == []  # queued once
    engine.dispose()
