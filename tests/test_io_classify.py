"""Series classification on small synthetic series (table-driven)."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint import io as hio
from heartprint.io import SeriesKind
from test_io_synthetic import CT_IMAGE_STORAGE, rotation, write_series

# A short-axis plane: normal near the LV long axis (rightward, posterior, superior).
SAX = rotation(-35, -40, 0)


def _set(**tags):
    def edit(ds, t, z):
        for k, v in tags.items():
            setattr(ds, k, v)
    return edit


CASES = [
    # id, write_series kwargs, expected kind, subkind
    ("sax_by_name", dict(n_slices=6, n_phases=5, description="SA cine"), "cine_sax", None),
    ("sax_by_geometry", dict(n_slices=8, n_phases=5, description="", rot=SAX), "cine_sax", None),
    ("lax_4ch", dict(n_slices=1, n_phases=5, description="cine 4CH"), "cine_lax", "4ch"),
    ("lax_2ch", dict(n_slices=1, n_phases=5, description="trufi_2ch"), "cine_lax", "2ch"),
    ("lax_lvot", dict(n_slices=1, n_phases=5, description="cine LVOT"), "cine_lax", "3ch"),
    ("lax_unnamed", dict(n_slices=1, n_phases=5, description="bssfp"), "cine_lax", None),
    ("lge", dict(n_slices=8, description="LGE PSIR SAX"), "lge", None),
    ("lge_by_ti", dict(n_slices=8, description="ir_tfl", extra=_set(InversionTime=300, ContrastBolusAgent="Gadovist")),
     "lge", None),
    ("molli", dict(n_slices=1, description="MOLLI 5(3)3 T1 map"), "t1_map", None),
    ("shmolli", dict(n_slices=1, description="ShMOLLI_192i"), "t1_map", None),
    ("t2star", dict(n_slices=1, description="T2* map"), "t2star_map", None),
    ("t2", dict(n_slices=1, description="T2 map SAX"), "t2_map", None),
    ("flow_name", dict(n_slices=1, n_phases=5, description="Aorta flow venc 150"), "flow", None),
    ("flow_siemens", dict(n_slices=1, n_phases=5, description="",
                          extra=_set(SequenceName="*fl2d1_v150in")), "flow", None),
    ("flow_tag", dict(n_slices=1, n_phases=5, description="x", extra=_set(PhaseContrast="YES")), "flow", None),
    ("ct_calcium", dict(n_slices=6, modality="CT", sop_class=CT_IMAGE_STORAGE, description="Cardiac 3.0 B35f",
                        slice_step=3.0, extra=_set(KVP=120, SliceThickness=3.0)), "ct_calcium", None),
    ("ct_calcium_name", dict(n_slices=6, modality="CT", sop_class=CT_IMAGE_STORAGE, description="CaScore",
                             slice_step=2.5), "ct_calcium", None),
    ("ct_angio", dict(n_slices=6, modality="CT", sop_class=CT_IMAGE_STORAGE, description="CTA coronary 75%",
                      slice_step=0.6, extra=_set(KVP=100, SliceThickness=0.6, ContrastBolusAgent="Iomeron")),
     "ct_angio", None),
    ("mr_other", dict(n_slices=5, description="HASTE transversal"), "other", None),
]


@pytest.mark.parametrize("case_id,kwargs,kind,subkind", CASES, ids=[c[0] for c in CASES])
def test_classification(tmp_path, case_id, kwargs, kind, subkind):
    kwargs = dict(kwargs)
    if kwargs.get("n_phases", 1) == 1:
        kwargs.setdefault("timing", "none")
    write_series(tmp_path, rows=4, cols=4, **kwargs)
    (series,) = hio.scan(tmp_path)
    c = series.classification
    assert c.kind == SeriesKind(kind), c.reasons
    assert c.subkind == subkind
    assert 0.0 < c.confidence < 1.0
    assert c.reasons and all(isinstance(r, str) for r in c.reasons)




def test_sax_reasons_cite_tags(tmp_path):
    write_series(tmp_path, n_slices=8, n_phases=5, description="", rot=SAX, rows=4, cols=4)
    c = hio.scan(tmp_path)[0].classification
    assert any("(0020,0037)" in r and "LV long axis" in r for r in c.reasons)
    assert any("8 parallel slices" in r for r in c.reasons)
    assert c.as_dict()["kind"] == "cine_sax"


def test_kinds_are_the_documented_list():
    assert [k.value for k in SeriesKind] == [
        "cine_sax", "cine_lax", "lge", "t1_map", "t2_map", "t2star_map", "flow",
        "ct_calcium", "ct_angio", "nm_perfusion", "nm_perfusion_stress", "nm_perfusion_rest", "echo_cine", "sr",
        "other",
    ]
