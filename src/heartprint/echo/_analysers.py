"""The echo modality's analysers: a vendor's Adult Echocardiography Procedure Report (TID 5200) and the
B-mode cine (GLS and the regional strain bull's-eye from a tracing; :mod:`heartprint.echo._cine`).

An SR carries no pixels, so the analyser reads the series' DICOM datasets (``reads="headers"``).
Its measurements (E/e′, e′, TR velocity, LA volume index, LVEF …) join the study's and feed the
clinical rules (diastolic function, HFA-PEFF, H2FPEF, heart-failure type) without retyping. An SR
that is not an echo report is left alone (``not_analysed``, with the reason).
"""

from __future__ import annotations

from typing import Any

from heartprint.measure import QCFlag, Severity
from heartprint.results import Analyser, AnalysisContext, SeriesResult

__all__ = ["ANALYSERS"]


def _run_sr(headers: list[Any], ctx: AnalysisContext) -> SeriesResult:
    from heartprint.echo._sr import is_echo_report, read_echo_sr

    uid = str(headers[0].get("SeriesInstanceUID", "")) if headers else ""
    reports = [ds for ds in headers if is_echo_report(ds)]
    if not reports:
        return SeriesResult(uid, "sr", "not_analysed",
                            message="structured report that is not an Adult Echocardiography Procedure Report "
                                    "(TID 5200); nothing read")
    measurements, qc, unmapped = [], [], []
    for ds in reports:
        got = read_echo_sr(ds)
        # the series is the source (never a file name)
        measurements += [m.model_copy(update={"source": uid, "modality": "US"}) for m in got.measurements]
        unmapped += got.unmapped
        qc += [QCFlag(code="echo_sr_note", severity=Severity.INFO, message=n) for n in got.notes]
    measurements += _derived(measurements, uid)
    measurements += _indexed(measurements, uid, ctx, reports[0])
    from heartprint.echo._cine import tracings_from_sr

    tracings = []
    for ds in reports:
        found, notes = tracings_from_sr(ds)
        tracings += [t.to_dict() for t in found]
        qc += [QCFlag(code="echo_sr_tracing", severity=Severity.INFO, message=n) for n in notes]
    return SeriesResult(series_uid=uid, kind="sr", status="analysed", measurements=measurements, qc=qc,
                        method="vendor measurements from the echo SR (TID 5200), codes mapped by "
                               "heartprint.echo._sr.CODE_TABLE; repeats resolved by Selection Status or averaged",
                        details={"unmapped": unmapped, "n_reports": len(reports), "tracings": tracings})


def _derived(measurements: list[Any], uid: str) -> list[Any]:
    """What the guidelines ask that the vendor did not write: RWT and linear LV mass from the wall and cavity
    dimensions (ASE/EACVI 2015), each with the measurements it came from in its method."""
    from heartprint.echo._geometry import lv_mass_linear, relative_wall_thickness
    from heartprint.measure import Measurement

    have = {m.code: m for m in measurements if m.segment is None}
    out = []
    ivs, lvid, pw = have.get("echo_ivsd"), have.get("echo_lvidd"), have.get("echo_lvpwd")
    src = f"IVSd {ivs.value:.1f} mm, " if ivs else ""
    if lvid is not None and pw is not None and "rwt" not in have:
        out.append(Measurement(code="rwt", name="Relative wall thickness", value=relative_wall_thickness(pw.value, lvid.value),
                               unit="1", method=f"2 x PWd / LVIDd (PWd {pw.value:.1f} mm, LVIDd {lvid.value:.1f} mm)",
                               reference="Lang RM et al. J Am Soc Echocardiogr 2015;28:1-39", source=uid, modality="US"))
    if ivs is not None and lvid is not None and pw is not None and "lv_mass" not in have:
        out.append(Measurement(code="lv_mass", name="LV mass (linear, cube formula)",
                               value=lv_mass_linear(ivs.value, lvid.value, pw.value), unit="g",
                               method=f"0.8 x 1.04 x [(IVSd + LVIDd + PWd)^3 - LVIDd^3] + 0.6 g ({src}LVIDd "
                                      f"{lvid.value:.1f} mm, PWd {pw.value:.1f} mm)",
                               reference="Devereux RB et al. Am J Cardiol 1986;57:450-458; Lang RM et al. 2015",
                               source=uid, modality="US"))
    out += _derived_valves(have, uid)
    return out


