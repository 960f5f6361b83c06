"""The scan layer: find DICOM files, read their headers, group them into series.

Headers are read with ``pydicom.dcmread(..., stop_before_pixels=True, force=False)``; no
pixel data is decoded here. A file that cannot be read is skipped with a
:class:`~heartprint.errors.SkippedFileWarning` and recorded on the :class:`ScanResult`;
it never stops the scan of a folder or archive.

The edge is hostile, so the work per file is bounded and every failure is a named skip:

- whatever the reader raises (any exception, including ``BaseException`` subclasses such as a
  Rust decoder's ``PanicException``; only ``KeyboardInterrupt``, ``SystemExit`` and
  ``GeneratorExit`` pass) becomes a skipped file with a one-line reason;
- every header value is parsed inside that guard (pydicom converts values lazily), values over
  :data:`DEFER_BYTES` that are not sequences are dropped from the header unread, sequences
  nested deeper than :data:`MAX_SEQUENCE_DEPTH` skip the file;
- (0028,0008) Number of Frames × (0028,0010) Rows × (0028,0011) Columns × (0028,0002) Samples
  per Pixel × (0028,0100) Bits Allocated is checked against the (7FE0,0010) Pixel Data length
  before anything is decoded: exactly for native pixel data, and for encapsulated (compressed)
  data at most one frame per 8 bytes of data and at most :data:`MAX_DECODED_BYTES` decoded;
- a Deflated Explicit VR Little Endian file is inflated at most to :data:`MAX_INFLATED_BYTES`;
- FIFOs, devices, sockets, broken links, and symbolic links that point outside the scanned
  folder are skipped and reported (never opened);
- a zip archive is opened once (the open archive is reused by :func:`scan` and the load
  layer); a member declaring more than :data:`MAX_ZIP_MEMBER_BYTES`, or one over 1 MiB
  compressed more than :data:`MAX_ZIP_RATIO` times, or encrypted, is skipped; at most
  :data:`MAX_ZIP_MEMBERS` members are read; member names are never used as paths on disk.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import threading
import warnings
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError

from heartprint.errors import HeartprintError, InvalidInputError, SkippedFileWarning

__all__ = ["DicomSource", "ScanResult", "SeriesInfo", "SkippedFile", "read_header", "scan"]

#: Media Storage Directory Storage (DICOMDIR): an index, not an image.
_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
_UNDEFINED_LENGTH = 0xFFFFFFFF

#: Exceptions that are never turned into a skipped file (the user or the interpreter stopping).
FATAL_EXCEPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit)
#: Header values longer than this (bytes) are not read during the scan (sequences excepted).
DEFER_BYTES = 1 << 20
#: A deferred sequence longer than this (bytes) skips the file.
MAX_SEQUENCE_BYTES = 256 << 20
#: Sequences nested deeper than this skip the file (real images nest 3–4 deep, SR trees ~10).
MAX_SEQUENCE_DEPTH = 32
#: Decoded pixel bytes one file may claim (all its frames): 2 GiB.
MAX_DECODED_BYTES = 2 << 30
#: Frames one file may claim.
MAX_FRAMES = 100_000
#: A Deflated Explicit VR Little Endian dataset is inflated to at most this many bytes: 512 MiB.
MAX_INFLATED_BYTES = 512 << 20
#: A zip member declaring more than this (uncompressed) is skipped: 1 GiB.
MAX_ZIP_MEMBER_BYTES = 1 << 30
#: A zip member over :data:`ZIP_RATIO_MIN_BYTES` compressed more than this many times is skipped.
MAX_ZIP_RATIO = 100.0
#: The compression-ratio cap applies to members larger than this (a small member cannot be a bomb).
ZIP_RATIO_MIN_BYTES = 1 << 20
#: Members read from one zip archive; the rest are reported as one skip.
MAX_ZIP_MEMBERS = 100_000
#: Zip archives kept open for reuse (scan, then load).
_ZIP_CACHE_SIZE = 8


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line, at most ~300 characters."""
    msg = " ".join(str(exc).split()) or "no message"
    if len(msg) > 300:
        msg = msg[:297] + "..."
    return f"{type(exc).__name__}: {msg}"


_zip_lock = threading.Lock()
_zip_cache: OrderedDict[tuple[str, int, int, int, int], zipfile.ZipFile] = OrderedDict()


