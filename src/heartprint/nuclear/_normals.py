"""Normal-limits database for myocardial perfusion polar maps (format ``heartprint.nm-normals/1``).

A normal-limits database holds, for every sample of the polar map layout of the nuclear package
(values in percent of the map's robust maximum, shape ``(n_rings, n_sectors)``, default 36 × 60),
the mean and the standard deviation (SD) of the normalised uptake over a population of normal
subjects, and the same per AHA segment (Cerqueira MD et al., Circulation 2002;105:539–542,
doi:10.1161/hc0402.102975). It is specific to a tracer, a protocol (stress or rest), a camera /
reconstruction and a patient population: limits built for one are not valid for another.

JSON format ``heartprint.nm-normals/1`` (one object, UTF-8)::

    {
      "format": "heartprint.nm-normals/1",   # required, exact string (the version)
      "tracer": "tc99m-sestamibi",           # required, non-empty string
      "protocol": "stress",                  # required, non-empty string ("stress" / "rest" / ...)
      "source": "...",                       # required, string: camera / reconstruction / population
      "n_rings": 36, "n_sectors": 60,        # required, int ≥ 1: shape of mean and sd
      "n_subjects": 30,                      # required, int ≥ 5 (MIN_SUBJECTS)
      "mean": [[...], ...],                  # required, n_rings × n_sectors finite numbers, percent
      "sd":   [[...], ...],                  # required, n_rings × n_sectors finite numbers > 0, percent
      "segment_mean": {"1": 78.2, ..., "17": 70.1},  # required, all 17 AHA segments, finite, percent
      "segment_sd":   {"1": 5.1, ..., "17": 6.3},    # required, all 17, finite and > 0, percent
      "segment": [[...], ...],               # optional, n_rings × n_sectors ints 1..17: the layout the
                                             # limits were built on when all subjects shared one (used for
                                             # plain-array maps given without a layout)
      "built_from": "...",                   # required, string: how the subjects were chosen / made
      "created": "2026-12-06T21:00:00+00:00" # required, string (ISO 8601 UTC)
    }

Per-sample statistics are over subjects of each sample's value; per-segment statistics are over
subjects of each subject's segment mean (the unweighted mean of the segment's samples, as
``PolarMap.segments``, on that subject's own layout: segments follow each heart's geometry in mm). SDs are sample SDs (``ddof=1``).

Validation is strict: :func:`NormalLimits.from_json` raises
:class:`heartprint.errors.InvalidInputError` naming the first offending field.

The packaged default database (:data:`DEFAULT_NORMALS_FILE`, Tc-99m sestamibi limits built from a
*phantom* population — for testing the pipeline, not for clinical use) lives in
``heartprint/nuclear/data/`` and is loaded by :func:`load_normal_limits`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from heartprint.errors import InvalidInputError, ModelError

__all__ = [
    "NORMALS_FORMAT", "MIN_SUBJECTS", "DEFAULT_NORMALS_FILE", "NormalLimits", "build_normal_limits",
    "load_normal_limits", "polar_arrays",
]

NORMALS_FORMAT = "heartprint.nm-normals/1"
#: Fewest subjects a database may be built from (project's choice: an SD from < 5 values is meaningless).
MIN_SUBJECTS = 5
#: File name of the packaged default database in ``heartprint/nuclear/data/``.
DEFAULT_NORMALS_FILE = "normals_tc99m_sestamibi_phantom.json"
N_SEGMENTS = 17


def polar_arrays(obj: Any, segment: Any = None, *, name: str = "map") -> tuple[np.ndarray, np.ndarray | None]:
    """``(values, segment)`` of a PolarMap-like object (``.values``, ``.segment``) or of a plain array.

    ``values``: 2-D float array (percent), all finite. ``segment``: int array of the same shape with
    AHA segments 1..17 (every one present), or ``None`` when neither the object nor ``segment`` gives one.
    """
    if hasattr(obj, "values") and not isinstance(obj, np.ndarray) and not callable(obj.values):
        values = obj.values
        if segment is None:
            segment = getattr(obj, "segment", None)
    else:
        values = obj
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}.values: expected a 2-D numeric array, got {type(values).__name__}") from exc
    if values.ndim != 2 or values.size == 0:
        raise InvalidInputError(f"{name}.values: expected a non-empty 2-D (n_rings, n_sectors) array, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise InvalidInputError(f"{name}.values: {int(np.sum(~np.isfinite(values)))} non-finite samples; expected all finite")
    if segment is None:
        return values, None
    return values, check_segment(segment, values.shape, name=f"{name}.segment")


def check_segment(segment: Any, shape: tuple[int, ...], *, name: str = "segment") -> np.ndarray:
    """Validate an AHA segment layout: ints 1..17 of ``shape``, every segment present."""
    seg = np.asarray(segment)
    if seg.shape != tuple(shape):
        raise InvalidInputError(f"{name}: shape {seg.shape}, expected {tuple(shape)}")
    if seg.dtype.kind not in "iu":
        if seg.dtype.kind != "f" or not np.all(np.isfinite(seg)) or not np.all(seg == np.round(seg)):
            raise InvalidInputError(f"{name}: expected integer AHA segment numbers 1..17, got dtype {seg.dtype}")
    seg = seg.astype(np.int64)
    if seg.min() < 1 or seg.max() > N_SEGMENTS:
        raise InvalidInputError(f"{name}: values {int(seg.min())}..{int(seg.max())}, expected AHA segments 1..17")
    missing = sorted(set(range(1, N_SEGMENTS + 1)) - set(np.unique(seg).tolist()))
    if missing:
        raise InvalidInputError(f"{name}: segments {missing} have no sample; expected all 17 AHA segments")
    return seg


def segment_means(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Unweighted mean of ``values[..., r, s]`` per AHA segment → array (..., 17) (index 0 = segment 1)."""
    flat_seg = segment.ravel() - 1
    counts = np.bincount(flat_seg, minlength=N_SEGMENTS).astype(float)
    v = values.reshape(values.shape[: values.ndim - 2] + (-1,))
    onehot = np.zeros((flat_seg.size, N_SEGMENTS))
    onehot[np.arange(flat_seg.size), flat_seg] = 1.0
    return (v @ onehot) / counts