def _derived_valves(have: dict[str, Any], uid: str) -> list[Any]:
    """LVOT stroke volume, continuity-equation AVA and the dimensionless index from the LVOT diameter and the
    LVOT and aortic VTIs, when the vendor wrote those but not these (Baumgartner H et al., EACVI/ASE 2017
    recommendations on aortic stenosis, J Am Soc Echocardiogr 2017;30:372-392, doi:10.1016/j.echo.2017.02.009)."""
    from heartprint.echo._valves import continuity_ava_cm2, dimensionless_index, stroke_volume_lvot
    from heartprint.measure import Measurement

    ref = "Baumgartner H et al. EACVI/ASE 2017, doi:10.1016/j.echo.2017.02.009"
    d, lv, av = have.get("echo_lvot_diameter"), have.get("echo_lvot_vti"), have.get("echo_av_vti")
    out = []
    if lv is not None and av is not None and "echo_av_dimensionless_index" not in have:
        out.append(Measurement(code="echo_av_dimensionless_index", name="Aortic dimensionless index",
                               value=dimensionless_index(lv.value, av.value), unit="1",
                               method=f"LVOT VTI / aortic VTI ({lv.value:.1f} cm / {av.value:.1f} cm)",
                               reference=ref, source=uid, modality="US"))
    if d is not None and lv is not None:
        if "echo_lvot_sv" not in have:
            out.append(Measurement(code="echo_lvot_sv", name="Stroke volume (LVOT)",
                                   value=stroke_volume_lvot(d.value, lv.value), unit="mL",
                                   method=f"pi x (LVOT diameter / 2)^2 x LVOT VTI (LVOT {d.value:.1f} mm, "
                                          f"VTI {lv.value:.1f} cm)", reference=ref, source=uid, modality="US"))
        if av is not None and "echo_ava" not in have:
            out.append(Measurement(code="echo_ava", name="Aortic valve area (continuity equation, VTI)",
                                   value=continuity_ava_cm2(d.value, lv.value, av.value), unit="cm2",
                                   method=f"LVOT area x LVOT VTI / aortic VTI (LVOT {d.value:.1f} mm, LVOT VTI "
                                          f"{lv.value:.1f} cm, aortic VTI {av.value:.1f} cm)",
                                   reference=ref, source=uid, modality="US"))
    return out


#: (measurement, indexed code, unit) indexed to BSA when the report gives the value but not its index.
_INDEXED = (("lv_mass", "lv_massi", "g/m2"), ("lv_edv", "lv_edvi", "mL/m2"), ("lv_esv", "lv_esvi", "mL/m2"),
            ("echo_la_volume", "lavi", "mL/m2"), ("echo_lvot_sv", "echo_lvot_svi", "mL/m2"),
            ("echo_ava", "echo_avai", "cm2/m2"))


def _indexed(measurements: list[Any], uid: str, ctx: AnalysisContext, ds: Any) -> list[Any]:
    """LV mass, volumes and LA volume indexed to BSA (Mosteller) from the run's height and weight, else the
    SR header's (0010,1020) Patient's Size and (0010,1030) Patient's Weight; nothing when either is unknown."""
    from heartprint.anthropometry import BSA_FORMULAS, body_surface_area
    from heartprint.measure import Measurement

    h = ctx.options.height_cm
    w = ctx.options.weight_kg
    how = "command line or facts file"
    if h is None or w is None:
        size, weight = ds.get("PatientSize"), ds.get("PatientWeight")
        try:
            h2 = float(size) * 100.0 if size not in (None, "") else None
            w2 = float(weight) if weight not in (None, "") else None
        except (TypeError, ValueError):
            h2 = w2 = None
        if h2 is None or w2 is None or not (50 <= h2 <= 250 and 2 <= w2 <= 400):
            return []
        h, w, how = h2, w2, "the report's (0010,1020)/(0010,1030)"
    bsa = body_surface_area(float(h), float(w))
    have = {m.code: m for m in measurements if m.segment is None}
    out = []
    for code, icode, unit in _INDEXED:
        m = have.get(code)
        if m is None or icode in have:
            continue
        out.append(Measurement(code=icode, name=f"{m.name} indexed to BSA", value=m.value / bsa, unit=unit,
                               method=f"{code} / BSA {bsa:.3f} m2 (Mosteller, height {float(h):g} cm, weight "
                                      f"{float(w):g} kg from {how})", reference=BSA_FORMULAS["mosteller"],
                               source=uid, modality="US", phase=m.phase))
    return out


def _run_cine(image: Any, ctx: AnalysisContext) -> SeriesResult:
    """An apical B-mode cine: GLS and the regional strain map from the tracing the user's contour file, the
    study's echo SR or an installed echo model gives; ``not_analysed`` with the reason when none does
    (:func:`heartprint.echo._cine.analyse_echo_cine`)."""
    from heartprint.echo._cine import analyse_echo_cine

    return analyse_echo_cine(image, ctx)


ANALYSERS = (
    Analyser(kind="sr", run=_run_sr, modality="US", section="function", reads="headers",
             title="echocardiography report (vendor SR)",
             emits=("lv_ef", "lv_edv", "lv_esv", "lv_mass", "lv_massi", "lv_edvi", "lv_esvi", "rwt", "heart_rate", "septal_e_prime", "lateral_e_prime",
                    "e_e_prime", "lavi", "mitral_e", "mitral_e_a", "tr_vmax",
                    "echo_av_vmax", "echo_av_mean_gradient", "echo_ava", "echo_avai", "echo_av_dimensionless_index",
                    "echo_lvot_sv", "echo_lvot_svi", "echo_mr_eroa", "echo_mr_rvol", "echo_mr_rf", "echo_mr_vc")),
    Analyser(kind="echo_cine", run=_run_cine, modality="US", section="function", needs=("sr",),
             title="echocardiography cine (speckle-tracking strain)",
             emits=("gls", "regional_longitudinal_strain", "lv_edv", "lv_esv", "lv_ef")),
)