def open_zip(path: Path) -> zipfile.ZipFile:
    """The archive at ``path``, opened once and reused while it is the same file, unchanged
    (device, inode, size, mtime); at most a few archives are kept open."""
    real = os.path.realpath(path)
    st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(f"{path}: not a regular file; expected a .zip archive")
    key = (real, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    with _zip_lock:
        zf = _zip_cache.get(key)
        if zf is not None:
            _zip_cache.move_to_end(key)
            return zf
        zf = zipfile.ZipFile(real)
        _zip_cache[key] = zf
        while len(_zip_cache) > _ZIP_CACHE_SIZE:
            _zip_cache.popitem(last=False)[1].close()
        return zf


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be read, from its declared sizes and flags; None when it may."""
    if info.flag_bits & 0x1:
        return "encrypted zip member; not read"
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        return (f"zip member declares {info.file_size} bytes uncompressed; expected at most "
                f"{MAX_ZIP_MEMBER_BYTES} (1 GiB); not read")
    if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        return (f"zip member compressed {info.file_size / max(info.compress_size, 1):.0f} times "
                f"({info.compress_size} to {info.file_size} bytes); expected at most {MAX_ZIP_RATIO:g} "
                "times (a decompression bomb); not read")
    return None


def _read_member(path: Path, member: str) -> bytes:
    zf = open_zip(path)
    info = zf.getinfo(member)
    problem = _member_problem(info)
    if problem:
        raise InvalidInputError(f"{path}!{member}: {problem}")
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)  # zipfile stops at the declared size and checks the CRC
    if len(data) != info.file_size:
        raise InvalidInputError(f"{path}!{member}: zip member holds {len(data)} bytes but declares "
                                f"{info.file_size}; not read")
    return data


def open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading only if it is a regular file (never blocks on a FIFO or device)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInputError(f"{path}: {_kind_of(st.st_mode)}, not a regular file; not read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


@dataclass(frozen=True)
class DicomSource:
    """Where one DICOM file lives: a path, or a member of a zip archive."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    def read_bytes(self) -> bytes:
        """The file's bytes: a regular file only, or a zip member within the size and ratio caps."""
        if self.member is None:
            with open_regular(self.path) as fh:
                return fh.read()
        return _read_member(self.path, self.member)


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a scan and why (the message names the file and the problem)."""

    source: DicomSource
    reason: str


@dataclass
class SeriesInfo:
    """One DICOM series found by :func:`scan`: identifiers, headers and classification.

    Attributes
    ----------
    study_uid, series_uid
        (0020,000D) Study Instance UID and (0020,000E) Series Instance UID.
    modality
        (0008,0060) Modality.
    sop_class_uid
        (0008,0016) SOP Class UID of the first file.
    description
        (0008,103E) Series Description, or (0018,1030) Protocol Name if empty.
    sources
        The files of the series, in scan order.
    headers
        Their headers (pixel data not read), aligned with ``sources``.
    classification
        The :class:`~heartprint.io.classify.Classification` from
        :func:`~heartprint.io.classify.classify_series` (or a user override).
    """

    study_uid: str
    series_uid: str
    modality: str
    sop_class_uid: str
    description: str
    sources: list[DicomSource] = field(default_factory=list)
    headers: list[Dataset] = field(default_factory=list, repr=False)
    classification: Any = None
    _layout: Any = field(default=None, repr=False, compare=False)

    @property
    def n_files(self) -> int:
        return len(self.sources)

    @property
    def kind(self) -> str | None:
        return None if self.classification is None else self.classification.kind.value

    @property
    def first(self) -> Dataset:
        return self.headers[0]

    def layout(self):
        """The slice/phase layout and affine of the series, computed from headers only.

        Raises the same :class:`~heartprint.errors.GeometryError` that loading would.
        """
        if self._layout is None:
            from heartprint.io._geometry import plan_layout

            self._layout = plan_layout(self)
        return self._layout


@dataclass
class ScanResult(Sequence):
    """The series found by :func:`scan` (a sequence of :class:`SeriesInfo`) and the files skipped."""

    series: list[SeriesInfo]
    skipped: list[SkippedFile]
    root: Path

    def __getitem__(self, i):  # type: ignore[override]
        return self.series[i]

    def __len__(self) -> int:
        return len(self.series)

    def __iter__(self) -> Iterator[SeriesInfo]:
        return iter(self.series)

    def studies(self) -> dict[str, list[SeriesInfo]]:
        """Series grouped by (0020,000D) Study Instance UID, in scan order."""
        out: dict[str, list[SeriesInfo]] = {}
        for s in self.series:
            out.setdefault(s.study_uid, []).append(s)
        return out

    def get(self, series_uid: str) -> SeriesInfo:
        for s in self.series:
            if s.series_uid == series_uid:
                return s
        raise InvalidInputError(
            f"{self.root}: no series with (0020,000E) Series Instance UID {series_uid!r}; "
            f"found {[s.series_uid for s in self.series]}"
        )


_PIXEL_TAGS = {0x7FE00010: "(7FE0,0010) Pixel Data", 0x7FE00008: "(7FE0,0008) Float Pixel Data",
               0x7FE00009: "(7FE0,0009) Double Float Pixel Data"}


@dataclass(frozen=True)
class PixelElement:
    """Where a file's pixel data element starts: its tag, declared length (None: undefined,
    i.e. encapsulated) and the bytes available after its header."""

    tag: int
    length: int | None
    available: int


def _peek_pixel_element(fp: Any, ds: Dataset, size: int) -> PixelElement | None:
    """After a ``stop_before_pixels`` read, the pixel data element header at the stream position."""
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8:
        return None
    little = not _is_big_endian(ds)
    e = "<" if little else ">"
    group, element = struct.unpack(e + "HH", head[:4])
    tag = (group << 16) | element
    if tag not in _PIXEL_TAGS:
        return None
    if _is_implicit(ds):
        length, header = struct.unpack(e + "I", head[4:8])[0], 8
    else:
        if len(head) < 12:
            return None
        length, header = struct.unpack(e + "I", head[8:12])[0], 12
    available = max(size - start - header, 0)
    return PixelElement(tag, None if length == _UNDEFINED_LENGTH else length, available)


def _one_int(ds: Dataset, keyword: str, tag: str, *, required: bool, default: int | None = None) -> int | None:
    """One integer value of ``keyword``; raises ValueError naming the tag when absent, empty or multi-valued."""
    if keyword not in ds:
        if required:
            raise ValueError(f"{tag} {keyword} is missing; expected one positive integer")
        return default
    v = ds[keyword].value
    if v is None or v == "" or (isinstance(v, (list, tuple, bytes)) and len(v) == 0):
        if required:
            raise ValueError(f"{tag} {keyword} is empty; expected one positive integer")
        return default
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        raise ValueError(f"{tag} {keyword} has {len(v)} values; expected one integer")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{tag} {keyword} {str(v)[:40]!r} is not a number; expected one integer") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"{tag} {keyword} {str(v)[:40]!r}; expected one integer")
    return int(f)


def frame_problem(ds: Dataset, pixel: PixelElement, *, encapsulated: bool) -> str | None:
    """Why the pixel description of ``ds`` does not fit its pixel data, checked before decoding.

    Native data: (0028,0008) Number of Frames × (0028,0010) Rows × (0028,0011) Columns ×
    (0028,0002) Samples per Pixel × (0028,0100) Bits Allocated must fit in the element
    exactly (YBR_FULL_422 counted with its 2 samples per pixel). Encapsulated data: at most one
    frame per 8 bytes (each frame needs an 8-byte item header) and at most
    :data:`MAX_FRAMES` frames. Both: at most :data:`MAX_DECODED_BYTES` decoded. ``None``
    when it fits.
    """
    name = _PIXEL_TAGS.get(pixel.tag, "(7FE0,0010) Pixel Data")
    try:
        rows = _one_int(ds, "Rows", "(0028,0010)", required=True)
        cols = _one_int(ds, "Columns", "(0028,0011)", required=True)
        spp = _one_int(ds, "SamplesPerPixel", "(0028,0002)", required=False, default=1)
        frames = _one_int(ds, "NumberOfFrames", "(0028,0008)", required=False, default=1)
        if pixel.tag == 0x7FE00008:
            bits = 32
        elif pixel.tag == 0x7FE00009:
            bits = 64
        else:
            bits = _one_int(ds, "BitsAllocated", "(0028,0100)", required=True)
    except ValueError as exc:
        return str(exc)
    assert rows is not None and cols is not None and spp is not None and frames is not None and bits is not None
    if not (1 <= rows <= 65535 and 1 <= cols <= 65535):
        return f"(0028,0010) Rows {rows} × (0028,0011) Columns {cols}; expected 1–65535 each"
    if spp not in (1, 3):
        return f"(0028,0002) Samples per Pixel {spp}; expected 1 or 3"
    if bits not in (1, 8, 16, 32, 64):
        return f"(0028,0100) Bits Allocated {bits}; expected 1, 8, 16, 32 or 64"
    if frames < 1:
        return f"(0028,0008) Number of Frames {frames}; expected at least 1"
    if encapsulated:
        if pixel.length is not None:
            return f"{name} is compressed but has a defined length {pixel.length}; expected encapsulated fragments"
        if frames > pixel.available // 8:
            return (f"(0028,0008) Number of Frames {frames}, but the compressed {name} has only "
                    f"{pixel.available} bytes (at least 8 per frame); not decoded")
    else:
        if pixel.length is None:
            return f"{name} has an undefined length but the transfer syntax is not compressed; expected native data"
        ybr422 = spp == 3 and str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422"
        need = (frames * rows * cols * (2 if ybr422 else spp) * bits + 7) // 8
        if pixel.length < need:
            return (f"{name} holds {pixel.length} bytes but (0028,0008) Number of Frames {frames} × (0028,0010) Rows "
                    f"{rows} × (0028,0011) Columns {cols} × (0028,0002) Samples per Pixel {spp} × (0028,0100) Bits "
                    f"Allocated {bits} needs {need}; not decoded")
        if pixel.available < pixel.length:
            return (f"truncated: {name} declares {pixel.length} bytes but only {pixel.available} remain in the file; "
                    "expected a complete file")
    if frames > MAX_FRAMES:
        return f"(0028,0008) Number of Frames {frames}; expected at most {MAX_FRAMES}; not decoded"
    decoded = frames * rows * cols * spp * max(bits, 8) // 8
    if decoded > MAX_DECODED_BYTES:
        return (f"{frames} frame(s) of {rows} × {cols} × {spp} sample(s) × {bits} bits would decode to "
                f"{decoded} bytes; expected at most {MAX_DECODED_BYTES} (2 GiB) per file; not decoded")
    return None


def _is_implicit(ds: Dataset) -> bool:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return ts is not None and ts.is_implicit_VR


def _is_big_endian(ds: Dataset) -> bool:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return ts is not None and not ts.is_little_endian


def _is_encapsulated(ds: Dataset) -> bool:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        return ts is not None and bool(ts.is_encapsulated)
    except Exception:  # an unknown UID: pydicom cannot tell
        return False


def _inflated(fp: Any, label: str) -> tuple[Any, int] | None:
    """If the stream's transfer syntax is Deflated Explicit VR Little Endian, a new stream with the
    dataset inflated (at most :data:`MAX_INFLATED_BYTES`) and its size; else None (stream rewound)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import _read_file_meta_info, read_preamble
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

    start = fp.tell()
    try:
        read_preamble(fp, False)
        meta = _read_file_meta_info(fp)
        deflated = meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    except Exception:  # not DICOM or a broken meta group: dcmread will say so
        deflated = False
    if not deflated:
        fp.seek(start)
        return None
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    while True:
        chunk = fp.read(1 << 20)
        if not chunk:
            break
        out += inflater.decompress(chunk, MAX_INFLATED_BYTES + 1 - len(out))
        if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
            raise InvalidInputError(
                f"{label}: the Deflated Explicit VR Little Endian dataset inflates beyond {MAX_INFLATED_BYTES} bytes "
                "(512 MiB); not read (a decompression bomb?)")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if "FileMetaInformationGroupLength" in meta:
        del meta.FileMetaInformationGroupLength
    buf = DicomBytesIO()
    buf.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(buf, meta, enforce_standard=False)
    buf.write(bytes(out))
    buf.seek(0)
    return buf, len(buf.getvalue())