@dataclass(frozen=True)
class NormalLimits:
    """Normal limits of a polar perfusion map (see the module docstring for the JSON format).

    ``mean``/``sd``: (n_rings, n_sectors) percent; ``segment_mean``/``segment_sd``: AHA segment
    1..17 → percent; ``segment``: the layout they were built on (optional).
    """

    tracer: str
    protocol: str
    source: str
    n_subjects: int
    mean: np.ndarray
    sd: np.ndarray
    segment_mean: dict[int, float]
    segment_sd: dict[int, float]
    built_from: str = ""
    created: str = ""
    segment: np.ndarray | None = None
    format: str = field(default=NORMALS_FORMAT)

    @property
    def n_rings(self) -> int:
        return int(self.mean.shape[0])

    @property
    def n_sectors(self) -> int:
        return int(self.mean.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of format ``heartprint.nm-normals/1``."""
        out: dict[str, Any] = {
            "format": NORMALS_FORMAT, "tracer": self.tracer, "protocol": self.protocol, "source": self.source,
            "n_rings": self.n_rings, "n_sectors": self.n_sectors, "n_subjects": int(self.n_subjects),
            "mean": np.asarray(self.mean, float).tolist(), "sd": np.asarray(self.sd, float).tolist(),
            "segment_mean": {str(k): float(v) for k, v in sorted(self.segment_mean.items())},
            "segment_sd": {str(k): float(v) for k, v in sorted(self.segment_sd.items())},
            "built_from": self.built_from, "created": self.created,
        }
        if self.segment is not None:
            out["segment"] = np.asarray(self.segment, int).tolist()
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the database to ``path`` (JSON, UTF-8); returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "normals") -> "NormalLimits":
        """Validate and build from a decoded JSON object; raises InvalidInputError naming the field."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"{where}: expected a JSON object, got {type(data).__name__}")
        fmt = data.get("format")
        if fmt != NORMALS_FORMAT:
            raise InvalidInputError(f"{where}: field 'format' is {fmt!r}, expected {NORMALS_FORMAT!r}")
        for key in ("tracer", "protocol"):
            val = data.get(key)
            if not isinstance(val, str) or not val.strip():
                raise InvalidInputError(f"{where}: field {key!r} is {val!r}, expected a non-empty string")
        for key in ("source", "built_from", "created"):
            val = data.get(key)
            if not isinstance(val, str):
                raise InvalidInputError(f"{where}: field {key!r} is {val!r}, expected a string")
        ints = {}
        for key, lo in (("n_rings", 1), ("n_sectors", 1), ("n_subjects", MIN_SUBJECTS)):
            val = data.get(key)
            if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                raise InvalidInputError(f"{where}: field {key!r} is {val!r}, expected an integer ≥ {lo}")
            ints[key] = val
        shape = (ints["n_rings"], ints["n_sectors"])
        arrays = {}
        for key in ("mean", "sd"):
            try:
                arr = np.asarray(data.get(key), dtype=float)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"{where}: field {key!r} is not a numeric {shape} array") from exc
            if arr.shape != shape:
                raise InvalidInputError(f"{where}: field {key!r} has shape {arr.shape}, expected {shape} (n_rings, n_sectors)")
            if not np.all(np.isfinite(arr)):
                raise InvalidInputError(f"{where}: field {key!r} holds non-finite values; expected finite percent")
            arrays[key] = arr
        if not np.all(arrays["sd"] > 0):
            raise InvalidInputError(f"{where}: field 'sd' holds {int(np.sum(arrays['sd'] <= 0))} values ≤ 0; expected SD > 0")
        segs: dict[str, dict[int, float]] = {}
        for key in ("segment_mean", "segment_sd"):
            raw = data.get(key)
            if not isinstance(raw, Mapping):
                raise InvalidInputError(f"{where}: field {key!r} is {type(raw).__name__}, expected an object '1'..'17' → number")
            expected = {str(s) for s in range(1, N_SEGMENTS + 1)}
            if set(raw) != expected:
                raise InvalidInputError(
                    f"{where}: field {key!r} has keys {sorted(raw)}, expected exactly the AHA segments '1'..'17'")
            out = {}
            for k, v in raw.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise InvalidInputError(f"{where}: field {key!r}[{k!r}] is {v!r}, expected a finite number")
                if key == "segment_sd" and v <= 0:
                    raise InvalidInputError(f"{where}: field {key!r}[{k!r}] is {v!r}, expected SD > 0")
                out[int(k)] = float(v)
            segs[key] = out
        segment = None
        if data.get("segment") is not None:
            try:
                segment = check_segment(np.asarray(data["segment"]), shape, name=f"{where}: field 'segment'")
            except (TypeError, ValueError) as exc:
                if isinstance(exc, InvalidInputError):
                    raise
                raise InvalidInputError(f"{where}: field 'segment' is not an integer {shape} array") from exc
        return cls(tracer=data["tracer"], protocol=data["protocol"], source=data["source"],
                   n_subjects=ints["n_subjects"], mean=arrays["mean"], sd=arrays["sd"],
                   segment_mean=segs["segment_mean"], segment_sd=segs["segment_sd"],
                   built_from=data["built_from"], created=data["created"], segment=segment)

    @classmethod
    def from_json(cls, path: str | Path) -> "NormalLimits":
        """Read and validate a ``heartprint.nm-normals/1`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"normal limits file {str(path)!r}: cannot be read ({exc.strerror})") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"normal limits file {str(path)!r}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        return cls.from_dict(data, where=f"normal limits file {str(path)!r}")


def build_normal_limits(
    maps: Sequence[Any], *, tracer: str, protocol: str, source: str,
    built_from: str = "", segment: Any = None,
) -> NormalLimits:
    """Normal limits from ≥ :data:`MIN_SUBJECTS` normal polar maps (PolarMap-like or 2-D arrays).

    Per sample: mean and SD (``ddof=1``) over subjects of ``values`` (percent). Per segment: mean and
    SD over subjects of each subject's segment mean, each on its own map's segment layout (the maps'
    ``.segment``, else ``segment``): a polar map's segments follow its heart's geometry in mm
    (:func:`heartprint.nuclear._polar.grid_segments`), so the layouts of different hearts may differ
    by a ring at a boundary. All maps must share one shape; the layout is stored only when every
    map has the same one.
    """
    maps = list(maps)
    if len(maps) < MIN_SUBJECTS:
        raise InvalidInputError(f"maps: {len(maps)} subjects, expected at least {MIN_SUBJECTS} to estimate an SD")
    for key, val in (("tracer", tracer), ("protocol", protocol)):
        if not isinstance(val, str) or not val.strip():
            raise InvalidInputError(f"{key}={val!r}: expected a non-empty string")
    stack, layouts = [], []
    given = None if segment is None else np.asarray(segment)
    for i, m in enumerate(maps):
        values, seg = polar_arrays(m, name=f"maps[{i}]")
        if seg is None:
            if given is None:
                raise InvalidInputError(f"maps[{i}]: no '.segment' layout and no segment= given; expected AHA segments")
            seg = check_segment(given, values.shape, name="segment")
        stack.append(values)
        layouts.append(seg)
    if len({v.shape for v in stack}) != 1:
        raise InvalidInputError(f"maps: shapes {sorted({v.shape for v in stack})}, expected one (n_rings, n_sectors) shape")
    v = np.stack(stack)
    sd = v.std(axis=0, ddof=1)
    if not np.all(sd > 0):
        raise InvalidInputError(f"maps: {int(np.sum(sd <= 0))} samples have SD 0 across subjects; expected SD > 0")
    segm = np.stack([segment_means(x, lay) for x, lay in zip(stack, layouts)])  # (n_subjects, 17), own layouts
    seg_sd = segm.std(axis=0, ddof=1)
    if not np.all(seg_sd > 0):
        raise InvalidInputError("maps: a segment mean has SD 0 across subjects; expected SD > 0")
    one = all(np.array_equal(layouts[0], lay) for lay in layouts[1:])
    return NormalLimits(
        tracer=tracer, protocol=protocol, source=source, n_subjects=len(stack), mean=v.mean(axis=0), sd=sd,
        segment_mean={s + 1: float(x) for s, x in enumerate(segm.mean(axis=0))},
        segment_sd={s + 1: float(x) for s, x in enumerate(seg_sd)},
        built_from=built_from, created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        segment=layouts[0] if one else None,
    )


def load_normal_limits(path: str | Path | None = None) -> NormalLimits:
    """Load a normal-limits database: ``path``, or the packaged :data:`DEFAULT_NORMALS_FILE` when ``None``.

    Raises :class:`heartprint.errors.ModelError` when the packaged default is absent (not yet built /
    not installed) and :class:`heartprint.errors.InvalidInputError` when a file is unreadable or invalid.
    """
    if path is not None:
        return NormalLimits.from_json(path)
    try:
        res = resources.files("heartprint.nuclear").joinpath("data", DEFAULT_NORMALS_FILE)
        present = res.is_file()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        present = False
    if not present:
        raise ModelError(
            f"the packaged normal-limits database heartprint/nuclear/data/{DEFAULT_NORMALS_FILE} is not installed; "
            "pass path= to a heartprint.nm-normals/1 file or build one with build_normal_limits()")
    with resources.as_file(res) as p:
        return NormalLimits.from_json(p)
