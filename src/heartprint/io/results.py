"""Writing analysis results: measurements JSON and label maps (NIfTI), all or nothing.

Everything for one study goes into a temporary folder beside the destination, which is
then moved into place, so a crash never leaves a half-written result folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from heartprint.image import Image
from heartprint.io.nifti import write_nifti


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def dumps(result: Mapping[str, Any]) -> str:
    """JSON text of a result dict (NumPy scalars and arrays converted; NaN written as null)."""
    import math

    def clean(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    return json.dumps(clean(json.loads(json.dumps(result, default=_json_default))), indent=2)


def write_study_outputs(result: Mapping[str, Any], labels: Mapping[str, Image], out_dir: str | Path) -> Path:
    """Write ``measurements.json`` and ``labels/<series_uid>.nii.gz`` into ``out_dir``.

    An existing ``out_dir`` is replaced only after the new contents are complete.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "measurements.json").write_text(dumps(result))
        if labels:
            (tmp / "labels").mkdir()
            for uid, img in labels.items():
                write_nifti(img, tmp / "labels" / f"{uid}.nii.gz")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