def _dictionary_vr(tag: int) -> str | None:
    try:
        return pydicom.datadict.dictionary_VR(tag)
    except Exception:
        return None


def _materialise(ds: Dataset, label: str) -> None:
    """Parse every header value now (inside the caller's guard), drop values deferred for size
    that are not sequences, and refuse sequences nested deeper than :data:`MAX_SEQUENCE_DEPTH`."""
    stack: list[tuple[Dataset, int]] = [(ds, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_SEQUENCE_DEPTH:
            raise InvalidInputError(f"{label}: sequences nested more than {MAX_SEQUENCE_DEPTH} deep; not read")
        for tag in list(item.keys()):
            raw = item.get_item(tag, keep_deferred=True)
            if isinstance(raw, RawDataElement) and raw.value is None and raw.length and raw.length != _UNDEFINED_LENGTH:
                if (raw.VR or _dictionary_vr(tag)) != "SQ":
                    del item[tag]  # a large non-sequence value (overlay, private blob): not needed, not read
                    continue
                if raw.length > MAX_SEQUENCE_BYTES:
                    raise InvalidInputError(f"{label}: a sequence of {raw.length} bytes; expected at most "
                                            f"{MAX_SEQUENCE_BYTES}; not read")
            elem = item[tag]
            if elem.VR == "SQ":
                for child in elem.value:
                    stack.append((child, depth + 1))
            elif elem.VR in ("PN", "LO", "SH", "LT", "ST", "UT", "UC", "CS", "DA", "TM", "DT", "AS", "DS", "IS"):
                str(elem.value)  # decode text now (character set, number parsing)


def read_dataset(source: DicomSource, *, stop_before_pixels: bool) -> tuple[Dataset, PixelElement | None]:
    """Read one file (header only, or all of it), bounded: regular files and capped zip members only,
    deflated data inflated within a cap. Returns the dataset and, after a header-only read, where
    its pixel data starts. Raises whatever the reader raises (callers guard)."""
    if source.member is None:
        fd_file = open_regular(source.path)
        raw_name = str(source.path)
        try:
            fd_file.raw.name = raw_name  # type: ignore[attr-defined]  # lets pydicom re-read deferred values
        except (AttributeError, TypeError):
            pass
        fp: Any = fd_file
        size = os.fstat(fd_file.fileno()).st_size
    else:
        data = source.read_bytes()
        fp, size = io.BytesIO(data), len(data)
    try:
        inflated = _inflated(fp, str(source))
        if inflated is not None:
            fp, size = inflated
        if stop_before_pixels:
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=False, defer_size=DEFER_BYTES)
            pixel = _peek_pixel_element(fp, ds, size)
            _materialise(ds, str(source))
            return ds, pixel
        ds = pydicom.dcmread(fp, force=False)
        return ds, None
    finally:
        fp.close()
        if source.member is None:
            fd_file.close()


def read_header(source: DicomSource | str | os.PathLike) -> Dataset:
    """Read one DICOM header (no pixels) and check that the file is complete and its pixel
    description fits its pixel data (see :func:`frame_problem`).

    Raises
    ------
    InvalidInputError
        The file is not DICOM (no 'DICM' preamble; ``force=False``), is not a regular file, is
        truncated, its header cannot be parsed (whatever the parser raised, named on one line),
        its pixel description does not fit its pixel data, or it lacks (0020,000E) Series
        Instance UID. The message names the file.
    """
    if not isinstance(source, DicomSource):
        source = DicomSource(Path(source))
    try:
        ds, pixel = read_dataset(source, stop_before_pixels=True)
        problem = None if pixel is None else frame_problem(ds, pixel, encapsulated=_is_encapsulated(ds))
        series_uid = str(ds.get("SeriesInstanceUID", "") or "").strip()
    except HeartprintError:
        raise
    except InvalidDicomError as exc:
        raise InvalidInputError(f"{source}: not a DICOM file ({exc}); expected a DICOM Part 10 file") from exc
    except FATAL_EXCEPTIONS:
        raise
    except BaseException as exc:  # noqa: BLE001 - decoders raise non-Exception errors (PanicException)
        raise InvalidInputError(f"{source}: unreadable or truncated DICOM header ({one_line(exc)})") from None
    if problem:
        raise InvalidInputError(f"{source}: {problem}")
    if not series_uid:
        raise InvalidInputError(f"{source}: (0020,000E) Series Instance UID is missing; expected a UID")
    return ds


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# -- messy but ordinary header values --------------------------------------------------------------

_SEX_WORDS = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "O": "O", "OTHER": "O"}
_SEX_UNKNOWN = {"U", "UNKNOWN", "UNK", "?", "N/A", "NA"}
#: Dates before this year are taken as unknown (placeholders such as 00010101, 18991230).
_FIRST_YEAR = 1880


