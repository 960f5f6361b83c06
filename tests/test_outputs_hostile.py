"""Outputs under attack and under faults (issue 17): crafted UIDs and names never write outside
the output root, symbolic links are refused, a study's folder is swapped in only when complete
(kills simulated at every write step), one output can fail alone, disk full / read-only / bad
``--out`` end as one-line named errors, and what killed runs leave is cleaned by the next run.

Data: the small calcium CT phantom (128×128×4, written once per module) wrapped in a hand-built
:class:`~heartprint.results.StudyResult` with a label map on its grid, so that every output
(SEG, SR, label map, FHIR, measurements; the report where asked) is really written — no
segmentation model runs. Kills are real: a forked child ends with ``os._exit`` at the step.
"""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import heartprint._atomic as atomic
import heartprint.outputs as outputs
from heartprint._atomic import TMP_MARK, OutputError, atomic_dir, atomic_write, clean_stale, temporary_name
from heartprint.cli import main
from heartprint.measure import Measurement
from heartprint.outputs import check_output_root, inside, uid_file_part, write_study, write_study_outputs
from heartprint.results import PatientIdentity, SeriesResult, StudyInfo, StudyResult

pydicom = pytest.importorskip("pydicom")

#: Every output of the hand-built study without the report, by the name pattern of its file.
ALL = ("dicom/seg_", "dicom/sr_", "labels/", "fhir_bundle.json", "measurements.json")


# -- the study ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    """(image, source headers) of the calcium phantom CT."""
    from heartprint.phantoms import make_calcium_phantom, write_calcium_dicom
    from heartprint.pipeline import AnalysisOptions, analyze_study

    folder = tmp_path_factory.mktemp("ct") / "dicom"
    write_calcium_dicom(make_calcium_phantom(matrix=128, n_slices=4, pixel_mm=1.0, supersample=4), folder)
    [s] = analyze_study(folder, AnalysisOptions(tta=False, interpret=False)).series
    assert s.image is not None and s.source_headers, "the CT analyser no longer keeps its image and headers"
    return s.image, list(s.source_headers)


