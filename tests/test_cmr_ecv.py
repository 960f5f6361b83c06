"""ECV: the consensus formula (golden value), haematocrit checks, and phantom maps."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint.cmr import analyse_ecv, check_haematocrit, ecv_fraction
from heartprint.errors import InvalidInputError
from heartprint.phantoms import make_molli_series


def test_golden_value():
    # clinical_reference.md §9 derived check: Hct 0.42, myo 1000 -> 450 ms, blood 1600 -> 300 ms
    assert ecv_fraction(1000, 450, 1600, 300, 0.42) == pytest.approx(0.2617, abs=5e-5)
    assert ecv_fraction(1000, 450, 1600, 300, 42) == pytest.approx(0.2617, abs=5e-5)  # percent accepted


@pytest.mark.parametrize("hct", [-0.4, 0.05, 0.8, 85, float("nan"), "x"])
def test_bad_haematocrit_named(hct):
    with pytest.raises(InvalidInputError, match="haematocrit"):
        check_haematocrit(hct)


def test_blood_must_shorten():
    with pytest.raises(InvalidInputError, match="t1_blood_post_ms=1700"):
        ecv_fraction(1000, 450, 1600, 1700, 0.42)


def test_phantom_ecv_per_segment():
    native = make_molli_series(t1_myocardium_ms=1000, t1_blood_ms=1600, focal_t1_ms=1200, seed=1)
    post = make_molli_series(t1_myocardium_ms=450, t1_blood_ms=300, focal_t1_ms=380, seed=2)
    from heartprint.cmr import fit_t1_molli

    t1n = fit_t1_molli(native.image.array, native.times_ms).t1
    t1p = fit_t1_molli(post.image.array, post.times_ms).t1
    res = analyse_ecv(t1n, t1p, native.labels, native.image.affine, 0.42)
    assert res["t1_blood_native_ms"] == pytest.approx(1600, rel=0.01)
    assert res["t1_blood_post_ms"] == pytest.approx(300, rel=0.01)
    remote = np.mean([res["segments"][s]["mean"] for s in ("9", "10", "11")])
    assert remote == pytest.approx(26.17, abs=0.5)  # % ECV
    focal = 100 * (1 - 0.42) * (1 / 380 - 1 / 1200) / (1 / 300 - 1 / 1600)
    assert res["segments"]["7"]["mean"] > remote + 0.5 * (focal - remote)
    assert {m["unit"] for m in res["measurements"]} == {"%"}