def quote(value: Any, n: int = 20) -> str:
    """A header value quoted for a note: printable characters only, at most ``n`` of them."""
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return "'" + (text[:n] + "..." if len(text) > n else text) + "'"


def dicom_sex(value: Any) -> tuple[str | None, str | None]:
    """(0010,0040) Patient's Sex as ``"M"``, ``"F"``, ``"O"`` or ``None`` (unknown), and a note
    when the value was not already one of those codes (``Male`` → M, ``f`` → F, ``U`` → unknown)."""
    v = " ".join(str(value if value is not None else "").split())
    if not v:
        return None, None
    code = _SEX_WORDS.get(v.upper())
    if code is not None:
        return code, None if v == code else f"(0010,0040) Patient's Sex {quote(v)} read as {code}"
    if v.upper() in _SEX_UNKNOWN:
        return None, f"(0010,0040) Patient's Sex {quote(v)}: sex unknown"
    return None, f"(0010,0040) Patient's Sex {quote(v)} is not M, F or O; sex taken as unknown"


def dicom_date(value: Any, what: str = "date") -> tuple[Any, str | None]:
    """A DA value as a :class:`datetime.date` (or ``None``) and a note when it was not a valid
    ``YYYYMMDD``: ``2023-04-15``, ``2023.04.15`` and ``2023/04/15`` are read with a note;
    ``00000000``, impossible dates and years before 1880 are unknown with a note."""
    import re
    from datetime import date

    v = str(value if value is not None else "").strip()
    if not v:
        return None, None
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", v)
    loose = m is None
    if loose:
        m = re.fullmatch(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})", v)
    if m is None:
        return None, f"{what} {quote(v)} is not a date (expected YYYYMMDD); taken as unknown"
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None, f"{what} {quote(v)} is not a valid date; taken as unknown"
    if d.year < _FIRST_YEAR:
        return None, f"{what} {quote(v)} is a placeholder, not a date; taken as unknown"
    return d, (f"{what} {quote(v)} is not in DICOM form (YYYYMMDD); read as {d.isoformat()}" if loose else None)


