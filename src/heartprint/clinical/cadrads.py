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
from itertools import product
from typing import Any

from heartprint.clinical import _unknowns
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
        ``"0"``, ``"1"``, ``"2"``, ``"3"``, ``"4A"``, ``"4B"``, ``"5"`` or ``"N"``; ``None`` when
        not assessable (an unknown input or a contradiction could change it: ``missing`` and
        ``details["would_be"]`` say which and how).
    modifiers
        Ordered modifiers: ``"N"``, ``"HRP"``, ``"I+"``/``"I-"``/``"I±"``, ``"S"``, ``"G"``, ``"E"``.
        A modifier whose input is unknown is listed in ``details["modifiers_not_assessed"]``.
    plaque_burden
        ``"P1"``–``"P4"`` or ``None`` (no plaque / not given).
    label
        Report string, e.g. ``"CAD-RADS 4A/P2/HRP"``.
    management
        Further-investigation text for the category (see :data:`CATEGORIES`).
    contradictions
        ``input_contradiction`` findings (status ``present``), one per pair of inputs that
        contradict each other, each naming both values.
    """

    category: str | None
    modifiers: tuple[str, ...]
    plaque_burden: str | None
    label: str
    descriptor: str
    management: str
    max_stenosis: float | None
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    contradictions: tuple[Finding, ...] = ()

    @property
    def status(self) -> str:
        return "not_assessable" if self.category is None else "present"

    def finding(self) -> Finding:
        """The category as a Finding (code ``cad_rads_<category>``, or ``cad_rads`` when not assessable)."""
        rule = f"{__name__}.cad_rads"
        if self.category is None:
            return Finding(code="cad_rads", statement=f"CAD-RADS not assessable: {self.descriptor}", status="not_assessable",
                           rule=rule, citation=CITATION, inputs=self.inputs, missing=list(self.missing),
                           details={"category": None, **self.details})
        code = "cad_rads_" + self.category.lower()
        not_assessed = self.details.get("modifiers_not_assessed") or []
        tail = f" (modifiers not assessed: {', '.join(MODIFIER_NAMES[m] for m in not_assessed)})" if not_assessed else ""
        return Finding(
            code=code, statement=f"{self.label}: {self.descriptor}{tail}", status="present",
            rule=rule, citation=CITATION, inputs=self.inputs,
            details={"category": self.category, "modifiers": list(self.modifiers),
                     "plaque_burden": self.plaque_burden, "management": self.management, **self.details},
        )

    @property
    def findings(self) -> list[Finding]:
        """The category finding followed by any input contradictions."""
        return [self.finding(), *self.contradictions]


#: Plain names of the modifiers (for "not assessed" statements).
MODIFIER_NAMES = {"N": "non-diagnostic segments", "HRP": "high-risk plaque", "I": "ischaemia (CT-FFR/CT perfusion)",
                  "S": "stent", "G": "bypass graft", "E": "non-atherosclerotic cause"}


def cad_rads_plaque_burden(*, cac: float | None = None, sis: int | None = None,
                           stent: bool | None = None) -> tuple[str | None, str]:
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
        ``None`` (unknown): a CAC-based burden is given only when a SIS is also given and
        gives the same P (with a stent the CAC does not apply); otherwise the SIS is used.

    Returns
    -------
    (P, source)
        ``P`` is ``"P1"``–``"P4"`` or ``None`` when no plaque burden can be assigned;
        ``source`` is ``"cac"``, ``"sis"``, ``"cac and sis"`` or the reason it is ``None``.
    """
    cac = v.optional("cac", cac, 0, 100000, unit="Agatston")
    if sis is not None:
        sis = v.integer("sis", sis, 0, 18)
    stent = v.flag("stent", stent)
    p_cac = next(p for hi, p in P_BY_CAC if cac <= hi) if cac is not None and cac > 0 else None
    p_sis = next(p for hi, p in P_BY_SIS if sis <= hi) if sis is not None and sis > 0 else None
    if p_cac is not None and stent is False:
        return p_cac, "cac"
    if p_cac is not None and stent is None:
        if p_sis == p_cac:
            return p_cac, "cac and sis"
        if p_sis is None:
            return None, "CAC is not used with a coronary stent: needs stent status or the segment involvement score"
    if p_sis is not None:
        return p_sis, "sis"
    if sis == 0:
        return None, "no coronary segment with plaque"
    if cac == 0:
        return None, "CAC 0: non-calcified plaque burden needs the segment involvement score"
    return None, "needs CAC or segment involvement score"


