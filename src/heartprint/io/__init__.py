"""Ingestion: DICOM series scanning, sorting, classification and loading; NIfTI read/write.

Two layers:

- **scan** — :func:`scan` reads headers only (``stop_before_pixels=True``) from a folder
  (recursive), a .zip or one file, groups them by (0020,000D) Study Instance UID and
  (0020,000E) Series Instance UID into :class:`SeriesInfo`, classifies each series
  (:func:`classify_series`) and records unreadable files on ``ScanResult.skipped`` (with a
  :class:`~heartprint.errors.SkippedFileWarning`) instead of failing.
- **load** — :func:`load_series` decodes one series into a :class:`heartprint.Image`
  (LPS affine, ``(z, y, x)`` or ``(t, z, y, x)``, modality units); :func:`load` is scan +
  load for a path holding one series (or a given ``series_uid``).

All coordinate conversions (RAS for NIfTI, pixel indices from DICOM geometry) happen in
this package and nowhere else.

Examples
--------
>>> from heartprint import io
>>> for s in io.scan("study/"):                                  # doctest: +SKIP
...     print(s.series_uid, s.kind, s.classification.confidence)
>>> cine = io.load_series(io.scan("study/")[0], kind="cine_sax")  # doctest: +SKIP
"""

from heartprint.io._load import load, load_series
from heartprint.io._scan import DicomSource, ScanResult, SeriesInfo, SkippedFile, read_header, scan
from heartprint.io.classify import Classification, SeriesKind, classify_series
from heartprint.io.deid import deidentify_dataset, deidentify_folder
from heartprint.io.fhir import build_fhir_bundle, validate_bundle
from heartprint.io.nifti import read_nifti, write_nifti
from heartprint.io.seg import SegInfo, write_seg
from heartprint.io.sr import SRInfo, write_sr

__all__ = [
    "Classification",
    "DicomSource",
    "SRInfo",
    "ScanResult",
    "SegInfo",
    "SeriesInfo",
    "SeriesKind",
    "SkippedFile",
    "build_fhir_bundle",
    "classify_series",
    "deidentify_dataset",
    "deidentify_folder",
    "load",
    "load_series",
    "read_header",
    "read_nifti",
    "scan",
    "validate_bundle",
    "write_nifti",
    "write_seg",
    "write_sr",
]