def charset_note(ds: Dataset) -> str | None:
    """A note when (0008,0005) Specific Character Set names an encoding pydicom does not know
    (its text was then decoded as best effort, with pydicom's default encoding)."""
    from pydicom.charset import python_encoding

    raw = ds.get("SpecificCharacterSet")
    if raw is None:
        return None
    terms = [str(t).strip() for t in (raw if isinstance(raw, (list, tuple)) or type(raw).__name__ == "MultiValue"
                                      else [raw])]
    unknown = [t for t in terms if t and t not in python_encoding]
    if not unknown:
        return None
    return (f"(0008,0005) Specific Character Set {', '.join(quote(t, 30) for t in unknown)} is not a known "
            "encoding; text was decoded as best effort and may show wrong characters")


def plausible_size_weight(ds: Dataset) -> tuple[float | None, float | None, list[str]]:
    """(0010,1020) Patient's Size (m) and (0010,1030) Patient's Weight (kg) from a header, each
    ``None`` unless a finite number within the plausibility ranges of
    :mod:`heartprint.anthropometry` (height 50–250 cm, weight 2–400 kg), with a note for each
    value present but ignored (e.g. a size written in cm, 175, instead of m)."""
    from heartprint.anthropometry import HEIGHT_RANGE_CM, WEIGHT_RANGE_KG

    notes: list[str] = []

    def value(keyword: str, tag: str, unit: str, lo: float, hi: float, scale: float) -> float | None:
        raw = ds.get(keyword)
        if raw is None or str(raw).strip() == "":
            return None
        try:
            v = float(raw)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v) or not (lo <= v * scale <= hi):
            notes.append(f"{tag} {keyword} {quote(raw)} {unit} is not plausible (expected {lo / scale:g}–"
                         f"{hi / scale:g} {unit}); ignored, so nothing is indexed to body surface area from it")
            return None
        return v

    size_m = value("PatientSize", "(0010,1020)", "m", *HEIGHT_RANGE_CM, 100.0)
    weight_kg = value("PatientWeight", "(0010,1030)", "kg", *WEIGHT_RANGE_KG, 1.0)
    return size_m, weight_kg, notes


