"""CT-FFR research estimate: a reduced-order (1-D) model of hyperaemic coronary flow.

**Research estimate only — not a validated clinical CT-FFR.** Every output says so.

Model (SI units inside; inputs/outputs in mm, mm², mL/s, mmHg)
--------------------------------------------------------------
Pressure falls along a vessel by two terms (the decomposition of Young DF, Tsai FY. Flow
characteristics in models of arterial stenoses — I. Steady flow. J Biomech 1973;6:395–410,
doi:10.1016/0021-9290(73)90099-7; ⚠M: citation from the issue, not re-read):

* viscous loss, Poiseuille's law integrated along the measured lumen::

      dP_v(s) = ∫_0^s 8 pi mu Q / A(x)^2 dx       (= 8 mu L Q / (pi r^4) for a uniform tube)

* convective (expansion) loss of each stenosis, Young & Tsai's turbulent term::

      dP_e = (K_t rho / 2) (A0 / A_s - 1)^2 (Q / A0)^2,   K_t = 1.52 (⚠M)

  with ``A0`` the reference area and ``A_s`` the minimal lumen area; it accrues across the
  stenosis' divergent part (between the throat and the lesion's distal end, in proportion
  to ``(A0/A_s - 1)^2 - (A0/A(s) - 1)^2``), so pressure never rises along the vessel.

Flow. Resting flow of the whole coronary circulation from myocardial mass by an allometric
law ``Q_rest = q_ref (M / M_ref)^0.75`` (exponent 3/4: Choy JS, Kassab GS, scaling of
myocardial mass to flow and morphometry of coronary arteries, J Appl Physiol 2008 —
⚠M, not verified; ``q_ref`` = 150 mL/min at ``M_ref`` = 150 g, i.e. 1 mL/min/g, ⚠M).
It is split between trees and branches by Murray's law, flow ∝ d³ of the reference
diameter at the branch inlet (Murray CD. The physiological principle of minimum work: I.
The vascular system and the cost of blood volume. PNAS 1926;12:207–214,
doi:10.1073/pnas.12.3.207; ✅S). Each branch ends in a microvascular resistance
``R_rest = (Pa - Pv) / Q_rest,branch``; hyperaemia lowers it to ``0.24 R_rest`` (Taylor CA,
Fonte TA, Min JK. Computational fluid dynamics applied to cardiac computed tomography for
noninvasive quantification of fractional flow reserve. J Am Coll Cardiol
2013;61:2233–2241, doi:10.1016/j.jacc.2012.11.083; ⚠M: factor not re-read). Hyperaemic
flow then solves ``P_in - Pv - a Q - b Q^2 = R_h Q`` (``a`` viscous, ``b`` expansion
coefficients of the branch), the positive root of a quadratic. A side branch's inlet
pressure is its parent's pressure where it leaves. FFR(s) = P(s) / Pa.

Defaults: mean aortic pressure 93 mmHg (a typical mean arterial pressure, ⚠M), venous
pressure 0 mmHg, blood viscosity 3.5 mPa·s and density 1060 kg/m³ (textbook values used by
the CT-FFR literature, ⚠M).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from heartprint.ct._stenosis import VesselProfile
from heartprint.errors import InvalidInputError

__all__ = ["FFR_DISCLAIMER", "FlowModel", "poiseuille_drop_mmhg", "stenosis_expansion_drop_mmhg",
           "ffr_along_vessel", "ffr_tree"]

FFR_DISCLAIMER = ("Research estimate from a reduced-order (1-D) flow model; not a validated clinical CT-FFR "
                  "and not for patient management.")
MMHG_PA = 133.322387415  # 1 mmHg in Pa
ML_M3 = 1e-6  # 1 mL in m³
MM_M = 1e-3
MM2_M2 = 1e-6


@dataclass(frozen=True)
class FlowModel:
    """Constants of the reduced-order model (see module docstring for sources)."""

    pa_mmhg: float = 93.0
    pv_mmhg: float = 0.0
    viscosity_pa_s: float = 3.5e-3
    density_kg_m3: float = 1060.0
    kt: float = 1.52
    hyperaemia_factor: float = 0.24
    q_ref_ml_min: float = 150.0
    mass_ref_g: float = 150.0
    mass_exponent: float = 0.75

    def resting_flow_ml_s(self, myocardial_mass_g: float) -> float:
        """Total resting coronary flow (mL/s) from LV myocardial mass (g)."""
        if not myocardial_mass_g > 0:
            raise InvalidInputError(f"myocardial_mass_g={myocardial_mass_g}: expected > 0 g")
        return self.q_ref_ml_min / 60.0 * (myocardial_mass_g / self.mass_ref_g) ** self.mass_exponent


def poiseuille_drop_mmhg(length_mm: float, radius_mm: float, flow_ml_s: float, viscosity_pa_s: float = 3.5e-3) -> float:
    """Hagen–Poiseuille pressure drop ``8 mu L Q / (pi r^4)`` (mmHg) of a uniform tube."""
    return 8 * viscosity_pa_s * length_mm * MM_M * flow_ml_s * ML_M3 / (np.pi * (radius_mm * MM_M) ** 4) / MMHG_PA


def stenosis_expansion_drop_mmhg(reference_area_mm2: float, minimal_area_mm2: float, flow_ml_s: float,
                                 kt: float = 1.52, density_kg_m3: float = 1060.0) -> float:
    """Young–Tsai expansion loss ``(K_t rho / 2)(A0/As - 1)^2 (Q/A0)^2`` (mmHg)."""
    a0 = reference_area_mm2 * MM2_M2
    u = flow_ml_s * ML_M3 / a0
    return kt * density_kg_m3 / 2 * (reference_area_mm2 / minimal_area_mm2 - 1) ** 2 * u * u / MMHG_PA


def _coefficients(arc_mm: np.ndarray, area_mm2: np.ndarray, lesions: Sequence[tuple[float, float, float, float]],
                  model: FlowModel) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative viscous (mmHg per mL/s) and expansion (mmHg per (mL/s)²) coefficients, ``(N,)``."""
    a = np.maximum(area_mm2, 1e-3) * MM2_M2
    integrand = 8 * np.pi * model.viscosity_pa_s / a**2 * ML_M3 / MMHG_PA  # mmHg per (mL/s) per m
    x = arc_mm * MM_M
    visc = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(x))]) if len(x) else x
    exp = np.zeros_like(visc)
    for mla_arc, end_arc, a0, amin in lesions:
        full = model.kt * model.density_kg_m3 / 2 * (a0 / amin - 1) ** 2 / (a0 * MM2_M2) ** 2 * ML_M3**2 / MMHG_PA
        after = arc_mm >= end_arc
        mid = (arc_mm >= mla_arc) & ~after
        frac = np.zeros_like(arc_mm)
        if (a0 / amin - 1) > 0:
            part = (a0 / amin - 1) ** 2 - (a0 / np.maximum(area_mm2, amin) - 1) ** 2
            frac[mid] = np.clip(part[mid] / (a0 / amin - 1) ** 2, 0, 1)
        frac[after] = 1.0
        exp += full * np.maximum.accumulate(frac)
    return visc, exp


