"""Reference ranges: every verified row of clinical_reference.md §10 (ASE/EACVI 2015, Alfakih 2003, Hudsmith 2005)."""

import pytest

from heartprint.clinical import reference_range, z_score
from heartprint.errors import InvalidInputError
from heartprint.measure import ReferenceRange

LIMITS = [  # code, modality, method, sex, low, high
    ("lv_ef", "echo", "2d_biplane", "male", 52, 72), ("lv_ef", "echo", "2d_biplane", "female", 54, 74),
    ("lavi", "echo", "2d", "male", 16, 34), ("lavi", "echo", "2d", "female", 16, 34),
    ("lv_edvi", "echo", "2d_biplane", "male", 34, 74), ("lv_edvi", "echo", "2d_biplane", "female", 29, 61),
    ("lv_esvi", "echo", "2d_biplane", "male", None, 31), ("lv_esvi", "echo", "2d_biplane", "female", None, 24),
    ("lv_edv", "echo", "2d_biplane", "male", 62, 150),
    ("lv_massi", "echo", "linear", "male", 49, 115), ("lv_massi", "echo", "linear", "female", 43, 95),
    ("lv_massi", "echo", "2d", "male", 50, 102), ("lv_massi", "echo", "2d", "female", 44, 88),
    ("rwt", "echo", "linear", "male", 0.24, 0.42), ("rwt", "echo", "linear", "female", 0.22, 0.42),
]
MEAN_SD = [  # code, sex, mean, sd (CMR SSFP)
    ("lv_edvi", "male", 82.3, 14.7), ("lv_edvi", "female", 77.7, 10.8),
    ("lv_massi", "male", 64.7, 9.3), ("lv_massi", "female", 52.0, 7.4),
    ("rv_edvi", "male", 86.2, 14.1), ("rv_edvi", "female", 75.2, 13.8),
    ("lv_edv", "male", 160, 29), ("lv_edv", "female", 135, 26), ("lv_esv", "male", 50, 16), ("lv_esv", "female", 42, 12),
    ("rv_edv", "male", 190, 33), ("rv_edv", "female", 148, 35), ("rv_esv", "male", 78, 20), ("rv_esv", "female", 56, 18),
]


@pytest.mark.parametrize("code,modality,method,sex,low,high", LIMITS)
def test_echo_limits(code, modality, method, sex, low, high):
    rr = reference_range(code, sex, modality=modality, method=method)
    assert isinstance(rr, ReferenceRange)
    assert (rr.low, rr.high) == (low, high)
    assert "2015" in rr.reference and "✅" not in rr.reference


@pytest.mark.parametrize("code,sex,mean,sd", MEAN_SD)
def test_cmr_mean_sd(code, sex, mean, sd):
    rr = reference_range(code, sex, modality="cmr", method="ssfp")
    assert rr.low == pytest.approx(mean - 1.96 * sd) and rr.high == pytest.approx(mean + 1.96 * sd)
    assert z_score(mean, code, sex, modality="cmr", method="ssfp") == pytest.approx(0)
    assert z_score(mean + 2 * sd, code, sex, modality="cmr", method="ssfp") == pytest.approx(2)
    assert "mean ± 1.96 SD" in rr.population


def test_unavailable_and_bad():
    with pytest.raises(InvalidInputError, match="not available"):
        reference_range("lv_edv", "female", modality="echo", method="2d_biplane")  # ⚠M row not carried
    with pytest.raises(InvalidInputError, match="sex"):
        reference_range("lv_ef", "x", modality="echo", method="2d_biplane")
    with pytest.raises(InvalidInputError, match="limits only"):
        z_score(60, "lv_ef", "male", modality="echo", method="2d_biplane")
    with pytest.raises(InvalidInputError, match="value"):
        z_score(float("nan"), "lv_edvi", "male", modality="cmr", method="ssfp")
