"""Fuzz heartprint's file-facing entry points with a seeded mutation corpus (issue 17, item 7).

The corpus: valid files — the phantom patient's DICOM (cine SAX, LGE, MOLLI, calcium CT, from
:func:`heartprint.phantoms.write_demo_patient`, UIDs and dates made deterministic) and pydicom's
own test files (plus pydicom-data's, up to 1 MiB each) — mutated at the DICOM level (Rows,
Bits Allocated, Number of Frames, Pixel Data, rescale, orientation, spacing, heart rate, transfer
syntax, character set, sex, dates, UIDs with path characters, long strings, deep sequences,
unknown VRs ...), at the byte level (bit flips, truncation, chunk duplication, random header
bytes, length lies) and at the folder level (one bad file in a series, a header change on every
file, a FIFO, symlinks to ``/dev/zero`` or out of the tree, zips with bombs, lies, traversal
names or thousands of members, a deflated-syntax bomb).

Mutant ``i`` of seed ``s`` is a pure function of ``(s, i)``, the options (``--ops``,
``--folder-fraction``) and the corpus, which is itself deterministic: ``--seed 1 --only 17``
rebuilds and reruns exactly mutant 17 (``--keep DIR`` also saves each failing mutant's input).
``--src OTHER/src`` runs the workers on another heartprint tree (e.g. an older commit's
``git archive``), to see what the harness catches there.

Each mutant runs in a worker subprocess (``RLIMIT_AS`` = 2 GiB, a per-mutant timeout, restarted
after a crash or a kill): a file through ``heartprint.io.scan`` + ``load_series`` and
``heartprint.pipeline.analyze(interpret=False)`` with its outputs written; a folder through
``analyze`` + ``heartprint.outputs.write_study_outputs`` (with the report) +
``heartprint.io.deidentify_folder``, all outputs into a per-mutant output root (the analysis
with ``tta=False``, for speed). Outcomes:

* ``ok`` — every entry point returned, nothing skipped or failed;
* ``clean`` — a :class:`heartprint.errors.HeartprintError`, or a recorded skip / failed series /
  output problem with its reason;
* ``crash`` — any other exception (``BaseException`` included, e.g. a decoder's
  ``PanicException``) or a signal;
* ``hang`` — the timeout passed (a faulthandler dump names where it was);
* ``memory`` — ``MemoryError`` (the address-space limit) or the worker killed for memory;
* ``escape`` — a file or folder appeared, changed or vanished outside the output root (the
  run's folder tree, a sentinel tree and ``/tmp/heartprint-fuzz-escape`` are compared before
  and after each mutant; relative UIDs climb at most five folders, so they land inside the
  watched tree; concurrent runs share ``/tmp/heartprint-fuzz-escape``).

Usage::

    .venv/bin/python benchmarks/fuzz.py --mutants 2000 --seed 1 --jobs 2 --report fuzz.json --keep fuzz-failures/

prints the counts per outcome and per operator and each crash / hang / memory / escape with its
operator, mutant index and the exception's last line; exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import random
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("ok", "clean", "crash", "hang", "memory", "escape")
FAILURES = ("crash", "hang", "memory", "escape")
#: absolute-path UIDs point here; the runner watches it
ESCAPE_DIR = Path("/tmp/heartprint-fuzz-escape")
MEMORY_LIMIT = 2 << 30
TIMEOUT_S = 60.0
SALT = "heartprint-fuzz-salt"
_GEN_LOCK = threading.RLock()

# =============================================================================================
# The base corpus
# =============================================================================================


@dataclasses.dataclass
class Corpus:
    """Valid files to mutate: single files (name, bytes) and phantom series folders."""

    files: list[tuple[str, bytes]]
    series: dict[str, list[tuple[str, bytes]]]

    def digest(self) -> str:
        h = hashlib.sha256()
        for name, data in self.files:
            h.update(name.encode() + hashlib.sha256(data).digest())
        for key in sorted(self.series):
            for name, data in self.series[key]:
                h.update(f"{key}/{name}".encode() + hashlib.sha256(data).digest())
        return h.hexdigest()[:16]


@contextlib.contextmanager
def _lenient_pydicom():
    """pydicom reading and writing without value validation (restored after)."""
    import pydicom.config as cfg

    with _GEN_LOCK:
        old = (cfg.settings.reading_validation_mode, cfg.settings.writing_validation_mode)
        cfg.settings.reading_validation_mode = cfg.IGNORE
        cfg.settings.writing_validation_mode = cfg.IGNORE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            cfg.settings.reading_validation_mode, cfg.settings.writing_validation_mode = old


def _uid_for(n: int) -> str:
    return "2.25." + str(int(hashlib.sha256(f"heartprint-fuzz-{n}".encode()).hexdigest()[:30], 16))


def _normalise(datas: list[bytes], uid_map: dict[str, str]) -> list[bytes]:
    """Replace generated UIDs and today's dates/times so the phantom's bytes are reproducible."""
    import pydicom
    from pydicom.uid import UID_dictionary  # type: ignore[attr-defined]

    out = []
    for data in datas:
        ds = pydicom.dcmread(io.BytesIO(data))

        def fix(d: Any, elem: Any) -> None:
            if elem.VR == "UI" and isinstance(elem.value, str) and elem.value and elem.value not in UID_dictionary:
                elem.value = uid_map.setdefault(elem.value, _uid_for(len(uid_map)))
            elif elem.VR == "DA" and elem.value:
                elem.value = "20240102"
            elif elem.VR == "TM" and elem.value:
                elem.value = "120000"
            elif elem.VR == "DT" and elem.value:
                elem.value = "20240102120000"

        ds.file_meta.walk(fix)
        ds.walk(fix)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=False)
        out.append(buf.getvalue())
    return out


_PHANTOM = dict(n_phases=6, n_slices=6, matrix=(96, 96), spacing=(8.0, 2.8, 2.8))
_PHANTOM_FILES = {"cine": 4, "lge": 2, "molli": 2, "calcium": 3}


def _pydicom_files(max_bytes: int) -> list[tuple[str, bytes]]:
    import pydicom.data

    dirs = [("pydicom", Path(pydicom.data.__file__).parent / "test_files")]
    try:
        import data_store  # pydicom-data

        dirs.append(("pydicom-data", Path(data_store.__file__).parent / "data"))
    except ImportError:
        pass
    files = []
    for label, d in dirs:
        for p in sorted(d.glob("*.dcm")):
            if p.stat().st_size <= max_bytes:
                files.append((f"{label}/{p.name}", p.read_bytes()))
    return files


def build_corpus(*, phantom: bool = True, pydicom_files: bool = True, max_bytes: int = 1 << 20) -> Corpus:
    """The deterministic base corpus (about 2 s with the phantom)."""
    series: dict[str, list[tuple[str, bytes]]] = {}
    files: list[tuple[str, bytes]] = []
    if phantom:
        from heartprint.phantoms import write_demo_patient

        with tempfile.TemporaryDirectory(prefix="heartprint-fuzz-corpus-") as tmp:
            write_demo_patient(Path(tmp) / "p", seed=0, **_PHANTOM)
            uid_map: dict[str, str] = {}
            with _lenient_pydicom():
                for key, sub in (("cine", "cmr/cine"), ("lge", "cmr/lge"), ("molli", "cmr/molli"),
                                 ("calcium", "ct/calcium")):
                    paths = sorted((Path(tmp) / "p" / sub).iterdir())
                    datas = _normalise([p.read_bytes() for p in paths], uid_map)
                    series[key] = [(p.name, d) for p, d in zip(paths, datas)]
        for key, n in _PHANTOM_FILES.items():
            step = max(1, len(series[key]) // n)
            files += [(f"phantom/{key}/{name}", d) for name, d in series[key][::step][:n]]
    if pydicom_files:
        files += _pydicom_files(max_bytes)
    return Corpus(files, series)


# =============================================================================================
# DICOM-level mutation helpers
# =============================================================================================


def _parse(data: bytes) -> Any:
    import pydicom

    return pydicom.dcmread(io.BytesIO(data), force=True)


def _encode(ds: Any) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    return buf.getvalue()


def _encoding(ds: Any) -> tuple[bool, bool]:
    """(implicit VR, little endian) of the dataset as read."""
    enc = getattr(ds, "original_encoding", None)
    if enc and enc[0] is not None:
        return bool(enc[0]), bool(enc[1])
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        return bool(ts.is_implicit_VR), bool(ts.is_little_endian)
    except Exception:  # noqa: BLE001 - unknown syntax: explicit little endian
        return False, True


def _dict_vr(tag: Any) -> str:
    from pydicom.datadict import dictionary_VR

    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return "UN"
    return {"US or SS": "US", "OB or OW": "OW", "US or OW": "US", "US or SS or OW": "US"}.get(vr, vr.split(" ")[0])


def _set_raw(ds: Any, keyword: str | int, value: bytes, vr: str | None = None,
             enc: tuple[bool, bool] | None = None) -> None:
    """Put an element with exactly these value bytes (no validation, no conversion); ``enc``
    (implicit, little endian) for a dataset nested in a sequence (the file's own encoding)."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    tag = Tag(keyword)
    target = ds.file_meta if tag.group == 2 and hasattr(ds, "file_meta") else ds
    implicit, little = (False, True) if tag.group == 2 else (enc or _encoding(ds))
    vr = vr or _dict_vr(tag)
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "OW", "UN", "US", "SS", "UL", "SL", "FL", "FD") else b" "
    target._dict[tag] = RawDataElement(tag, vr, len(value), value, 0, implicit, little)


