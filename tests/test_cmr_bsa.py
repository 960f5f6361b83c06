import pytest

from heartprint.anthropometry import body_surface_area, bsa_dubois, bsa_mosteller
from heartprint.errors import InvalidInputError

# clinical_reference.md §11 worked table (H cm, W kg, Mosteller m², DuBois m²).
TABLE = [(170, 70, 1.8181, 1.8097), (180, 90, 2.1213, 2.0989), (160, 55, 1.5635, 1.5632)]


@pytest.mark.parametrize("h,w,most,dub", TABLE)
def test_bsa_table(h, w, most, dub):
    assert bsa_mosteller(h, w) == pytest.approx(most, abs=5e-5)
    assert bsa_dubois(h, w) == pytest.approx(dub, abs=5e-5)
    assert body_surface_area(h, w, formula="dubois") == pytest.approx(dub, abs=5e-5)


@pytest.mark.parametrize("h,w,word", [(40, 70, "height_cm=40"), (300, 70, "height_cm=300"), (170, 1, "weight_kg=1"),
                                      (170, 500, "weight_kg=500"), (float("nan"), 70, "height_cm"), ("x", 70, "height_cm")])
def test_bsa_range_checked(h, w, word):
    with pytest.raises(InvalidInputError, match=word):
        bsa_mosteller(h, w)


def test_bsa_unknown_formula():
    with pytest.raises(InvalidInputError, match="formula"):
        body_surface_area(170, 70, formula="haycock")  # type: ignore[arg-type]
