"""heartprint's exceptions.

Every message names the input (file, tag or argument), the value found and what was
expected, so that a user triaging a batch can act on it without a debugger.
"""

from __future__ import annotations


class HeartprintError(Exception):
    """Base class of every error heartprint raises on purpose."""


class InvalidInputError(HeartprintError, ValueError):
    """An input file or value is not what heartprint can read (not DICOM, truncated, out of range)."""


class GeometryError(InvalidInputError):
    """Spatial or temporal geometry is missing or inconsistent (spacing, orientation, positions)."""


class UnsupportedSeriesError(HeartprintError):
    """A series is valid but not of a kind (modality, transfer syntax, layout) heartprint handles."""


class ModelError(HeartprintError):
    """A shipped model is missing, corrupt or does not match its model card."""


def describe(source: object) -> str:
    """Short human-readable name of an input for error messages."""
    return str(source) if source is not None else "<array input>"


class HeartprintWarning(UserWarning):
    """Base class of heartprint's warnings (something was skipped or assumed, and said so)."""


class SkippedFileWarning(HeartprintWarning):
    """A file in a folder or archive could not be read and was skipped; the rest still loads."""
