"""Hostile and messy input at the I/O edge (issue 17, items 3 and 4).

Every file error is a named skip with a one-line reason, whatever the reader raises, and the
other files of the folder are still read; the work per file is bounded (frame counts against
the pixel data, decompression capped, special files and outside links never opened, a zip
opened once with its members capped); messy but ordinary header values are normalised or
ignored with a note and never stop a series' results or the SEG export.
"""

from __future__ import annotations

import os
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DcmSequence
from pydicom.uid import DeflatedExplicitVRLittleEndian

from heartprint import io as hio
from heartprint.errors import InvalidInputError
from heartprint.io import _scan
from test_io_synthetic import write_series

pytestmark = pytest.mark.filterwarnings("ignore")


# -- helpers ---------------------------------------------------------------------------------------


def _good_folder(folder: Path, n: int = 3, extra=None) -> dict:
    """A valid 3-slice series in ``folder``; returns write_series' geometry (with the series UID)."""
    return write_series(folder, n_slices=n, extra=extra)


def _one_file(tmp: Path, extra=None) -> Path:
    """One valid single-slice file (its own series), to be mutated."""
    write_series(tmp / "_src", n_slices=1, extra=extra, prefix="one")
    return next((tmp / "_src").glob("one_*.dcm"))


def _dataset(path: Path) -> Dataset:
    return pydicom.dcmread(path)


def _scan_and_check(folder: Path, bad_name: str, reason: str, n_good: int = 3) -> str:
    """Scan ``folder``: the good series is complete and loads, ``bad_name`` is skipped with a
    reason matching ``reason``; return that reason."""
    result = hio.scan(folder)
    [series] = [s for s in result if s.n_files == n_good]
    assert hio.load_series(series).array.shape[0] == n_good
    hits = [s for s in result.skipped if s.source.name == bad_name or bad_name in str(s.source)]
    assert hits, [s.reason for s in result.skipped]
    import re

    assert re.search(reason, hits[0].reason), hits[0].reason
    assert "\n" not in hits[0].reason
    return hits[0].reason


# -- 1. every file error is a named skip ----------------------------------------------------------


class PanicException(BaseException):
    """Stands for ``pyo3_runtime.PanicException`` (a Rust decoder's panic; not an ``Exception``)."""