def _text(ds: Any, keyword: str, value: str | bytes) -> None:
    _set_raw(ds, keyword, value if isinstance(value, bytes) else value.encode("latin-1", "replace"))


def _us(ds: Any, values: list[int]) -> bytes:
    little = _encoding(ds)[1]
    return b"".join(struct.pack("<H" if little else ">H", v & 0xFFFF) for v in values)


def _delete(ds: Any, keyword: str) -> None:
    from pydicom.tag import Tag

    tag = Tag(keyword)
    target = ds.file_meta if tag.group == 2 else ds
    if tag in target._dict:
        del target._dict[tag]


def _elem_header(tag: int, vr: bytes | None, length: int, implicit: bool, little: bool, long_form: bool | None = None) -> bytes:
    e = "<" if little else ">"
    g, el = tag >> 16, tag & 0xFFFF
    if implicit or vr is None:
        return struct.pack(e + "HHI", g, el, length)
    if long_form is None:
        long_form = vr in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UR", b"UT", b"UN", b"SV", b"UV")
    if long_form:
        return struct.pack(e + "HH", g, el) + vr + b"\0\0" + struct.pack(e + "I", length)
    return struct.pack(e + "HH", g, el) + vr + struct.pack(e + "H", length & 0xFFFF)


def _insert_before_pixels(data: bytes, ds: Any, raw: bytes) -> bytes:
    """Splice encoded element bytes in just before (7FE0,0010) Pixel Data (or at the end)."""
    little = _encoding(ds)[1]
    tag = b"\xe0\x7f\x10\x00" if little else b"\x7f\xe0\x00\x10"
    i = data.rfind(tag)
    if i < 132:
        return data + raw
    return data[:i] + raw + data[i:]


def _deep_sequence(depth: int, implicit: bool, little: bool, tag: int = 0x00081140) -> bytes:
    e = "<" if little else ">"
    item = struct.pack(e + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end = struct.pack(e + "HHI", 0xFFFE, 0xE00D, 0)
    seq_end = struct.pack(e + "HHI", 0xFFFE, 0xE0DD, 0)
    seq = _elem_header(tag, b"SQ", 0xFFFFFFFF, implicit, little)
    return (seq + item) * depth + (item_end + seq_end) * depth


# ---- hostile values ---------------------------------------------------------------------------

NUMBERS_DS = ["NaN", "nan", "inf", "-inf", "0", "-0", "-1", "1e30", "-1e30", "1e308", "-1e308", "1e-308",
              "abc", "", "1\\2", " 1.0 ", "0x10", "1" * 20, "1.7976931348623157e309"]
NUMBERS_IS = ["0", "-1", "1000000", "2147483647", "2147483648", "4294967296", "-2147483648", "abc", "",
              "2.5", "1\\2", "1e6", "65536", "99999999999", " 7 "]
UID_HOSTILE = ["../../x", "../../../x", "../../../../x", "../../../../../x", str(ESCAPE_DIR / "x"),
               str(ESCAPE_DIR / "sub" / "y"), "a/b", "..", ".", "", "x" * 200, "1.2.\x00.3", "1.2\\3.4",
               "C:\\x", "~/x", "1.2.3/../../../x", " ", "1." + "9" * 80, "\u00e9t\u00e9", "a\nb", "*", "$(id)"]
SEXES = ["U", "Male", "X", "", "m", "FEMALE", "O", "M\\F", "?" * 70, "\x00", "f "]
DATES = ["2023-04-15", "00000000", "99999999", "20231399", "abc", "1850", "", "20230230", "20230101\\20230102",
         "19000101", "30000101", "2023", "20230101-20230202", "\xff\xfe"]
AGES = ["999Y", "abc", "-01Y", "000D", "", "055", "55Y\\56Y", "130Y"]
CHARSETS = ["ISO_IR 999", "GB18030", "ISO 2022 IR 87", "ISO_IR 192", "", "\\", "ISO_IR 100\\ISO_IR 192",
            "ISO 2022 IR 6\\ISO 2022 IR 149", "utf-8", "x" * 64]
LONG_TEXT = ["A" * 65536, "\x00" * 16, "\x01\x02\x1b[31m\x7f", "\\".join(["x"] * 1000), "../../x",
             "é" * 100, "<script>alert(1)</script>", "%s%n%x" * 10, "\ud800".encode("utf-8", "surrogatepass")]
TRANSFER_SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
                     "1.2.3.4", "", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5",
                     "1.2.840.10008.1.2.4.80", "../../x", "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.201"]
SOP_CLASSES = ["", "1.2.3", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.66.4",
               "1.2.840.10008.1.3.10", "1.2.840.10008.5.1.4.1.1.481.2", "1.2.840.10008.5.1.4.1.1.88.22",
               "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.4"]


def _choose_action(rng: random.Random, values: list[str]) -> str:
    r = rng.random()
    if r < 0.08:
        return "delete"
    if r < 0.14:
        return "duplicate"
    if r < 0.20:
        return "wrong_vr"
    return "value"


def _apply_value(rng: random.Random, ds: Any, data_out: list, keyword: str, values: list[Any],
                 numeric_us: bool = False) -> str:
    """Delete / duplicate / wrong-VR bytes / set one of ``values`` on ``keyword``; returns the detail."""
    action = _choose_action(rng, values)
    if action == "delete":
        _delete(ds, keyword)
        return f"{keyword}:delete"
    if action == "duplicate":
        data_out.append(("duplicate", keyword))
        return f"{keyword}:duplicate"
    if action == "wrong_vr":
        raw = bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 3, 4, 5, 8, 13])))
        _set_raw(ds, keyword, raw, vr=rng.choice(["UN", None, "SQ", "OB"]) or None)
        return f"{keyword}:wrong_vr={raw.hex()}"
    v = rng.choice(values)
    if numeric_us:
        if isinstance(v, list):
            _set_raw(ds, keyword, _us(ds, v))
        elif v == "empty":
            _set_raw(ds, keyword, b"")
        else:
            _set_raw(ds, keyword, _us(ds, [v]))
    else:
        _text(ds, keyword, v)
    shown = v if not isinstance(v, (str, bytes)) or len(v) < 40 else f"{v[:20]!r}...({len(v)})"
    return f"{keyword}={shown!r}"


