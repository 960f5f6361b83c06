"""Series classification: what kind of cardiac acquisition a DICOM series is.

:func:`classify_series` looks only at headers. Each rule adds evidence with a weight; the
kind with the most evidence wins and its confidence is that evidence capped at 0.99. The
reasons list the tags (number and name) and values that decided.

Evidence used
-------------
- (0008,0060) Modality and (0008,0016) SOP Class UID (SR, US, NM/PT, CT, MR).
- (0008,103E) Series Description, (0018,1030) Protocol Name, (0018,0024) Sequence Name,
  (0018,9005) Pulse Sequence Name, (0008,0008) Image Type: keyword tables below.
- Number of cardiac phases and slice positions (from the header layout); the slice normal
  from (0020,0037) compared with the typical LV long axis.
- CT: (0018,0010) Contrast/Bolus Agent, (0018,0060) KVP, (0018,0050) Slice Thickness,
  (0018,1210) Convolution Kernel. Coronary calcium scans are non-contrast, prospectively
  gated, 120 kVp, 3 mm (Hecht et al., J Cardiovasc Comput Tomogr 2017, SCCT CAC guideline).
- MR: (0018,9014) Phase Contrast, (0018,0082) Inversion Time, (0018,1090) Cardiac Number of Images.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

import numpy as np


__all__ = ["Classification", "SeriesKind", "classify_series"]


class SeriesKind(str, enum.Enum):
    """Kinds of series heartprint analyses (values are the strings used everywhere else)."""

    CINE_SAX = "cine_sax"
    CINE_LAX = "cine_lax"
    LGE = "lge"
    T1_MAP = "t1_map"
    T2_MAP = "t2_map"
    T2STAR_MAP = "t2star_map"
    FLOW = "flow"
    CT_CALCIUM = "ct_calcium"
    CT_ANGIO = "ct_angio"
    NM_PERFUSION = "nm_perfusion"  # stress or rest not stated
    NM_PERFUSION_STRESS = "nm_perfusion_stress"
    NM_PERFUSION_REST = "nm_perfusion_rest"
    ECHO_CINE = "echo_cine"
    SR = "sr"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Classification:
    """The kind of a series, how sure, and why.

    Attributes
    ----------
    kind
        The :class:`SeriesKind`.
    confidence
        0–1; 1.0 only for a user override.
    reasons
        Tags and values that decided, e.g. ``"(0008,103E) Series Description 'SA cine' ~ 'sa'"``.
    subkind
        For ``cine_lax``: ``"2ch"``, ``"3ch"`` or ``"4ch"`` when known.
    """

    kind: SeriesKind
    confidence: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    subkind: str | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "confidence": round(self.confidence, 3),
                "subkind": self.subkind, "reasons": list(self.reasons)}


# Keyword tables: regular expressions matched against lower-case description text
# ((0008,103E), (0018,1030), (0018,0024), (0018,9005), (0008,0008) joined by " | ").
_KEYWORDS: dict[SeriesKind, tuple[str, ...]] = {
    SeriesKind.T2STAR_MAP: (r"t2\s?\*", r"t2star", r"t2 star", r"t2s[_ ]?map"),
    SeriesKind.T1_MAP: (r"molli", r"shmolli", r"t1[_ ]?map", r"native[_ ]?t1", r"\bt1 mapping", r"\becv\b", r"\bsasha\b"),
    SeriesKind.T2_MAP: (r"t2[_ ]?map", r"t2 mapping", r"t2[_ ]?prep.*map", r"\bt2 (molli|flash|trufi)"),
    SeriesKind.FLOW: (r"flow", r"\bpc\b", r"phase[_ ]?contrast", r"\bvenc\b", r"velocity", r"q ?flow", r"\bv\d{2,3}(in|through|tp|rl|ap|fh)?\b"),
    SeriesKind.LGE: (r"\blge\b", r"psir", r"\bde\b", r"delayed[_ ]?enh", r"late[_ ]?(gad|enh)", r"viability",
                     r"\bmde\b", r"scar"),
    SeriesKind.CT_CALCIUM: (r"calcium", r"\bcac\b", r"ca[_ ]?score", r"cascore", r"agatston", r"\bcs\b"),
    SeriesKind.CT_ANGIO: (r"\bcta\b", r"ccta", r"angio", r"coronar", r"\bcor\b"),
    SeriesKind.NM_PERFUSION: (r"perfusion", r"\bmpi\b", r"myo", r"cardiac", r"spect", r"stress", r"rest",
                              r"mibi", r"sestamibi", r"tetrofosmin", r"\brb", r"ammonia", r"gated", r"\bsa\b"),
}
_CINE_WORDS = (r"cine", r"trufi", r"bssfp", r"\bssfp", r"fiesta", r"b-tfe", r"\bbtfe", r"balanced")
_SAX_WORDS = (r"\bsax\b", r"\bsa\b", r"short[_ ]?ax", r"\bsa[_ ]", r"[_ ]sa\b", r"stack")
_LAX_WORDS = {"2ch": (r"2[_ ]?ch", r"two[_ ]?ch", r"\bvla\b"),
              "3ch": (r"3[_ ]?ch", r"three[_ ]?ch", r"lvot"),
              "4ch": (r"4[_ ]?ch", r"four[_ ]?ch", r"\bhla\b"),
              None: (r"\blax\b", r"long[_ ]?ax")}

#: Typical direction of the LV long axis in LPS (apex → base: rightward, posterior,
#: superior), about 45° from each body axis. A short-axis slice normal lies near it.
_LV_LONG_AXIS_LPS = np.array([-0.55, 0.55, 0.63]) / np.linalg.norm([-0.55, 0.55, 0.63])
#: |cos| above which a slice normal is "near" the LV long axis (within ~40°).
_SAX_NORMAL_COS = 0.75

_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


#: Words that state a perfusion acquisition's state (matched as whole words in the header text).
_STRESS_WORDS = (r"\bstress", r"\bstr\b", r"\bpharm", r"\badenosine", r"\bregadenoson", r"\bdipyridamole",
                 r"\bdobutamine", r"\bexercise", r"\bpost[_ -]?stress")
_REST_WORDS = (r"\brest\b", r"\brst\b", r"\bresting\b", r"\bbaseline\b")


def _perfusion_state(text: str, desc_reason: str) -> tuple[SeriesKind, str]:
    """Stress or rest from the header text; neither or both → the state is unknown (never guessed)."""
    stress, rest = _match(_STRESS_WORDS, text), _match(_REST_WORDS, text)
    if stress and not rest:
        return SeriesKind.NM_PERFUSION_STRESS, f"{desc_reason} ~ {stress!r}: stress"
    if rest and not stress:
        return SeriesKind.NM_PERFUSION_REST, f"{desc_reason} ~ {rest!r}: rest"
    why = "both stress and rest words" if stress and rest else "no stress or rest word"
    return SeriesKind.NM_PERFUSION, f"{desc_reason}: {why}, stress or rest not known (override with --kind)"


def _match(patterns, text: str) -> str | None:
    for p in patterns:
        if re.search(p, text):
            return p
    return None


def _text(ds) -> str:
    parts = []
    for kw in ("SeriesDescription", "ProtocolName", "SequenceName", "PulseSequenceName"):
        v = ds.get(kw)
        if v:
            parts.append(str(v))
    it = ds.get("ImageType")
    if it:
        parts.append(" ".join(str(x) for x in (it if not isinstance(it, str) else [it])))
    # "_" and "-" separate words in protocol names ("cine_retro_SAX"): treat them as spaces.
    return re.sub(r"[_\-]+", " ", " | ".join(parts).lower())


def _float(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _phases_and_slices(series) -> tuple[int, int, np.ndarray | None, str]:
    """(phases, slice positions, slice normal, how obtained) from the header layout."""
    try:
        lay = series.layout()
        normal = None
        if series.modality in {"MR", "CT", "PT"} or lay.notes.get("patient_geometry", True):
            n = np.cross(lay.affine[:3, 1], lay.affine[:3, 2])
            normal = n / np.linalg.norm(n)
        return lay.n_phases, lay.n_slices, normal, "layout"
    except Exception:  # noqa: BLE001 - any header the layout cannot take: classify from the headers
        ds = series.first
        phases = _count(ds.get("CardiacNumberOfImages"))  # (0018,1090)
        nf = _count(ds.get("NumberOfFrames"))
        total = max(series.n_files, nf)
        return phases, max(1, total // max(phases, 1)), None, "headers (layout failed)"


def _count(v) -> int:
    """A count from a header value: a finite number ≥ 1, else 1."""
    f = _float(v)
    return int(f) if f is not None and np.isfinite(f) and 1 <= f <= 1e9 else 1


def classify_series(series) -> Classification:
    """Classify a :class:`~heartprint.io.SeriesInfo` into a :class:`SeriesKind`.

    Returns
    -------
    Classification
        Kind, confidence in [0, 1] and the reasons (tags and values used).
    """
    ds = series.first
    modality = (series.modality or "").upper()
    sop = str(series.sop_class_uid or "")
    text = _text(ds)
    desc_reason = f"description/protocol/sequence/image type {text!r}"

    if modality == "SR" or sop.startswith(_SR_PREFIX):
        return Classification(SeriesKind.SR, 0.99, (f"(0008,0060) Modality {modality!r} / (0008,0016) SOP Class {sop}",))

    if modality == "US":
        nf = _count(ds.get("NumberOfFrames"))
        reasons = ["(0008,0060) Modality 'US'", f"(0028,0008) Number of Frames {nf}"]
        if nf > 1 or series.n_files > 1:
            return Classification(SeriesKind.ECHO_CINE, 0.9, tuple(reasons))
        return Classification(SeriesKind.OTHER, 0.6, tuple(reasons + ["single ultrasound frame (still image)"]))

    if modality in {"NM", "PT"}:
        hit = _match(_KEYWORDS[SeriesKind.NM_PERFUSION], text)
        reasons = [f"(0008,0060) Modality {modality!r}"]
        kind, state_reason = _perfusion_state(text, desc_reason)
        reasons.append(state_reason)
        if hit:
            reasons.append(f"{desc_reason} ~ {hit!r}")
            return Classification(kind, 0.85, tuple(reasons))
        return Classification(kind, 0.5, tuple(reasons + ["no perfusion keyword; assumed cardiac"]))

    if modality == "CT":
        return _classify_ct(series, ds, text, desc_reason)

    if modality == "MR":
        return _classify_mr(series, ds, text, desc_reason)

    return Classification(SeriesKind.OTHER, 0.8, (f"(0008,0060) Modality {modality!r} not a cardiac imaging modality",))


def _classify_ct(series, ds, text: str, desc_reason: str) -> Classification:
    score = {SeriesKind.CT_CALCIUM: 0.0, SeriesKind.CT_ANGIO: 0.0}
    reasons: dict[SeriesKind, list[str]] = {k: ["(0008,0060) Modality 'CT'"] for k in score}
    agent = str(ds.get("ContrastBolusAgent", "") or "").strip()  # (0018,0010)
    usage = ds.get("ContrastBolusUsageSequence")  # (0018,9341), enhanced CT
    contrast = bool(agent) and agent.lower() not in {"none", "no", "n", "0"}
    if usage and any(str(i.get("ContrastBolusAgentAdministered", "")).upper() == "YES" for i in usage):
        contrast = True
    if contrast:
        score[SeriesKind.CT_ANGIO] += 0.5
        reasons[SeriesKind.CT_ANGIO].append(f"(0018,0010) Contrast/Bolus Agent {agent or 'administered'!r}")
    else:
        score[SeriesKind.CT_CALCIUM] += 0.2
        reasons[SeriesKind.CT_CALCIUM].append("(0018,0010) Contrast/Bolus Agent empty")
    for kind in score:
        hit = _match(_KEYWORDS[kind], text)
        if hit:
            score[kind] += 0.5
            reasons[kind].append(f"{desc_reason} ~ {hit!r}")
    kvp = _float(ds.get("KVP"))  # (0018,0060)
    thick = _float(ds.get("SliceThickness"))  # (0018,0050)
    if kvp is not None and abs(kvp - 120) < 1 and thick is not None and 2.4 <= thick <= 3.1:
        score[SeriesKind.CT_CALCIUM] += 0.3
        reasons[SeriesKind.CT_CALCIUM].append(f"(0018,0060) KVP {kvp:g} and (0018,0050) Slice Thickness {thick:g} mm")
    elif thick is not None and thick <= 1.0:
        score[SeriesKind.CT_ANGIO] += 0.2
        reasons[SeriesKind.CT_ANGIO].append(f"(0018,0050) Slice Thickness {thick:g} mm (thin, angiographic)")
    kernel = str(ds.get("ConvolutionKernel", "") or "").lower()  # (0018,1210)
    if kernel and re.search(r"b35|qr36|fc12|xca|ca", kernel):
        score[SeriesKind.CT_CALCIUM] += 0.1
        reasons[SeriesKind.CT_CALCIUM].append(f"(0018,1210) Convolution Kernel {kernel!r} (calcium kernel)")
    kind = max(score, key=lambda k: score[k])
    if score[kind] < 0.3:
        return Classification(SeriesKind.OTHER, 0.4, tuple(reasons[kind] + ["no cardiac CT evidence"]))
    return Classification(kind, min(0.99, 0.3 + score[kind] * 0.6), tuple(reasons[kind]))


def _classify_mr(series, ds, text: str, desc_reason: str) -> Classification:
    base = "(0008,0060) Modality 'MR'"
    # Strong, specific evidence first: maps, flow, LGE.
    pc = str(ds.get("PhaseContrast", "") or "").upper()  # (0018,9014)
    if pc == "YES":
        return Classification(SeriesKind.FLOW, 0.95, (base, "(0018,9014) Phase Contrast 'YES'"))
    for kind in (SeriesKind.T2STAR_MAP, SeriesKind.T1_MAP, SeriesKind.T2_MAP, SeriesKind.FLOW):
        hit = _match(_KEYWORDS[kind], text)
        if hit:
            return Classification(kind, 0.85, (base, f"{desc_reason} ~ {hit!r}"))

    n_phases, n_slices, normal, how = _phases_and_slices(series)
    geometry = f"{n_phases} phase(s) x {n_slices} slice position(s) ({how})"
    lge_hit = _match(_KEYWORDS[SeriesKind.LGE], text)
    cine_hit = _match(_CINE_WORDS, text)
    if lge_hit and n_phases <= 1:
        return Classification(SeriesKind.LGE, 0.85, (base, f"{desc_reason} ~ {lge_hit!r}", geometry))
    if n_phases <= 1 and not cine_hit:
        ti = _float(ds.get("InversionTime"))  # (0018,0082)
        agent = str(ds.get("ContrastBolusAgent", "") or "").strip()  # (0018,0010)
        if ti is not None and 150 <= ti <= 450 and agent:
            return Classification(SeriesKind.LGE, 0.6, (
                base, f"(0018,0082) Inversion Time {ti:g} ms", f"(0018,0010) Contrast/Bolus Agent {agent!r}", geometry))
        return Classification(SeriesKind.OTHER, 0.5, (base, geometry, "single phase, no LGE/map keyword"))

    # Cine.
    reasons = [base, geometry]
    conf = 0.5
    if cine_hit:
        reasons.append(f"{desc_reason} ~ {cine_hit!r}")
        conf += 0.2
    for sub, pats in _LAX_WORDS.items():
        hit = _match(pats, text)
        if hit:
            return Classification(SeriesKind.CINE_LAX, min(0.95, conf + 0.3), tuple(reasons + [f"{desc_reason} ~ {hit!r}"]), sub)
    sax_hit = _match(_SAX_WORDS, text)
    if sax_hit:
        reasons.append(f"{desc_reason} ~ {sax_hit!r}")
        conf += 0.3
    if normal is not None:
        cos = abs(float(normal @ _LV_LONG_AXIS_LPS))
        if cos >= _SAX_NORMAL_COS:
            reasons.append(f"(0020,0037) slice normal within {np.degrees(np.arccos(cos)):.0f} deg of the typical LV long axis")
            conf += 0.1
    if n_slices >= 4 or sax_hit:
        if n_slices >= 4:
            reasons.append(f"{n_slices} parallel slices with cine")
            conf += 0.1
        return Classification(SeriesKind.CINE_SAX, min(0.95, conf), tuple(reasons))
    reasons.append(f"{n_slices} slice position(s) with cine: long axis")
    return Classification(SeriesKind.CINE_LAX, min(0.9, conf), tuple(reasons))
