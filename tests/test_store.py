"""The registry (heartprint.store) on SQLite and on a real PostgreSQL server.

The PostgreSQL server is started by the ``pg_server`` fixture from the Debian binaries
(``/usr/lib/postgresql/*/bin/initdb`` and ``postgres``) in a temporary folder, listening on
127.0.0.1 at a free port, and stopped by its PID at the end of the session. As root the
cluster is created and run as the ``postgres`` user. Without the binaries (or that user)
the PostgreSQL half of the suite skips with the reason.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the store extra (SQLAlchemy, Alembic, psycopg) is not installed")

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from heartprint.errors import InvalidInputError  # noqa: E402
from heartprint.measure import Finding, Measurement, QCFlag  # noqa: E402
from heartprint.store import Registry, RegistryError, current_revision, normalize_url, upgrade  # noqa: E402
from heartprint.store._models import AnalysisRun, Base, MeasurementRow, Patient, QCFlagRow, RunSeries  # noqa: E402

# -- PostgreSQL server ---------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_cmd(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]


@pytest.fixture(scope="session")
def pg_server():
    """URL of a throw-away PostgreSQL server on 127.0.0.1 (maintenance database ``postgres``)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="heartprint-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no 'postgres' user for initdb (it refuses root)")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, log = root / "data", root / "server.log"
    initdb = subprocess.run(
        _as_postgres_cmd([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--no-sync", "--locale=C"]),
        capture_output=True, text=True, timeout=60,
    )
    if initdb.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {initdb.stderr.strip()[-300:]}")
    port = _free_port()
    # fsync off and no full-page writes: a test cluster that is thrown away after the session.
    server = subprocess.Popen(
        _as_postgres_cmd([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                          "-k", str(root), "-F", "-c", "full_page_writes=off", "-c", "max_connections=40"]),
        stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    engine = create_engine(normalize_url(url))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with engine.connect() as c:
                    c.execute(text("SELECT 1"))
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-500:]}") from None
                time.sleep(0.1)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        pid = _postmaster_pid(data) or server.pid  # runuser's child is the postmaster
        for p in {pid, server.pid}:
            try:
                os.kill(p, signal.SIGINT)  # PostgreSQL "fast" shutdown
            except ProcessLookupError:
                pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    yield server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def registry(url):
    reg = Registry(url)
    yield reg
    reg.close()


# -- a study result ------------------------------------------------------------------------

STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES = STUDY + ".1"


def _measure(code: str, value: float, unit: str, **kw) -> dict:
    return Measurement(code=code, name=code.replace("_", " "), value=value, unit=unit, source=SERIES, **kw).to_dict()


def study_result(ef: float = 55.0, *, study: str = STUDY, series: str = SERIES, source: str = "/data/study1",
                 patient: str | None = None) -> dict:
    """A heartprint.study/2 dict shaped like StudyResult.to_dict() (cine series + one not analysed)."""
    return {
        "schema": "heartprint.study/2",
        "heartprint_version": "0.1.0",
        "disclaimer": "research only",
        "source": source,
        "status": "ok",
        "patient": {"patient_id": patient, "issuer": None, "name": None, "sex": None, "birth_date": None,
                    "age_years": None, "height_cm": None, "weight_kg": None, "bsa_m2": None},
        "study": {"study_uid": study, "date": "2024-03-01", "description": "", "accession_number": "",
                  "modalities": ["MR"]},
        "study_uids": [study],
        "history": [],
        "series": [
            {
                "series_uid": series, "kind": "cine_sax", "status": "analysed", "seconds": 3.2,
                "method": "Simpson discs",
                "qc_status": "warning",
                "measurements": [
                    _measure("lv_edv", 150.0, "mL", phase="ED", method="Simpson discs",
                             reference="Schulz-Menger 2020", modality="MR",
                             reference_range={"low": 106, "high": 214, "population": "adult men", "reference": "doi"}),
                    _measure("lv_ef", ef, "%", modality="MR"),
                    _measure("wall_thickness", 9.5, "mm", segment=3, phase="ED"),
                ],
                "qc": [QCFlag(code="basal_coverage", severity="warning", message="basal slice 1 mm short",
                              details={"slices": [0, 1], "threshold_mm": 5.0}).to_dict()],
                "segment_maps": [], "figure_data": {}, "details": {},
                "model": {"model": "heartprint-sax-unet", "model_sha256": "ab" * 32},
            },
            {"series_uid": series + ".9", "kind": "lge", "status": "not_analysed", "seconds": 0.0,
             "message": "no analyser for kind 'lge' yet"},
        ],
        "skipped_files": [{"file": "x.txt", "reason": "not DICOM"}],
        "notes": [],
        "interpretation": {
            "findings": [Finding(code="lv_ef_normal", statement=f"LVEF {ef} %", rule="clinical.hf.type",
                                 citation="ESC HF 2021 Table 3", inputs={"lv_ef": {"value": ef, "unit": "%"}}).to_dict()],
        },
    }


def _count(url: str, model) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as c:
            return c.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


# -- schema --------------------------------------------------------------------------------


def test_migrations_produce_the_models_schema(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert current_revision(url) is None
    upgrade(url)
    upgrade(url)  # at head: nothing to do
    assert current_revision(url) == "0001"
    engine = create_engine(normalize_url(url))
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_store_package_never_calls_create_all():
    src = Path(__file__).resolve().parents[1] / "src" / "heartprint" / "store"
    assert not [p for p in src.rglob("*.py") if "create_all" in p.read_text()]


def test_migrations_ship_as_package_data():
    import tomllib

    globs = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    data = globs["tool"]["setuptools"]["package-data"]["heartprint"]
    src = Path(__file__).resolve().parents[1] / "src" / "heartprint"
    shipped = {p for g in data for p in src.glob(g)}
    migrations = {p for p in (src / "store" / "migrations").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert migrations and migrations <= shipped


# -- recording and reading -----------------------------------------------------------------


def test_record_and_read_back(registry):
    doc = study_result()
    run_id = registry.record_study_result(doc, patient_id="P001", parameters={"tta": True, "height_cm": 180})
    [run] = registry.runs(STUDY)
    assert run.run_id == run_id and run.status == "complete" and run.error is None
    assert run.study_uids == (STUDY,) and run.patient_id == "P001" and run.source == "/data/study1"
    assert run.parameters == {"tta": True, "height_cm": 180}
    assert run.model_versions == {"heartprint-sax-unet": "ab" * 32}
    assert run.software_version == "0.1.0"
    assert run.started_at <= run.finished_at and run.started_at.tzinfo is not None
    assert (run.n_series, run.n_measurements, run.n_qc_flags, run.n_findings) == (2, 3, 1, 1)
    # lossless round trip of the pydantic types
    assert registry.measurements(run_id) == [Measurement.model_validate(m) for m in doc["series"][0]["measurements"]]
    assert registry.qc_flags(run_id) == [QCFlag.model_validate(q) for q in doc["series"][0]["qc"]]
    assert registry.findings(run_id) == [Finding.model_validate(f) for f in doc["interpretation"]["findings"]]
    detail = registry.run(run_id)
    assert [(s["series_uid"], s["kind"], s["status"]) for s in detail.series] == [
        (SERIES, "cine_sax", "analysed"), (SERIES + ".9", "lge", "not_analysed")]
    assert json.loads(json.dumps(detail.to_dict()))["run_id"] == run_id


def test_fixture_is_a_valid_study_2_document():
    from heartprint.results import validate_study_dict

    validate_study_dict(study_result(patient="P001"))


def test_patient_id_read_from_the_document(registry):
    run_id = registry.record_study_result(study_result(patient="P042"))
    assert registry.run(run_id).patient_id == "P042"
    assert [r.run_id for r in registry.runs(patient_id="P042")] == [run_id]
    # a caller's patient ID that contradicts the document's is refused, nothing written
    with pytest.raises(InvalidInputError, match="P042.*P043|P043.*P042"):
        registry.record_study_result(study_result(patient="P042", study=STUDY + "7"), patient_id="P043")
    assert len(registry.runs()) == 1


def test_study_1_documents_still_read(registry):
    doc = study_result()
    s = doc["series"][0]
    v1 = {"schema": "heartprint.study/1", "heartprint_version": "0.1.0", "source": "/data/old", "study_uids": [STUDY],
          "series": [{k: s[k] for k in ("series_uid", "kind", "status", "seconds")} | {"result": {
              "schema": "heartprint.cmr.cine_function/1", "qc_status": "warning", "measurements": s["measurements"],
              "qc": s["qc"], "segmentation": {"model": "m", "model_sha256": "cd" * 32}}}]}
    run_id = registry.record_study_result(v1, patient_id="P001")
    run = registry.run(run_id)
    assert (run.n_series, run.n_measurements, run.n_qc_flags) == (1, 3, 1) and run.model_versions == {"m": "cd" * 32}


def test_rerun_adds_a_run_and_keeps_the_old(registry):
    first = registry.record_study_result(study_result(ef=55.0), patient_id="P001")
    second = registry.record_study_result(study_result(ef=48.0), patient_id="P001")
    assert [r.run_id for r in registry.runs(STUDY)] == [first, second]
    latest = {m.code: m.value for m in registry.latest_measurements(study_uid=STUDY)}
    assert latest["lv_ef"] == 48.0
    assert {m.code: m.value for m in registry.measurements(first)}["lv_ef"] == 55.0


def test_latest_measurements_of_a_patient_across_studies(registry):
    other = STUDY + "9"
    registry.record_study_result(study_result(ef=60.0), patient_id="P002")
    later = study_result(ef=40.0, study=other, series=other + ".1", source="/data/study2")
    del later["series"][0]["measurements"][0]  # no lv_edv in the later study
    registry.record_study_result(later, patient_id="P002")
    registry.record_failure("/data/study3", "unreadable", patient_id="P002")
    latest = {(m.code, m.segment): m.value for m in registry.latest_measurements("P002")}
    assert latest == {("lv_edv", None): 150.0, ("lv_ef", None): 40.0, ("wall_thickness", 3): 9.5}
    assert registry.latest_measurements("nobody") == []
    assert len(registry.runs(patient_id="P002")) == 3
    with pytest.raises(InvalidInputError, match="exactly one"):
        registry.latest_measurements("P002", study_uid=STUDY)


def test_record_failure(registry):
    run_id = registry.record_failure("/data/bad", "no readable DICOM series found", study_uids=[STUDY],
                                     parameters={"tta": False})
    [run] = registry.runs()
    assert (run.run_id, run.status, run.error, run.study_uids) == (run_id, "failed", "no readable DICOM series found", (STUDY,))
    assert registry.latest_measurements(study_uid=STUDY) == []


def test_invalid_results_write_nothing(registry, url):
    with pytest.raises(InvalidInputError, match="schema"):
        registry.record_study_result({"schema": "other/1"})
    bad = study_result()
    bad["series"][0]["measurements"][1]["unit"] = "percent"
    with pytest.raises(InvalidInputError, match="lv_ef.*unit"):
        registry.record_study_result(bad)
    registry.record_study_result(study_result(), patient_id="P001")
    with pytest.raises(InvalidInputError, match="P001"):
        registry.record_study_result(study_result(), patient_id="P999")
    assert len(registry.runs()) == 1 and _count(url, Patient) == 1


# -- transactions and crashes --------------------------------------------------------------


def test_exception_mid_write_rolls_back_everything(registry, url):
    def boom(stage):
        if stage == "results_flushed":
            raise RuntimeError("injected failure")

    registry._checkpoint = boom
    with pytest.raises(RuntimeError, match="injected"):
        registry.record_study_result(study_result(), patient_id="P001")
    assert registry.runs() == []
    assert [_count(url, m) for m in (AnalysisRun, RunSeries, MeasurementRow, QCFlagRow, Patient)] == [0] * 5
    registry._checkpoint = None
    run_id = registry.record_study_result(study_result(), patient_id="P001")
    assert [r.run_id for r in registry.runs()] == [run_id]


def test_a_running_run_is_invisible_to_readers(registry, url):
    reached, release = threading.Event(), threading.Event()

    def hold(stage):
        if stage == "results_flushed":
            reached.set()
            assert release.wait(20)

    writer = Registry(url, migrate=False)
    writer._checkpoint = hold
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("run", writer.record_study_result(study_result())))
    t.start()
    try:
        assert reached.wait(20)
        assert registry.runs() == [] and registry.latest_measurements(study_uid=STUDY) == []
    finally:
        release.set()
        t.join(20)
        writer.close()
    assert [r.run_id for r in registry.runs()] == [out["run"]]


_CHILD = """
import json, sys, time
from heartprint.store import Registry
reg = Registry(sys.argv[1], migrate=False)
def block(stage):
    if stage == "results_flushed":
        print("ready", flush=True)
        time.sleep(60)
reg._checkpoint = block
reg.record_study_result(json.loads(sys.stdin.readline()), patient_id="P-killed")
print("committed", flush=True)
"""


def test_kill_during_write_leaves_no_partial_run(registry, url):
    child = subprocess.Popen([sys.executable, "-c", _CHILD, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        child.stdin.write(json.dumps(study_result()) + "\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"  # the run, series and measurements are flushed
    finally:
        child.kill()  # SIGKILL: no cleanup, no rollback from the client side
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    reopened = Registry(url)  # SQLite rolls the hot journal back on the next open
    try:
        assert reopened.runs() == []
        assert [_count(url, m) for m in (AnalysisRun, RunSeries, MeasurementRow, QCFlagRow, Patient)] == [0] * 5
        run_id = reopened.record_study_result(study_result(), patient_id="P-killed")
        [run] = reopened.runs(STUDY)
        assert run.run_id == run_id and run.status == "complete" and run.n_measurements == 3
    finally:
        reopened.close()


def test_unreachable_database_is_a_registry_error(tmp_path):
    with pytest.raises(RegistryError, match="cannot open"):
        Registry(f"sqlite:///{tmp_path}/missing-dir/r.db")


# -- command line --------------------------------------------------------------------------


def test_cli_analyze_records_runs_and_registry_lists_them(url, tmp_path, monkeypatch, capsys):
    import heartprint.pipeline as pipeline
    from heartprint.cli import main
    from heartprint.measure import Measurement as M
    from heartprint.results import PatientIdentity, SeriesResult, StudyInfo, StudyResult

    def fake_analyze(path, options, progress=None):
        if Path(path).name == "broken":
            raise InvalidInputError(f"{path}: no readable DICOM series found (0 files skipped)")
        measurements = [M(code="lv_edv", name="LV EDV", value=150.0, unit="mL", source=SERIES),
                        M(code="lv_ef", name="LVEF", value=55.0, unit="%", source=SERIES),
                        M(code="lv_wall_thickness", name="wall", value=9.5, unit="mm", segment=3, source=SERIES)]
        series = SeriesResult(SERIES, "cine_sax", "analysed", measurements=measurements,
                              qc=[QCFlag(code="basal_coverage", severity="warning", message="short")])
        return [StudyResult(str(path), PatientIdentity(patient_id="P007"), StudyInfo(STUDY), [series])]

    (tmp_path / "good").mkdir()
    (tmp_path / "broken").mkdir()
    monkeypatch.setattr(pipeline, "analyze", fake_analyze)
    code = main(["analyze", str(tmp_path / "good"), str(tmp_path / "broken"), "--registry", url, "--no-tta", "--json"])
    assert code == 1  # one input failed, and the batch went on
    batch = json.loads(capsys.readouterr().out)
    assert [e["status"] for e in batch["studies"]] == ["ok", "failed"]
    assert all(e.get("run_id") for e in batch["studies"])
    assert main(["registry", url, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["source"], r["status"]) for r in runs] == [(str(tmp_path / "good"), "complete"),
                                                          (str(tmp_path / "broken"), "failed")]
    assert runs[0]["parameters"]["tta"] is False and runs[0]["n_measurements"] == 3
    assert runs[0]["patient_id"] == "P007"  # from the study result's patient
    assert "no readable DICOM" in runs[1]["error"]
    assert main(["registry", url, "--study", STUDY]) == 0
    out = capsys.readouterr().out
    assert "1 run(s)" in out and "complete" in out
    assert main(["registry", str(tmp_path / "nope.db")]) == 2


# -- concurrency of migrations ---------------------------------------------------------------


def _open_new_registry(path: str, barrier, results) -> None:  # runs in a child process
    try:
        barrier.wait(30)
        Registry(path).close()
        results.put("ok")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_a_new_registry_at_once_all_succeed(url, tmp_path, request):
    """Six processes open (and so create and migrate) the same new registry at the same moment
    (SQLite: five fresh files in turn): none fails ("database is locked", "table already
    exists", a duplicate key in PostgreSQL's catalogue) and the schema is migrated once. Without
    the migration lock about half the SQLite rounds failed."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    sqlite = url.startswith("sqlite")
    for round_ in range(5 if sqlite else 1):
        target = str(tmp_path / f"r{round_}.db") if sqlite else url
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_open_new_registry, args=(target, barrier, results)) for _ in range(6)]
        for p in procs:
            p.start()
        outcome = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert outcome == ["ok"] * 6, outcome
        assert current_revision(target) is not None
        engine = create_engine(normalize_url(target))
        try:
            with engine.connect() as c:
                assert c.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        finally:
            engine.dispose()
        with Registry(target) as reg:
            assert reg.record_study_result(study_result())


def test_migration_lock_is_a_sidecar_file_and_memory_databases_need_none(tmp_path):
    from heartprint.store._engine import make_engine, migration_lock

    engine = make_engine(tmp_path / "r.db")
    try:
        with migration_lock(engine):
            assert (tmp_path / "r.db.lock").is_file()
    finally:
        engine.dispose()
    memory = create_engine("sqlite://")
    with migration_lock(memory):
        pass
    upgrade(memory)
    assert current_revision(memory) is not None