def _duplicate_element(data: bytes, ds: Any, keyword: str) -> bytes:
    """Insert a second encoding of a top-level element right after the first one."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_data_element
    from pydicom.tag import Tag

    tag = Tag(keyword)
    target = ds.file_meta if tag.group == 2 else ds
    if tag not in target:
        return data
    implicit, little = (False, True) if tag.group == 2 else _encoding(ds)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = little, implicit
    try:
        write_data_element(fp, target[tag])
    except Exception:  # noqa: BLE001 - cannot encode alone: leave the file as it is
        return data
    enc = fp.getvalue()
    i = data.find(enc)
    return data if i < 0 else data[: i + len(enc)] + enc + data[i + len(enc):]


# ---- file-level operators: (rng, ds) -> detail; may append post-encoding actions --------------

def op_rows_cols(rng, ds, post):
    kw = rng.choice(["Rows", "Columns"])
    return _apply_value(rng, ds, post, kw, [0, 1, 65535, 32768, [64, 64], [1, 2, 3], "empty", 3], numeric_us=True)


def op_bits(rng, ds, post):
    kw = rng.choice(["BitsAllocated", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "SamplesPerPixel",
                     "PlanarConfiguration"])
    return _apply_value(rng, ds, post, kw, [0, 1, 7, 12, 33, 64, 255, 65535, [16, 16], "empty", 2, 3, 4], numeric_us=True)


def op_photometric(rng, ds, post):
    return _apply_value(rng, ds, post, "PhotometricInterpretation",
                        ["", "RGB", "YBR_FULL_422", "PALETTE COLOR", "MONOCHROME3", "x" * 64, "YBR_ICT", "MONOCHROME1"])


def op_number_of_frames(rng, ds, post):
    n = int(ds.get("NumberOfFrames", 1) or 1) if str(ds.get("NumberOfFrames", "1")).strip().isdigit() else 1
    return _apply_value(rng, ds, post, "NumberOfFrames", NUMBERS_IS + [str(n + 1), str(n * 1000), str(10 ** 6)])


def op_pixel_data(rng, ds, post):
    from pydicom.tag import Tag

    tag = Tag("PixelData")
    if tag not in ds._dict:
        _set_raw(ds, "PixelData", bytes(rng.randrange(256) for _ in range(64)), vr="OW")
        return "PixelData:add"
    elem = ds._dict[tag]
    value = elem.value if isinstance(elem.value, (bytes, bytearray)) else ds.PixelData
    vr = str(elem.VR)
    how = rng.choice(["truncate", "truncate", "empty", "odd", "extend", "double", "garbage", "encapsulated"])
    if how == "truncate":
        k = int(len(value) * rng.random()) & ~1
        new = value[:k]
    elif how == "empty":
        new = b""
    elif how == "odd":
        new = value[:-1]
    elif how == "extend":
        new = value + bytes(rng.randrange(256) for _ in range(rng.choice([2, 64, 1000])))
    elif how == "double":
        new = value + value
    elif how == "garbage":
        new = bytes(rng.randrange(256) for _ in range(len(value) if len(value) < 4096 else 4096))
    else:
        frag = bytes(rng.randrange(256) for _ in range(rng.choice([0, 8, 100])))
        new = (b"\xfe\xff\x00\xe0\x00\x00\x00\x00" + b"\xfe\xff\x00\xe0" + struct.pack("<I", len(frag)) + frag
               + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
    from pydicom.dataelem import RawDataElement

    implicit, little = _encoding(ds)
    ds._dict[tag] = RawDataElement(tag, vr, len(new), bytes(new), 0, implicit, little)
    return f"PixelData:{how}({len(value)}->{len(new)})"


def op_rescale(rng, ds, post):
    kw = rng.choice(["RescaleSlope", "RescaleIntercept"])
    return _apply_value(rng, ds, post, kw, NUMBERS_DS + ["-1024", "1e9", "-1e9", "3000"])


def op_orientation(rng, ds, post):
    c, s = math.cos(math.radians(60)), math.sin(math.radians(60))
    values = [f"1\\0\\0\\{c}\\{s}\\0", "NaN\\0\\0\\0\\1\\0", "0\\0\\0\\0\\0\\0", "1\\0\\0\\0\\1", "1\\0\\0\\1\\0\\0",
              "2\\0\\0\\0\\2\\0", "abc", "", "1e308\\0\\0\\0\\1e308\\0", "1\\0\\0\\0\\0.9\\0.1", "inf\\0\\0\\0\\1\\0",
              "0.7071\\0.7071\\0\\0.7071\\0.7071\\0"]
    return _apply_value(rng, ds, post, "ImageOrientationPatient", values)


def op_spacing(rng, ds, post):
    return _apply_value(rng, ds, post, "PixelSpacing", ["0\\0", "-1\\-1", "NaN\\NaN", "1", "1e9\\1e9", "abc", "",
                                                        "1e-9\\1e-9", "0.5\\-0.5", "inf\\1", "1\\2\\3"])


def op_thickness(rng, ds, post):
    kw = rng.choice(["SliceThickness", "SpacingBetweenSlices", "SliceLocation"])
    return _apply_value(rng, ds, post, kw, ["0", "-5", "NaN", "1e9", "inf", "", "abc", "1e-12", "1\\2"])


def op_position(rng, ds, post):
    return _apply_value(rng, ds, post, "ImagePositionPatient", ["NaN\\NaN\\NaN", "1\\2", "1e300\\1e300\\1e300",
                                                                "inf\\0\\0", "", "abc", "0\\0\\0\\0", "-1e308\\0\\0"])


def op_heart_rate(rng, ds, post):
    kw = rng.choice(["HeartRate", "HeartRate", "NominalInterval", "CardiacNumberOfImages"])
    return _apply_value(rng, ds, post, kw, ["-60", "0", "1e9", "NaN", "1", "400", "abc", "", "inf", "-1e308"])


def op_frame_time(rng, ds, post):
    kw = rng.choice(["FrameTime", "TriggerTime", "InversionTime", "FrameTimeVector", "EchoTime", "RepetitionTime"])
    return _apply_value(rng, ds, post, kw, ["-1", "NaN", "0", "1e12", "abc", "inf", "", "-1e308", "1\\NaN\\3"])


def op_transfer_syntax(rng, ds, post):
    return _apply_value(rng, ds, post, "TransferSyntaxUID", TRANSFER_SYNTAXES)


def op_charset(rng, ds, post):
    detail = _apply_value(rng, ds, post, "SpecificCharacterSet", CHARSETS)
    if rng.random() < 0.6:
        _text(ds, "PatientName", rng.choice([b"\xe9\xff\xfe^\x80", b"\x1b$B\x30\x21", "Müller^Jörg".encode("utf-8"),
                                             b"\xc3\x28", "山田^太郎".encode("utf-8")]))
        detail += "+PatientName:bytes"
    return detail


def op_patient_sex(rng, ds, post):
    return _apply_value(rng, ds, post, "PatientSex", SEXES)


def op_dates(rng, ds, post):
    kw = rng.choice(["StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "PatientBirthDate", "PatientBirthDate",
                     "StudyTime", "PatientAge", "PatientSize", "PatientWeight"])
    values = {"StudyTime": ["25:61:00", "abc", "", "240000", "1\\2"], "PatientAge": AGES,
              "PatientSize": ["0", "-1.7", "NaN", "170", "1e9", "abc", "0.0001"],
              "PatientWeight": ["0", "-70", "NaN", "7000", "1e9", "abc", "0.01"]}.get(kw, DATES)
    return _apply_value(rng, ds, post, kw, values)


def op_uid_path(rng, ds, post):
    kw = rng.choice(["StudyInstanceUID", "SeriesInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
                     "MediaStorageSOPInstanceUID", "PatientID"])
    return _apply_value(rng, ds, post, kw, UID_HOSTILE)


def op_long_string(rng, ds, post):
    kw = rng.choice(["SeriesDescription", "PatientName", "PatientID", "Manufacturer", "ProtocolName", "StudyDescription",
                     "InstitutionName", "ImageComments", "ImageType", "Modality", "BodyPartExamined"])
    return _apply_value(rng, ds, post, kw, LONG_TEXT)


def op_sop_class(rng, ds, post):
    if rng.random() < 0.7:
        return _apply_value(rng, ds, post, "SOPClassUID", SOP_CLASSES)
    return _apply_value(rng, ds, post, "Modality", ["", "CT", "MR", "SEG", "SR", "US", "X" * 40, "mr"])


def op_deep_sequence(rng, ds, post):
    depth = rng.choice([64, 500, 3000, 20000])
    post.append(("deep", depth))
    return f"deep_sequence:{depth}"


def op_unknown_vr(rng, ds, post):
    vr = rng.choice([b"ZZ", b"\0\0", b"UN", b"SQ", b"OB", b"  ", b"ox"])
    length = rng.choice([4, 7, 0xFFFFFFFF, 0xFFFE, 1 << 30])
    post.append(("unknown_vr", vr, length))
    return f"unknown_vr:{vr!r}:{length}"


def op_functional_groups(rng, ds, post):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    which = rng.choice(["PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"])
    n = rng.choice([0, 1, 2, 1000])
    items = []
    for _ in range(min(n, 50)):
        item = Dataset()
        if rng.random() < 0.5:
            pm = Dataset()
            pm.PixelSpacing = rng.choice([[0, 0], [-1, 1], [1, 1]])
            item.PixelMeasuresSequence = Sequence([pm])
        items.append(item)
    setattr(ds, which, Sequence(items))
    if rng.random() < 0.5:
        _text(ds, "NumberOfFrames", str(n))
    return f"{which}:{n}"


def op_lut(rng, ds, post):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    _set_raw(item, "LUTDescriptor", _us(ds, rng.choice([[0, 0, 16], [4096, 0, 16], [1, 0, 0], [65535, 65535, 65535]])))
    _set_raw(item, "LUTData", bytes(rng.randrange(256) for _ in range(rng.choice([0, 2, 100]))), vr="OW")
    _text(item, "ModalityLUTType", "HU")
    ds.ModalityLUTSequence = Sequence([item])
    return "ModalityLUTSequence:garbage"


def op_multi(rng, ds, post):
    ops = [rng.choice(DICOM_OPS_SIMPLE) for _ in range(rng.randint(2, 4))]
    return "+".join(FILE_OPS[name][1](rng, ds, post) for name in ops)


def _hostile_for(rng: random.Random, vr: str, little: bool) -> bytes:
    """A hostile value for any element of this VR (as the bytes to store)."""
    e = "<" if little else ">"
    text = {"DS": NUMBERS_DS, "IS": NUMBERS_IS, "UI": UID_HOSTILE, "DA": DATES, "TM": ["25:61:00", "abc", "", "1\\2"],
            "DT": DATES, "CS": SEXES + CHARSETS, "AS": AGES}.get(vr)
    if text is not None:
        return rng.choice(text).encode("latin-1", "replace")
    if vr in ("US", "SS"):
        return rng.choice([b"", struct.pack(e + "H", 0), struct.pack(e + "H", 65535), struct.pack(e + "HH", 1, 2), b"\x01"])
    if vr in ("UL", "SL", "AT"):
        return rng.choice([b"", struct.pack(e + "I", 0xFFFFFFFF), struct.pack(e + "I", 0), b"\x01\x02"])
    if vr in ("FD", "FL", "OD", "OF"):
        f = "d" if vr in ("FD", "OD") else "f"
        return rng.choice([b"", struct.pack(e + f, float("nan")), struct.pack(e + f, float("inf")), struct.pack(e + f, -1e30), b"\x01"])
    if vr == "SQ":
        return rng.choice([b"", b"\xfe\xff\x00\xe0\x10\x00\x00\x00garbagegarbage!!", bytes(rng.randrange(256) for _ in range(12))])
    v = rng.choice(LONG_TEXT)
    return v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass")


def _elements(ds: Any, nested: bool) -> list[tuple[Any, Any, str]]:
    """(dataset, tag, VR) of the elements of ``ds`` (top level, or inside sequences only)."""
    out = []

    def walk(d: Any, depth: int) -> None:
        for tag in list(d._dict):
            if tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
                continue
            try:
                elem = d[tag]
            except Exception:  # noqa: BLE001 - unreadable already: skip it
                continue
            if (depth > 0) == nested:
                out.append((d, tag, str(elem.VR)))
            if elem.VR == "SQ" and depth < 4:
                for item in elem.value or []:
                    walk(item, depth + 1)

    walk(ds, 0)
    return out


def op_any_value(rng, ds, post):
    """Any top-level element (not Pixel Data) gets a hostile value for its VR."""
    elems = _elements(ds, nested=False)
    if not elems:
        return "no elements"
    d, tag, vr = rng.choice(elems)
    value = _hostile_for(rng, vr, _encoding(ds)[1])
    _set_raw(d, tag, value, vr=vr, enc=_encoding(ds))
    return f"{tag}:{vr}={value[:30]!r}"


def op_nested_value(rng, ds, post):
    """An element inside a sequence (per-frame functional groups, LUTs, references ...) gets a hostile value."""
    elems = _elements(ds, nested=True)
    if not elems:
        return op_any_value(rng, ds, post)
    d, tag, vr = rng.choice(elems)
    value = _hostile_for(rng, vr, _encoding(ds)[1])
    _set_raw(d, tag, value, vr=vr, enc=_encoding(ds))
    return f"nested {tag}:{vr}={value[:30]!r}"


def op_identity(rng, ds, post):
    return "unchanged"


# ---- byte-level operators: (rng, data) -> (data, detail) ----------------------------------------

def b_bitflip(rng, data):
    data = bytearray(data)
    region = len(data) if rng.random() < 0.5 else min(len(data), 2048)
    n = rng.choice([1, 2, 8, 32])
    for _ in range(n):
        i = rng.randrange(region)
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data), f"bitflip:{n}/{region}"


def b_truncate(rng, data):
    k = rng.randrange(len(data)) if rng.random() < 0.5 else rng.randrange(min(len(data), 2048))
    return data[:k], f"truncate:{k}/{len(data)}"


def b_chunk_dup(rng, data):
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.choice([4, 16, 256, 4096]))
    at = rng.randrange(len(data))
    return data[:at] + data[a:b] + data[at:], f"chunk_dup:{a}-{b}@{at}"


def b_header_random(rng, data):
    data = bytearray(data)
    hi = min(len(data), 4096)
    n = rng.choice([1, 4, 16, 64])
    for _ in range(n):
        if hi > 132:
            data[rng.randrange(132, hi)] = rng.randrange(256)
    return bytes(data), f"header_random:{n}"


def b_length_lie(rng, data):
    """Patch the length field of (7FE0,0010) or of a random element found by its tag bytes."""
    i = data.rfind(b"\xe0\x7f\x10\x00")
    if i < 0:
        i = rng.randrange(132, max(133, min(len(data) - 8, 2048)))
    data = bytearray(data)
    new = rng.choice([0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, 1, 3, len(data) * 4])
    off = i + 8 if data[i + 4:i + 6] in (b"OB", b"OW", b"UN") else i + 4
    if off + 4 <= len(data):
        data[off:off + 4] = struct.pack("<I", new)
    return bytes(data), f"length_lie:{i}={new:#x}"


def b_insert_random(rng, data):
    at = rng.randrange(132, max(133, len(data)))
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 7, 64])))
    return data[:at] + junk + data[at:], f"insert_random:{len(junk)}@{at}"


# ---- the deflate bomb ----------------------------------------------------------------------------

_BOMB_CACHE: dict[tuple[str, int], bytes] = {}


def deflate_bomb(base: bytes, gib: int = 3) -> bytes:
    """A Deflated Explicit VR Little Endian file whose dataset inflates to > ``gib`` GiB (a private
    OB element of zeros before the pixel data)."""
    key = (hashlib.sha256(base).hexdigest(), gib)
    if key in _BOMB_CACHE:
        return _BOMB_CACHE[key]
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    ds = pydicom.dcmread(io.BytesIO(base), force=True)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    dataset = fp.getvalue()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    meta = DicomBytesIO()
    write_file_meta_info(meta, ds.file_meta, enforce_standard=False)
    head = b"\0" * 128 + b"DICM" + meta.getvalue()
    n = gib << 10
    private = (_elem_header(0x00090010, b"LO", 16, False, True) + b"HEARTPRINT FUZZ "
               + _elem_header(0x00091000, b"OB", n << 20, False, True))
    i = dataset.rfind(b"\xe0\x7f\x10\x00")
    prefix, suffix = (dataset[:i], dataset[i:]) if i >= 0 else (dataset, b"")
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(prefix + private) + co.flush(zlib.Z_FULL_FLUSH)
    chunk = co.compress(bytes(1 << 20)) + co.flush(zlib.Z_FULL_FLUSH)
    rest = co.compress(suffix) + co.flush(zlib.Z_FINISH)
    out = head + first + chunk * n + rest
    _BOMB_CACHE[key] = out
    return out


def op_deflate(rng, data):
    """A valid deflated re-encoding, a truncated one, or a decompression bomb."""
    how = rng.choice(["valid", "truncated", "bomb", "garbage"])
    if how == "bomb":
        return deflate_bomb(data), "deflate:bomb3GiB"
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    buf = io.BytesIO()
    try:
        ds.save_as(buf, enforce_file_format=False, implicit_vr=False, little_endian=True)
    except Exception:  # noqa: BLE001 - cannot re-encode: claim deflate on the original bytes
        return data, "deflate:unencodable"
    out = buf.getvalue()
    if how == "truncated":
        out = out[: len(out) - rng.randrange(1, max(2, len(out) // 2))]
    elif how == "garbage":
        i = out.find(b"DICM") + 200
        out = out[:i] + bytes(rng.randrange(256) for _ in range(64)) + out[i + 64:]
    return out, f"deflate:{how}"


# operator table: name -> (level, function, weight)
FILE_OPS: dict[str, tuple[str, Callable, float]] = {
    "identity": ("dicom", op_identity, 1),
    "rows_cols": ("dicom", op_rows_cols, 6),
    "bits": ("dicom", op_bits, 6),
    "photometric": ("dicom", op_photometric, 2),
    "number_of_frames": ("dicom", op_number_of_frames, 6),
    "pixel_data": ("dicom", op_pixel_data, 6),
    "rescale": ("dicom", op_rescale, 4),
    "orientation": ("dicom", op_orientation, 3),
    "spacing": ("dicom", op_spacing, 3),
    "thickness": ("dicom", op_thickness, 2),
    "position": ("dicom", op_position, 3),
    "heart_rate": ("dicom", op_heart_rate, 2),
    "frame_time": ("dicom", op_frame_time, 2),
    "transfer_syntax": ("dicom", op_transfer_syntax, 5),
    "charset": ("dicom", op_charset, 3),
    "patient_sex": ("dicom", op_patient_sex, 2),
    "dates": ("dicom", op_dates, 3),
    "uid_path": ("dicom", op_uid_path, 3),
    "long_string": ("dicom", op_long_string, 2),
    "sop_class": ("dicom", op_sop_class, 2),
    "deep_sequence": ("dicom", op_deep_sequence, 2),
    "unknown_vr": ("dicom", op_unknown_vr, 3),
    "functional_groups": ("dicom", op_functional_groups, 2),
    "lut": ("dicom", op_lut, 1),
    "any_value": ("dicom", op_any_value, 6),
    "nested_value": ("dicom", op_nested_value, 5),
    "multi": ("dicom", op_multi, 6),
    "bitflip": ("bytes", b_bitflip, 6),
    "truncate": ("bytes", b_truncate, 4),
    "chunk_dup": ("bytes", b_chunk_dup, 3),
    "header_random": ("bytes", b_header_random, 4),
    "length_lie": ("bytes", b_length_lie, 3),
    "insert_random": ("bytes", b_insert_random, 2),
    "deflate": ("bytes", op_deflate, 2),
}
DICOM_OPS_SIMPLE = [k for k, v in FILE_OPS.items() if v[0] == "dicom" and k not in ("multi", "identity")]


def mutate_file(rng: random.Random, data: bytes, op: str) -> tuple[bytes, str]:
    """Apply file operator ``op`` to the bytes of one file; returns (bytes, detail)."""
    level, fn, _ = FILE_OPS[op]
    if level == "bytes":
        return fn(rng, data)
    with _lenient_pydicom():
        try:
            ds = _parse(data)
        except Exception as exc:  # noqa: BLE001 - base not parseable: fall back to a byte operator
            out, d = b_bitflip(rng, data)
            return out, f"unparseable({type(exc).__name__})->{d}"
        post: list = []
        detail = fn(rng, ds, post)
        try:
            out = _encode(ds)
        except Exception as exc:  # noqa: BLE001 - some bases do not re-encode: byte operator instead
            out, d = b_header_random(rng, data)
            return out, f"{detail}:unencodable({type(exc).__name__})->{d}"
        for action in post:
            if action[0] == "duplicate":
                out = _duplicate_element(out, ds, action[1])
            elif action[0] == "deep":
                implicit, little = _encoding(ds)
                out = _insert_before_pixels(out, ds, _deep_sequence(action[1], implicit, little))
            elif action[0] == "unknown_vr":
                implicit, little = _encoding(ds)
                _, vr, length = action
                value = b"abcd"
                raw = (_elem_header(0x00091011, vr, length, implicit, little, long_form=length > 0xFFFF) + value)
                out = _insert_before_pixels(out, ds, raw)
    return out, detail


# =============================================================================================
# Folder-level mutants
# =============================================================================================


@dataclasses.dataclass
class FolderSpec:
    """A study folder to materialise: files (relative path, bytes), FIFOs, symlinks (name, target;
    ``{outside}`` in a target is the mutant's folder outside the input) and the path to analyse."""

    files: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    fifos: list[str] = dataclasses.field(default_factory=list)
    symlinks: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    outside: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    target: str = "study"


def _zip(members: list[tuple[str, bytes, dict]]) -> bytes:
    """A zip built by hand so that its headers may lie: each member (name, stored bytes, opts) with
    opts ``method`` (0/8), ``crc``, ``usize`` (claimed uncompressed size; > 4 GiB uses zip64)."""
    local, central = bytearray(), bytearray()
    for name, payload, opts in members:
        nb = name.encode("utf-8")
        method = opts.get("method", 0)
        crc = opts.get("crc", zlib.crc32(payload) if method == 0 else 0)
        usize = opts.get("usize", len(payload))
        csize = len(payload)
        extra = b""
        u32 = usize
        if usize > 0xFFFFFFFE:
            u32 = 0xFFFFFFFF
            extra = struct.pack("<HHQ", 1, 8, usize)
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if extra else 20, 0, method, 0, 0x21, crc, csize, u32,
                             len(nb), len(extra)) + nb + extra + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if extra else 20, 45 if extra else 20, 0, method, 0,
                               0x21, crc, csize, u32, len(nb), len(extra), 0, 0, 0, 0, offset) + nb + extra
    n = len(members)
    if n > 0xFFFF:
        raise ValueError("too many members for a plain zip")
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(local), 0)
    return bytes(local + central + eocd)


