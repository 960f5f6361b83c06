"""DICOM SR (TID 1500) for a series without a segmentation (issue 19): built on the analysed
series' source headers (``write_sr(source=...)``) — nuclear perfusion (per-AHA-segment scores,
SSS, LVEF) and CT calcium (global scores) — and written by ``write_study_outputs`` for an
analysed series that has no label map."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from _dsrdump import num_items
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from heartprint.anatomy.aha_codes import AHA_SEGMENT_CODES
from heartprint.concepts import CONCEPTS
from heartprint.errors import InvalidInputError
from heartprint.io.sr import LOCAL_SCHEME, write_sr
from heartprint.measure import Measurement
from heartprint.phantoms._nm_dicom import NM_IMAGE_STORAGE, write_nm_dicom
from heartprint.phantoms._nuclear import make_perfusion_phantom

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
#: SNOMED CT procedure codes expected as Procedure Reported (DICOM PS3.16 CID 3757, pydicom codes.cid3757)
NM_PROCEDURE = ("252432008", "SCT")  # Radionuclide myocardial perfusion study
CT_CALCIUM_PROCEDURE = ("426005005", "SCT")  # Cardiac CT for calcium scoring
#: TID 1411 row "Referenced Segment" (DCM 121191): must not appear without a SEG
REFERENCED_SEGMENT = "121191"

#: per-segment stress (0..4) and rest scores, a pattern with every segment distinguishable as a pair
STRESS = {n: float((n * 3) % 5) for n in range(1, 18)}
REST = {n: float(n % 2) for n in range(1, 18)}
NM_GLOBALS = [("sss", 34.0, "1"), ("srs", 8.0, "1"), ("sds", 26.0, "1"), ("ischaemic_burden", 38.2, "%"),
              ("tpd", 21.5, "%"), ("lv_ef_post_stress", 52.0, "%")]
CT_GLOBALS = [("cac_agatston", 412.5, "1"), ("cac_volume", 350.25, "mm3"), ("cac_mass", 80.75, "mg")]


def nm_measurements() -> list[Measurement]:
    ms = [Measurement(code="perfusion_stress_score", name="stress score", value=v, unit="1", modality="NM", segment=n)
          for n, v in STRESS.items()]
    ms += [Measurement(code="perfusion_rest_score", name="rest score", value=v, unit="1", modality="NM", segment=n)
           for n, v in REST.items()]
    ms += [Measurement(code=c, name=c, value=v, unit=u, modality="NM") for c, v, u in NM_GLOBALS]
    return ms


def expected_name(code: str, modality: str) -> tuple[str, str]:
    """(scheme, value) of a concept name: the concept table's standard code, else the local scheme."""
    coding = CONCEPTS[code].coding_for(modality)
    return (coding.system, coding.value) if coding is not None else (LOCAL_SCHEME, code)


def ct_sources(n: int = 3, **extra) -> list[Dataset]:
    """``n`` small CT image headers of one series (what SeriesResult.source_headers holds)."""
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for i in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, generate_uid()
        ds.Modality = "CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "CALC^PHANTOM", "CT-42", "19550101", "U"
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20240102", "101500", "7", "ACC7"
        ds.ReferringPhysicianName = ""
        ds.InstanceNumber = i + 1
        for k, v in extra.items():
            setattr(ds, k, v)
        out.append(ds)
    return out


# -- nuclear perfusion ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def nm(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr_nm")
    phantom = make_perfusion_phantom(noise=False, matrix=32, supersample=1)
    (path,) = write_nm_dicom(phantom, out / "src")
    sources = [pydicom.dcmread(path, stop_before_pixels=True)]
    info = write_sr(nm_measurements(), out / "sr.dcm", source=sources)
    return sources, info, out


def _groups(path):
    sr = hd.sr.srread(path)
    return sr, list(sr.content.get_image_measurement_groups()), list(sr.content.get_volumetric_roi_measurement_groups())


