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

      dP_e = (K_t rho / 2) (A0 / A_s - 1)^2 (Q / A0)^2,   K_t = 1.52

  (K_t = 1.52 and the form of the term are ☑C: the same value and expression appear in
  several independent public reduced-order coronary codes, one attributing K_t to Seeley BD,
  Young DF, J Biomech 1976; Young & Tsai's own lumped viscous term
  ``K_v = 32 (0.83 L_s + 1.64 D_s) / D0 (A0/A_s)^2`` is replaced here by the exact
  Poiseuille integral over the measured areas)

  with ``A0`` the reference area and ``A_s`` the minimal lumen area; it accrues across the
  stenosis' divergent part (between the throat and the lesion's distal end, in proportion
  to ``(A0/A_s - 1)^2 - (A0/A(s) - 1)^2``), so pressure never rises along the vessel.

Flow. Resting flow of the whole coronary circulation from myocardial mass by an allometric
law ``Q_rest = q_ref (M / M_ref)^0.75`` (exponent 3/4: Choy JS, Kassab GS, scaling of
myocardial mass to flow and morphometry of coronary arteries, J Appl Physiol 2008 —
⚠M, not verified; ``q_ref`` = 150 mL/min at ``M_ref`` = 150 g, i.e. 1 mL/min/g, ⚠M).
It is split between trees (root inlet diameters) and among each tree's outlets (outlet
diameters) by Murray's law, flow ∝ d³ of the reference diameter (Murray CD. The physiological principle of minimum work: I.
The vascular system and the cost of blood volume. PNAS 1926;12:207–214,
doi:10.1073/pnas.12.3.207; ✅S). Each branch ends in a microvascular resistance
``R_rest = (Pa - Pv) / Q_rest,outlet``; hyperaemia lowers it to ``0.24 R_rest`` (Taylor CA,
Fonte TA, Min JK. Computational fluid dynamics applied to cardiac computed tomography for
noninvasive quantification of fractional flow reserve. J Am Coll Cardiol
2013;61:2233–2241, doi:10.1016/j.jacc.2012.11.083; ⚠M: factor not re-read). Hyperaemic
flow then solves ``P_in - Pv - a Q - b Q^2 = R_h Q`` (``a`` viscous, ``b`` expansion
coefficients of the branch), the positive root of a quadratic, for one vessel
(:func:`ffr_along_vessel`); for a tree (:func:`ffr_tree`) flow is conserved at junctions
and outlet flows are solved by fixed-point iteration. FFR(s) = P(s) / Pa.

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
             model: FlowModel = FlowModel(), max_iter: int = 200, tol: float = 1e-8) -> dict[str, dict[str, Any]]:
    """FFR along every branch of every tree (research estimate): a 1-D network solve.

    Each branch from :func:`~heartprint.ct.extract_centrelines` ends at an outlet. Total
    resting flow (from ``myocardial_mass_g``, :meth:`FlowModel.resting_flow_ml_s`) is split
    between trees by Murray's law on the root inlet diameters, and within a tree among the
    outlets by Murray's law on the outlet reference diameters (∝ d³); each outlet gets the
    hyperaemic microvascular resistance ``hyperaemia_factor × (Pa − Pv) / Q_rest``. The flow
    at arc ``s`` of a branch is its own outlet flow plus that of every branch leaving it
    distal to ``s`` (mass is conserved at junctions); a side branch's inlet pressure is the
    parent's pressure where it leaves. Outlet flows are found by damped fixed-point
    iteration until the relative change is below ``tol``. For a single branch this reduces
    exactly to :func:`ffr_along_vessel`.

    Returns ``{branch name: {"ffr": (N,), "pressure_mmhg": (N,), "flow_ml_s" (outlet,
    hyperaemic), "inlet_flow_ml_s", "resting_flow_ml_s", "distal_ffr", "note"}}`` with
    ``nan`` at points not analysed.
    """
    profiles = [p for p in profiles]
    if not profiles:
        return {}
    q_total = model.resting_flow_ml_s(myocardial_mass_g)
    names = [p.name for p in profiles]
    by_name = {p.name: p for p in profiles}
    data: dict[str, dict[str, Any]] = {}
    for p in profiles:
        v = p.valid & np.isfinite(p.area_mm2)
        arc, area = p.centreline.arc_mm[v], np.maximum(p.area_mm2[v], 1e-3)
        dref = p.reference_diameter_mm[v] if v.any() else np.array([np.nanmedian(p.reference_diameter_mm)])
        data[p.name] = {"arc": arc, "area": area, "d_in": float(dref[0]), "d_out": float(dref[-1]),
                        "lesions": [(les.mla_arc_mm, les.end_mm, np.pi * les.reference_diameter_mm**2 / 4,
                                     les.mla_mm2) for les in p.lesions],
                        "parent": p.centreline.parent if p.centreline.parent in by_name else None,
                        "parent_arc": p.centreline.parent_arc_mm, "tree": p.centreline.tree}
    order: list[str] = []  # parents before children
    pending = list(names)
    while pending:
        nxt = [n for n in pending if data[n]["parent"] is None or data[n]["parent"] in order]
        if not nxt:  # a cycle cannot happen for a skeleton tree; treat the rest as roots
            nxt = pending
            for n in nxt:
                data[n]["parent"] = None
        order += nxt
        pending = [n for n in pending if n not in nxt]
    children = {n: [c for c in order if data[c]["parent"] == n] for n in order}
    roots = {}
    for n in order:
        if data[n]["parent"] is None:
            roots.setdefault(data[n]["tree"], n)
    root_d3 = {tr: data[n]["d_in"] ** 3 for tr, n in roots.items()}
    total_d3 = sum(root_d3.values()) or 1.0
    out_d3: dict[int, float] = {}
    for n in order:
        out_d3[data[n]["tree"]] = out_d3.get(data[n]["tree"], 0.0) + data[n]["d_out"] ** 3
    drive = model.pa_mmhg - model.pv_mmhg
    for n in order:
        d = data[n]
        tree_q = q_total * root_d3.get(d["tree"], 0.0) / total_d3 if d["tree"] in root_d3 else q_total
        d["q_rest"] = max(tree_q * d["d_out"] ** 3 / out_d3[d["tree"]], 1e-9)
        d["r_h"] = model.hyperaemia_factor * drive / d["q_rest"]
        d["q"] = d["q_rest"] / model.hyperaemia_factor
        a = d["area"] * MM2_M2
        d["visc_w"] = 8 * np.pi * model.viscosity_pa_s / a**2 * ML_M3 / MMHG_PA  # mmHg per (mL/s) per m
        fracs = []
        for mla_arc, end_arc, a0, amin in d["lesions"]:
            full = model.kt * model.density_kg_m3 / 2 * (a0 / amin - 1) ** 2 / (a0 * MM2_M2) ** 2 * ML_M3**2 / MMHG_PA
            _, e = _coefficients(d["arc"], d["area"], [(mla_arc, end_arc, a0, amin)], model)
            fracs.append((mla_arc, e / full if full > 0 else e, full))
        d["exp"] = fracs

    def solve() -> None:
        total: dict[str, float] = {}
        for n in reversed(order):
            total[n] = data[n]["q"] + sum(total[c] for c in children[n])
        for n in order:
            d = data[n]
            arc = d["arc"]
            if len(arc) == 0:
                d["p"] = np.array([])
                d["p_in"] = model.pa_mmhg
                continue
            q_s = np.full(len(arc), d["q"])
            for c in children[n]:
                pa_c = data[c]["parent_arc"]
                q_s = q_s + np.where(arc < (pa_c if pa_c is not None else -np.inf), total[c], 0.0)
            x = arc * MM_M
            inc = 0.5 * (d["visc_w"][1:] * q_s[1:] + d["visc_w"][:-1] * q_s[:-1]) * np.diff(x)
            drop = np.concatenate([[0.0], np.cumsum(inc)])
            for mla_arc, frac, full in d["exp"]:
                q_m = float(np.interp(mla_arc, arc, q_s))
                drop = drop + full * q_m * q_m * frac
            p_in = model.pa_mmhg
            par = d["parent"]
            if par is not None and len(data[par]["arc"]) and d["parent_arc"] is not None:
                p_in = float(np.interp(d["parent_arc"], data[par]["arc"], data[par]["p"]))
            d["p_in"] = p_in
            d["p"] = np.minimum.accumulate(p_in - drop)
            d["q_in"] = float(q_s[0])

    for _ in range(max_iter):
        solve()
        change = 0.0
        for n in order:
            d = data[n]
            p_end = d["p"][-1] if len(d["p"]) else d["p_in"]
            new = max((p_end - model.pv_mmhg) / d["r_h"], 1e-9)
            change = max(change, abs(new - d["q"]) / max(d["q"], 1e-12))
            d["q"] = 0.5 * d["q"] + 0.5 * new
        if change < tol:
            break
    solve()
    out: dict[str, dict[str, Any]] = {}
    for p in profiles:
        d = data[p.name]
        v = p.valid & np.isfinite(p.area_mm2)
        ffr = np.full(len(p.centreline.arc_mm), np.nan)
        pres = np.full(len(p.centreline.arc_mm), np.nan)
        if len(d["p"]):
            pres[v] = d["p"]
            ffr[v] = d["p"] / model.pa_mmhg
        out[p.name] = {"ffr": ffr, "pressure_mmhg": pres, "flow_ml_s": float(d["q"]),
                       "inlet_flow_ml_s": float(d.get("q_in", d["q"])), "resting_flow_ml_s": float(d["q_rest"]),
                       "distal_ffr": float(d["p"][-1] / model.pa_mmhg) if len(d["p"]) else None,
                       "note": FFR_DISCLAIMER}
    return out