_ZIP_BOMB: dict[int, bytes] = {}


def _zip_bomb_member(gib: int) -> tuple[bytes, int, int]:
    """(deflate stream, crc, size) of ``gib`` GiB of zeros (crc computed once and cached)."""
    if gib not in _ZIP_BOMB:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        co.compress(b"")
        first = co.compress(bytes(1 << 20)) + co.flush(zlib.Z_FULL_FLUSH)
        chunk = co.compress(bytes(1 << 20)) + co.flush(zlib.Z_FULL_FLUSH)
        n = gib << 10
        stream = first + chunk * (n - 1) + co.flush(zlib.Z_FINISH)
        crc, zero = 0, bytes(1 << 20)
        for _ in range(n):
            crc = zlib.crc32(zero, crc)
        _ZIP_BOMB[gib] = stream
        _ZIP_BOMB[-gib] = struct.pack("<I", crc)
    return _ZIP_BOMB[gib], struct.unpack("<I", _ZIP_BOMB[-gib])[0], gib << 30


def _series_choice(rng: random.Random, corpus: Corpus, only: list[str] | None = None) -> str:
    keys = [k for k in ("calcium", "cine", "cmr", "molli", "lge")
            if (k in corpus.series or (k == "cmr" and "cine" in corpus.series)) and (only is None or k in only)]
    weights = {"calcium": 45, "cine": 20, "cmr": 10, "molli": 12, "lge": 13}
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _series_files(corpus: Corpus, key: str) -> list[tuple[str, bytes]]:
    if key == "cmr":
        return [(f"{k}/{n}", d) for k in ("cine", "lge", "molli") for n, d in corpus.series[k]]
    return list(corpus.series[key])


