import pytest

from heartprint.anatomy import AHA_SEGMENT_NAMES
from heartprint.anatomy.territories import (
    SEGMENT_TERRITORY, TERRITORY_REFERENCE, TERRITORY_SEGMENTS, VARIABLE_SEGMENTS, VESSEL_SNOMED, segments_of,
    territory_of, vessel_territory,
)
from heartprint.errors import InvalidInputError


def test_cerqueira_assignment():
    assert TERRITORY_SEGMENTS["LAD"] == (1, 2, 7, 8, 13, 14, 17)
    assert TERRITORY_SEGMENTS["RCA"] == (3, 4, 9, 10, 15)
    assert TERRITORY_SEGMENTS["LCx"] == (5, 6, 11, 12, 16)
    assert sorted(SEGMENT_TERRITORY) == list(range(1, 18)) == sorted(AHA_SEGMENT_NAMES)
    assert "10.1161/hc0402.102975" in TERRITORY_REFERENCE


@pytest.mark.parametrize("seg, terr", [(1, "LAD"), (4, "RCA"), (5, "LCx"), (15, "RCA"), (16, "LCx"), (17, "LAD")])
def test_territory_of(seg, terr):
    assert territory_of(seg) == terr


def test_left_main_covers_lad_and_lcx():
    assert vessel_territory("LM") == ("LAD", "LCx")
    assert set(segments_of("LM")) == set(TERRITORY_SEGMENTS["LAD"]) | set(TERRITORY_SEGMENTS["LCx"])


def test_variable_segments_never_name_their_default():
    for seg, alts in VARIABLE_SEGMENTS.items():
        assert SEGMENT_TERRITORY[seg] not in alts
    assert {4, 15, 17} <= set(VARIABLE_SEGMENTS)


def test_vessel_codes():
    assert VESSEL_SNOMED["LAD"][0] == "59438005" and VESSEL_SNOMED["RCA"][0] == "13647002"


@pytest.mark.parametrize("bad", [0, 18, "1", True, None])
def test_bad_segment(bad):
    with pytest.raises(InvalidInputError, match="1–17"):
        territory_of(bad)


def test_bad_vessel():
    with pytest.raises(InvalidInputError):
        vessel_territory("D1")
