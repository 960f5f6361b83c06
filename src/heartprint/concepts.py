"""The one table of measurement concepts: stable key → name, UCUM unit, codes, plausible range.

Every :class:`~heartprint.measure.Measurement` ``code`` that a room emits or a user enters
is a key of :data:`CONCEPTS`. Each :class:`Concept` carries

* ``name`` — display name; ``unit`` — canonical UCUM unit the phenotype stores;
* ``codings`` — standard codes (LOINC ``LN``, SNOMED CT ``SCT``, DICOM ``DCM``). **Only
  codes that were verified are listed; where none was verified the tuple is empty** rather
  than holding a guessed code. Sources of verification:

  - ``DICOM PS3.16`` — the DICOM Content Mapping Resource as shipped in pydicom's
    concept dictionary (``pydicom.sr.codedict.codes``; pydicom 3.0.2), which lists the
    LOINC/SNOMED/DCM codes DICOM SR templates use, with their meanings;
  - ``loinc.org`` — the LOINC term page (10230-1 "Ejection fraction", Heart.ventricle.left);
  - laboratory test catalogues naming the LOINC of their assay (33762-6 NT-proBNP,
    serum/plasma: ARUP 0050083 and University of Vermont Medical Center).

  A coding may apply to one modality only (``modality``), e.g. LOINC 8811-2 "Left
  ventricular ejection fraction by MR".
* ``plausible`` — (low, high) in the canonical unit outside which an entered value is
  rejected as a typing or unit error. These are **plausibility limits, not normal ranges**.
* ``kind`` — ``imaging``, ``lab``, ``ecg`` or ``anthropometric``; ``regional`` says whether
  the value belongs to an AHA segment or a coronary vessel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["CONCEPTS", "Coding", "Concept", "concept", "codings_for"]

_PS316 = "DICOM PS3.16 via pydicom.sr.codedict (pydicom 3.0.2)"


@dataclass(frozen=True)
class Coding:
    """One code in a coding system: ``system`` is ``LN`` (LOINC), ``SCT`` (SNOMED CT) or ``DCM``."""

    system: str
    value: str
    meaning: str
    verified_by: str
    modality: str | None = None  # the coding is specific to this modality ("MR", "CT", "US")

    def to_dict(self) -> dict[str, str]:
        d = {"system": self.system, "value": self.value, "meaning": self.meaning, "verified_by": self.verified_by}
        if self.modality:
            d["modality"] = self.modality
        return d


@dataclass(frozen=True)
class Concept:
    """A measurable quantity (see the module docstring for the fields)."""

    code: str
    name: str
    unit: str
    plausible: tuple[float, float]
    kind: str = "imaging"
    regional: str | None = None  # None, "segment" or "vessel"
    codings: tuple[Coding, ...] = field(default_factory=tuple)

    def coding_for(self, modality: str | None = None) -> Coding | None:
        """The most specific coding: the one for ``modality`` if any, else the generic one."""
        specific = [c for c in self.codings if modality and c.modality == modality]
        generic = [c for c in self.codings if c.modality is None]
        return (specific or generic or [None])[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code, "name": self.name, "unit": self.unit, "kind": self.kind,
            "plausible": list(self.plausible), "regional": self.regional,
            "codings": [c.to_dict() for c in self.codings],
        }


def _ln(value: str, meaning: str, by: str = _PS316, modality: str | None = None) -> Coding:
    return Coding("LN", value, meaning, by, modality)


def _sct(value: str, meaning: str) -> Coding:
    return Coding("SCT", value, meaning, _PS316)


def _dcm(value: str, meaning: str) -> Coding:
    return Coding("DCM", value, meaning, _PS316)


_LOINC_ORG = "loinc.org term page"
_LAB_CATALOGUE = "laboratory test catalogues (ARUP 0050083; UVM Medical Center NTBNP)"

_TABLE: tuple[Concept, ...] = (
    # --- ventricular function (cmr/ct/echo/nuclear) ---------------------------------------
    Concept("lv_edv", "LV end-diastolic volume", "mL", (5, 1000),
            codings=(_ln("18026-5", "Left Ventricular End Diastolic Volume"),)),
    Concept("lv_esv", "LV end-systolic volume", "mL", (1, 900),
            codings=(_ln("18148-7", "Left Ventricular End Systolic Volume"),)),
    Concept("lv_sv", "LV stroke volume", "mL", (0, 300), codings=(_sct("90096001", "Stroke Volume"),)),
    Concept("lv_ef", "LV ejection fraction", "%", (1, 95), codings=(
        _ln("10230-1", "Ejection fraction (Heart.ventricle.left)", _LOINC_ORG),
        _ln("8811-2", "Left ventricular ejection fraction by MR", modality="MR"),
        _ln("8810-4", "Left ventricular ejection fraction by CT", modality="CT"),
        _ln("18043-0", "Left Ventricular Ejection Fraction by US", modality="US"),
    )),
    Concept("heart_rate", "Heart rate", "/min", (20, 250), codings=(_ln("8867-4", "Heart rate"),)),
    Concept("lv_co", "LV cardiac output", "L/min", (0.5, 30), codings=(_sct("82799009", "Cardiac Output"),)),
    Concept("lv_ci", "LV cardiac index", "L/min/m2", (0.3, 15), codings=(_sct("54993008", "Cardiac Index"),)),
    Concept("lv_mass", "LV myocardial mass", "g", (20, 800), codings=(_ln("18087-7", "Left Ventricle Mass"),)),
    Concept("lv_mass_es", "LV myocardial mass (ES)", "g", (20, 800)),
    Concept("lv_edvi", "LV end-diastolic volume index", "mL/m2", (5, 500)),
    Concept("lv_esvi", "LV end-systolic volume index", "mL/m2", (1, 450)),
    Concept("lv_svi", "LV stroke volume index", "mL/m2", (0, 150)),
    Concept("lv_massi", "LV mass index", "g/m2", (15, 400)),
    Concept("rv_edv", "RV end-diastolic volume", "mL", (5, 1000)),
    Concept("rv_esv", "RV end-systolic volume", "mL", (1, 900)),
    Concept("rv_sv", "RV stroke volume", "mL", (0, 300), codings=(_sct("429483009", "RV Stroke Volume"),)),
    Concept("rv_ef", "RV ejection fraction", "%", (1, 95), codings=(
        _ln("8818-7", "Right ventricular ejection fraction by MR", modality="MR"),
        _ln("8817-9", "Right ventricular ejection fraction by CT", modality="CT"),
    )),
    Concept("rv_edvi", "RV end-diastolic volume index", "mL/m2", (5, 500)),
    Concept("rv_esvi", "RV end-systolic volume index", "mL/m2", (1, 450)),
    Concept("rv_svi", "RV stroke volume index", "mL/m2", (0, 150)),
    Concept("bsa", "Body surface area", "m2", (0.2, 3.5), kind="anthropometric"),
    Concept("lv_per", "LV peak ejection rate", "mL/s", (0, 3000)),
    Concept("lv_pfr", "LV peak filling rate", "mL/s", (0, 3000)),
    Concept("lv_tpfr", "LV time to peak filling rate", "ms", (0, 2000)),
    Concept("lv_wall_thickness", "LV end-diastolic wall thickness", "mm", (0, 60), regional="segment",
            codings=(_dcm("122445", "Wall Thickness"),)),
    Concept("lv_max_wall_thickness", "LV maximal end-diastolic wall thickness", "mm", (1, 60),
            codings=(_dcm("122445", "Wall Thickness"),)),
    Concept("rwt", "Relative wall thickness", "1", (0.05, 1.5)),
    Concept("gls", "LV global longitudinal strain (absolute value)", "%", (0, 40)),
    Concept("regional_longitudinal_strain", "LV regional longitudinal strain (negative = shortening)", "%", (-60, 60),
            regional="segment", codings=(_dcm("130670", "Longitudinal Lagrangian Strain"),)),
    Concept("wall_motion_score", "Regional wall motion score (1 normal … 4 dyskinetic)", "1", (1, 5),
            regional="segment"),
    # --- diastology (echo) ---------------------------------------------------------------
    Concept("e_e_prime", "Average E/e′", "1", (1, 60),
            codings=(_ln("59111-5", "E Velocity to Annulus E Velocity Ratio"),)),
    Concept("septal_e_prime", "Septal e′ velocity", "cm/s", (1, 30)),
    Concept("lateral_e_prime", "Lateral e′ velocity", "cm/s", (1, 40)),
    Concept("mitral_e", "Mitral E-wave peak velocity", "cm/s", (10, 250),
            codings=(_ln("18037-2", "Mitral Valve E-Wave Peak Velocity"),)),
    Concept("mitral_e_a", "Mitral E/A ratio", "1", (0.1, 8), codings=(_ln("18038-0", "Mitral Valve E to A Ratio"),)),
    Concept("tr_vmax", "Tricuspid regurgitation peak velocity", "m/s", (0.5, 7),
            codings=(_ln("79921-3", "Tricuspid regurgitation Vmax"),)),
    Concept("pasp", "Pulmonary artery systolic pressure", "mm[Hg]", (5, 150)),
    Concept("lavi", "LA volume index", "mL/m2", (5, 300)),
    # vendor echo measurements read from a TID 5200 SR (heartprint.echo._sr.CODE_TABLE); plausibility
    # ranges only (wide physiological limits, not normal ranges)
    Concept("echo_lvidd", "LV internal end-diastolic dimension", "mm", (15, 100)),
    Concept("echo_lvids", "LV internal systolic dimension", "mm", (5, 90)),
    Concept("echo_ivsd", "Interventricular septum diastolic thickness", "mm", (2, 40)),
    Concept("echo_lvpwd", "LV posterior wall diastolic thickness", "mm", (2, 40)),
    Concept("echo_lv_fs", "LV fractional shortening", "%", (1, 80)),
    Concept("echo_la_volume", "LA end-systolic volume", "mL", (5, 500)),
    Concept("echo_la_diameter", "LA antero-posterior systolic dimension", "mm", (10, 100)),
    Concept("echo_mitral_a", "Mitral A-wave peak velocity", "cm/s", (5, 250)),
    Concept("echo_mitral_dt", "Mitral E-wave deceleration time", "ms", (40, 600)),
    Concept("echo_e_e_prime_septal", "Septal E/e′", "1", (1, 60)),
    Concept("echo_e_e_prime_lateral", "Lateral E/e′", "1", (1, 60)),
    Concept("echo_e_prime", "LV e′ velocity (annulus site not stated)", "cm/s", (1, 30)),
    Concept("echo_av_vmax", "Aortic valve peak velocity", "m/s", (0.3, 8)),
    Concept("echo_av_mean_gradient", "Aortic valve mean gradient", "mm[Hg]", (0, 150)),
    Concept("echo_av_peak_gradient", "Aortic valve peak gradient", "mm[Hg]", (0, 250)),
    Concept("echo_av_vti", "Aortic valve velocity-time integral", "cm", (5, 200)),
    Concept("echo_lvot_diameter", "LVOT diameter", "mm", (10, 40)),
    Concept("echo_lvot_vti", "LVOT velocity-time integral", "cm", (3, 60)),
    Concept("echo_lvot_vmax", "LVOT peak velocity", "m/s", (0.2, 6)),
    Concept("echo_tr_peak_gradient", "Tricuspid regurgitation peak gradient", "mm[Hg]", (0, 200)),
    Concept("echo_rvsp", "RV peak systolic pressure", "mm[Hg]", (5, 200)),
    Concept("echo_tapse", "TAPSE", "mm", (2, 50)),
    Concept("echo_rv_s_prime", "RV (tricuspid annulus) s′ velocity", "cm/s", (2, 30)),
    # valve and chamber areas, flow and regurgitation (echo SR, CID 12300 and the older CIDs 12205-12211):
    # areas in cm2; the EROA in mm2, the unit of the ESC 2021 MR table it is graded against
    Concept("echo_ava", "Aortic valve area (continuity equation, VTI)", "cm2", (0.1, 6),
            codings=(_ln("79958-5", "Aortic valve area (Continuity VTI)"),)),
    Concept("echo_ava_vmax", "Aortic valve area (continuity equation, peak velocities)", "cm2", (0.1, 6),
            codings=(_ln("79956-9", "Aortic valve area (Continuity Vmax)"),)),
    Concept("echo_avai", "Aortic valve area index (continuity equation, VTI)", "cm2/m2", (0.05, 4),
            codings=(_ln("79959-3", "Aortic valve area (Continuity VTI) / BSA"),)),
    Concept("echo_avai_vmax", "Aortic valve area index (continuity equation, peak velocities)", "cm2/m2", (0.05, 4),
            codings=(_ln("79957-7", "Aortic valve area (Continuity Vmax) / BSA"),)),
    Concept("echo_av_dimensionless_index", "Aortic dimensionless index (LVOT VTI / aortic VTI)", "1", (0.05, 1.5)),
    Concept("echo_lvot_area", "LVOT area", "cm2", (0.5, 12)),
    Concept("echo_lvot_sv", "Stroke volume (LVOT Doppler)", "mL", (5, 250)),
    Concept("echo_lvot_svi", "Stroke volume index (LVOT Doppler)", "mL/m2", (3, 150)),
    Concept("echo_mr_eroa", "Mitral regurgitation effective regurgitant orifice area", "mm2", (1, 300),
            codings=(_ln("80071-4", "Mitral valve effective regurgitant orifice area (PISA)"),)),
    Concept("echo_mr_rvol", "Mitral regurgitant volume", "mL", (1, 300), codings=(
        _ln("80064-9", "Mitral regurgitation volume (PISA)"), _ln("80063-1", "Mitral regurgitation volume (Continuity VTI)"))),
    Concept("echo_mr_rf", "Mitral regurgitant fraction", "%", (1, 100), codings=(
        _ln("80056-5", "Mitral regurgitant fraction (PISA)"), _ln("80055-7", "Mitral regurgitant fraction (Continuity VTI)"))),
    Concept("echo_mr_vc", "Mitral regurgitation vena contracta width", "mm", (0.5, 20),
            codings=(_ln("80061-5", "Mitral regurgitation vena contracta width"),)),
    Concept("echo_la_area", "LA end-systolic area (apical 4-chamber)", "cm2", (3, 100),
            codings=(_ln("79974-2", "Left atrial end systolic area 4C"),)),
    Concept("echo_la_area_2c", "LA end-systolic area (apical 2-chamber)", "cm2", (3, 100),
            codings=(_ln("79973-4", "Left atrial end systolic area 2C"),)),
    Concept("echo_ra_area", "RA end-systolic area (apical 4-chamber)", "cm2", (3, 100),
            codings=(_ln("80075-5", "Right atrial end systolic area 4C"),)),
    # --- tissue (CMR) ----------------------------------------------------------------------
    Concept("native_t1", "Myocardial native T1", "ms", (300, 2500), codings=(_dcm("113063", "T1"),)),
    Concept("t2", "Myocardial T2", "ms", (20, 150)),
    Concept("t2_ratio", "T2-weighted signal ratio myocardium/skeletal muscle", "1", (0.5, 5)),
    Concept("t2star", "Myocardial T2*", "ms", (1, 100), codings=(_dcm("113064", "T2*"),)),
    Concept("ecv", "Extracellular volume fraction", "%", (5, 90)),
    Concept("lge_transmurality", "LGE transmural extent", "%", (0, 100), regional="segment"),
    Concept("lge_extent", "LGE extent (% of LV mass)", "%", (0, 100)),
    # --- ischaemia (SPECT/PET/CMR/echo) ----------------------------------------------------
    Concept("perfusion_stress_score", "Stress perfusion score (0 normal … 4 absent)", "1", (0, 4), regional="segment"),
    Concept("perfusion_rest_score", "Rest perfusion score (0 normal … 4 absent)", "1", (0, 4), regional="segment"),
    Concept("perfusion_defect", "Stress perfusion defect (1 present, 0 absent)", "1", (0, 1), regional="segment"),
    Concept("sss", "Summed stress score", "1", (0, 80)),
    Concept("srs", "Summed rest score", "1", (0, 80)),
    Concept("sds", "Summed difference score", "1", (0, 80)),
    Concept("ischaemic_burden", "Ischaemic myocardium", "%", (0, 100)),
    Concept("tpd", "Total perfusion deficit", "%", (0, 100)),
    Concept("lv_ef_post_stress", "LV ejection fraction after stress (gated SPECT/PET)", "%", (5, 90)),
    Concept("lv_edv_post_stress", "LV end-diastolic volume after stress (gated SPECT/PET)", "mL", (10, 600)),
    Concept("lv_esv_post_stress", "LV end-systolic volume after stress (gated SPECT/PET)", "mL", (2, 500)),
    Concept("tid_ratio", "Transient ischaemic dilation ratio (stress/rest LV volume)", "1", (0.5, 3)),
    Concept("mbf_stress", "Stress myocardial blood flow", "mL/min/g", (0.1, 8)),
    Concept("mbf_rest", "Rest myocardial blood flow", "mL/min/g", (0.1, 8)),
    Concept("mfr", "Myocardial flow reserve", "1", (0.3, 8)),
    # --- coronary (CT / ICA) ---------------------------------------------------------------
    Concept("cac_agatston", "Coronary artery calcium score (Agatston)", "1", (0, 20000),
            codings=(_sct("450360000", "Coronary artery calcium score"), _dcm("112058", "Calcium score"))),
    Concept("cac_volume", "Coronary artery calcium volume score", "mm3", (0, 50000)),
    Concept("cac_mass", "Coronary artery calcium mass score", "mg", (0, 100000)),  # as heartprint.ct emits it
    Concept("cac_lesion_count", "Number of calcified lesions", "1", (0, 10000)),
    Concept("stenosis", "Coronary diameter stenosis", "%", (0, 100), regional="vessel",
            codings=(_sct("415582006", "stenosis"),)),
    Concept("ffr", "Fractional flow reserve (invasive)", "1", (0.2, 1.05), regional="vessel",
            codings=(_sct("371842003", "Fractional flow reserve"),)),
    Concept("ct_ffr", "CT-derived fractional flow reserve", "1", (0.2, 1.05), regional="vessel"),
    # --- laboratory ------------------------------------------------------------------------
    Concept("nt_probnp", "NT-proBNP", "pg/mL", (0, 100000), kind="lab",
            codings=(_ln("33762-6", "Natriuretic peptide.B prohormone N-Terminal (Ser/Plas)", _LAB_CATALOGUE),)),
    Concept("bnp", "BNP", "pg/mL", (0, 10000), kind="lab"),
    Concept("haematocrit", "Haematocrit", "%", (10, 70), kind="lab", codings=(_ln("20570-8", "Hematocrit"),)),
    Concept("egfr", "eGFR", "mL/min/{1.73_m2}", (1, 200), kind="lab"),
    Concept("creatinine", "Creatinine", "umol/L", (10, 2000), kind="lab"),
    Concept("ldl_c", "LDL cholesterol", "mmol/L", (0.1, 20), kind="lab"),
    Concept("total_cholesterol", "Total cholesterol", "mmol/L", (0.5, 30), kind="lab"),
    Concept("hdl_c", "HDL cholesterol", "mmol/L", (0.1, 5), kind="lab"),
    Concept("hba1c", "HbA1c (NGSP)", "%", (3, 20), kind="lab"),
    Concept("glucose", "Glucose", "mmol/L", (1, 60), kind="lab"),
    # --- ECG / anthropometry ---------------------------------------------------------------
    Concept("qrs_duration", "QRS duration", "ms", (40, 300), kind="ecg"),
    Concept("age", "Age", "a", (0, 120), kind="anthropometric"),
    Concept("height", "Height", "cm", (50, 250), kind="anthropometric", codings=(_dcm("121207", "Height"),)),
    Concept("weight", "Weight", "kg", (2, 400), kind="anthropometric"),
    Concept("bmi", "Body mass index", "kg/m2", (8, 100), kind="anthropometric",
            codings=(_sct("60621009", "Body mass index (observable entity)"),)),
    Concept("systolic_bp", "Systolic blood pressure", "mm[Hg]", (50, 300), kind="anthropometric"),
)

#: code → :class:`Concept` (read-only).
CONCEPTS: Mapping[str, Concept] = MappingProxyType({c.code: c for c in _TABLE})


def concept(code: str) -> Concept:
    """The concept for ``code``; raises :class:`~heartprint.errors.InvalidInputError` if unknown."""
    from heartprint.errors import InvalidInputError

    try:
        return CONCEPTS[code]
    except KeyError:
        raise InvalidInputError(f"measurement code {code!r}: not a known concept; expected one of {sorted(CONCEPTS)}") from None


def codings_for(code: str, modality: str | None = None) -> list[dict[str, str]]:
    """JSON-able codings of ``code``: the modality-specific one first, then generic ones."""
    c = CONCEPTS.get(code)
    if c is None:
        return []
    out = [x for x in c.codings if modality and x.modality == modality] + [x for x in c.codings if x.modality is None]
    return [x.to_dict() for x in out]