def ffr_along_vessel(
    arc_mm: np.ndarray,
    area_mm2: np.ndarray,
    *,
    resting_flow_ml_s: float,
    lesions: Sequence[tuple[float, float, float, float]] = (),
    inlet_pressure_mmhg: float | None = None,
    model: FlowModel = FlowModel(),
) -> dict[str, Any]:
    """Hyperaemic pressure and FFR along one vessel (research estimate).

    Parameters
    ----------
    arc_mm, area_mm2
        ``(N,)`` arc length (mm) and lumen area (mm²) along the vessel.
    resting_flow_ml_s
        Resting flow through the vessel (mL/s); sets its microvascular resistance.
    lesions
        ``(mla_arc_mm, end_arc_mm, reference_area_mm2, minimal_area_mm2)`` per stenosis.
    inlet_pressure_mmhg
        Pressure at the vessel's inlet (default the aortic pressure ``model.pa_mmhg``).

    Returns
    -------
    dict
        ``ffr`` ``(N,)``, ``pressure_mmhg`` ``(N,)``, ``flow_ml_s`` (hyperaemic), and the
        coefficients used; ``note`` is :data:`FFR_DISCLAIMER`.
    """
    arc = np.asarray(arc_mm, float)
    area = np.asarray(area_mm2, float)
    if arc.shape != area.shape or arc.ndim != 1:
        raise InvalidInputError(f"arc_mm {arc.shape} and area_mm2 {area.shape}: expected equal 1-D shapes")
    if not resting_flow_ml_s > 0:
        raise InvalidInputError(f"resting_flow_ml_s={resting_flow_ml_s}: expected > 0 mL/s")
    p_in = model.pa_mmhg if inlet_pressure_mmhg is None else float(inlet_pressure_mmhg)
    drive = model.pa_mmhg - model.pv_mmhg
    r_h = model.hyperaemia_factor * drive / resting_flow_ml_s  # mmHg per mL/s
    if len(arc) == 0:
        return {"ffr": np.array([]), "pressure_mmhg": np.array([]), "flow_ml_s": 0.0, "note": FFR_DISCLAIMER}
    visc, exp = _coefficients(arc, area, lesions, model)
    a, b = visc[-1], exp[-1]
    head = p_in - model.pv_mmhg
    if b > 0:
        q = (-(a + r_h) + np.sqrt((a + r_h) ** 2 + 4 * b * head)) / (2 * b)
    else:
        q = head / (a + r_h)
    pressure = p_in - visc * q - exp * q * q
    pressure = np.minimum.accumulate(pressure)
    return {"ffr": pressure / model.pa_mmhg, "pressure_mmhg": pressure, "flow_ml_s": float(q),
            "viscous_coefficient": float(a), "expansion_coefficient": float(b),
            "microvascular_resistance_mmhg_s_per_ml": float(r_h), "note": FFR_DISCLAIMER}


