"""heartprint: open cardiac imaging phenotyping.

Results are for research and decision support; they are not a diagnosis.
"""

from heartprint.errors import (
    GeometryError,
    HeartprintError,
    InvalidInputError,
    ModelError,
    UnsupportedSeriesError,
)
from heartprint.image import Image

__version__ = "0.1.0"

DISCLAIMER = (
    "heartprint output is for research and clinical decision support only; it is not a "
    "diagnosis and must be reviewed by a qualified physician."
)

__all__ = [
    "DISCLAIMER",
    "GeometryError",
    "HeartprintError",
    "Image",
    "InvalidInputError",
    "ModelError",
    "UnsupportedSeriesError",
    "__version__",
]