def f_one_file(rng, corpus, key):
    files = _series_files(corpus, key)
    i = rng.randrange(len(files))
    op = _pick_file_op(rng)
    data, detail = mutate_file(rng, files[i][1], op)
    files[i] = (files[i][0], data)
    return FolderSpec(files=files), f"{files[i][0]}:{op}:{detail}"


def f_all_files(rng, corpus, key):
    """The same header mutation on every file (a whole series with a hostile UID, sex, date, rescale ...)."""
    files = _series_files(corpus, key)
    op = rng.choice(["uid_path", "uid_path", "patient_sex", "dates", "charset", "rescale", "orientation", "spacing",
                     "heart_rate", "frame_time", "long_string", "thickness", "position", "number_of_frames",
                     "transfer_syntax", "sop_class"])
    state = rng.random()
    details = set()
    for j, (name, data) in enumerate(files):
        sub = random.Random(state)
        data, detail = mutate_file(sub, data, op)
        files[j] = (name, data)
        details.add(detail)
    return FolderSpec(files=files), f"all:{op}:{'|'.join(sorted(details))[:200]}"


def f_uid_all(rng, corpus, key):
    """Every file of the series gets the same hostile Series/Study UID (or each SOP UID one)."""
    files = _series_files(corpus, key)
    kw = rng.choice(["SeriesInstanceUID", "StudyInstanceUID", "SOPInstanceUID", "PatientID"])
    value = rng.choice(UID_HOSTILE[:10])
    with _lenient_pydicom():
        for j, (name, data) in enumerate(files):
            ds = _parse(data)
            v = value + (f".{j}" if kw == "SOPInstanceUID" and rng.random() < 0.5 else "")
            _text(ds, kw, v)
            if kw == "SOPInstanceUID":
                _text(ds, "MediaStorageSOPInstanceUID", v)
            files[j] = (name, _encode(ds))
    return FolderSpec(files=files), f"uid_all:{kw}={value!r}"


def f_fifo(rng, corpus, key):
    spec = FolderSpec(files=_series_files(corpus, key))
    spec.fifos.append(rng.choice(["zz.dcm", "sub/fifo", "a.zip"]))
    return spec, f"fifo:{spec.fifos[0]}"


def f_symlink(rng, corpus, key):
    spec = FolderSpec(files=_series_files(corpus, key))
    target = rng.choice(["/dev/zero", "/dev/zero", "/dev/urandom", "/dev/null", "{outside}/secret.dcm", "{outside}",
                         "missing-target", ".", "/proc/self/mem"])
    name = rng.choice(["link.dcm", "link.zip", "sub/link", "link"])
    spec.symlinks.append((name, target))
    spec.outside.append(("secret.dcm", corpus.series[key if key != "cmr" else "cine"][0][1]))
    return spec, f"symlink:{name}->{target}"


