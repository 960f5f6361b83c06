"""NIfTI-1 read and write (nibabel). The only place RAS ↔ LPS conversion happens.

NIfTI stores data indexed ``(i, j, k[, t])`` with an affine to RAS+ mm; heartprint indexes
``([t,] z, y, x)`` with an affine to LPS mm. So

- array: ``ours = data.transpose(2, 1, 0)`` (3-D) or ``data.transpose(3, 2, 1, 0)`` (4-D,
  time last in NIfTI as the format prescribes);
- affine: ``A_lps = diag(-1, -1, 1, 1) @ A_ras @ P`` where ``P`` swaps the first and third
  index columns ((i, j, k) ↔ (z, y, x)).

Frame times of a cine go to ``pixdim[4]`` (ms, ``xyzt_units`` msec) and ``toffset``; times
that are not evenly spaced are kept exactly in a JSON header extension.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from heartprint._atomic import atomic_file
from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image

__all__ = ["read_nifti", "write_nifti", "LPS_FROM_RAS"]

#: Flip of the first two world axes: RAS+ ↔ LPS+ (its own inverse).
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: Index permutation (z, y, x) ↔ (i, j, k) = (x, y, z) (its own inverse).
_SWAP_INDEX = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
#: NIfTI-1 extension code 6 = "comment"; we store {"heartprint": {"frame_times_ms": [...]}}.
_COMMENT_ECODE = 6
_TIME_SCALE_TO_MS = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3, "unknown": 1.0}


def _is_nifti_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def read_nifti(path: str | os.PathLike) -> Image:
    """Read a NIfTI-1/2 file into an :class:`~heartprint.Image` (LPS, ``(t, z, y, x)``).

    Parameters
    ----------
    path
        ``.nii`` or ``.nii.gz``.

    Raises
    ------
    InvalidInputError
        Not readable as NIfTI, or more than 4 dimensions.
    GeometryError
        The affine (sform/qform) is singular or not finite.
    """
    p = Path(path)
    try:
        img = nib.load(str(p))
        data = np.asanyarray(img.dataobj)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{p}: no such file; expected a NIfTI file") from exc
    except Exception as exc:  # nibabel raises many types (ImageFileError, EOFError, zlib.error, ...)
        raise InvalidInputError(f"{p}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.ndim not in (3, 4):
        raise InvalidInputError(f"{p}: NIfTI data shape {data.shape}; expected 3-D (x, y, z) or 4-D (x, y, z, t)")
    ras = np.asarray(img.affine, dtype=float)
    if not np.all(np.isfinite(ras)) or abs(np.linalg.det(ras[:3, :3])) < 1e-9:
        raise GeometryError(f"{p}: NIfTI sform/qform affine {ras.tolist()} is singular; expected voxel sizes > 0")
    affine = LPS_FROM_RAS @ ras @ _SWAP_INDEX
    header = img.header
    frame_times = None
    meta: dict = {"source": str(p), "nifti_descrip": _descrip(header)}
    if data.ndim == 4:
        arr = np.transpose(data, (3, 2, 1, 0))
        frame_times = _read_frame_times(header, arr.shape[0])
    else:
        arr = np.transpose(data, (2, 1, 0))
    return Image(np.ascontiguousarray(arr), affine, frame_times_ms=frame_times, meta=meta)


def _descrip(header) -> str | None:
    try:
        d = header["descrip"].item()
        d = d.decode("ascii", "replace") if isinstance(d, bytes) else str(d)
        return d.strip("\x00 ") or None
    except (KeyError, ValueError):
        return None


def _read_frame_times(header, n_t: int) -> np.ndarray | None:
    for ext in getattr(header, "extensions", []):
        if ext.get_code() == _COMMENT_ECODE:
            try:
                payload = json.loads(ext.get_content().decode("utf-8"))
                times = payload["heartprint"]["frame_times_ms"]
                if len(times) == n_t:
                    return np.asarray(times, dtype=float)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue
    dt = float(header["pixdim"][4])
    if not np.isfinite(dt) or dt <= 0:
        return None
    unit = header.get_xyzt_units()[1]
    scale = _TIME_SCALE_TO_MS.get(unit, 1.0)
    toffset = float(header["toffset"]) if np.isfinite(float(header["toffset"])) else 0.0
    return (toffset + np.arange(n_t) * dt) * scale


def write_nifti(image: Image, path: str | os.PathLike) -> Path:
    """Write an :class:`~heartprint.Image` as NIfTI-1 (RAS affine, time last), atomically.

    The file is written to a temporary name in the same folder and moved into place with
    :func:`os.replace`, so ``path`` is either the old file or the complete new one.

    Parameters
    ----------
    image
        3-D or 4-D image; a cine's ``frame_times_ms`` go to ``pixdim[4]``/``toffset`` (ms)
        and, exactly, to a JSON comment extension.
    path
        Destination ending in ``.nii`` or ``.nii.gz``.

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    if not _is_nifti_name(p):
        raise InvalidInputError(f"{p}: file name must end in .nii or .nii.gz")
    arr = np.asarray(image.array)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype.kind not in "iuf":
        raise InvalidInputError(f"{p}: image dtype {arr.dtype}; expected an integer, float or boolean array")
    data = np.transpose(arr, (3, 2, 1, 0) if arr.ndim == 4 else (2, 1, 0))
    ras = LPS_FROM_RAS @ image.affine @ _SWAP_INDEX
    img = nib.Nifti1Image(data, ras)
    header = img.header
    header.set_data_dtype(arr.dtype)
    img.set_qform(ras, code=1)
    img.set_sform(ras, code=1)
    header["scl_slope"] = np.nan
    header["scl_inter"] = np.nan
    if arr.ndim == 4:
        header.set_xyzt_units(xyz="mm", t="msec")
        times = image.frame_times_ms
        if times is not None and len(times) > 0:
            dt = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
            header["pixdim"][4] = dt
            header["toffset"] = float(times[0])
            payload = json.dumps({"heartprint": {"frame_times_ms": [float(t) for t in times]}})
            header.extensions.append(nib.nifti1.Nifti1Extension(_COMMENT_ECODE, payload.encode("utf-8")))
    else:
        header.set_xyzt_units(xyz="mm")
    if image.kind:
        header["descrip"] = f"heartprint {image.kind}"[:79].encode("ascii", "replace")
    suffix = ".nii.gz" if p.name.lower().endswith(".gz") else ".nii"
    with atomic_file(p, suffix=suffix) as tmp:
        nib.save(img, tmp)
    return p
