"""Cohort runs (heartprint.cohort, issue 22): sources and keys, resumable Dask runs, kills, tables.

One phantom cohort (6 small cine studies of 2 hearts, 3 of them broken: a truncated file, no
orientation tag, no DICOM at all) is written once. Orchestration tests use a stand-in for the
analysis (``fake_analyse``: the real scan and loader, one number from the pixels, and one call of
the real network on a blank stack so that the per-process model cache is used as the analysis
uses it). The reference run starts its own local cluster (the default path); the other tests use
an external scheduler and two workers started here as processes on 127.0.0.1. The end-to-end
test runs the command line, with the real ``heartprint.pipeline.analyze``, against that scheduler.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from heartprint.cohort import discover, key_salt, study_key  # noqa: E402
from heartprint.cohort._tables import done_keys  # noqa: E402

COMPARED = ("measurements", "studies", "findings", "failures")
ENV = {**os.environ, "HEARTPRINT_THREADS": "1", "PYTHONPATH": os.pathsep.join(
    [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")])}


def fake_analyse(path, options, *, kill_marker=None, kill_item=None):
    """Stand-in for ``pipeline.analyze`` (orchestration tests): the real scan and series loader,
    identity and writer inputs, and one measurement, the mean pixel value, in place of the network.
    With ``kill_marker``/``kill_item`` it kills its own worker process (SIGKILL) the first time it
    meets that study."""
    from heartprint.errors import HeartprintError, InvalidInputError
    from heartprint.io import load_series, scan
    from heartprint.measure import Measurement
    from heartprint.pipeline import patient_identity
    from heartprint.results import SeriesResult, StudyInfo, StudyResult

    import numpy as np

    from heartprint.segmentation import segment_short_axis

    if kill_item and Path(path).name == kill_item and not os.path.exists(kill_marker):
        Path(kill_marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    segment_short_axis(np.zeros((2, 24, 24), np.float32), (8.0, 1.5, 1.5), tta=False)  # the model, as analysis uses it
    found = scan(path)
    if not len(found):
        raise InvalidInputError(f"{path}: no readable DICOM series found")
    results = []
    for study_uid, series_list in found.studies().items():
        patient = patient_identity([h for s in series_list for h in s.headers], options)
        out = []
        for s in series_list:
            try:
                image = load_series(s)
            except HeartprintError as exc:
                out.append(SeriesResult(s.series_uid, str(s.kind), "failed", message=str(exc), study_uid=study_uid))
                continue
            value = round(float(image.array.mean()), 3)
            out.append(SeriesResult(s.series_uid, str(s.kind), "analysed", study_uid=study_uid, measurements=[
                Measurement(code="lv_edv", name="LV end-diastolic volume", value=value, unit="mL", modality="MR")]))
        results.append(StudyResult(str(path), patient, StudyInfo(study_uid), out))
    return results


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from heartprint.cohort import write_phantom_cohort

    root = tmp_path_factory.mktemp("cohort")
    rows = write_phantom_cohort(root, 6, broken_every=2, small=True, distinct=2)
    return root, rows


@pytest.fixture(scope="module")
def external_scheduler(tmp_path_factory):
    """A Dask scheduler and two workers (one thread each, under a nanny) on 127.0.0.1, as
    separate processes; yields (address, client)."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    sched_file = folder / "scheduler.json"
    quiet = dict(env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)], **quiet)]
    try:
        t0 = time.monotonic()
        while not sched_file.exists() and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                       str(sched_file), "--nthreads", "1", "--nworkers", "2", "--no-dashboard",
                                       "--host", "127.0.0.1"], **quiet))
        address = json.loads(sched_file.read_text())["address"]
        client = Client(address)
        client.wait_for_workers(2, timeout=60)
        yield address, client
        client.close()
    finally:
        for p in reversed(procs):  # the whole process group: scheduler, nanny and worker processes
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _tables(out: Path) -> dict:
    return {t: pd.read_parquet(out / "tables" / f"{t}.parquet") for t in COMPARED}


def _same(a: dict, b: dict) -> None:
    for t in COMPARED:
        pd.testing.assert_frame_equal(a[t], b[t], check_like=False, obj=t)


@pytest.fixture(scope="module")
def reference(cohort, tmp_path_factory):
    """The uninterrupted run of the cohort (fake analysis) on its own local cluster, with a registry."""
    from heartprint.cohort import run_cohort

    out = tmp_path_factory.mktemp("reference")
    lines: list[str] = []
    run = run_cohort(cohort[0] / "studies", out, workers=2, dashboard=None, registry=str(out / "reg.sqlite"),
                     report=False, analyse=fake_analyse, batch_size=2, echo=lines.append)
    assert lines[0].startswith("cluster: 2 worker thread(s), memory limit") and "per worker" in lines[0]
    return out, run, _tables(out)


