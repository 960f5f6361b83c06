"""CAD-RADS 2.0 (2022): stenosis category, modifiers and plaque burden from CCTA numbers.

Source: Cury RC, Leipsic J, Abbara S, et al. CAD-RADS™ 2.0 – 2022 Coronary Artery
Disease-Reporting and Data System. An expert consensus document of SCCT, ACC, ACR and
NASCI. J Cardiovasc Comput Tomogr 2022;16:536–557, doi:10.1016/j.jcct.2022.07.002; also
JACC Cardiovasc Imaging 2022;15:1974–2001, doi:10.1016/j.jcmg.2022.07.002. The full text
was not readable; categories, modifiers and P-bands are verified against secondary
reproductions (see the data tables' comments). Table numbers are ⚠M.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding

__all__ = ["CadRads", "cad_rads", "cad_rads_plaque_burden"]

CITATION = (
    "Cury RC, Leipsic J, Abbara S, et al. CAD-RADS 2.0 - 2022 Coronary Artery Disease-Reporting "
    "and Data System (SCCT/ACC/ACR/NASCI). J Cardiovasc Comput Tomogr 2022;16:536-557. "
    "doi:10.1016/j.jcct.2022.07.002"
)

#: Coronary segment / vessel names accepted as keys of ``stenoses`` → main vessel
#: (SCCT segment names; LM is its own entry). Ramus intermedius counts toward the maximal
#: stenosis but not toward the three-vessel rule (its territory varies).
SEGMENT_VESSEL: dict[str, str | None] = {
    "lm": "LM",
    "lad": "LAD", "plad": "LAD", "mlad": "LAD", "dlad": "LAD", "d1": "LAD", "d2": "LAD",
    "lcx": "LCx", "plcx": "LCx", "dlcx": "LCx", "om1": "LCx", "om2": "LCx", "l-pda": "LCx", "l-plb": "LCx",
    "rca": "RCA", "prca": "RCA", "mrca": "RCA", "drca": "RCA", "r-pda": "RCA", "r-plb": "RCA",
    "ri": None, "ramus": None,
}

#: Stenosis categories, lower bound of maximal stenosis (%) → category, descriptor and
#: further investigation. Bands 0 / 1–24 / 25–49 / 50–69 / 70–99 / 100 ✅S (drlefevre/drlef
#: docs/cardio/cadrads.md; several calculators) + ☑C. Integer bands are applied to real
#: numbers as half-open intervals ([25, 50) is category 2). Investigation wording ✅S for
#: CAD-RADS 1.0 (faculty.washington.edu reproduction of Cury 2016), carried into 2.0 by
#: secondary 2.0 summaries (aihaoyisheng CAD-RADS 2.0 tool); full 2.0 management text ⚠M.
CATEGORIES: dict[str, tuple[str, str]] = {
    "0": ("Absence of CAD", "None"),
    "1": ("Minimal non-obstructive CAD", "None"),
    "2": ("Mild non-obstructive CAD", "None"),
    "3": ("Moderate stenosis", "Consider functional assessment"),
    "4A": ("Severe stenosis", "Consider ICA or functional assessment"),
    "4B": ("Severe stenosis (left main or 3-vessel)", "ICA recommended"),
    "5": ("Total coronary occlusion", "Consider ICA and/or viability assessment"),
    "N": ("Non-diagnostic study; obstructive CAD cannot be excluded", "Additional or alternative evaluation may be needed"),
}

#: Left main threshold for 4B (%). Secondary sources disagree: 2.0 code and ESC 2024 use
#: "≥50 %"; CAD-RADS 1.0 and several 2.0 summaries write ">50 %". ≥50 is implemented as the
#: issue specifies; the value exactly 50 % is ⚠M.
LEFT_MAIN_4B = 50.0
#: Obstructive threshold per vessel for 3-vessel 4B and for 4A (%), ✅S.
OBSTRUCTIVE = 70.0

#: Plaque burden from CAC (Agatston): upper bounds inclusive, ✅S (radathand calculator;
#: drlefevre/drlef P.jpg reproducing RadioGraphics doi:10.1148/rg.220202). P4 is "≥1000" in
#: the table image and ">1000" on radathand (which leaves 1000 unassigned); CAC = 1000 is
#: put in P4 here and is ⚠M.
P_BY_CAC: tuple[tuple[float, str], ...] = ((100.0, "P1"), (300.0, "P2"), (999.999999, "P3"), (float("inf"), "P4"))
#: Plaque burden from the segment involvement score (segments with plaque), ✅S.
P_BY_SIS: tuple[tuple[int, str], ...] = ((2, "P1"), (4, "P2"), (7, "P3"), (10**6, "P4"))
P_DESCRIPTOR = {"P1": "mild", "P2": "moderate", "P3": "severe", "P4": "extensive"}

#: High-risk plaque features; HRP modifier needs ≥2 (✅S: ECR 2023 abstract, radathand).
HRP_FEATURES = frozenset({"positive_remodelling", "low_attenuation", "spotty_calcification", "napkin_ring"})
#: Ischaemia modifier values (I+, I−, I±), from CT-FFR or CT perfusion (✅S). Numeric CT-FFR
#: cut-offs are ⚠M and deliberately not applied: pass the reader's call.
ISCHAEMIA = {"+": "I+", "-": "I-", "±": "I±", "+/-": "I±"}


@dataclass(frozen=True)
class CadRads:
    """A CAD-RADS 2.0 result.

    Attributes
    ----------
    category
        ``"0"``, ``"1"``, ``"2"``, ``"3"``, ``"4A"``, ``"4B"``, ``"5"`` or ``"N"``.
    modifiers
        Ordered modifiers: ``"N"``, ``"HRP"``, ``"I+"``/``"I-"``/``"I±"``, ``"S"``, ``"G"``, ``"E"``.
    plaque_burden
        ``"P1"``–``"P4"`` or ``None`` (no plaque / not given).
    label
        Report string, e.g. ``"CAD-RADS 4A/P2/HRP"``.
    management
        Further-investigation text for the category (see :data:`CATEGORIES`).
    """

    category: str
    modifiers: tuple[str, ...]
    plaque_burden: str | None
    label: str
    descriptor: str
    management: str
    max_stenosis: float | None
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def finding(self) -> Finding:
        code = "cad_rads_" + self.category.lower()
        return Finding(
            code=code, statement=f"{self.label}: {self.descriptor}", status="present",
            rule=f"{__name__}.cad_rads", citation=CITATION, inputs=self.inputs,
            details={"category": self.category, "modifiers": list(self.modifiers),
                     "plaque_burden": self.plaque_burden, "management": self.management, **self.details},
        )


def cad_rads_plaque_burden(*, cac: float | None = None, sis: int | None = None,
                           stent: bool = False) -> tuple[str | None, str]:
    """Overall plaque burden P1–P4 (CAD-RADS 2.0).

    Parameters
    ----------
    cac
        Agatston coronary calcium score (≥0). P1 1–100, P2 101–300, P3 301–999, P4 ≥1000.
    sis
        Segment involvement score: number of coronary segments with plaque (0–18).
        P1 ≤2, P2 3–4, P3 5–7, P4 ≥8.
    stent
        With a stent, CAC is not used (SIS is), as is CAC = 0 with plaque (☑C rule).

    Returns
    -------
    (P, source)
        ``P`` is ``"P1"``–``"P4"`` or ``None`` when no plaque burden can be assigned;
        ``source`` is ``"cac"``, ``"sis"`` or the reason it is ``None``.
    """
    cac = v.optional("cac", cac, 0, 100000, unit="Agatston")
    if sis is not None:
        sis = v.integer("sis", sis, 0, 18)
    if cac is not None and cac > 0 and not stent:
        return next(p for hi, p in P_BY_CAC if cac <= hi), "cac"
    if sis is not None and sis > 0:
        return next(p for hi, p in P_BY_SIS if sis <= hi), "sis"
    if cac == 0 and not sis:
        return None, "no calcium and no plaque segments"
    return None, "needs CAC or segment involvement score"


def cad_rads(
    stenoses: Mapping[str, float],
    *,
    plaque_present: bool | None = None,
    non_diagnostic: bool = False,
    high_risk_plaque: bool | Iterable[str] = False,
    ischaemia: str | None = None,
    stent: bool = False,
    graft: bool = False,
    exception: bool = False,
    cac: float | None = None,
    sis: int | None = None,
) -> CadRads:
    """CAD-RADS 2.0 category, modifiers and plaque burden.

    Parameters
    ----------
    stenoses
        Maximal diameter stenosis (%) per coronary segment or vessel, keys as in
        :data:`SEGMENT_VESSEL` (``"LM"``, ``"pLAD"``, ``"D1"``, ``"OM1"``, ``"mRCA"``…,
        case-insensitive); values 0–100. Segments not listed are taken as unaffected.
    plaque_present
        Whether any plaque is present (makes 0 % stenosis category 1 rather than 0).
    non_diagnostic
        One or more non-diagnostic segments. With maximal stenosis <50 % the category is
        ``"N"``; with ≥50 % the category stands and ``N`` is a modifier (☑C; ⚠M).
    high_risk_plaque
        ``True``/``False``, or the set of HRP features seen (``positive_remodelling``,
        ``low_attenuation`` (<30 HU), ``spotty_calcification``, ``napkin_ring``); HRP needs ≥2.
    ischaemia
        ``"+"``, ``"-"`` or ``"±"`` from CT-FFR or CT perfusion (reader's call), or ``None``.
    stent, graft, exception
        Modifiers S, G and E (non-atherosclerotic cause: dissection, anomaly, aneurysm,
        vasculitis, fistula, extrinsic compression, AV malformation).
    cac, sis
        Agatston score and segment involvement score for the plaque burden
        (:func:`cad_rads_plaque_burden`).

    Returns
    -------
    CadRads

    Notes
    -----
    Category from the per-patient maximal stenosis: 0 %, 1–24 %, 25–49 %, 50–69 %,
    70–99 % (4A, 1–2 vessels), 100 % (5); 4B when left main ≥50 % (<100 %) or LAD, LCx and
    RCA all ≥70 %. Cury RC et al., J Cardiovasc Comput Tomogr 2022;16:536–557,
    doi:10.1016/j.jcct.2022.07.002.
    """
    if not isinstance(stenoses, Mapping):
        raise InvalidInputError(f"stenoses={stenoses!r}: expected a mapping of segment name -> stenosis %")
    per_vessel: dict[str, float] = {}
    clean: dict[str, float] = {}
    for key, value in stenoses.items():
        name = str(key).strip().lower()
        if name not in SEGMENT_VESSEL:
            raise InvalidInputError(f"stenoses key {key!r}: expected a coronary segment/vessel among {sorted(SEGMENT_VESSEL)}")
        pct = v.number(f"stenoses[{key!r}]", value, 0, 100, unit="%")
        clean[str(key)] = pct
        vessel = SEGMENT_VESSEL[name]
        if vessel is not None:
            per_vessel[vessel] = max(per_vessel.get(vessel, 0.0), pct)
    plaque_present = v.flag("plaque_present", plaque_present)
    for name, val in (("non_diagnostic", non_diagnostic), ("stent", stent), ("graft", graft), ("exception", exception)):
        v.flag(name, val)
    max_st = max(clean.values(), default=0.0)

    if isinstance(high_risk_plaque, bool):
        hrp, hrp_features = high_risk_plaque, None
    else:
        hrp_features = sorted({v.choice("high_risk_plaque feature", f, sorted(HRP_FEATURES)) for f in high_risk_plaque})
        hrp = len(hrp_features) >= 2

    lm = per_vessel.get("LM", 0.0)
    three_vessel = all(per_vessel.get(x, 0.0) >= OBSTRUCTIVE for x in ("LAD", "LCx", "RCA"))
    if max_st >= 100:
        category = "5"
    elif lm >= LEFT_MAIN_4B or three_vessel:
        category = "4B"
    elif max_st >= OBSTRUCTIVE:
        category = "4A"
    elif max_st >= 50:
        category = "3"
    elif max_st >= 25:
        category = "2"
    elif max_st > 0 or plaque_present:
        category = "1"
    else:
        category = "0"

    modifiers: list[str] = []
    if non_diagnostic:
        if max_st < 50:
            category = "N"
        else:
            modifiers.append("N")
    if hrp:
        modifiers.append("HRP")
    if ischaemia is not None:
        key = v.choice("ischaemia", ischaemia, list(ISCHAEMIA))
        modifiers.append(ISCHAEMIA[key])
    modifiers += [m for m, on in (("S", stent), ("G", graft), ("E", exception)) if on]

    p, p_source = (None, "category 0: no plaque") if category == "0" else cad_rads_plaque_burden(cac=cac, sis=sis, stent=stent)
    parts = [f"CAD-RADS {category}"]
    if "N" in modifiers:
        parts.append("N")
    if p:
        parts.append(p)
    parts += [m for m in modifiers if m != "N"]
    descriptor, management = CATEGORIES[category]
    return CadRads(
        category=category, modifiers=tuple(modifiers), plaque_burden=p, label="/".join(parts),
        descriptor=descriptor, management=management, max_stenosis=max_st,
        inputs={"stenoses": {k: {"value": s, "unit": "%"} for k, s in clean.items()}, "cac": cac, "sis": sis,
                "plaque_present": plaque_present, "non_diagnostic": non_diagnostic, "ischaemia": ischaemia,
                "stent": stent, "graft": graft, "exception": exception},
        details={"per_vessel_max": per_vessel, "left_main_4b_threshold": LEFT_MAIN_4B,
                 "three_vessel_obstructive": three_vessel, "plaque_burden_source": p_source,
                 "hrp_features": hrp_features,
                 "unverified": "LM boundary at exactly 50 % and CAC exactly 1000 (P3/P4) are ⚠M"},
    )