def header_notes(headers: Sequence[Dataset]) -> list[str]:
    """Notes on the messy but ordinary values of a study's headers (sex, dates, character set,
    height and weight) that were normalised or ignored; each note once, in order."""
    out: list[str] = []
    for ds in headers:
        try:
            found = [dicom_sex(ds.get("PatientSex"))[1],
                     dicom_date(ds.get("PatientBirthDate"), "(0010,0030) Patient's Birth Date")[1],
                     dicom_date(ds.get("StudyDate"), "(0008,0020) Study Date")[1],
                     charset_note(ds), *plausible_size_weight(ds)[2]]
        except FATAL_EXCEPTIONS:
            raise
        except BaseException as exc:  # noqa: BLE001
            found = [f"a header could not be checked ({one_line(exc)})"]
        for n in found:
            if n and n not in out:
                out.append(n)
    return out


def _iter_zip(path: Path) -> Iterator[DicomSource | SkippedFile]:
    """The members of one archive (opened once), or skips for those that must not be read."""
    try:
        zf = open_zip(path)
        infos = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.filename)
    except FATAL_EXCEPTIONS:
        raise
    except BaseException as exc:  # noqa: BLE001
        yield SkippedFile(DicomSource(path), f"{path}: unreadable zip archive ({one_line(exc)})")
        return
    seen: set[str] = set()
    for n, info in enumerate(infos):
        if n == MAX_ZIP_MEMBERS:
            yield SkippedFile(DicomSource(path), f"{path}: {len(infos) - n} zip members beyond the first "
                                                 f"{MAX_ZIP_MEMBERS} not read")
            return
        name = info.filename
        base = name.rsplit("/", 1)[-1]
        if base.startswith(".") or name.startswith("__MACOSX/") or name in seen:
            continue
        seen.add(name)
        source = DicomSource(path, name)
        problem = _member_problem(info)
        if problem:
            yield SkippedFile(source, f"{source}: {problem}")
        else:
            yield source


