"""The demo study: the default cine SAX phantom, written as DICOM, with its truth.

Sits above :mod:`._cine_sax` (the phantom) and :mod:`._dicom` (its writer), which it
combines; the writer takes any phantom object and does not import the phantom module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from heartprint.phantoms._cine_sax import make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom

__all__ = ["write_demo_study"]


def write_demo_study(out_dir: str | os.PathLike, seed: int = 0, **kwargs: Any) -> tuple[list[Path], dict[str, Any]]:
    """Make the default cine SAX phantom and write it as DICOM under ``out_dir``.

    Keyword arguments go to :func:`~heartprint.phantoms.make_cine_sax`. Returns the file
    paths and the JSON-able truth (with ``study_uid`` and ``series_uid`` added).
    """
    phantom = make_cine_sax(seed=seed, **kwargs)
    paths = write_cine_sax_dicom(phantom, out_dir)
    truth = dict(phantom.truth)
    truth["study_uid"] = phantom.image.study_uid
    truth["series_uid"] = phantom.image.series_uid
    json.dumps(truth)  # fail here, not in the caller, if anything is not JSON-able
    return paths, truth