def test_decoder_panic_in_a_header_is_a_skip_and_the_scan_goes_on(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    _good_folder(folder)
    (folder / "panic.dcm").write_bytes(_one_file(tmp_path).read_bytes())
    real = pydicom.dcmread

    def dcmread(fp, *a, **k):
        if str(getattr(fp, "name", "")).endswith("panic.dcm"):
            raise PanicException("called `Option::unwrap()` on a `None` value")
        return real(fp, *a, **k)

    monkeypatch.setattr(pydicom, "dcmread", dcmread)
    reason = _scan_and_check(folder, "panic.dcm", r"PanicException: called `Option::unwrap\(\)`")
    assert reason.startswith(str(folder / "panic.dcm"))


def test_decoder_panic_while_decoding_pixels_is_a_named_error(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    _good_folder(folder)
    [series] = hio.scan(folder)

    def boom(self):
        raise PanicException("openjpeg: index out of bounds")

    monkeypatch.setattr(Dataset, "pixel_array", property(boom))
    with pytest.raises(InvalidInputError, match=r"PanicException: openjpeg: index out of bounds"):
        hio.load_series(series)


def test_keyboard_interrupt_is_not_swallowed(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    _good_folder(folder)

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pydicom, "dcmread", stop)
    with pytest.raises(KeyboardInterrupt):
        hio.scan(folder)


def test_unknown_vr_is_a_skip(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    good = _one_file(tmp_path, extra=lambda ds, t, z: setattr(ds, "StudyDescription", "ABCD")).read_bytes()
    (folder / "vr.dcm").write_bytes(good.replace(b"\x08\x00\x30\x10LO", b"\x08\x00\x30\x10ZZ"))
    _scan_and_check(folder, "vr.dcm", r"Unknown Value Representation 'ZZ'")


def test_value_parsed_lazily_fails_inside_the_guard(tmp_path):
    """A sequence whose items are garbage: pydicom reads it only when the value is used."""
    folder = tmp_path / "study"
    _good_folder(folder)
    good = _one_file(tmp_path, extra=lambda ds, t, z: setattr(ds, "StudyID", "12")).read_bytes()
    i = good.index(b"\x20\x00\x10\x00SH\x02\x0012")
    # (0020,0010) replaced by a defined-length sequence holding 6 bytes of nonsense
    bad = good[:i] + b"\x20\x00\x10\x00SQ\x00\x00\x06\x00\x00\x00" + b"\xfe\xff\x00\xe0\x00\x00" + good[i + 10:]
    (folder / "lazy.dcm").write_bytes(bad)
    _scan_and_check(folder, "lazy.dcm", r"unreadable or truncated DICOM header \(\w+")


@pytest.mark.parametrize("mutate, reason", [
    (lambda ds: setattr(ds, "Rows", None), r"\(0028,0010\) Rows is empty"),
    (lambda ds: setattr(ds, "Rows", [8, 8]), r"\(0028,0010\) Rows has 2 values"),
    (lambda ds: setattr(ds, "PixelData", b""), r"Pixel Data holds 0 bytes"),
    (lambda ds: setattr(ds, "BitsAllocated", 12), r"\(0028,0100\) Bits Allocated 12; expected 1, 8, 16, 32 or 64"),
    (lambda ds: setattr(ds, "BitsAllocated", 0), r"\(0028,0100\) Bits Allocated 0"),
    (lambda ds: setattr(ds, "SamplesPerPixel", 7), r"\(0028,0002\) Samples per Pixel 7"),
    (lambda ds: setattr(ds, "NumberOfFrames", 0), r"\(0028,0008\) Number of Frames 0"),
], ids=["rows-empty", "rows-multi", "pixels-empty", "bits-12", "bits-0", "spp-7", "frames-0"])
def test_bad_pixel_description_is_a_skip(tmp_path, mutate, reason):
    folder = tmp_path / "study"
    _good_folder(folder)
    ds = _dataset(_one_file(tmp_path))
    mutate(ds)
    ds.save_as(folder / "bad.dcm", enforce_file_format=True)
    _scan_and_check(folder, "bad.dcm", reason)


def _deflated(ds: Dataset, body: bytes | None = None) -> bytes:
    """``ds`` written with Deflated Explicit VR Little Endian, or its meta followed by ``body``."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    if body is None:
        buf = DicomBytesIO()
        ds.save_as(buf, enforce_file_format=True)
        return buf.getvalue()
    buf = DicomBytesIO()
    buf.write(b"\0" * 128 + b"DICM")
    meta = ds.file_meta
    if "FileMetaInformationGroupLength" in meta:
        del meta.FileMetaInformationGroupLength
    write_file_meta_info(buf, meta, enforce_standard=False)
    buf.write(body)
    return buf.getvalue()


def test_deflated_file_is_read_and_deflate_errors_are_skips(tmp_path):
    folder = tmp_path / "study"
    geom = _good_folder(folder)
    # a valid deflated file of the same series is read like the others
    ds = _dataset(next(folder.glob("im_*.dcm")))
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.ImagePositionPatient = [str(float(v) + 1000.0) for v in ds.ImagePositionPatient]
    (folder / "deflated.dcm").write_bytes(_deflated(ds))
    (folder / "garbage.dcm").write_bytes(_deflated(_dataset(_one_file(tmp_path)), body=b"\xff" * 64))
    result = hio.scan(folder)
    assert [s.n_files for s in result] == [4]
    [skip] = result.skipped
    assert skip.source.name == "garbage.dcm" and "error" in skip.reason.lower(), skip.reason
    assert geom  # the good series is the one found


def test_deflate_bomb_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(_scan, "MAX_INFLATED_BYTES", 1 << 20)
    folder = tmp_path / "study"
    _good_folder(folder)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(b"\0" * (16 << 20)) + comp.flush()  # 16 MiB of zeros in ~16 KiB
    (folder / "bomb.dcm").write_bytes(_deflated(_dataset(_one_file(tmp_path)), body=body))
    _scan_and_check(folder, "bomb.dcm", r"inflates beyond 1048576 bytes")


def test_deep_sequence_nesting_is_a_skip(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    ds = _dataset(_one_file(tmp_path))
    inner = Dataset()
    inner.CodeValue = "1"
    for _ in range(_scan.MAX_SEQUENCE_DEPTH + 5):
        outer = Dataset()
        outer.ContentSequence = DcmSequence([inner])
        inner = outer
    ds.ContentSequence = inner.ContentSequence
    ds.save_as(folder / "deep.dcm", enforce_file_format=True)
    _scan_and_check(folder, "deep.dcm", rf"nested more than {_scan.MAX_SEQUENCE_DEPTH} deep")


def test_a_file_that_breaks_the_classifier_does_not_stop_the_scan(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    _good_folder(folder)
    other = tmp_path / "other"
    write_series(other, n_slices=2, prefix="cl")
    for p in other.glob("cl_*.dcm"):
        p.rename(folder / p.name)
    import heartprint.io.classify as classify

    real = classify.classify_series

    def picky(series):
        if series.n_files == 2:
            raise OverflowError("cannot convert float infinity to integer")
        return real(series)

    monkeypatch.setattr(classify, "classify_series", picky)
    result = hio.scan(folder)
    by_n = {s.n_files: s for s in result}
    assert by_n[2].kind == "other" and "OverflowError" in by_n[2].classification.reasons[0]
    assert by_n[3].classification.reasons  # the other series was classified as usual


# -- 2. bounded work --------------------------------------------------------------------------------


def test_number_of_frames_2_31_is_refused_before_allocating(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    ds = _dataset(_one_file(tmp_path))
    ds.NumberOfFrames = 2**31
    ds.save_as(folder / "frames.dcm", enforce_file_format=True)
    tracemalloc.start()
    try:
        reason = _scan_and_check(folder, "frames.dcm", r"\(0028,0008\) Number of Frames 2147483648")
        # the load layer checks again, from the element itself, before decoding
        from heartprint.io._load import _read_pixels

        with pytest.raises(InvalidInputError, match=r"Number of Frames 2147483648"):
            _read_pixels(hio.DicomSource(folder / "frames.dcm"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "not decoded" in reason
    assert peak < 64 << 20, f"peak traced allocation {peak} bytes"


def test_compressed_frame_claim_is_bounded_by_the_data(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    ds = pydicom.dcmread(get_testdata_file("JPEG2000.dcm"))
    ds.NumberOfFrames = 10**6
    ds.save_as(folder / "j2k.dcm")
    _scan_and_check(folder, "j2k.dcm", r"Number of Frames 1000000, but the compressed .* \(at least 8 per frame\); not decoded")


def test_native_frame_count_must_match_the_pixel_data_exactly(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    ds = _dataset(_one_file(tmp_path))
    ds.NumberOfFrames = 2  # 8 x 8 x 16 bits x 2 frames = 256 bytes; the data has 128
    ds.save_as(folder / "two.dcm", enforce_file_format=True)
    _scan_and_check(folder, "two.dcm", r"Pixel Data holds 128 bytes .* needs 256")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_links_to_devices_or_outside_are_skipped_unopened(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    os.mkfifo(folder / "pipe.dcm")  # opening it would block forever
    (folder / "zero.dcm").symlink_to("/dev/zero")  # reading it would never end
    outside = tmp_path / "outside.dcm"
    outside.write_bytes(_one_file(tmp_path).read_bytes())
    (folder / "out.dcm").symlink_to(outside)
    (folder / "dangling.dcm").symlink_to(tmp_path / "nowhere")
    result = hio.scan(folder)
    assert [s.n_files for s in result] == [3]
    reasons = {s.source.name: s.reason for s in result.skipped}
    assert "FIFO" in reasons["pipe.dcm"] and "not read" in reasons["pipe.dcm"]
    assert "outside the scanned folder" in reasons["zero.dcm"]
    assert "outside the scanned folder" in reasons["out.dcm"]
    assert "dangling.dcm" in reasons
    # a link inside the tree is read
    (folder / "inside.dcm").symlink_to(next(folder.glob("im_*.dcm")))
    with pytest.raises(InvalidInputError, match="FIFO"):
        hio.read_header(folder / "pipe.dcm")


def _zip_claiming(path: Path, name: str, data: bytes, claimed: int) -> None:
    """A stored zip member whose central directory claims ``claimed`` bytes (ZIP64 extra field)."""
    crc = zlib.crc32(data)
    fname = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, len(data), len(data), len(fname), 0)
    extra = struct.pack("<HHQQ", 0x0001, 16, claimed, len(data))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(fname), len(extra), 0, 0, 0, 0, 0) + fname + extra
    body = local + fname + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(body), 0)
    path.write_bytes(body + central + end)


def test_zip_member_claiming_10_gib_is_skipped_unread(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    _zip_claiming(folder / "big.zip", "huge.dcm", b"x" * 100, 10 << 30)
    assert zipfile.ZipFile(folder / "big.zip").getinfo("huge.dcm").file_size == 10 << 30
    _scan_and_check(folder, "huge.dcm", r"declares 10737418240 bytes uncompressed; expected at most 1073741824")


def test_zip_high_ratio_member_is_skipped(tmp_path):
    folder = tmp_path / "study"
    _good_folder(folder)
    with zipfile.ZipFile(folder / "ratio.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.dcm", b"\0" * (4 << 20))
    _scan_and_check(folder, "zeros.dcm", r"compressed \d+ times .* expected at most 100 times")


def test_zip_is_opened_once_for_2000_members(tmp_path, monkeypatch):
    study = tmp_path / "study"
    _good_folder(study)
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(study.iterdir()):
            zf.write(p, f"series/{p.name}")
        for i in range(2000):
            zf.writestr(f"junk/{i:04d}.txt", b"not dicom")
        zf.writestr("../../escape.dcm", b"not dicom either")
    opened = []

    class Counting(zipfile.ZipFile):
        def __init__(self, *a, **k):
            opened.append(a[0] if a else k.get("file"))
            super().__init__(*a, **k)

    monkeypatch.setattr(zipfile, "ZipFile", Counting)
    result = hio.scan(path)
    [series] = result
    image = hio.load_series(series)
    assert image.array.shape[0] == 3
    assert len(opened) == 1, opened
    assert len(result.skipped) == 2001
    assert any("../../escape.dcm" in str(s.source) for s in result.skipped)
    assert not (tmp_path.parent / "escape.dcm").exists()


# -- 3. messy but ordinary headers -------------------------------------------------------------------


@pytest.mark.parametrize("value, code, noted", [
    ("M", "M", False), ("F", "F", False), ("O", "O", False), ("Male", "M", True), ("f", "F", True),
    ("female", "F", True), ("U", None, True), ("", None, False), ("X", None, True),
])
def test_patient_sex_is_normalised(value, code, noted):
    got, note = _scan.dicom_sex(value)
    assert got == code and (note is not None) == noted


@pytest.mark.parametrize("value, iso, noted", [
    ("20230415", "2023-04-15", False), ("2023-04-15", "2023-04-15", True), ("2023.04.15", "2023-04-15", True),
    ("00000000", None, True), ("20231345", None, True), ("yesterday", None, True), ("", None, False),
])
def test_dates_are_parsed_or_ignored_with_a_note(value, iso, noted):
    got, note = _scan.dicom_date(value, "(0008,0020) Study Date")
    assert (got.isoformat() if got else None) == iso and (note is not None) == noted


def _messy(ds, t, z):
    ds.PatientName = "MESSY^HEADER"
    ds.PatientSex = "Male"
    ds.PatientBirthDate = "00000000"
    ds.StudyDate = "2023-04-15"
    ds.StudyTime = "12:30"
    ds.PatientSize = "175"  # cm written where metres belong
    ds.PatientWeight = "80"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SpecificCharacterSet = "ISO_IR 999"


def test_messy_identity_is_normalised_with_notes(tmp_path):
    from heartprint.pipeline import _study_info, patient_identity

    folder = tmp_path / "study"
    _good_folder(folder, extra=_messy)
    [series] = hio.scan(folder)
    patient = patient_identity(series.headers)
    assert patient.sex.value == "male" and patient.birth_date is None and patient.height_cm is None
    assert patient.weight_kg.value == 80.0
    assert _study_info(series.study_uid, series.headers).date.isoformat() == "2023-04-15"
    notes = " | ".join(_scan.header_notes(series.headers))
    for expected in ("Patient's Sex 'Male' read as M", "Birth Date '00000000' is not a valid date; taken as unknown",
                     "Study Date '2023-04-15' is not in DICOM form", "Specific Character Set 'ISO_IR 999'",
                     "(0010,1020) PatientSize '175' m is not plausible"):
        assert expected in notes, notes
    # the image still loads, with the implausible size left out (so no BSA from it)
    image = hio.load_series(series)
    assert image.meta["patient_height_cm"] is None and image.meta["patient_weight_kg"] == 80.0
    assert "PatientSize" in " ".join(image.meta["header_notes"])


def test_messy_headers_do_not_stop_the_seg(tmp_path):
    from heartprint import Image
    from heartprint.io.seg import write_seg

    folder = tmp_path / "study"
    _good_folder(folder, extra=_messy)
    [series] = hio.scan(folder)
    image = hio.load_series(series)
    labels = Image(np.ones(image.array.shape, np.uint8), image.affine, series_uid=image.series_uid)
    info = write_seg(labels, series.headers, tmp_path / "seg.dcm")
    seg = pydicom.dcmread(tmp_path / "seg.dcm")
    assert (seg.PatientSex, seg.PatientBirthDate, seg.StudyDate, seg.StudyTime) == ("M", "", "20230415", "1230")
    assert seg.SpecificCharacterSet in ("ISO_IR 192", ["ISO_IR 192"]) and "PatientSize" not in seg
    assert any("written to the SEG/SR as 'M'" in n for n in info.notes), info.notes
    # the sources themselves are untouched
    assert series.headers[0].PatientSex == "Male" and series.headers[0].StudyDate == "2023-04-15"
    from heartprint.io.sr import write_sr
    from heartprint.measure import Measurement

    write_sr([Measurement(code="lv_edv", name="LV EDV", value=120.0, unit="mL", modality="MR")], tmp_path / "sr.dcm", seg=info)
    sr = pydicom.dcmread(tmp_path / "sr.dcm")
    assert sr.PatientSex == "M" and sr.StudyDate == "20230415"


def test_messy_cine_is_analysed_with_the_notes(tmp_path):
    """The whole pipeline on a small cine phantom whose headers are messy: analysed (not failed),
    unindexed (no BSA from an implausible height), and each normalisation said."""
    from heartprint.phantoms import make_cine_sax, write_cine_sax_dicom
    from heartprint.pipeline import AnalysisOptions, analyze_study

    ph = make_cine_sax(n_phases=6, n_slices=6, matrix=(64, 64), spacing=(8.0, 2.5, 2.5), seed=1, noise_sd=0.0)
    folder = tmp_path / "cine"
    paths = write_cine_sax_dicom(ph, folder, patient_sex="Male")
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.PatientBirthDate = "00000000"
        ds.StudyDate = "2023-04-15"
        ds.PatientSize = "175"
        ds.PatientWeight = "80"
        ds.save_as(p)
    image = hio.load(folder)
    result = analyze_study(folder, AnalysisOptions(labels={image.series_uid: image.with_array(ph.labels)},
                                                   interpret=False))
    [series] = result.series
    assert series.status == "analysed", series.message
    codes = {m.code for m in series.measurements}
    assert "lv_edv" in codes and "bsa" not in codes and "lv_edv_index" not in codes, sorted(codes)
    assert result.patient.sex.value == "male" and result.patient.height_cm is None
    notes = " ".join(result.notes)
    assert "Patient's Sex 'Male' read as M" in notes and "PatientSize '175' m is not plausible" in notes
    assert "Study Date '2023-04-15'" in notes and result.study.date.isoformat() == "2023-04-15"
