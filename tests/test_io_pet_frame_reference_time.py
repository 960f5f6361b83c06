"""PET reader: dynamic frame starts from (0054,1300) Frame Reference Time when (0008,0032) Acquisition Time is absent.

PS3.3 C.8.9.4.1.5: Frame Reference Time is the time of the decay-weighted mean activity of the frame,
T_ave = (1/λ)·ln(λT/(1 − e^(−λT))) after its start. heartprint's writer puts exactly that value in every file; with
Acquisition Time deleted the reader must give back the phantom's frame starts (exact answer, within the writer's
1e-3 ms rounding), not the reference times; without (0018,1075) Radionuclide Half Life it must refuse, naming the tag.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import heartprint.io as hio
from heartprint.errors import InvalidInputError
from heartprint.io._nm import _start_from_frame_reference_time
from heartprint.phantoms._pet_dicom import write_pet_dicom
from heartprint.phantoms._pet_dynamic import make_dynamic_pet_image

DURS = (10.0, 10.0, 30.0, 60.0)  # s


def test_rb82_series_without_acquisition_time_gives_the_frame_starts(tmp_path):
    ph = make_dynamic_pet_image(1.0, tracer="rb82", frame_durations_s=DURS, noise_cv=0.0, matrix=24, voxel_mm=8.0,
                                supersample=1)
    paths = write_pet_dicom(ph, tmp_path / "rb82")
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.AcquisitionTime
        ds.save_as(p)
    img = hio.load(paths[0].parent)
    np.testing.assert_allclose(img.meta["frame_start_ms"], ph.image.meta["frame_start_ms"], atol=2e-3)
    np.testing.assert_allclose(img.meta["frame_duration_ms"], ph.image.meta["frame_duration_ms"], atol=1e-6)
    assert "(0054,1300)" in img.meta["frame_times_source"] and "(0018,1075)" in img.meta["frame_times_source"]
    # the reference time itself is later than the start by T_ave = (1/λ)·ln(λT/(1 − e^(−λT))) = 4.962 s (Rb-82, T = 10 s)
    assert img.meta["frame_reference_time_ms"][0] == pytest.approx(4962.0011, abs=1e-3)


def _heads(frt_ms, half_life_s):
    heads = []
    for v in frt_ms:
        ds = Dataset()
        ds.FrameReferenceTime = float(v)
        if half_life_s is not None:
            rp = Dataset()
            rp.RadionuclideHalfLife = half_life_s
            ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
        heads.append(ds)
    return heads


def test_n13_inverse_of_the_decay_weighted_mean_time():
    half_life = 597.9  # s
    lam = math.log(2.0) / half_life
    starts = np.array([0.0, 10.0, 20.0, 50.0])
    frt = [1000.0 * (s + math.log(lam * d / (1.0 - math.exp(-lam * d))) / lam) for s, d in zip(starts, DURS)]
    got = _start_from_frame_reference_time(SimpleNamespace(series_uid="1.2.3"), _heads(frt, half_life),
                                           [1000.0 * d for d in DURS])
    np.testing.assert_allclose(got, 1000.0 * starts, atol=1e-6)
    assert frt[-1] - 1000.0 * starts[-1] < 30000.0  # T_ave is earlier than the 60-s frame's mid-point


def test_without_half_life_the_start_is_refused_by_name():
    with pytest.raises(InvalidInputError, match=r"\(0018,1075\) Radionuclide Half Life"):
        _start_from_frame_reference_time(SimpleNamespace(series_uid="1.2.3"), _heads([5000.0, 15000.0], None),
                                         [10000.0, 10000.0])
    with pytest.raises(InvalidInputError, match=r"\(0054,1300\) Frame Reference Time"):
        heads = _heads([5000.0, 15000.0], 76.0)
        del heads[1].FrameReferenceTime
        _start_from_frame_reference_time(SimpleNamespace(series_uid="1.2.3"), heads, [10000.0, 10000.0])