def test_sources_and_keys(cohort, tmp_path):
    root, rows = cohort
    items = discover(root / "studies")
    assert [i.item_id for i in items] == [r["item"] for r in rows]
    manifest = discover(root / "manifest.csv")
    assert [(i.item_id, i.patient, i.facts) for i in manifest] == [
        (f"{r['patient']}_{r['item']}", r["patient"], {"sex": r["sex"], "age": r["age"]}) for r in rows]
    assert manifest[0].options_facts() == {"sex": rows[0]["sex"], "age_years": rows[0]["age"]}
    bad = tmp_path / "bad.csv"
    bad.write_text("path,patient,sexx\nstudies/study-0000,P1,male\n")
    with pytest.raises(Exception, match="unknown column.*sexx"):
        discover(bad)
    salt = key_salt({"report": False})
    study = tmp_path / "s"
    shutil.copytree(root / "studies" / "study-0000", study)
    item = discover(tmp_path)[[i.item_id for i in discover(tmp_path)].index("s")]
    k1 = study_key(item, salt)
    assert study_key(item, salt) == k1  # stable
    assert study_key(item, key_salt({"report": True})) != k1  # options are part of the key
    f = sorted(study.glob("*.dcm"))[0]
    data = bytearray(f.read_bytes())
    data[-1] ^= 1  # one pixel bit
    f.write_bytes(bytes(data))
    assert study_key(item, salt) != k1  # content, not names or times


def test_reference_run_tables_failures_registry(reference, cohort):
    out, run, tables = reference
    rows = cohort[1]
    studies, failures = tables["studies"], tables["failures"]
    assert list(studies["item_id"]) == [r["item"] for r in rows]
    assert run.n_done == 6 and run.n_skipped == 0 and run.n_failed == 3
    broken = {r["item"]: r["broken"] for r in rows}
    assert dict(zip(studies["item_id"], studies["status"])) == {k: "failed" if v else "ok" for k, v in broken.items()}
    why = dict(zip(failures["item_id"], failures["error"]))
    assert set(why) == {k for k, v in broken.items() if v}
    assert "(0020,0037)" in why["study-0003"]  # no orientation: the tag is named
    assert "no readable DICOM" in why["study-0005"]
    assert set(failures["stage"]) == {"series", "study"}
    # one long row per measurement, one wide column per code, values agree
    m = tables["measurements"]
    ok = studies[studies["status"] == "ok"]
    assert list(m["item_id"]) == list(ok["item_id"])
    assert list(m["value"]) == list(ok["lv_edv"])
    assert set(m["coding_system"]) == {"LN"} and set(m["unit"]) == {"mL"}
    # each study folder holds the writer's measurements.json with the tabled value
    for _, r in ok.iterrows():
        doc = json.loads((out / r["folder"] / "measurements.json").read_text())
        assert doc["series"][0]["measurements"][0]["value"] == r["lv_edv"]
    assert (out / "cohort_summary.html").read_text().count("<h2>") == 4
    from heartprint.store import Registry

    with Registry(str(out / "reg.sqlite")) as reg:
        runs = reg.runs()
    assert sorted(r.parameters["cohort"]["key"] for r in runs) == sorted(studies["key"])
    assert sorted(r.status for r in runs) == ["complete"] * 5 + ["failed"]  # the no-DICOM study has no result


def test_rerun_skips_done_and_redoes_changed(reference, cohort, external_scheduler, tmp_path):
    """A copy of the reference run's folder and of its source: every study is done (the keys are
    the files' content, not where they are); then one changed file redoes its study only."""
    from heartprint.cohort import run_cohort

    src = tmp_path / "src"
    shutil.copytree(cohort[0] / "studies", src)
    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    kw = dict(client=external_scheduler[1], report=False, analyse=fake_analyse, registry=str(out / "reg.sqlite"))
    again = run_cohort(src, out, **kw)
    assert (again.n_skipped, again.n_done) == (6, 0)
    before = _tables(out)
    assert set(before["studies"]["path"]) == {str(src / r["item"]) for r in cohort[1]}  # where they are now
    for t in COMPARED:
        ref = reference[2][t].drop(columns=["path"], errors="ignore")
        pd.testing.assert_frame_equal(before[t].drop(columns=["path"], errors="ignore"), ref, obj=t)
    f = sorted((src / "study-0002").glob("*.dcm"))[0]
    data = bytearray(f.read_bytes())
    data[-2:] = b"\xff\x0f"  # the last pixel changes: the mean changes
    f.write_bytes(bytes(data))
    third = run_cohort(src, out, **kw)
    assert (third.n_skipped, third.n_done) == (5, 1)
    after = _tables(out)["studies"].set_index("item_id")
    old = before["studies"].set_index("item_id")
    assert after.loc["study-0002", "lv_edv"] != old.loc["study-0002", "lv_edv"]
    assert after.loc["study-0002", "key"] != old.loc["study-0002", "key"]
    pd.testing.assert_frame_equal(after.drop(index="study-0002"), old.drop(index="study-0002"))
    from heartprint.store import Registry

    with Registry(str(out / "reg.sqlite")) as reg:
        assert len(reg.runs()) == 7  # the reference's six and the redone study