def _iter_sources(path: Path) -> Iterator[DicomSource | SkippedFile]:
    """The files under ``path`` (regular files and zip members), with a :class:`SkippedFile` for
    each special file, broken link, link to outside ``path`` or linked folder met on the way."""
    if path.is_dir():
        root = os.path.realpath(path)
        for here, dirs, files in os.walk(path, followlinks=False):
            keep = []
            for d in sorted(dirs):
                if d.startswith("."):
                    continue
                if os.path.islink(os.path.join(here, d)):
                    p = Path(here) / d
                    yield SkippedFile(DicomSource(p), f"{p}: a symbolic link to a folder; not followed")
                    continue
                keep.append(d)
            dirs[:] = keep
            for name in sorted(files):
                if name.startswith("."):
                    continue
                p = Path(here) / name
                try:
                    st = os.lstat(p)
                    if stat.S_ISLNK(st.st_mode):
                        target = os.path.realpath(p)
                        if not _inside(target, root):
                            yield SkippedFile(DicomSource(p), f"{p}: a symbolic link to outside the scanned folder; "
                                                              "not read")
                            continue
                        st = os.stat(p)
                except OSError as exc:
                    yield SkippedFile(DicomSource(p), f"{p}: cannot be examined ({one_line(exc)}); not read")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    yield SkippedFile(DicomSource(p), f"{p}: {_kind_of(st.st_mode)}, not a regular file; not read")
                    continue
                if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
                    yield from _iter_zip(p)
                else:
                    yield DicomSource(p)
    elif path.exists() and not path.is_file():
        raise InvalidInputError(f"{path}: {_kind_of(os.stat(path).st_mode)}, not a regular file or folder; "
                                "expected a DICOM file, folder or .zip")
    elif path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        yield from _iter_zip(path)
    elif path.is_file():
        yield DicomSource(path)
    else:
        raise InvalidInputError(f"{path}: no such file or folder; expected a DICOM file, folder or .zip")