def f_zip(rng, corpus, key):
    files = _series_files(corpus, key)
    how = rng.choice(["valid", "bomb", "claim_huge", "claim_small", "many", "traversal", "nested", "corrupt",
                      "bomb", "many"])
    members = [(n, d, {}) for n, d in files]
    if how == "bomb":
        stream, crc, size = _zip_bomb_member(3)
        members.append(("bomb.dcm", stream, {"method": 8, "crc": crc, "usize": size}))
    elif how == "claim_huge":
        payload = zlib.compress(b"x" * 100)[2:-4]
        members.append(("huge.dcm", payload, {"method": 8, "crc": zlib.crc32(b"x" * 100), "usize": 10 << 30}))
    elif how == "claim_small":
        stream, crc, size = _zip_bomb_member(3)
        members.append(("small.dcm", stream, {"method": 8, "crc": crc, "usize": 1000}))
    elif how == "many":
        n = rng.choice([2000, 4000, 8000])
        members += [(f"junk/{i:05d}.dcm", b"not dicom %d" % i, {}) for i in range(n)]
        how = f"many{n}"
    elif how == "traversal":
        members.append((rng.choice(["../../evil.dcm", "/abs/evil.dcm", "a/../../../evil.dcm", "C:\\evil.dcm"]),
                        files[0][1], {}))
    elif how == "nested":
        members = [("inner.zip", _zip(members), {})]
    blob = _zip(members)
    if how == "corrupt":
        b = bytearray(blob)
        for _ in range(16):
            b[rng.randrange(len(b))] ^= 0xFF
        blob = bytes(b)
    spec = FolderSpec(files=[("study.zip", blob)])
    spec.target = rng.choice(["study/study.zip", "study"])
    return spec, f"zip:{how}:{spec.target}"


def f_deflate_bomb(rng, corpus, key):
    files = _series_files(corpus, key)
    files.append(("bomb.dcm", deflate_bomb(files[0][1])))
    return FolderSpec(files=files), "deflate_bomb:3GiB"


def f_junk(rng, corpus, key):
    how = rng.choice(["empty", "junk", "duplicate", "mixed_geometry", "dicomdir_only"])
    if how == "empty":
        return FolderSpec(), "junk:empty"
    if how == "junk":
        return FolderSpec(files=[("a.dcm", b"hello"), ("b.txt", b"\0" * 200), ("c", bytes(132) + b"DICM")]), "junk:junk"
    files = _series_files(corpus, key)
    if how == "duplicate":
        files += [(f"copy_{n}", d) for n, d in files[: rng.randint(1, len(files))]]
        return FolderSpec(files=files), "junk:duplicate"
    if how == "dicomdir_only":
        import pydicom.data

        p = next((Path(pydicom.data.__file__).parent / "test_files").rglob("DICOMDIR-empty.dcm"))
        return FolderSpec(files=[("DICOMDIR", p.read_bytes())]), "junk:dicomdir_only"
    with _lenient_pydicom():
        j = rng.randrange(len(files))
        ds = _parse(files[j][1])
        _text(ds, "ImageOrientationPatient", "0\\1\\0\\0\\0\\1")
        files[j] = (files[j][0], _encode(ds))
    return FolderSpec(files=files), f"junk:mixed_geometry:{j}"


FOLDER_OPS: dict[str, tuple[Callable, float]] = {
    "folder_one_file": (f_one_file, 30),
    "folder_all_files": (f_all_files, 30),
    "folder_uid": (f_uid_all, 12),
    "folder_fifo": (f_fifo, 2),
    "folder_symlink": (f_symlink, 5),
    "folder_zip": (f_zip, 8),
    "folder_deflate_bomb": (f_deflate_bomb, 2),
    "folder_junk": (f_junk, 5),
}


@dataclasses.dataclass
class Mutant:
    """One generated mutant: where it came from and what was done (``payload``: bytes or FolderSpec)."""

    index: int
    seed: int
    operator: str
    base: str
    detail: str
    mode: str  # "file" | "folder"
    payload: Any = dataclasses.field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "seed": self.seed, "operator": self.operator, "base": self.base,
                "detail": self.detail, "mode": self.mode}

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode())
        p = self.payload
        if isinstance(p, bytes):
            h.update(p)
        else:
            for n, d in p.files:
                h.update(n.encode() + hashlib.sha256(d).digest())
            h.update(json.dumps([p.fifos, p.symlinks, p.target]).encode())
        return h.hexdigest()


def _pick_file_op(rng: random.Random, ops: list[str] | None = None) -> str:
    names = ops or list(FILE_OPS)
    return rng.choices(names, [FILE_OPS[n][2] for n in names])[0]


def generate(corpus: Corpus, seed: int, index: int, *, folder_fraction: float = 0.12,
             ops: list[str] | None = None, series: list[str] | None = None) -> Mutant:
    """Mutant ``index`` of ``seed``: a pure function of (corpus, seed, index, options).

    ``ops`` restricts the operators (file and folder ones, by name); ``series`` the phantom series
    a folder mutant starts from (``calcium``, ``cine``, ``cmr``, ``molli``, ``lge``)."""
    rng = random.Random(f"heartprint-fuzz:{seed}:{index}")
    folder_ops = [o for o in FOLDER_OPS if ops is None or o in ops]
    file_ops = [o for o in FILE_OPS if ops is None or o in ops]
    use_folder = bool(folder_ops) and corpus.series and (not file_ops or rng.random() < folder_fraction)
    with _lenient_pydicom():
        if use_folder:
            op = rng.choices(folder_ops, [FOLDER_OPS[o][1] for o in folder_ops])[0]
            key = _series_choice(rng, corpus, series)
            spec, detail = FOLDER_OPS[op][0](rng, corpus, key)
            return Mutant(index, seed, op, f"series:{key}", detail, "folder", spec)
        op = _pick_file_op(rng, file_ops)
        phantom = [f for f in corpus.files if f[0].startswith("phantom/")]
        others = [f for f in corpus.files if not f[0].startswith("phantom/")]
        pool = phantom if phantom and (not others or rng.random() < 0.5) else others
        name, data = rng.choice(pool)
        out, detail = mutate_file(rng, data, op)
        return Mutant(index, seed, op, name, detail, "file", out)


# =============================================================================================
# Materialising and watching
# =============================================================================================


def materialise(m: Mutant, mdir: Path) -> Path:
    """Write the mutant under ``mdir/in``; returns the path to analyse."""
    ind = mdir / "in"
    ind.mkdir(parents=True)
    (mdir / "out").mkdir()
    (mdir / "cwd").mkdir()
    if m.mode == "file":
        name = Path(m.base).name
        (ind / name).write_bytes(m.payload)
        return ind / name
    spec: FolderSpec = m.payload
    study = ind / "study"
    study.mkdir()
    outside = mdir / "outside"
    outside.mkdir()
    for name, data in spec.outside:
        (outside / name).write_bytes(data)
    for name, data in spec.files:
        p = study / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    for name in spec.fifos:
        p = study / name
        p.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(p)
    for name, target in spec.symlinks:
        p = study / name
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target.replace("{outside}", str(outside)), p)
    return ind / spec.target


def snapshot(trees: list[Path], exclude: list[Path]) -> dict[str, tuple]:
    """Files and folders under ``trees`` (not following links): path -> (type, size, mtime_ns)."""
    ex = {str(p) for p in exclude}
    out: dict[str, tuple] = {}
    for tree in trees:
        if not tree.exists():
            out[str(tree)] = ("absent",)
            continue
        stack = [str(tree)]
        while stack:
            d = stack.pop()
            try:
                entries = list(os.scandir(d))
            except OSError:
                continue
            for e in entries:
                if e.path in ex:
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if e.is_dir(follow_symlinks=False):
                    out[e.path] = ("d",)
                    stack.append(e.path)
                else:
                    out[e.path] = ("f", st.st_size, st.st_mtime_ns, st.st_mode & 0o170000)
    return out


def diff(before: dict, after: dict) -> list[str]:
    changes = [f"new {p}" for p in sorted(set(after) - set(before))]
    changes += [f"removed {p}" for p in sorted(set(before) - set(after))]
    changes += [f"changed {p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return changes


# =============================================================================================
# The worker (runs in the subprocess)
# =============================================================================================


def _where(tb: Any) -> tuple[str, str]:
    """(innermost heartprint frame, innermost frame) as ``file:function``."""
    frames = traceback.extract_tb(tb)
    inner = frames[-1] if frames else None
    hp = [f for f in frames if "/heartprint/" in f.filename and "benchmarks" not in f.filename]
    def short(f: Any) -> str:
        fn = f.filename
        for marker in ("/src/", "/site-packages/", "/lib/python"):
            if marker in fn:
                fn = fn.split(marker, 1)[1]
                break
        return f"{fn}:{f.name}:{f.lineno}"
    return (short(hp[-1]) if hp else "-", short(inner) if inner else "-")


def _last_line(exc: BaseException) -> str:
    text = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}".replace("builtins.", "")
    text = " ".join(text.split())
    return text[:400]


def _run_file(path: Path, out: Path, notes: list[str]) -> None:
    import warnings

    from heartprint.errors import HeartprintError
    from heartprint.io import load_series, scan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = scan(path)
        if result.skipped:
            notes.append(f"skipped {len(result.skipped)}")
        for s in result:
            try:
                load_series(s)
            except HeartprintError as exc:
                notes.append(f"load: {type(exc).__name__}")
    _run_analyze(path, out, notes, report=False)


