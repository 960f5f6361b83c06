"""Shared cardiac anatomy: the AHA 17-segment model (Cerqueira et al., Circulation 2002)."""

from heartprint.anatomy._aha import (
    AHA_REFERENCE,
    AHA_SEGMENT_NAMES,
    AHASegmentation,
    SliceFrame,
    aha_segments,
    rv_insertion_points,
    segment_of_angle,
)

__all__ = [
    "AHA_REFERENCE",
    "AHA_SEGMENT_NAMES",
    "AHASegmentation",
    "SliceFrame",
    "aha_segments",
    "rv_insertion_points",
    "segment_of_angle",
]