def _band_category(max_st: float, lm: float, three_vessel: bool) -> str | None:
    """Category from the stenosis alone (``None`` at 0 %: 0 or 1 depending on plaque)."""
    if max_st >= 100:
        return "5"
    if lm >= LEFT_MAIN_4B or three_vessel:
        return "4B"
    if max_st >= OBSTRUCTIVE:
        return "4A"
    if max_st >= 50:
        return "3"
    if max_st >= 25:
        return "2"
    if max_st > 0:
        return "1"
    return None


def _category(values: Mapping[str, float], plaque: bool, non_diagnostic: bool) -> str:
    per_vessel: dict[str, float] = {}
    for name, pct in values.items():
        vessel = SEGMENT_VESSEL[name]
        if vessel is not None:
            per_vessel[vessel] = max(per_vessel.get(vessel, 0.0), pct)
    max_st = max(values.values(), default=0.0)
    three = all(per_vessel.get(x, 0.0) >= OBSTRUCTIVE for x in ("LAD", "LCx", "RCA"))
    cat = _band_category(max_st, per_vessel.get("LM", 0.0), three) or ("1" if plaque else "0")
    if non_diagnostic and max_st < 50:
        return "N"
    return cat


def _segment_values(key: Any, value: Any) -> tuple[float, ...]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise InvalidInputError(f"stenoses[{key!r}]=[]: expected a stenosis % or the values reported for it")
        return tuple(v.number(f"stenoses[{key!r}]", x, 0, 100, unit="%") for x in value)
    return (v.number(f"stenoses[{key!r}]", value, 0, 100, unit="%"),)


def _contradiction(statement: str, inputs: dict[str, Any], values: dict[str, Any]) -> Finding:
    return Finding(code="input_contradiction", statement=statement, status="present", rule=f"{__name__}.cad_rads",
                   citation=CITATION, inputs=inputs, details={"values": values})


def _contradictions(reported: Mapping[str, list[tuple[str, float]]], options: Mapping[str, tuple[float, ...]], *,
                    plaque_given: bool | None, exception: bool | None, cac: float | None,
                    sis: int | None) -> list[Finding]:
    """``input_contradiction`` findings for inputs that cannot all be true (said, never resolved by
    choosing one side): a segment with different values; no plaque (or SIS 0) beside a stenosis, a
    calcium score or segments with plaque. A stenosis without plaque is no contradiction with modifier E."""
    out: list[Finding] = []
    for name, vals in reported.items():
        if len(options[name]) > 1:
            seg, values = vals[0][0], [x for _, x in vals]
            out.append(_contradiction(
                f"Inputs contradict each other: the {seg} segment is reported with different stenoses "
                f"({' and '.join(f'{x:g} %' for x in values)})",
                {"stenoses": {seg: values}}, {"segment": seg, "stenosis_percent": values}))
    lowest = max((min(o) for o in options.values()), default=0.0)  # the least the maximal stenosis can be
    stenosis: tuple[str, dict[str, Any]] | None = None
    if lowest > 0 and exception is not True:
        name, pct = max(((n, max(o)) for n, o in options.items()), key=lambda t: t[1])
        seg = reported[name][0][0]
        stenosis = f"a {pct:g} % stenosis in the {seg}", {"max_stenosis_percent": pct, "segment": seg}
    calcium = (f"a calcium score of {cac:g}", {"cac": cac}) if cac is not None and cac > 0 else None
    if plaque_given is False:
        segments = (f"{sis} segments with plaque (segment involvement score)", {"sis": sis}) if sis else None
        for item in (stenosis, calcium, segments):
            if item is not None:
                text, vals = item
                note = " (a non-atherosclerotic narrowing is reported with modifier E)" if item is stenosis else ""
                out.append(_contradiction(f"Inputs contradict each other: no coronary plaque was given together with "
                                          f"{text}{note}", {"plaque_present": False, **vals}, {"plaque_present": False, **vals}))
    if sis == 0:
        plaque = ("plaque given as present", {"plaque_present": True}) if plaque_given is True else None
        for item in (plaque, calcium, stenosis):
            if item is not None:
                text, vals = item
                out.append(_contradiction(f"Inputs contradict each other: a segment involvement score of 0 (no plaque) "
                                          f"was given with {text}", {"sis": 0, **vals}, {"sis": 0, **vals}))
    return out