def study(ct, *, series_uid: str | None = None, study_uid: str | None = None, patient_id: str | None = "HP-HOSTILE-1",
          marker: str = "new") -> StudyResult:
    """A one-series study whose every output can be written; ``marker`` is its ``source`` (to tell
    an old result from a new one)."""
    from heartprint.image import Image

    image, headers = ct
    uid = headers[0].SeriesInstanceUID if series_uid is None else series_uid
    labels = np.zeros(image.array.shape, np.uint8)
    z, y, x = labels.shape
    labels[z // 2, y // 2 - 4:y // 2 + 4, x // 2 - 4:x // 2 + 4] = 1
    ms = [Measurement(code="lv_edv", name="LV end-diastolic volume", value=150.0, unit="mL", source=uid, modality="MR"),
          Measurement(code="lv_ef", name="LV ejection fraction", value=55.0, unit="%", source=uid, modality="MR")]
    s = SeriesResult(uid, "cine_sax", "analysed", measurements=ms, labels=Image(labels, image.affine, series_uid=uid),
                     image=image, source_headers=headers, series_description="hostile")
    info = StudyInfo(headers[0].StudyInstanceUID if study_uid is None else study_uid, date=date(2024, 3, 1),
                     modalities=("MR",))
    return StudyResult(marker, PatientIdentity(patient_id=patient_id), info, [s])


def files_of(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def complete(folder: Path, marker: str) -> bool:
    """``folder`` holds every output of the study marked ``marker`` (and nothing half-written)."""
    names = files_of(folder)
    if not all(any(n.startswith(k) for n in names) for k in ALL):
        return False
    doc = json.loads((folder / "measurements.json").read_text())
    return doc["source"] == marker and not doc.get("output_problems")


def snapshot(top: Path) -> dict[str, tuple]:
    """Every entry under ``top`` (links not followed): type, size, content hash, mode."""
    out = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(folder) / name
            st = os.lstat(p)
            if p.is_symlink():
                out[str(p)] = ("link", os.readlink(p))
            elif p.is_dir():
                out[str(p)] = ("dir", st.st_mode)
            else:
                out[str(p)] = ("file", st.st_size, hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mode)
    return out


def leftovers(root: Path) -> list[str]:
    return sorted(n for n in os.listdir(root) if temporary_name(n) or "heartprint-" in n)


# -- 1. paths ----------------------------------------------------------------------------------


def test_uid_file_part_is_a_uid_or_a_hash():
    good = "1.2.826.0.1.3680043.8.498.1"
    assert uid_file_part(good) == good and uid_file_part("0.0") == "0.0" and uid_file_part("1." + "2" * 62) != "x"
    assert len("1." + "2" * 62) == 64 and uid_file_part("1." + "2" * 62) == "1." + "2" * 62
    for bad in ("1." + "2" * 63, "1.02", "1..2", ".1", "1.", "1.2.３", "1.2\n", "1.2 ", None, "", "１"):
        part = uid_file_part(bad)
        assert part.startswith("x") and len(part) == 17 and all(c in "0123456789abcdef" for c in part[1:]), bad


@pytest.mark.parametrize("crafted", [
    "../../x", "/abs/VICTIM", "1.2.3/../../..", "1." + "2" * 70, "1.2\x00/../x", "1.2.３/../ü", "..", ".", "~/x",
    "..\\..\\x", "1.2.3/" + "a" * 300,
])
def test_crafted_uids_and_ids_write_only_inside_the_root(ct, tmp_path, crafted):
    victim = tmp_path / "VICTIM"
    victim.write_text("keep me")
    (tmp_path / "x").mkdir()
    crafted = crafted.replace("/abs/VICTIM", str(victim))
    root = tmp_path / "a" / "b" / "out"
    root.mkdir(parents=True)
    before = snapshot(tmp_path)
    st = write_study(study(ct, series_uid=crafted, study_uid=crafted, patient_id=crafted), root, set(), report=False)
    # the FHIR validator may refuse a crafted identifier: that output fails alone, the rest is written
    assert st.write_error is None and set(st.failed_outputs) <= {"FHIR bundle"}, (st.write_error, st.problems)
    after = snapshot(tmp_path)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and all(Path(p).is_relative_to(root) for p in changed), sorted(changed)
    assert victim.read_text() == "keep me" and list((tmp_path / "x").iterdir()) == []
    # exactly one folder in the root, every output in it, named by the UID's hash
    [folder] = [p for p in root.iterdir()]
    assert folder == root / st.folder and json.loads((folder / "measurements.json").read_text())["source"] == "new"
    part = "x" + hashlib.sha256(crafted.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    assert {f"dicom/seg_{part}.dcm", f"dicom/sr_{part}.dcm", f"labels/{part}.nii.gz"} <= set(files_of(folder))


def test_inside_follows_links_and_dots(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    assert inside(root, root / "a" / "b") == root / "a" / "b"
    for bad in (root / ".." / "outside", root / "link" / "f", Path("/etc/passwd"), root / "a" / ".." / ".." / "x"):
        with pytest.raises(OutputError, match="outside the output folder"):
            inside(root, bad)


def test_a_study_folder_that_is_a_symlink_to_outside_is_refused(ct, tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    r = study(ct)
    name = outputs.study_folder_name(r)
    (root / name).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    st = write_study(r, root, set(), report=False)
    assert st.status == "failed" and "symbolic link" in st.write_error and "\n" not in st.write_error
    assert snapshot(outside) == before and (root / name).is_symlink() and leftovers(root) == []
    with pytest.raises(OutputError, match="symbolic link"):
        write_study_outputs(r, root / name, report=False)
    # a link elsewhere in the root is left alone, the study is written beside it
    os.unlink(root / name)
    (root / "unrelated").symlink_to(outside)
    assert write_study(r, root, set(), report=False).write_error is None and complete(root / name, "new")
    assert snapshot(outside) == before


def test_files_are_never_written_through_a_symlink(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (tmp_path / "batch.json").symlink_to(outside)
    with pytest.raises(OutputError, match="symbolic link"):
        atomic_write(tmp_path / "batch.json", "{}")
    (tmp_path / "dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(OutputError, match="symbolic link"):
        with atomic_dir(tmp_path / "dir"):
            pass
    assert outside.read_text() == "keep" and not (tmp_path / "elsewhere").exists() and leftovers(tmp_path) == []


# -- 2. atomic swap, kills, cleanup ------------------------------------------------------------


#: step -> (what to patch, attribute) ; the patched callable ends the process at that step
_STEPS = {
    "seg": ("heartprint.io.seg", "write_seg"),
    "sr": ("heartprint.io.sr", "write_sr"),
    "labels": ("heartprint.io.nifti", "write_nifti"),
    "fhir": ("heartprint.io.fhir", "build_fhir_bundle"),
    "measurements": ("heartprint.outputs", "validate_study_dict"),
    "written": None, "exchanged": None, "old_moved": None, "swapped": None,
}


def _killed_child(ct, root: Path, step: str, fallback: bool) -> None:  # runs in a forked child
    import importlib

    if fallback:
        atomic._exchange = lambda a, b: False  # a file system without an atomic exchange
    if _STEPS[step] is None:
        atomic._checkpoint = lambda stage: os._exit(9) if stage == step else None
    else:
        module, attr = _STEPS[step]
        setattr(importlib.import_module(module), attr, lambda *a, **k: os._exit(9))
    write_study(study(ct, marker="new"), root, set(), report=False)
    os._exit(0)


@pytest.mark.parametrize("step, fallback", [(s, False) for s in _STEPS if s not in ("old_moved", "swapped")]
                         + [("written", True), ("old_moved", True), ("swapped", True)])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_folder(ct, tmp_path, step, fallback):
    if step == "exchanged" and atomic._renameat2() is None:
        pytest.skip("no renameat2(RENAME_EXCHANGE) on this platform: the two-rename swap is tested instead")
    root = tmp_path / "out"
    old = write_study(study(ct, marker="old"), root, set(), report=False)
    assert old.write_error is None and complete(old.path, "old")
    old_files = snapshot(old.path)
    child = multiprocessing.get_context("fork").Process(target=_killed_child, args=(ct, root, step, fallback))
    child.start()
    child.join(60)
    assert child.exitcode == 9, f"the child was not killed at {step}"
    folder = old.path
    if step in ("exchanged", "swapped"):  # killed after the new folder was in place
        assert complete(folder, "new")
    elif step == "old_moved":  # killed between the two renames: the old folder waits under its old name
        assert not folder.exists() and [n for n in leftovers(root) if temporary_name(n)[0] == "old"]
    else:
        assert snapshot(folder) == old_files, f"old result changed by a kill at {step}"
    assert leftovers(root), "a killed run leaves its temporary folder"
    # the next run in that root cleans up (the killed process is gone) and restores the old folder
    check_output_root(root)
    assert leftovers(root) == []
    assert complete(folder, "new") or snapshot(folder) == old_files
    assert sorted(os.listdir(root)) == [folder.name]


def test_an_error_at_a_step_keeps_the_old_folder_and_leaves_nothing(ct, tmp_path, monkeypatch):
    root = tmp_path / "out"
    old = write_study(study(ct, marker="old"), root, set(), report=False)
    old_files = snapshot(old.path)

    def boom(stage):
        if stage in ("written", "old_moved"):
            raise KeyboardInterrupt  # Ctrl-C: not even an Exception
    monkeypatch.setattr(atomic, "_checkpoint", boom)
    for fallback in (False, True):
        if fallback:
            monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
        with pytest.raises(KeyboardInterrupt):
            write_study_outputs(study(ct, marker="new"), old.path, report=False)
        assert snapshot(old.path) == old_files and leftovers(root) == []
    monkeypatch.setattr(atomic, "_checkpoint", None)
    write_study_outputs(study(ct, marker="new"), old.path, report=False)  # the fallback swap itself works
    assert complete(old.path, "new") and leftovers(root) == []


def _dead_pid() -> int:
    p = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    p.start()
    p.join()
    return p.pid


def test_clean_stale_removes_only_what_dead_or_old_runs_left(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".s{TMP_MARK}{dead}-abc").mkdir()
    (tmp_path / f".s{TMP_MARK}{dead}-abc" / "f").write_text("x")
    (tmp_path / f".batch.json{TMP_MARK}{dead}-xyz.json").write_text("x")
    (tmp_path / f".study_a.heartprint-old-{dead}").mkdir()        # its folder is missing: put back
    (tmp_path / f".study_b.heartprint-old-{dead}").mkdir()        # its folder exists: removed
    (tmp_path / "study_b").mkdir()
    young = tmp_path / f".s{TMP_MARK}{alive}-young"                 # a live run's: kept
    young.mkdir()
    aged = tmp_path / f".s{TMP_MARK}{alive}-aged"                   # a live PID but an hour old: stale
    aged.mkdir()
    os.utime(aged, (time.time() - 3600,) * 2)
    (tmp_path / f".link{TMP_MARK}{dead}-x").symlink_to(tmp_path / "study_b")  # a link: unlinked, target kept
    (tmp_path / ".other-hidden").mkdir()                            # not ours: kept
    (tmp_path / ".study_c.12345").mkdir()                           # not ours: kept
    notes = clean_stale(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted([".other-hidden", ".study_c.12345", "study_a", "study_b",
                                                   young.name]), notes
    assert any("restored" in n and "study_a" in n for n in notes)
    assert temporary_name(f".a.b{TMP_MARK}12-q") == ("tmp", "a.b", 12) and temporary_name("a.heartprint-tmp-1") is None


# -- 3. one output fails alone -----------------------------------------------------------------


def _raise(exc):
    def f(*a, **k):
        raise exc
    return f


@pytest.mark.parametrize("module, attr, failed, kept", [
    ("heartprint.io.seg", "write_seg", ["DICOM SEG", "DICOM SR"], ["labels/", "fhir_bundle.json"]),
    ("heartprint.io.sr", "write_sr", ["DICOM SR"], ["dicom/seg_", "labels/", "fhir_bundle.json"]),
    ("heartprint.io.nifti", "write_nifti", ["label maps"], ["dicom/seg_", "dicom/sr_", "fhir_bundle.json"]),
    ("heartprint.io.fhir", "build_fhir_bundle", ["FHIR bundle"], ["dicom/seg_", "dicom/sr_", "labels/"]),
])
def test_one_output_fails_alone(ct, tmp_path, monkeypatch, module, attr, failed, kept):
    import importlib

    monkeypatch.setattr(importlib.import_module(module), attr, _raise(ValueError("highdicom says no")))
    st = write_study(study(ct), tmp_path, set(), report=False)
    assert st.write_error is None and st.status == "partial" and st.failed_outputs == failed
    names = files_of(st.path)
    assert all(any(n.startswith(k) for n in names) for k in kept + ["measurements.json"]), names
    doc = json.loads((st.path / "measurements.json").read_text())
    assert [p["output"] for p in doc["output_problems"] if p["status"] == "failed"] == failed
    assert "ValueError: highdicom says no" in doc["output_problems"][0]["reason"]
    assert leftovers(tmp_path) == []


def test_disk_full_while_writing_dicom_fails_those_outputs_only(ct, tmp_path, monkeypatch):
    monkeypatch.setattr(pydicom.Dataset, "save_as",
                        _raise(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "seg.dcm")))
    st = write_study(study(ct), tmp_path, set(), report=False)
    assert st.status == "partial" and st.failed_outputs == ["DICOM SEG", "DICOM SR"]
    [p, _] = [p for p in st.problems if p["status"] == "failed"]
    assert p["reason"] == "OSError: No space left on device (ENOSPC): seg.dcm"
    assert not (st.path / "dicom").exists() or list((st.path / "dicom").iterdir()) == []


def test_a_failed_pdf_keeps_the_html_report(ct, tmp_path, monkeypatch):
    import heartprint.report as report

    real = report.render_report

    def render(result, out_dir, **kw):
        if kw.get("pdf", True):
            real(result, out_dir, pdf=False)  # half-way: the HTML is written, then the PDF fails
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(result, out_dir, **kw)
    monkeypatch.setattr(report, "render_report", render)
    st = write_study(study(ct), tmp_path, set())
    assert st.status == "partial" and st.failed_outputs == ["report PDF"]
    assert (st.path / "report.html").is_file() and not (st.path / "report.pdf").exists()
    assert st.files["report_html"] == str(st.path / "report.html")


def test_disk_full_on_measurements_fails_the_study_and_keeps_the_old_result(ct, tmp_path, monkeypatch):
    old = write_study(study(ct, marker="old"), tmp_path, set(), report=False)
    old_files = snapshot(old.path)
    real = outputs.atomic_write

    def full(path, data, **kw):
        if Path(path).name == "measurements.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data, **kw)
    monkeypatch.setattr(outputs, "atomic_write", full)
    st = write_study(study(ct, marker="new"), tmp_path, set(), report=False)
    assert st.status == "failed" and st.write_error.startswith("OSError: No space left on device (ENOSPC)")
    assert snapshot(old.path) == old_files and leftovers(tmp_path) == []


# -- 4. registry: complete only after the outputs exist ----------------------------------------


class _Registry:
    def __init__(self, folder: Path):
        self.folder, self.calls = folder, []

    def record_study_result(self, doc, **kw):
        self.calls.append(("complete", complete(self.folder, doc["source"])))
        return "run-1"

    def record_failure(self, source, error, **kw):
        self.calls.append(("failed", error))
        return "run-2"


def test_registry_records_complete_only_after_the_folder_is_in_place(ct, tmp_path, monkeypatch):
    r = study(ct)
    reg = _Registry(tmp_path / outputs.study_folder_name(r))
    assert write_study(r, tmp_path, set(), report=False, registry=reg).run_id == "run-1"
    assert reg.calls == [("complete", True)]
    monkeypatch.setattr(outputs, "validate_study_dict", _raise(OSError(errno.EROFS, os.strerror(errno.EROFS))))
    reg.calls.clear()
    st = write_study(r, tmp_path, set(), report=False, registry=reg)
    assert st.run_id == "run-2" and st.status == "failed"
    [(status, error)] = reg.calls
    assert status == "failed" and "outputs not written" in error and "Read-only file system (EROFS)" in error


# -- 5. the command line: bad --out, read-only, disk full --------------------------------------


@pytest.fixture
def no_analysis(monkeypatch):
    import heartprint.pipeline as pipeline

    monkeypatch.setattr(pipeline, "analyze", _raise(AssertionError("analysis started although --out is bad")))


def _one_line_error(capsys) -> str:
    cap = capsys.readouterr()
    assert cap.err.startswith("heartprint: error: ") and cap.err.count("\n") == 1, cap.err
    assert "Traceback" not in cap.err
    return cap.err


def test_bad_out_exits_2_before_any_analysis(tmp_path, capsys, no_analysis):
    (tmp_path / "in").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for out, words in [(tmp_path / "afile", "not a folder"), (tmp_path / "afile" / "sub", "a part of the path is a file"),
                       (tmp_path / "dangling", "broken symbolic link")]:
        assert main(["analyze", str(tmp_path / "in"), "--out", str(out), "--quiet"]) == 2
        err = _one_line_error(capsys)
        assert f"--out {out}" in err and words in err, err
    assert (tmp_path / "afile").read_text() == "x"


def test_unwritable_out_exits_2_before_any_analysis(tmp_path, capsys, no_analysis, monkeypatch):
    (tmp_path / "in").mkdir()
    real = os.open

    def read_only(path, flags, *a, **k):
        if TMP_MARK in os.fspath(path) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real(path, flags, *a, **k)
    monkeypatch.setattr(os, "open", read_only)
    assert main(["analyze", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "not writable: Read-only file system (EROFS)" in _one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_out_folder_exits_2(tmp_path, capsys, no_analysis):
    (tmp_path / "in").mkdir()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["analyze", str(tmp_path / "in"), "--out", str(ro), "--quiet"]) == 2
        assert "not writable: Permission denied (EACCES)" in _one_line_error(capsys)
        assert main(["analyze", str(tmp_path / "in"), "--out", str(ro / "sub"), "--quiet"]) == 2
        assert "cannot be created: Permission denied (EACCES)" in _one_line_error(capsys)
    finally:
        ro.chmod(0o755)


def test_disk_full_mid_batch_is_a_failed_study_and_the_batch_goes_on(ct, tmp_path, capsys, monkeypatch):
    import heartprint.pipeline as pipeline

    results = {"full": study(ct, patient_id="P-FULL", marker="full"), "fine": study(ct, patient_id="P-FINE", marker="fine"),
               "seg": study(ct, patient_id="P-SEG", marker="seg")}
    for name in results:
        (tmp_path / name).mkdir()
    monkeypatch.setattr(pipeline, "analyze", lambda path, options, progress=None: [results[Path(path).name]])
    import heartprint.io.seg as seg

    real_write, real_seg = outputs.atomic_write, seg.write_seg

    def full(path, data, **kw):
        if "P-FULL" in str(path) and Path(path).name == "measurements.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data, **kw)

    def seg_full(labels, sources, path, **kw):
        if "P-SEG" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_seg(labels, sources, path, **kw)
    monkeypatch.setattr(outputs, "atomic_write", full)
    monkeypatch.setattr(seg, "write_seg", seg_full)
    out = tmp_path / "out"
    code = main(["analyze", *(str(tmp_path / n) for n in results), "--out", str(out), "--quiet", "--no-report"])
    assert code == 1
    batch = json.loads((out / "batch.json").read_text())
    by_input = {Path(e["input"]).name: e for e in batch["studies"]}
    assert [by_input[n]["status"] for n in ("full", "fine", "seg")] == ["failed", "ok", "partial"]
    assert any("No space left on device (ENOSPC)" in e for e in by_input["full"]["errors"])
    assert by_input["seg"]["failed_outputs"] == ["DICOM SEG", "DICOM SR"]
    assert any(e.startswith("DICOM SEG not written: OSError: No space left") for e in by_input["seg"]["errors"])
    assert complete(Path(by_input["fine"]["output"]), "fine") and by_input["full"]["output"] is None
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("heartprint: error: ") == 1 and "ENOSPC" in err
    assert leftovers(out) == []


def test_disk_full_on_batch_json_is_one_line_and_exit_1(ct, tmp_path, capsys, monkeypatch):
    import heartprint._atomic as a
    import heartprint.pipeline as pipeline

    (tmp_path / "in").mkdir()
    monkeypatch.setattr(pipeline, "analyze", lambda path, options, progress=None: [study(ct)])
    real = a.atomic_write

    def full(path, data, **kw):
        if Path(path).name == "batch.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data, **kw)
    monkeypatch.setattr(a, "atomic_write", full)
    assert main(["analyze", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--quiet", "--no-report"]) == 1
    err = _one_line_error(capsys)
    assert "batch.json not written" in err and "No space left on device (ENOSPC)" in err


def test_a_non_exception_error_from_one_input_does_not_stop_the_batch(ct, tmp_path, capsys, monkeypatch):
    import heartprint.pipeline as pipeline

    class PanicException(BaseException):  # what a Rust decoder raises through pyo3
        pass

    def analyze(path, options, progress=None):
        if Path(path).name == "panics":
            raise PanicException("called `Option::unwrap()` on a `None` value")
        return [study(ct)]
    for name in ("panics", "fine"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(pipeline, "analyze", analyze)
    out = tmp_path / "o"
    assert main(["analyze", str(tmp_path / "panics"), str(tmp_path / "fine"), "--out", str(out), "--quiet",
                 "--no-report"]) == 1
    batch = json.loads((out / "batch.json").read_text())
    assert [e["status"] for e in batch["studies"]] == ["failed", "ok"]
    assert "PanicException: called `Option::unwrap()`" in batch["studies"][0]["errors"][0]
    assert "PanicException" in _one_line_error(capsys)