def test_worker_sigkill_mid_study_same_tables(reference, cohort, external_scheduler, tmp_path):
    from heartprint.cohort import run_cohort

    marker = tmp_path / "killed"
    out = tmp_path / "out"
    run = run_cohort(cohort[0] / "studies", out, client=external_scheduler[1], report=False, batch_size=2,
                     analyse=partial(fake_analyse, kill_marker=str(marker), kill_item="study-0002"))
    assert marker.exists()  # a worker was killed while analysing study-0002
    assert run.n_retry == 0  # Dask rescheduled the study on a live worker
    _same(reference[2], _tables(out))


_DRIVER = """
import sys
from test_cohort import fake_analyse
from heartprint.cohort import run_cohort
run_cohort(sys.argv[1], sys.argv[2], scheduler=sys.argv[3], registry=sys.argv[4], report=False,
           analyse=fake_analyse, batch_size=1)
"""


def test_driver_sigkill_at_random_points_then_rerun_same_tables(reference, cohort, external_scheduler, tmp_path):
    from heartprint.cohort import run_cohort
    from heartprint.store import Registry

    rng = random.Random(22)
    out, reg = tmp_path / "out", tmp_path / "reg.sqlite"
    args = [sys.executable, "-c", _DRIVER, str(cohort[0] / "studies"), str(out), external_scheduler[0], str(reg)]
    parts = out / ".cohort" / "parts"
    for _ in range(2):
        n0 = len(done_keys(parts))
        proc = subprocess.Popen(args, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while len(done_keys(parts)) <= n0 and proc.poll() is None and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.4))  # a random point after the first new commit
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the driver finished the whole cohort before the kill: still a valid run
            pass
        proc.wait()
    assert 0 < len(done_keys(parts)) <= 6
    run = run_cohort(cohort[0] / "studies", out, client=external_scheduler[1], registry=str(reg), report=False,
                     analyse=fake_analyse)
    assert run.n_skipped + run.n_done == 6
    _same(reference[2], _tables(out))
    with Registry(str(reg)) as r:
        keys = [x.parameters["cohort"]["key"] for x in r.runs()]
    assert sorted(keys) == sorted(reference[2]["studies"]["key"])  # each study recorded exactly once


def test_cli_external_scheduler_real_analysis(cohort, external_scheduler, tmp_path, capsys):
    """The command against a running scheduler, with the real pipeline: the tables hold what
    ``pipeline.analyze`` measured and the writer wrote, the model is loaded once per worker."""
    from heartprint.cohort.__main__ import main
    from heartprint.cohort._task import model_loads

    src = tmp_path / "src"
    for name in ("study-0000", "study-0002", "study-0005"):  # two studies and a folder without DICOM
        shutil.copytree(cohort[0] / "studies" / name, src / name)
    out = tmp_path / "out"
    code = main(["run", str(src), "--out", str(out), "--scheduler", external_scheduler[0], "--no-tta", "--json",
                 "--no-report",
                 "--registry", str(tmp_path / "reg.sqlite")])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["done"] == 3 and summary["failed"] == 1  # the batch finished
    t = _tables(out)
    ok = t["studies"][t["studies"]["status"] == "ok"]
    assert list(ok["item_id"]) == ["study-0000", "study-0002"]
    for _, row in ok.iterrows():
        doc = json.loads((out / row["folder"] / "measurements.json").read_text())
        written = [(m["code"], m["value"]) for s in doc["series"] for m in s["measurements"]]
        tabled = t["measurements"][t["measurements"]["item_id"] == row["item_id"]]
        assert written == list(zip(tabled["code"], tabled["value"]))
        assert row["lv_ef"] == next(v for c, v in written if c == "lv_ef")
    assert list(t["failures"]["item_id"]) == ["study-0005"]
    assert list(external_scheduler[1].run(model_loads).values()) == [1, 1]  # one load per worker process


def test_model_loaded_once_per_worker_process(external_scheduler):
    """After every study above (each called the network), each worker process loaded the model
    once, when it started (the plugin), and the studies found it loaded."""
    from heartprint.cohort._task import model_loads

    def cache() -> tuple[int, int]:
        from heartprint.segmentation._infer import _session

        info = _session.cache_info()
        return info.misses, info.hits

    found = external_scheduler[1].run(cache)
    assert [m for m, _ in found.values()] == [1, 1]
    assert sum(h for _, h in found.values()) >= 6  # studies analysed on these processes used the loaded model
    assert list(external_scheduler[1].run(model_loads).values()) == [1, 1]