def _run_analyze(path: Path, out: Path, notes: list[str], *, report: bool) -> None:
    import warnings

    from heartprint.errors import HeartprintError
    from heartprint.outputs import study_folder_name, write_study_outputs
    from heartprint.pipeline import AnalysisOptions, analyze

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            results = analyze(path, AnalysisOptions(interpret=False, tta=False))
        except HeartprintError as exc:
            notes.append(f"analyze: {type(exc).__name__}")
            return
        used: set[str] = set()
        for r in results:
            if r.skipped_files:
                notes.append(f"skipped {len(r.skipped_files)}")
            notes += [f"series {s.status}" for s in r.series if s.status != "analysed"]
            try:
                w = write_study_outputs(r, out / study_folder_name(r, used), report=report)
            except HeartprintError as exc:
                notes.append(f"outputs: {type(exc).__name__}")
            else:
                if w.problems:
                    notes.append(f"output problems {len(w.problems)}")


def _run_deid(path: Path, out: Path, notes: list[str]) -> None:
    import inspect
    import warnings

    from heartprint.errors import HeartprintError
    from heartprint.io import deidentify_folder

    src = path if path.is_dir() else path.parent
    kwargs: dict[str, Any] = {"salt": SALT}
    if "skipped" in inspect.signature(deidentify_folder).parameters:
        kwargs["skipped"] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            deidentify_folder(src, out / "deid", **kwargs)
        except HeartprintError as exc:
            notes.append(f"deid: {type(exc).__name__}")
    if kwargs.get("skipped"):
        notes.append(f"deid skipped {len(kwargs['skipped'])}")


def _planted(action: str, mdir: Path) -> None:
    from heartprint.errors import InvalidInputError

    if action == "crash":
        raise KeyError("planted crash")
    if action == "hang":
        time.sleep(3600)
    if action == "memory":
        bytearray(3 << 30)
    if action == "signal":
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == "escape":
        (mdir / "escaped.txt").write_text("outside the output root")
    if action == "clean":
        raise InvalidInputError("planted clean error")


def worker_main() -> int:
    """Read one JSON job per line on stdin, answer one JSON result per line on the protocol fd."""
    import faulthandler

    _limit_self()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library prints go to the log, never into the protocol
    faulthandler.enable(sys.stderr)  # the recursion limit stays Python's default, as in the CLI
    try:
        import importlib

        for name in ("heartprint.pipeline", "heartprint.outputs", "heartprint.io"):  # once, outside the timed jobs
            importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001
        print(json.dumps({"fatal": _last_line(exc)}), file=proto)
        return 1
    from heartprint.errors import HeartprintError

    print(json.dumps({"ready": os.getpid()}), file=proto)
    for line in sys.stdin:
        job = json.loads(line)
        mdir, path, out = Path(job["dir"]), Path(job["path"]), Path(job["out"])
        os.chdir(mdir / "cwd")
        print(f"=== job {job['index']}", file=sys.stderr, flush=True)
        faulthandler.dump_traceback_later(max(1.0, job["timeout"] - 1.0), exit=False, file=sys.stderr)
        notes: list[str] = []
        stage = "start"
        res: dict[str, Any] = {"index": job["index"]}
        t0 = time.perf_counter()
        try:
            if job.get("plant"):
                stage = "planted"
                _planted(job["plant"], mdir)
            elif job["mode"] == "file":
                stage = "scan/load/analyze"
                _run_file(path, out, notes)
            else:
                stage = "analyze"
                _run_analyze(path, out, notes, report=job.get("report", True))
                stage = "deidentify"
                _run_deid(path, out, notes)
            res["outcome"] = "clean" if notes else "ok"
        except HeartprintError as exc:
            res["outcome"] = "clean"
            notes.append(f"{stage}: {type(exc).__name__}")
        except MemoryError as exc:
            res.update(outcome="memory", stage=stage, exc_type="MemoryError", last_line=_last_line(exc),
                       where=_where(exc.__traceback__))
        except BaseException as exc:  # noqa: BLE001 - PanicException and friends are crashes too
            kind = "memory" if re.search(r"bad_alloc|Cannot allocate|out of memory", str(exc)) else "crash"
            res.update(outcome=kind, stage=stage, exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}"
                       .replace("builtins.", ""), last_line=_last_line(exc), where=_where(exc.__traceback__))
        faulthandler.cancel_dump_traceback_later()
        res["notes"] = notes[:8]
        res["seconds"] = round(time.perf_counter() - t0, 3)
        print(json.dumps(res), file=proto)
    return 0


# =============================================================================================
# The runner (parent side)
# =============================================================================================