def scan(
    path: str | os.PathLike,
    *,
    kind_overrides: Mapping[str, str] | None = None,
) -> ScanResult:
    """Find the DICOM series under ``path`` (a folder, searched recursively; a .zip; or one file).

    Parameters
    ----------
    path
        Folder, zip archive or single DICOM file.
    kind_overrides
        ``{series_uid: kind}`` to replace the automatic classification of some series
        (kinds as in :class:`~heartprint.io.classify.SeriesKind`, e.g. ``"cine_sax"``).

    Returns
    -------
    ScanResult
        A sequence of :class:`SeriesInfo`, ordered by study then series number, with the
        skipped files on ``.skipped``.

    Raises
    ------
    InvalidInputError
        ``path`` is a single file that is not readable DICOM, or nothing readable was found.
        In a folder or archive, unreadable files are skipped with a
        :class:`~heartprint.errors.SkippedFileWarning` instead.
    """
    from heartprint.io.classify import Classification, SeriesKind, classify_series

    root = Path(path)
    single = root.is_file() and root.suffix.lower() != ".zip"
    by_uid: dict[tuple[str, str], SeriesInfo] = {}
    skipped: list[SkippedFile] = []
    n_seen = 0
    for source in _iter_sources(root):
        n_seen += 1
        if isinstance(source, SkippedFile):
            skipped.append(source)
            warnings.warn(f"skipped {source.reason}", SkippedFileWarning, stacklevel=2)
            continue
        try:
            ds = read_header(source)
            if str(ds.get("SOPClassUID", "")) == _DICOMDIR_SOP_CLASS:
                skipped.append(SkippedFile(source, f"{source}: DICOMDIR index, not an image"))
                continue
            key = (str(ds.get("StudyInstanceUID", "") or "").strip(), str(ds.SeriesInstanceUID).strip())
            info = by_uid.get(key)
            if info is None:
                desc = str(ds.get("SeriesDescription", "") or ds.get("ProtocolName", "") or "")
                info = SeriesInfo(
                    study_uid=key[0],
                    series_uid=key[1],
                    modality=str(ds.get("Modality", "") or "").strip(),
                    sop_class_uid=str(ds.get("SOPClassUID", "") or "").strip(),
                    description=desc,
                )
        except FATAL_EXCEPTIONS:
            raise
        except BaseException as exc:  # noqa: BLE001 - one bad file never stops the scan
            if single:
                if isinstance(exc, HeartprintError):
                    raise
                raise InvalidInputError(f"{source}: unreadable DICOM header ({one_line(exc)})") from None
            reason = str(exc) if isinstance(exc, InvalidInputError) else f"{source}: {one_line(exc)}"
            skipped.append(SkippedFile(source, reason))
            warnings.warn(f"skipped {reason}", SkippedFileWarning, stacklevel=2)
            continue
        by_uid.setdefault(key, info)
        info.sources.append(source)
        info.headers.append(ds)
    if not by_uid:
        raise InvalidInputError(
            f"{root}: no readable DICOM series among {n_seen} file(s)"
            + (f"; first problem: {skipped[0].reason}" if skipped else "")
        )

    def series_number(s: SeriesInfo) -> tuple[str, int, str]:
        try:
            num = int(s.first.get("SeriesNumber") or 0)
        except (TypeError, ValueError, OverflowError):
            num = 0
        return (s.study_uid, num, s.series_uid)

    series = sorted(by_uid.values(), key=series_number)
    overrides = dict(kind_overrides or {})
    for s in series:
        if s.series_uid in overrides:
            s.classification = Classification(
                SeriesKind(overrides.pop(s.series_uid)), 1.0, ("user override (kind_overrides)",)
            )
        else:
            try:
                s.classification = classify_series(s)
            except FATAL_EXCEPTIONS:
                raise
            except BaseException as exc:  # noqa: BLE001 - a header that confuses the classifier
                s.classification = Classification(
                    SeriesKind.OTHER, 0.0, (f"not classified: the headers could not be read ({one_line(exc)})",))
    if overrides:
        raise InvalidInputError(
            f"kind_overrides names series {sorted(overrides)} not found under {root}; "
            f"expected one of {[s.series_uid for s in series]}"
        )
    return ScanResult(series, skipped, root)