def test_nm_sr_joins_the_source_study_and_lists_the_source_as_evidence(nm):
    sources, info, _ = nm
    src = sources[0]
    ds = pydicom.dcmread(info.path)
    assert ds.Modality == "SR" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR Storage
    assert (ds.StudyInstanceUID, ds.PatientID, str(ds.PatientName)) == (
        src.StudyInstanceUID, "PHANTOM-NM", "PHANTOM^NM")
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID and ds.SOPInstanceUID != src.SOPInstanceUID
    (study,) = ds.CurrentRequestedProcedureEvidenceSequence
    assert study.StudyInstanceUID == src.StudyInstanceUID
    (series,) = study.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == src.SeriesInstanceUID
    assert [(r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID) for r in series.ReferencedSOPSequence] == [
        (NM_IMAGE_STORAGE, src.SOPInstanceUID)]
    assert "PertinentOtherEvidenceSequence" not in ds


def test_nm_sr_procedure_groups_and_no_referenced_segment(nm):
    _, info, _ = nm
    sr, image_groups, roi_groups = _groups(info.path)
    assert roi_groups == [] and len(image_groups) >= 2  # TID 1501 groups only
    assert REFERENCED_SEGMENT not in str(pydicom.dcmread(info.path))  # no Referenced Segment anywhere
    proc = [i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121058"]  # Procedure reported
    assert [(p.ConceptCodeSequence[0].CodeValue, p.ConceptCodeSequence[0].CodingSchemeDesignator) for p in proc] == [
        NM_PROCEDURE]
    uids = [g.tracking_uid for g in image_groups]
    assert sorted(uids) == sorted(info.group_tracking_uids.values()) and len(set(uids)) == len(uids)
    assert all(g.tracking_identifier.startswith("heartprint") for g in image_groups)


def test_nm_values_units_and_aha_segment_finding_sites(nm):
    _, info, _ = nm
    _, image_groups, _ = _groups(info.path)
    got = []  # (scheme, code, value, unit, unit scheme, finding-site code or None), in document order
    for g in image_groups:
        for m in g.get_measurements():
            sites = [s.value.value for s in m.finding_sites]
            assert len(sites) <= 1
            got.append((m.name.scheme_designator, m.name.value, float(m.value), m.unit.value, m.unit.scheme_designator,
                        sites[0] if sites else None))
    want = [(*expected_name("perfusion_stress_score", "NM"), v, "1", "UCUM", AHA_SEGMENT_CODES[n][0])
            for n, v in STRESS.items()]
    want += [(*expected_name("perfusion_rest_score", "NM"), v, "1", "UCUM", AHA_SEGMENT_CODES[n][0])
             for n, v in REST.items()]
    want += [(*expected_name(c, "NM"), v, u, "UCUM", None) for c, v, u in NM_GLOBALS]
    assert sorted(got, key=repr) == sorted(want, key=repr)
    # each per-segment score sits in one group with all 17 segments, once each
    for code in ("perfusion_stress_score", "perfusion_rest_score"):
        sites = [x[5] for x in got if x[1] == expected_name(code, "NM")[1]]
        assert sorted(sites) == sorted(c for c, _, _ in AHA_SEGMENT_CODES.values())


def _validators(path: Path) -> None:
    if shutil.which("dsrdump") is None and not Path("/usr/bin/dciodvfy").exists():
        pytest.skip("neither dcmtk dsrdump nor dicom3tools dciodvfy installed")
    if shutil.which("dsrdump") is not None:
        dump = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, timeout=60)
        assert dump.returncode == 0 and not dump.stderr.strip(), dump.stderr
        assert "Imaging Measurement Report" in dump.stdout
    dciodvfy = shutil.which("dciodvfy") or "/usr/bin/dciodvfy"
    if Path(dciodvfy).exists():
        proc = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
        assert not errors, errors


