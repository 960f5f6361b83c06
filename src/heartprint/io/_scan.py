"""The scan layer: find DICOM files, read their headers, group them into series.

Headers are read with ``pydicom.dcmread(..., stop_before_pixels=True, force=False)``; no
pixel data is decoded here. A file that cannot be read is skipped with a
:class:`~heartprint.errors.SkippedFileWarning` and recorded on the :class:`ScanResult`;
it never stops the scan of a folder or archive.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from heartprint.errors import InvalidInputError, SkippedFileWarning

__all__ = ["DicomSource", "ScanResult", "SeriesInfo", "SkippedFile", "read_header", "scan"]

#: Media Storage Directory Storage (DICOMDIR): an index, not an image.
_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
_UNDEFINED_LENGTH = 0xFFFFFFFF


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
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(self.member)


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


def _pixel_data_shortfall(fp: io.BufferedIOBase | io.BytesIO, ds: Dataset, size: int) -> str | None:
    """After a ``stop_before_pixels`` read, check the (7FE0,0010) Pixel Data length against the file size."""
    head = fp.read(12)
    if len(head) < 8 or head[:4] != (_PIXEL_DATA_TAG if not _is_big_endian(ds) else b"\x7f\xe0\x00\x10"):
        return None
    little = not _is_big_endian(ds)
    fmt = "<I" if little else ">I"
    if _is_implicit(ds):
        length, header = struct.unpack(fmt, head[4:8])[0], 8
    else:
        length, header = struct.unpack(fmt, head[8:12])[0], 12
    if length == _UNDEFINED_LENGTH:
        return None
    available = size - fp.tell() + len(head) - header
    if available < length:
        return (
            f"truncated: (7FE0,0010) Pixel Data declares {length} bytes but only {max(available, 0)} "
            f"remain in the file; expected a complete file"
        )
    return None


def _is_implicit(ds: Dataset) -> bool:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return ts is not None and ts.is_implicit_VR


def _is_big_endian(ds: Dataset) -> bool:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return ts is not None and not ts.is_little_endian


def read_header(source: DicomSource | str | os.PathLike) -> Dataset:
    """Read one DICOM header (no pixels) and check that the file is complete.

    Raises
    ------
    InvalidInputError
        The file is not DICOM (no 'DICM' preamble; ``force=False``), is truncated, or lacks
        (0020,000E) Series Instance UID. The message names the file.
    """
    if not isinstance(source, DicomSource):
        source = DicomSource(Path(source))
    try:
        if source.member is None:
            size = source.path.stat().st_size
            with open(source.path, "rb") as fp:
                ds = pydicom.dcmread(fp, stop_before_pixels=True, force=False)
                problem = _pixel_data_shortfall(fp, ds, size)
        else:
            data = source.read_bytes()
            fp = io.BytesIO(data)
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=False)
            problem = _pixel_data_shortfall(fp, ds, len(data))
    except InvalidDicomError as exc:
        raise InvalidInputError(f"{source}: not a DICOM file ({exc}); expected a DICOM Part 10 file") from exc
    except (EOFError, OSError, struct.error, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{source}: unreadable or truncated DICOM header ({exc})") from exc
    if problem:
        raise InvalidInputError(f"{source}: {problem}")
    if not ds.get("SeriesInstanceUID"):
        raise InvalidInputError(f"{source}: (0020,000E) Series Instance UID is missing; expected a UID")
    return ds


def _iter_sources(path: Path) -> Iterator[DicomSource]:
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                p = Path(root) / name
                if zipfile.is_zipfile(p) and p.suffix.lower() == ".zip":
                    yield from _iter_sources(p)
                else:
                    yield DicomSource(p)
    elif path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = sorted(i.filename for i in zf.infolist() if not i.is_dir())
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if base.startswith(".") or name.startswith("__MACOSX/"):
                continue
            yield DicomSource(path, name)
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
        try:
            ds = read_header(source)
        except InvalidInputError as exc:
            if single:
                raise
            skipped.append(SkippedFile(source, str(exc)))
            warnings.warn(f"skipped {exc}", SkippedFileWarning, stacklevel=2)
            continue
        if str(ds.get("SOPClassUID", "")) == _DICOMDIR_SOP_CLASS:
            skipped.append(SkippedFile(source, f"{source}: DICOMDIR index, not an image"))
            continue
        key = (str(ds.get("StudyInstanceUID", "")), str(ds.SeriesInstanceUID))
        info = by_uid.get(key)
        if info is None:
            desc = str(ds.get("SeriesDescription", "") or ds.get("ProtocolName", "") or "")
            info = SeriesInfo(
                study_uid=key[0],
                series_uid=key[1],
                modality=str(ds.get("Modality", "") or ""),
                sop_class_uid=str(ds.get("SOPClassUID", "") or ""),
                description=desc,
            )
            by_uid[key] = info
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
        except (TypeError, ValueError):
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
            s.classification = classify_series(s)
    if overrides:
        raise InvalidInputError(
            f"kind_overrides names series {sorted(overrides)} not found under {root}; "
            f"expected one of {[s.series_uid for s in series]}"
        )
    return ScanResult(series, skipped, root)