def _limit_self() -> None:
    """In the worker, before anything else: address space capped (2 GiB), no core files."""
    limit = int(os.environ.get("HEARTPRINT_FUZZ_RLIMIT_AS", MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Worker:
    """One worker subprocess with a line protocol and a deadline per job."""

    def __init__(self, slot_dir: Path, log: Path, src: Path | None = None):
        env = dict(os.environ, HEARTPRINT_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   TMPDIR=str(slot_dir / "tmp"), PYTHONFAULTHANDLER="1", MPLBACKEND="Agg",
                   HEARTPRINT_FUZZ_RLIMIT_AS=str(MEMORY_LIMIT))
        env["PYTHONPATH"] = os.pathsep.join([str(src or ROOT / "src"), env.get("PYTHONPATH", "")])
        (slot_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.log = log
        self.logf = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.logf, start_new_session=True, env=env,
                                     cwd=str(slot_dir))
        self.buf = b""
        self.jobs = 0
        hello = self.readline(120.0)
        if hello is None or "ready" not in hello:
            raise RuntimeError(f"fuzz worker did not start: {hello} (log {log})")

    def readline(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return {"eof": True}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def log_tail(self, n: int = 6000) -> str:
        self.logf.flush()
        try:
            with open(self.log, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        self.logf.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.kill()
        else:
            self.logf.close()


def _dump_where(log: str) -> tuple[str, str]:
    """From a faulthandler dump in the log: (innermost heartprint frame, innermost frame)."""
    block = log.rsplit("=== job", 1)[-1]
    threads = re.split(r"\n(?=(?:Current thread|Thread) 0x)", block)
    main = next((t for t in threads if "Current thread" in t or "most recent call first" in t), block)
    frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', main)
    def short(f: tuple[str, str, str]) -> str:
        fn = f[0]
        for marker in ("/src/", "/site-packages/", "/lib/python"):
            if marker in fn:
                fn = fn.split(marker, 1)[1]
                break
        return f"{fn}:{f[2]}:{f[1]}"
    hp = [f for f in frames if "/heartprint/" in f[0]]
    return (short(hp[0]) if hp else "-", short(frames[0]) if frames else "-")


@dataclasses.dataclass
class RunConfig:
    timeout: float = TIMEOUT_S
    keep: Path | None = None
    report_outputs: bool = True
    recycle: int = 200
    #: the heartprint source tree the workers import (default: this checkout's src/)
    src: Path | None = None


def _slot_loop(slot: int, n_slots: int, run_dir: Path, jobs: "list[Callable[[], Mutant | dict]]", lock: threading.Lock,
               results: list, cfg: RunConfig, progress: Callable[[dict], None]) -> None:
    work = run_dir / "work"
    slot_dir = work / f"slot{slot}"
    slot_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "logs" / f"slot{slot}.log"
    worker: Worker | None = None
    watched = [run_dir, ESCAPE_DIR]
    try:
        while True:
            with lock:
                if not jobs:
                    break
                make = jobs.pop(0)
            m = make()
            plant = None
            if isinstance(m, dict):  # a planted job for the classifier tests
                plant, m = m["plant"], m["mutant"]
            mdir = slot_dir / f"m{m.index:06d}"
            if mdir.exists():
                shutil.rmtree(mdir)
            path = materialise(m, mdir)
            exclude = [mdir / "out", slot_dir / "tmp", run_dir / "logs", run_dir / "keep"] + \
                      [work / f"slot{k}" for k in range(n_slots) if k != slot]
            before = snapshot(watched, exclude)
            if worker is None or worker.jobs >= cfg.recycle:
                if worker is not None:
                    worker.close()
                worker = Worker(slot_dir, log, cfg.src)
            job = {"index": m.index, "dir": str(mdir), "path": str(path), "out": str(mdir / "out"), "mode": m.mode,
                   "timeout": cfg.timeout, "plant": plant, "report": cfg.report_outputs}
            t0 = time.perf_counter()
            worker.jobs += 1
            try:
                worker.proc.stdin.write((json.dumps(job) + "\n").encode())
                worker.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                res: dict | None = {"eof": True}
            else:
                res = worker.readline(cfg.timeout)
            rec: dict[str, Any] = dict(m.describe())
            if res is None:
                time.sleep(0.3)  # let the faulthandler dump land
                hp, inner = _dump_where(worker.log_tail(20000))
                rec.update(outcome="hang", exc_type="Timeout", last_line=f"no answer in {cfg.timeout:g} s",
                           where=(hp, inner), stage="?")
                worker.kill()
                worker = None
            elif res.get("eof"):
                worker.proc.wait(timeout=10)
                rc = worker.proc.returncode
                tail = worker.log_tail().rsplit("=== job", 1)[-1]
                memory = bool(re.search(r"MemoryError|bad_alloc|Cannot allocate memory|out of memory", tail))
                sig = -rc if rc is not None and rc < 0 else None
                name = signal.Signals(sig).name if sig else f"exit {rc}"
                rec.update(outcome="memory" if memory else "crash", exc_type=f"signal {name}",
                           last_line=(tail.strip().splitlines() or [name])[-1][:300], where=_dump_where(tail), stage="?")
                worker.logf.close()
                worker = None
            else:
                rec.update({k: v for k, v in res.items() if k != "index"})
                if isinstance(rec.get("where"), list):
                    rec["where"] = tuple(rec["where"])
            rec["seconds"] = round(time.perf_counter() - t0, 3)
            after = snapshot(watched, exclude)
            changes = diff(before, after)
            if changes:
                rec["escape_was"] = rec["outcome"]
                rec.update(outcome="escape", escapes=changes[:10])
                rec.setdefault("exc_type", "escape")
                rec["last_line"] = f"{len(changes)} change(s) outside the output root: {changes[0]}"
                rec.setdefault("where", ("-", "-"))
            if rec["outcome"] in FAILURES and cfg.keep is not None:
                dest = cfg.keep / f"{m.index:06d}_{m.operator}"
                if dest.exists():
                    shutil.rmtree(dest)
                shutil.copytree(mdir / "in", dest / "in", symlinks=True,
                                ignore_dangling_symlinks=True, copy_function=_copy_plain)
                (dest / "mutant.json").write_text(json.dumps({**rec, "where": list(rec.get("where", ()))}, indent=2))
            _rmtree(mdir)
            for p in changes:
                if p.startswith("new "):
                    target = Path(p[4:])
                    with contextlib.suppress(OSError):
                        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
            with lock:
                results.append(rec)
            progress(rec)
    finally:
        if worker is not None:
            worker.close()


def _copy_plain(src: str, dst: str) -> None:
    st = os.lstat(src)
    if not (st.st_mode & 0o170000 == 0o100000):  # FIFOs and devices: recreate a FIFO, else skip
        if st.st_mode & 0o170000 == 0o010000:
            os.mkfifo(dst)
        return
    shutil.copy2(src, dst)


def _rmtree(p: Path) -> None:
    def onerror(func, path, exc_info):  # noqa: ANN001
        with contextlib.suppress(OSError):
            os.unlink(path)
    shutil.rmtree(p, onerror=onerror)


def run(make_jobs: list[Callable[[], Any]], *, jobs: int = 2, cfg: RunConfig | None = None,
        run_dir: Path | None = None, progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Run the jobs (each a callable giving a :class:`Mutant`, or ``{"plant": action, "mutant": m}``)
    on ``jobs`` worker subprocesses; returns one record per mutant, sorted by index."""
    cfg = cfg or RunConfig()
    own = run_dir is None
    run_dir = Path(tempfile.mkdtemp(prefix="heartprint-fuzz-")) if own else run_dir
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    sentinel = run_dir / "sentinel" / "a" / "b" / "c"
    sentinel.mkdir(parents=True, exist_ok=True)
    (sentinel / "keep.txt").write_text("must not change")
    ESCAPE_DIR.mkdir(parents=True, exist_ok=True)
    if cfg.keep is not None:
        cfg.keep.mkdir(parents=True, exist_ok=True)
    queue = list(make_jobs)
    lock = threading.Lock()
    results: list[dict] = []
    errors: list[BaseException] = []

    def slot(k: int) -> None:
        try:
            _slot_loop(k, n_slots, run_dir, queue, lock, results, cfg, progress or (lambda r: None))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            traceback.print_exc()

    n_slots = max(1, jobs)
    for k in range(n_slots):  # all slot folders exist before any snapshot
        (run_dir / "work" / f"slot{k}").mkdir(parents=True, exist_ok=True)
    threads = [threading.Thread(target=slot, args=(k,), daemon=True) for k in range(n_slots)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if own:
        _rmtree(run_dir)
    if errors:
        raise errors[0]
    return sorted(results, key=lambda r: r["index"])


# =============================================================================================
# Reporting and the command line
# =============================================================================================


def signature(rec: dict) -> str:
    where = rec.get("where") or ("-", "-")
    strip = lambda s: re.sub(r":\d+$", "", s)  # noqa: E731 - line numbers move with edits
    return f"{rec['outcome']} {rec.get('exc_type', '?')} @ {strip(where[0])} <- {strip(where[1])}"


def summarise(results: list[dict]) -> str:
    lines = []
    counts = Counter(r["outcome"] for r in results)
    lines.append("outcome   " + "  ".join(f"{o}={counts.get(o, 0)}" for o in OUTCOMES) + f"  total={len(results)}")
    lines.append("")
    by_op: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_op[r["operator"]][r["outcome"]] += 1
    lines.append(f"{'operator':<22}" + "".join(f"{o:>8}" for o in OUTCOMES) + f"{'total':>8}")
    for op in sorted(by_op):
        c = by_op[op]
        lines.append(f"{op:<22}" + "".join(f"{c.get(o, 0):>8}" for o in OUTCOMES) + f"{sum(c.values()):>8}")
    failures = [r for r in results if r["outcome"] in FAILURES]
    if failures:
        lines.append("")
        lines.append(f"{len(failures)} failure(s), {len({signature(r) for r in failures})} distinct signature(s):")
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in failures:
            groups[signature(r)].append(r)
        for sig, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            ex = rs[0]
            lines.append(f"  [{len(rs)}] {sig}")
            lines.append(f"       e.g. mutant {ex['index']} seed {ex['seed']} {ex['operator']} {ex['base']} {ex['detail'][:120]}")
            lines.append(f"       {ex.get('last_line', '')[:240]}")
            lines.append(f"       mutants: {' '.join(str(r['index']) for r in rs[:30])}{' ...' if len(rs) > 30 else ''}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per mutant (default 60)")
    ap.add_argument("--report", type=Path, help="write every mutant's record as JSON here")
    ap.add_argument("--keep", type=Path, help="copy each failing mutant's input here, with mutant.json")
    ap.add_argument("--only", type=str, help="comma-separated mutant indices to run (e.g. to reproduce one)")
    ap.add_argument("--ops", type=str, help="comma-separated operators to draw from (default: all)")
    ap.add_argument("--folder-fraction", type=float, default=0.12)
    ap.add_argument("--no-report-outputs", action="store_true", help="skip the HTML/PDF report for folder mutants")
    ap.add_argument("--src", type=Path, help="heartprint source tree for the workers (e.g. an older version's src/)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main()
    t0 = time.perf_counter()
    corpus = build_corpus()
    print(f"corpus {corpus.digest()}: {len(corpus.files)} files, series "
          f"{', '.join(f'{k}={len(v)}' for k, v in corpus.series.items())} ({time.perf_counter() - t0:.1f} s)", flush=True)
    indices = [int(i) for i in args.only.split(",")] if args.only else list(range(args.mutants))
    ops = args.ops.split(",") if args.ops else None

    def maker(i: int) -> Callable[[], Mutant]:
        return lambda: generate(corpus, args.seed, i, folder_fraction=args.folder_fraction, ops=ops)

    done = [0]
    t1 = time.perf_counter()

    def progress(rec: dict) -> None:
        done[0] += 1
        if rec["outcome"] in FAILURES and not args.quiet:
            print(f"  {rec['outcome']:<7} #{rec['index']} {rec['operator']} {rec['base']} {rec['detail'][:80]} :: "
                  f"{rec.get('last_line', '')[:160]}", flush=True)
        if done[0] % 100 == 0:
            print(f"[{done[0]}/{len(indices)}] {time.perf_counter() - t1:.0f} s", flush=True)

    cfg = RunConfig(timeout=args.timeout, keep=args.keep, report_outputs=not args.no_report_outputs,
                    src=args.src)
    results = run([maker(i) for i in indices], jobs=args.jobs, cfg=cfg, progress=progress)
    wall = time.perf_counter() - t1
    print()
    print(summarise(results))
    print(f"\n{len(results)} mutants, seed {args.seed}, {args.jobs} job(s), {wall:.0f} s")
    if args.report:
        args.report.write_text(json.dumps({"seed": args.seed, "mutants": len(results), "corpus": corpus.digest(),
                                           "seconds": round(wall, 1),
                                           "counts": Counter(r["outcome"] for r in results),
                                           "results": results}, indent=1, default=list))
    return 1 if any(r["outcome"] in FAILURES for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