def test_nm_sr_passes_dciodvfy_and_dsrdump_shows_each_segment(nm):
    _, info, _ = nm
    _validators(info.path)
    if shutil.which("dsrdump") is None:
        return
    pairs = [(name, v, site and site[0]) for name, v, site in
             num_items(subprocess.run(["dsrdump", str(info.path)], capture_output=True, text=True, timeout=60).stdout)]
    stress = [(v, site) for name, v, site in pairs if name.startswith("Stress perfusion score")]
    assert sorted(stress, key=repr) == sorted(((v, AHA_SEGMENT_CODES[n][0]) for n, v in STRESS.items()), key=repr)
    assert "..." in next(name for name, _, _ in pairs if name.startswith("Stress perfusion score"))  # ASCII, not '?'
    assert sum(site is not None for _, _, site in pairs) == 34


# -- CT calcium: global values, several source instances ---------------------------------------


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr_ct")
    sources = ct_sources(3)
    ms = [Measurement(code=c, name=c, value=v, unit=u, modality="CT") for c, v, u in CT_GLOBALS]
    return sources, write_sr(ms, out / "sr_ct.dcm", source=sources), out


def test_ct_calcium_sr_values_evidence_and_procedure(ct):
    sources, info, _ = ct
    ds = pydicom.dcmread(info.path)
    assert (ds.StudyInstanceUID, ds.PatientID, ds.AccessionNumber) == (sources[0].StudyInstanceUID, "CT-42", "ACC7")
    assert ds.PatientSex == ""  # 'U' is not a DICOM sex: normalised (export_headers), and said so
    assert any("Patient's Sex" in n or "PatientSex" in n or "sex" in n.lower() for n in info.notes), info.notes
    (series,) = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    assert series.SeriesInstanceUID == sources[0].SeriesInstanceUID
    assert sorted(r.ReferencedSOPInstanceUID for r in series.ReferencedSOPSequence) == sorted(
        s.SOPInstanceUID for s in sources)
    assert {r.ReferencedSOPClassUID for r in series.ReferencedSOPSequence} == {CT_IMAGE_STORAGE}
    proc = [i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121058"]
    assert (proc[0].ConceptCodeSequence[0].CodeValue, proc[0].ConceptCodeSequence[0].CodingSchemeDesignator) == \
        CT_CALCIUM_PROCEDURE
    _, image_groups, roi_groups = _groups(info.path)
    assert roi_groups == [] and len(image_groups) == 1
    got = {(m.name.scheme_designator, m.name.value): (float(m.value), m.unit.value, m.unit.scheme_designator,
                                                      list(m.finding_sites))
           for m in image_groups[0].get_measurements()}
    assert got[("SCT", "450360000")] == (412.5, "1", "UCUM", [])  # Agatston: SNOMED CT "Coronary artery calcium score"
    assert got[expected_name("cac_volume", "CT")] == (350.25, "mm3", "UCUM", [])
    assert got[expected_name("cac_mass", "CT")] == (80.75, "mg", "UCUM", [])
    assert len(got) == 3


def test_ct_sr_passes_dciodvfy_and_dsrdump(ct):
    _validators(ct[1].path)


def test_ct_with_other_measurements_reports_cardiac_ct(tmp_path):
    ms = [Measurement(code="cac_agatston", name="CAC", value=10.0, unit="1", modality="CT"),
          Measurement(code="lv_edv", name="LV EDV", value=120.0, unit="mL", modality="CT")]
    ds = write_sr(ms, tmp_path / "sr.dcm", source=ct_sources(1)).dataset
    proc = [i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121058"]
    assert proc[0].ConceptCodeSequence[0].CodeValue == "241547009"  # Cardiac CT


def test_bad_sources_and_seg_source_choice_raise(tmp_path, nm):
    ms = [Measurement(code="sss", name="SSS", value=3.0, unit="1", modality="NM")]
    with pytest.raises(InvalidInputError, match="exactly one of seg= .* got neither"):
        write_sr(ms, tmp_path / "x.dcm")
    with pytest.raises(InvalidInputError, match="got both"):
        write_sr(ms, tmp_path / "x.dcm", seg=nm[1].path, source=nm[0])
    with pytest.raises(InvalidInputError, match="source is empty"):
        write_sr(ms, tmp_path / "x.dcm", source=[])
    bad = ct_sources(2)
    del bad[1].SOPInstanceUID
    with pytest.raises(InvalidInputError, match=r"source\[1\].*SOPInstanceUID missing"):
        write_sr(ms, tmp_path / "x.dcm", source=bad)
    with pytest.raises(InvalidInputError, match="modality='XA': no default Procedure Reported"):
        write_sr(ms, tmp_path / "x.dcm", source=ct_sources(1, Modality="XA"))
    with pytest.raises(InvalidInputError, match="unit 'furlong'"):
        write_sr([Measurement.model_construct(code="sss", name="SSS", value=1.0, unit="furlong", modality="NM")],
                 tmp_path / "x.dcm", source=nm[0])
    assert not (tmp_path / "x.dcm").exists()


# -- outputs: an analysed series without labels gets its SR ------------------------------------


def _study(series):
    from heartprint.results import PatientIdentity, StudyInfo, StudyResult

    return StudyResult(source="test", patient=PatientIdentity(patient_id="PHANTOM-NM"),
                       study=StudyInfo(study_uid=series[0].source_headers[0].StudyInstanceUID, modalities=("NM",)),
                       series=series)


def _nm_series(nm, uid=None, headers=None):
    from heartprint.results import SeriesResult

    src = nm[0]
    return SeriesResult(series_uid=uid or src[0].SeriesInstanceUID, kind="nm_perfusion_stress", status="analysed",
                        measurements=nm_measurements(), source_headers=headers or list(src))


def test_write_study_outputs_writes_the_sr_of_an_nm_series_without_labels(nm, tmp_path):
    from heartprint.outputs import write_study_outputs

    series = _nm_series(nm)
    out = write_study_outputs(_study([series]), tmp_path / "out", report=False, fhir=False)
    assert not [p for p in out.problems if p["status"] == "failed"], out.problems
    name = f"dicom/sr_{series.series_uid}.dcm"
    assert [n for n in out.files if n.startswith("dicom/")] == [name]  # no SEG without labels
    ds = pydicom.dcmread(out.files[name])
    assert ds.StudyInstanceUID == nm[0][0].StudyInstanceUID
    ref = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == nm[0][0].SOPInstanceUID
    assert len([1 for m in hd.sr.srread(out.files[name]).content.get_image_measurement_groups()
                for _ in m.get_measurements()]) == len(nm_measurements())


def test_outputs_sr_name_is_checked_and_a_failing_sr_fails_alone(nm, tmp_path):
    from heartprint.outputs import write_study_outputs
    from heartprint.results import SeriesResult

    crafted = _nm_series(nm, uid="../../evil")
    broken = ct_sources(1)
    del broken[0].SeriesInstanceUID
    bad = SeriesResult(series_uid=generate_uid(), kind="ct_calcium", status="analysed",
                       measurements=[Measurement(code="cac_agatston", name="CAC", value=1.0, unit="1", modality="CT")],
                       source_headers=broken)
    empty = SeriesResult(series_uid=generate_uid(), kind="nm_perfusion_rest", status="analysed",
                         source_headers=list(nm[0]))
    out = write_study_outputs(_study([crafted, bad, empty]), tmp_path / "out", report=False, fhir=False)
    dicom = sorted(n for n in out.files if n.startswith("dicom/"))
    assert len(dicom) == 1 and dicom[0].startswith("dicom/sr_x") and ".." not in dicom[0]  # hashed, inside
    assert all(Path(p).resolve().is_relative_to((tmp_path / "out").resolve()) for p in out.files.values())
    failed = [p for p in out.problems if p["status"] == "failed"]
    assert [(p["output"], p["series_uid"]) for p in failed] == [("DICOM SR", bad.series_uid)]
    assert "SeriesInstanceUID missing" in failed[0]["reason"]
    assert "measurements.json" in out.files