def ffr_tree(profiles: Sequence[VesselProfile], *, myocardial_mass_g: float = 150.0,
             model: FlowModel = FlowModel()) -> dict[str, dict[str, Any]]:
    """FFR along every branch (research estimate), branches processed parent first.

    Total resting flow from ``myocardial_mass_g`` is split among trees and branches by
    Murray's law (∝ d_ref³ at each branch's first analysed point). Only analysed
    (``valid``) points are used; results are mapped back to all points (``nan`` elsewhere).
    """
    profiles = list(profiles)
    if not profiles:
        return {}
    q_total = model.resting_flow_ml_s(myocardial_mass_g)

    def inlet_d(p: VesselProfile) -> float:
        d = p.reference_diameter_mm[p.valid]
        return float(d[0]) if len(d) else float(np.nanmedian(p.reference_diameter_mm))

    roots = [p for p in profiles if p.centreline.parent is None]
    root_d3 = {p.centreline.tree: inlet_d(p) ** 3 for p in roots}
    total_d3 = sum(root_d3.values()) or 1.0
    by_name = {p.name: p for p in profiles}
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(profiles, key=lambda x: (x.centreline.parent is not None, x.name)):
        cl = p.centreline
        tree_q = q_total * root_d3.get(cl.tree, 0.0) / total_d3
        tree_d3 = root_d3.get(cl.tree, inlet_d(p) ** 3)
        q_rest = tree_q * min(1.0, inlet_d(p) ** 3 / tree_d3)
        p_in = None
        if cl.parent is not None and cl.parent in out and cl.parent_arc_mm is not None:
            par = out[cl.parent]
            parc = by_name[cl.parent].centreline.arc_mm
            pr = np.asarray(par["pressure_mmhg"], float)
            ok = np.isfinite(pr)
            if ok.any():
                p_in = float(np.interp(cl.parent_arc_mm, parc[ok], pr[ok]))
        v = p.valid
        lesions = [(les.mla_arc_mm, les.end_mm, np.pi * les.reference_diameter_mm**2 / 4, les.mla_mm2)
                   for les in p.lesions]
        res = ffr_along_vessel(cl.arc_mm[v], p.area_mm2[v], resting_flow_ml_s=max(q_rest, 1e-6), lesions=lesions,
                               inlet_pressure_mmhg=p_in, model=model)
        ffr = np.full(len(cl.arc_mm), np.nan)
        pres = np.full(len(cl.arc_mm), np.nan)
        ffr[v], pres[v] = res["ffr"], res["pressure_mmhg"]
        out[p.name] = {**res, "ffr": ffr, "pressure_mmhg": pres, "resting_flow_ml_s": q_rest,
                       "distal_ffr": float(res["ffr"][-1]) if len(res["ffr"]) else None}
    return out