def cad_rads(
    stenoses: Mapping[str, float | Iterable[float]],
    *,
    plaque_present: bool | None = None,
    non_diagnostic: bool | None = None,
    high_risk_plaque: bool | Iterable[str] | None = None,
    ischaemia: str | None = None,
    stent: bool | None = None,
    graft: bool | None = None,
    exception: bool | None = None,
    cac: float | None = None,
    sis: int | None = None,
) -> CadRads:
    """CAD-RADS 2.0 category, modifiers and plaque burden.

    Every yes/no input is ``True``, ``False`` or ``None`` (unknown). The category is given
    only when it is the same for every value the unknown inputs could take; otherwise
    ``category`` is ``None`` with ``missing`` naming the inputs and ``details["would_be"]``
    the category each value gives. An unknown *modifier* (HRP, I, S, G, E; N with a
    stenosis ≥50 %) does not change the category: it is reported as not assessed
    (``details["modifiers_not_assessed"]``), never as absent.

    Parameters
    ----------
    stenoses
        Maximal diameter stenosis (%) per coronary segment or vessel the reader reported,
        keys as in :data:`SEGMENT_VESSEL` (``"LM"``, ``"pLAD"``, ``"D1"``, ``"OM1"``,
        ``"mRCA"``…, case-insensitive); values 0–100. A segment not listed is taken as
        without stenosis (a CAD-RADS report lists its lesions); an empty mapping therefore
        says no stenosis was reported, which is category 0 only with ``plaque_present=False``.
        A segment reported more than once (a list of values, or the same name twice in
        different case) with different values is a contradiction.
    plaque_present
        Whether any plaque is present (makes 0 % stenosis category 1 rather than 0). Known
        without it when CAC > 0, SIS > 0 or a stenosis > 0 % is given (plaque), or SIS = 0
        (no plaque).
    non_diagnostic
        One or more non-diagnostic segments. With maximal stenosis <50 % the category is
        ``"N"``; with ≥50 % the category stands and ``N`` is a modifier (☑C; ⚠M).
    high_risk_plaque
        ``True``/``False``/``None`` (not assessed), or the set of HRP features seen
        (``positive_remodelling``, ``low_attenuation`` (<30 HU), ``spotty_calcification``,
        ``napkin_ring``); HRP needs ≥2. A list is taken as the complete set of features
        assessed and seen: when a feature was not assessed and the list has one feature, pass
        ``None``.
    ischaemia
        ``"+"``, ``"-"`` or ``"±"`` from CT-FFR or CT perfusion (reader's call), or ``None``
        (not assessed).
    stent, graft, exception
        Modifiers S, G and E (non-atherosclerotic cause: dissection, anomaly, aneurysm,
        vasculitis, fistula, extrinsic compression, AV malformation).
    cac, sis
        Agatston score and segment involvement score for the plaque burden
        (:func:`cad_rads_plaque_burden`).

    Returns
    -------
    CadRads
        ``contradictions`` holds an ``input_contradiction`` finding for each pair of inputs
        that contradict each other (no plaque with a stenosis, CAC or SIS; SIS 0 with a
        stenosis or plaque; a segment reported twice with different values). A contradiction
        that could change the category makes it not assessable; none is resolved silently.

    Notes
    -----
    Category from the per-patient maximal stenosis: 0 %, 1–24 %, 25–49 %, 50–69 %,
    70–99 % (4A, 1–2 vessels), 100 % (5); 4B when left main ≥50 % (<100 %) or LAD, LCx and
    RCA all ≥70 %. Category 0 needs absence of plaque and stenosis. Cury RC et al.,
    J Cardiovasc Comput Tomogr 2022;16:536–557, doi:10.1016/j.jcct.2022.07.002.
    """
    if not isinstance(stenoses, Mapping):
        raise InvalidInputError(f"stenoses={stenoses!r}: expected a mapping of segment name -> stenosis %")
    reported: dict[str, list[tuple[str, float]]] = {}  # canonical name -> [(key as given, value)]
    for key, value in stenoses.items():
        name = str(key).strip().lower()
        if name not in SEGMENT_VESSEL:
            raise InvalidInputError(f"stenoses key {key!r}: expected a coronary segment/vessel among {sorted(SEGMENT_VESSEL)}")
        reported.setdefault(name, []).extend((str(key), x) for x in _segment_values(key, value))
    plaque_given = v.flag("plaque_present", plaque_present)
    non_diagnostic = v.flag("non_diagnostic", non_diagnostic)
    stent, graft, exception = v.flag("stent", stent), v.flag("graft", graft), v.flag("exception", exception)
    cac = v.optional("cac", cac, 0, 100000, unit="Agatston")
    if sis is not None:
        sis = v.integer("sis", sis, 0, 18)
    ischaemia_mod = None if ischaemia is None else ISCHAEMIA[v.choice("ischaemia", ischaemia, list(ISCHAEMIA))]
    if high_risk_plaque is None or isinstance(high_risk_plaque, bool):
        hrp, hrp_features = v.flag("high_risk_plaque", high_risk_plaque), None
    else:
        hrp_features = sorted({v.choice("high_risk_plaque feature", f, sorted(HRP_FEATURES)) for f in high_risk_plaque})
        hrp = len(hrp_features) >= 2

    options = {name: tuple(sorted({x for _, x in vals})) for name, vals in reported.items()}
    shown = {vals[0][0]: (vals[0][1] if len(options[n]) == 1 else [x for _, x in vals]) for n, vals in reported.items()}
    inputs: dict[str, Any] = {
        "stenoses": {k: {"value": x, "unit": "%"} for k, x in shown.items()}, "cac": cac, "sis": sis,
        "plaque_present": plaque_given, "non_diagnostic": non_diagnostic, "ischaemia": ischaemia,
        "high_risk_plaque": hrp if hrp_features is None else hrp_features,
        "stent": stent, "graft": graft, "exception": exception}

    contradictions = _contradictions(reported, options, plaque_given=plaque_given, exception=exception, cac=cac, sis=sis)

    # -- what plaque status the inputs allow -------------------------------------------------------
    plaque_contradicted = any("plaque_present" in c.details["values"] or "sis" in c.details["values"]
                              for c in contradictions)
    if plaque_contradicted:
        plaque_options: tuple[bool, ...] = (True, False)  # either side of the contradiction may be the wrong one
    elif plaque_given is not None:
        plaque_options = (plaque_given,)
    elif (cac is not None and cac > 0) or (sis is not None and sis > 0):
        plaque_options = (True,)  # calcium or segments with plaque
    elif sis == 0:
        plaque_options = (False,)
    else:
        plaque_options = (True, False)
    nd_options = (non_diagnostic,) if non_diagnostic is not None else (True, False)

    # -- enumerate: the category must be the same for every value the inputs allow -----------------
    names = sorted(options)
    outcomes: dict[tuple[tuple[str, str], ...], str] = {}
    for combo in product(*(options[n] for n in names)):
        values = dict(zip(names, combo))
        for plaque in plaque_options:
            vals = values
            if not plaque and plaque_contradicted and exception is not True:
                vals = {n: 0.0 for n in values}  # no plaque: the stenoses given are what is wrong
            for nd in nd_options:
                key = tuple((f"{reported[n][0][0]} stenosis", f"{x:g} %") for n, x in values.items() if len(options[n]) > 1)
                if len(plaque_options) > 1:
                    key += (("plaque", "present" if plaque else "absent"),)
                if len(nd_options) > 1:
                    key += (("non-diagnostic segments", "yes" if nd else "no"),)
                outcomes[key] = _category(vals, plaque, nd)
    categories = set(outcomes.values())
    max_st = max((max(o) for o in options.values()), default=0.0)
    per_vessel: dict[str, float] = {}
    for n, o in options.items():
        if SEGMENT_VESSEL[n] is not None:
            per_vessel[SEGMENT_VESSEL[n]] = max(per_vessel.get(SEGMENT_VESSEL[n], 0.0), max(o))
    three_vessel = all(per_vessel.get(x, 0.0) >= OBSTRUCTIVE for x in ("LAD", "LCx", "RCA"))
    details: dict[str, Any] = {
        "per_vessel_max": per_vessel, "left_main_4b_threshold": LEFT_MAIN_4B,
        "three_vessel_obstructive": three_vessel, "hrp_features": hrp_features,
        "unlisted_segments": "taken as without stenosis (the report lists lesions)",
        "unverified": "LM boundary at exactly 50 % and CAC exactly 1000 (P3/P4) are ⚠M"}
    if contradictions:
        details["contradictions"] = [c.statement for c in contradictions]
    if len(categories) > 1:
        missing = []
        for label in _unknowns.mattering(outcomes):
            if label == "plaque":
                missing.append("a consistent plaque status (plaque present or not)" if plaque_contradicted else
                               "whether coronary plaque is present")
            elif label == "non-diagnostic segments":
                missing.append("whether any coronary segment was non-diagnostic")
            else:
                missing.append(f"one consistent {label} value")
        would_be = _unknowns.would_be(outcomes, lambda cat: f"CAD-RADS {cat}")
        why = ("the inputs contradict each other: " + "; ".join(c.statement.split(": ", 1)[1] for c in contradictions)
               if contradictions else "it depends on " + ", ".join(missing))
        return CadRads(category=None, modifiers=(), plaque_burden=None, label="CAD-RADS not assessable",
                       descriptor=why, management="", max_stenosis=max_st, inputs=inputs,
                       details={**details, "would_be": would_be, "possible_categories": sorted(categories)},
                       missing=tuple(missing), contradictions=tuple(contradictions))
    category = categories.pop()

    modifiers: list[str] = []
    not_assessed: list[str] = []
    if category != "N" and max_st >= 50:
        if non_diagnostic:
            modifiers.append("N")
        elif non_diagnostic is None:
            not_assessed.append("N")
    if hrp:
        modifiers.append("HRP")
    elif hrp is None:
        not_assessed.append("HRP")
    if ischaemia_mod is not None:
        modifiers.append(ischaemia_mod)
    else:
        not_assessed.append("I")
    for m, on in (("S", stent), ("G", graft), ("E", exception)):
        if on:
            modifiers.append(m)
        elif on is None:
            not_assessed.append(m)

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
        descriptor=descriptor, management=management, max_stenosis=max_st, inputs=inputs,
        details={**details, "plaque_burden_source": p_source, "modifiers_not_assessed": not_assessed},
        contradictions=tuple(contradictions),
    )
