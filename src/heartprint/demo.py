"""``heartprint demo``: a phantom patient through the user's path, checked against its exact answers.

:func:`run_demo` writes the multi-modality phantom patient as DICOM (a CMR study with cine SAX,
LGE and MOLLI T1 sharing one heart, and a calcium-score CT study), analyses it exactly as
``heartprint analyze`` does (:func:`heartprint.pipeline.analyze`: one
:class:`~heartprint.results.StudyResult` per study, the CMR study's history naming the CT
study), records each study as a run in a registry (needs the ``store`` extra), writes each
study's outputs with :func:`heartprint.outputs.write_study_outputs`, and compares the measured
values with the phantom's exact ones (:func:`demo_rows`). :func:`heartprint.outputs.write_study` (one study's
outputs, then its registry run; failures recorded, not raised) is the step ``heartprint analyze``
shares with the demo.

Layout of ``OUT``::

    OUT/dicom/cmr/{cine,lge,molli}/*.dcm   the phantom's CMR study
    OUT/dicom/ct/calcium/*.dcm             the phantom's CT study
    OUT/dicom/echo/{cine,sr}/*.dcm         the phantom's echo study (A4C B-mode cine, TID 5200 SR with tracings)
    OUT/truth.json                         the exact answers
    OUT/registry.sqlite                    one run per study (store extra)
    OUT/result/<study folder>/             measurements.json, labels/, dicom/seg_*.dcm + sr_*.dcm,
                                           fhir_bundle.json, report.html/.pdf — one per study
    OUT/demo_summary.json                  the files written, the compared rows, the studies

``OUT/dicom`` and ``OUT/result`` are the demo's own and are replaced on every run. The command
line (``heartprint.cli``) only parses arguments, shows progress and sets the exit status.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from heartprint.errors import HeartprintError
from heartprint.outputs import StudyRun, one_line, write_study
from heartprint.results import SeriesResult, StudyResult

__all__ = ["DEMO_KINDS", "DemoRun", "demo_rows", "format_demo", "run_demo"]

#: (truth key, measurement code, label) of the cine rows compared by the demo.
CINE_ROWS = (
    ("lv_edv_ml", "lv_edv", "LV EDV (mL)"),
    ("lv_esv_ml", "lv_esv", "LV ESV (mL)"),
    ("lv_ef_percent", "lv_ef", "LVEF (%)"),
    ("lv_mass_ed_g", "lv_mass", "LV mass (g)"),
    ("rv_edv_ml", "rv_edv", "RV EDV (mL)"),
    ("rv_esv_ml", "rv_esv", "RV ESV (mL)"),
    ("rv_ef_percent", "rv_ef", "RVEF (%)"),
    ("heart_rate_bpm", "heart_rate", "heart rate (/min)"),
)
#: The series kinds of the phantom patient, each of which must be analysed.
DEMO_KINDS = ("cine_sax", "lge", "t1_map", "ct_calcium", "nm_perfusion_rest", "nm_perfusion_stress", "sr", "echo_cine")
#: (SR fixture key, measurement code, label, factor from the unit as written to the code's unit) of the echo SR
#: values the demo reads back: each must come back exactly (unit conversion is exact, repeats are resolved
#: by the value marked "Mean value chosen").
ECHO_SR_ROWS = (
    ("lvidd", "echo_lvidd", "LVIDd, from the SR (mm)", 10.0),
    ("e_e_prime", "e_e_prime", "E/e', from the SR", 1.0),
    ("tr_vmax", "tr_vmax", "TR peak velocity, from the SR (m/s)", 0.01),
    ("lvef", "lv_ef", "LVEF, from the SR (%)", 1.0),
)
#: ``small=True``: fewer cine phases, and the SPECT phantom's partial volume sampled 2³ instead of 4³
#: points per voxel (the slices, matrix and every other series are unchanged).
SMALL = {"n_phases": 10, "spect_supersample": 2}


def _no_progress(stage: str, **info: Any) -> None:
    return None


@dataclass
class DemoRun:
    """What :func:`run_demo` did: the phantom written, the studies analysed and written, the rows."""

    out: Path
    dicom_dir: Path
    study_dirs: list[Path]
    truth: dict[str, Any]
    studies: list[StudyRun]
    rows: list[dict[str, Any]]
    summary_path: Path
    registry_path: Path | None = None
    #: things the user should know that did not stop the demo (no registry, an output not made)
    notes: list[str] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return sum(1 for _ in self.dicom_dir.rglob("*.dcm"))

    @property
    def analysed(self) -> dict[str, SeriesResult]:
        """Kind → the analysed series of that kind (the phantom has one of each)."""
        return {s.kind: s for st in self.studies for s in st.result.analysed()}

    @property
    def missing_kinds(self) -> list[str]:
        """The phantom's kinds that were not analysed."""
        return [k for k in DEMO_KINDS if k not in self.analysed]

    @property
    def ok(self) -> bool:
        """Every phantom series analysed, every study's status ``ok`` and every output written
        (:attr:`StudyRun.status`: ``partial`` when one output failed)."""
        return (not self.missing_kinds and bool(self.studies)
                and all(s.status == "ok" and s.write_error is None for s in self.studies))

    @property
    def files(self) -> dict[str, str]:
        """The demo's own files and folders (each study's are in :attr:`StudyRun.files`)."""
        files = {"dicom": str(self.dicom_dir), "truth": str(self.out / "truth.json"), "result": str(self.out / "result")}
        if self.registry_path is not None:
            files["registry"] = str(self.registry_path)
        return files

    def summary(self) -> dict[str, Any]:
        return {
            "patient_id": self.truth["patient"]["patient_id"],
            "status": "ok" if self.ok else "failed",
            "missing_kinds": self.missing_kinds,
            "run_ids": [s.run_id for s in self.studies if s.run_id],
            "files": self.files,
            "rows": self.rows,
            "studies": [s.to_dict() for s in self.studies],
        }


def _demo_row(modality: str, label: str, exact: Any, measured: Any) -> dict[str, Any]:
    """One compared quantity: numbers get an error (points for %, else relative), classes agree or not."""
    row: dict[str, Any] = {"modality": modality, "quantity": label, "exact": exact, "measured": measured}
    if isinstance(exact, str) or measured is None:
        row["error"] = None if measured is None else ("agrees" if measured == exact else "differs")
    elif label.endswith("(%)"):
        row["error"] = f"{measured - exact:+.1f} pt"
    else:
        row["error"] = f"{100 * (measured - exact) / exact:+.1f}%" if exact else f"{measured - exact:+.1f}"
    return row


def demo_rows(results: Sequence[StudyResult], truth: dict[str, Any]) -> list[dict[str, Any]]:
    """Measured vs exact for every modality of the phantom patient.

    Measured values are read from the typed results: the cine rows from the cine series'
    :meth:`~heartprint.results.SeriesResult.global_values`; LGE scar % of LV and scar volume
    from ``lge_extent`` and ``lge_scar_volume``, each scarred segment's transmurality class from
    ``details["segments"]`` (keyed by the segment number as text); T1 from the global ``native_t1``; CT from ``cac_agatston`` and
    ``cac_volume``. A series that was not analysed leaves its rows' measured values empty.
    """
    from heartprint.cmr import transmurality_class

    by_kind = {s.kind: s for r in results for s in r.analysed()}

    def values(kind: str) -> dict[str, float]:
        s = by_kind.get(kind)
        return s.global_values() if s is not None else {}

    rows: list[dict[str, Any]] = []
    cine = values("cine_sax")
    for key, code, label in CINE_ROWS:
        rows.append(_demo_row("cine", label, float(truth["cine"][key]), cine.get(code)))
    lge, lt = values("lge"), truth["lge"]
    lge_segments = (by_kind["lge"].details.get("segments") or {}) if "lge" in by_kind else {}
    rows.append(_demo_row("LGE", "scar extent, of LV (%)", lt["scar_pct_lv"], lge.get("lge_extent")))
    rows.append(_demo_row("LGE", "scar volume (mL)", lt["scar_ml"], lge.get("lge_scar_volume")))
    for seg, st in sorted(lt["segments"].items(), key=lambda kv: int(kv[0])):
        rows.append(_demo_row("LGE", f"segment {seg} transmurality class", transmurality_class(st["transmurality_pct"]),
                              (lge_segments.get(str(seg)) or {}).get("transmurality_class")))
    rows.append(_demo_row("T1", "native T1 myocardium (ms)", truth["t1"]["t1_myocardium_ms"],
                          values("t1_map").get("native_t1")))
    ct, tot = values("ct_calcium"), truth["ct_calcium"]["total"]
    rows.append(_demo_row("CT", "Agatston score", tot["agatston"], ct.get("cac_agatston")))
    rows.append(_demo_row("CT", "calcium volume (mm3)", tot["volume_mm3"], ct.get("cac_volume")))
    if "spect" in truth:
        rows += _spect_rows(by_kind, truth["spect"])
    if "echo" in truth:
        rows += _echo_rows(by_kind, truth["echo"])
    return rows


def _echo_rows(by_kind: Mapping[str, SeriesResult], echo: dict[str, Any]) -> list[dict[str, Any]]:
    """The echo study's rows: GLS (signed, %) and the apical lateral segment's strain (segment 16, the one with
    a reduced strain) against the phantom's exact values; the traced LV EDV and a few vendor values read back
    from the SR (round trip)."""
    cine, sr = by_kind.get("echo_cine"), by_kind.get("sr")
    gls = cine.details.get("gls_percent") if cine is not None else None
    seg16 = next((m.value for m in (cine.measurements if cine is not None else [])
                  if m.code == "regional_longitudinal_strain" and m.segment == 16), None)
    srv = {m.code: m for m in (sr.measurements if sr is not None else []) if m.segment is None}
    traced = next((m.value for m in (sr.measurements if sr is not None else [])
                   if m.code == "lv_edv" and "Single Plane" in (m.method or "")), None)
    rows = [_demo_row("echo", "GLS (%)", echo["gls_percent"], gls),
            _demo_row("echo", "strain, apical lateral segment (%)", echo["segment_strain_percent"]["16"], seg16),
            _demo_row("echo", "LV EDV traced, from the SR (mL)", echo["traced_volume_ml"]["ED"], traced)]
    for key, code, label, factor in ECHO_SR_ROWS:
        m = srv.get(code)
        rows.append(_demo_row("echo", label, echo["sr_values"][key]["value"] * factor, None if m is None else m.value))
    return rows


def _spect_rows(by_kind: Mapping[str, SeriesResult], spect: dict[str, Any]) -> list[dict[str, Any]]:
    """The SPECT study's rows: stress defect extent, the territory, whether it is reversible, gated LVEF."""
    stress, rest = by_kind.get("nm_perfusion_stress"), by_kind.get("nm_perfusion_rest")
    scores = (stress.details.get("scores") or {}) if stress is not None else {}
    territories = scores.get("territories") or {}
    flagged = ", ".join(sorted(k for k, v in territories.items() if v.get("flagged"))) or "none"
    sds = stress.global_values().get("sds") if stress is not None else None
    return [
        _demo_row("SPECT", "stress defect extent, of LV (%)", spect["stress"]["extent_pct_total"],
                  scores.get("extent_percent")),
        _demo_row("SPECT", "territory with a defect", spect["defect"]["territory"], flagged if stress else None),
        _demo_row("SPECT", "defect reversible (SDS > 0)", "yes" if spect["defect"]["reversible"] else "no",
                  None if sds is None else ("yes" if sds > 0 else "no")),
        _demo_row("SPECT", "gated LVEF at rest (%)", spect["rest"]["lvef_pct"],
                  rest.global_values().get("lv_ef") if rest is not None else None),
    ]


def _open_registry(path: Path, notes: list[str]) -> Any:
    """The demo's own registry (a fresh SQLite file), or ``None`` with a note why not."""
    try:
        from heartprint.store import Registry
    except ImportError as exc:
        notes.append(f"no registry written (pip install 'heartprint[store]'): {exc}")
        return None
    if path.exists():
        path.unlink()  # the demo's own registry: one run per study of this demo
    try:
        return Registry(str(path))
    except HeartprintError as exc:
        notes.append(f"no registry written: {one_line(exc)}")
        return None


def run_demo(out: str | Path, *, seed: int = 0, small: bool = False, report: bool = True,
             progress: Callable[..., None] = _no_progress) -> DemoRun:
    """Write the phantom patient under ``out``, analyse it, record and write every study, and
    compare with the exact answers (layout in the module docstring).

    ``progress(stage, **info)`` receives the pipeline's stages and ``written`` (``path``) per
    study folder. Raises :class:`~heartprint.errors.HeartprintError` only if the phantom
    cannot be written or read at all; a series that fails is in the result (see
    :attr:`DemoRun.ok`).
    """
    from heartprint.outputs import dumps
    from heartprint.phantoms import write_demo_patient
    from heartprint.pipeline import AnalysisOptions, analyze

    out = Path(out)
    dicom_dir, result_dir = out / "dicom", out / "result"
    for own in (dicom_dir, result_dir):
        if own.exists():
            shutil.rmtree(own)
    study_dirs, truth = write_demo_patient(dicom_dir, seed=seed, **(SMALL if small else {}))
    from heartprint.phantoms._demo import write_demo_echo
    from heartprint.phantoms._patient import _PATIENT_AGE, _PATIENT_SEX, PATIENT_ID, PATIENT_NAME

    truth["echo"] = write_demo_echo(dicom_dir / "echo", seed=seed, small=small, patient_name=PATIENT_NAME,
                                    patient_id=PATIENT_ID, patient_sex=_PATIENT_SEX, patient_age=_PATIENT_AGE)
    study_dirs = [*study_dirs, dicom_dir / "echo"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth.json").write_text(dumps(truth))
    notes: list[str] = []
    reg_path = out / "registry.sqlite"
    registry = _open_registry(reg_path, notes)
    started = datetime.now(timezone.utc)
    results = analyze(dicom_dir, AnalysisOptions(), progress=progress)
    used: set[str] = set()
    try:
        studies = [write_study(res, result_dir, used, report=report, progress=progress, registry=registry,
                               parameters={"demo": True, "seed": seed, "small": small}, started=started)
                   for res in results]
    finally:
        if registry is not None:
            registry.close()
    for st in studies:
        uid = st.result.study.study_uid
        if st.write_error is not None:
            notes.append(f"{uid}: outputs not written to {st.path}: {st.write_error}")
        notes.extend(f"{uid}: {p.get('output', 'output')}: {p.get('reason', '')}" for p in st.problems)
        if st.registry_error is not None:
            notes.append(f"registry: study {uid} not recorded: {st.registry_error}")
    run = DemoRun(out=out, dicom_dir=dicom_dir, study_dirs=list(study_dirs), truth=truth, studies=studies,
                  rows=demo_rows(results, truth), summary_path=out / "demo_summary.json",
                  registry_path=reg_path if any(s.run_id for s in studies) else None, notes=notes)
    run.summary_path.write_text(dumps(run.summary()))
    return run


def _fmt_value(v: Any) -> str:
    return "-" if v is None else (v if isinstance(v, str) else f"{v:.1f}")


def format_demo(run: DemoRun, *, prog: str = "heartprint") -> str:
    """The demo's text report: the phantom written, the studies and series analysed, measured
    vs exact, QC, and the files written."""
    lines = [f"wrote a synthetic patient {run.truth['patient']['patient_id']}: {run.n_files} DICOM files in {run.dicom_dir}",
             f"  CMR study {run.study_dirs[0]} (cine SAX, LGE, MOLLI T1; one frame of reference)",
             f"  CT study  {run.study_dirs[1]} (calcium score)"]
    if len(run.study_dirs) > 2 and run.study_dirs[2].name == "nm":
        lines.append(f"  SPECT     {run.study_dirs[2]} (gated stress and rest myocardial perfusion)")
    if run.study_dirs and run.study_dirs[-1].name == "echo":
        lines.append(f"  echo      {run.study_dirs[-1]} (apical 4-chamber cine, vendor report with LV tracings)")
    lines.append("")
    lines.append(f"analysed {len(run.studies)} studies:")
    for st in run.studies:
        r = st.result
        date = r.study.date.isoformat() if r.study.date else "no date"
        lines.append(f"  study {date} {'/'.join(r.study.modalities) or '-'} {r.study.study_uid}: {r.status}")
        for h in r.history:
            lines.append(f"    history: {'/'.join(h.modalities) or '-'} study {h.study_uid}"
                         f" ({h.date.isoformat() if h.date else 'no date'})")
        for s in r.series:
            lines.append(f"    {s.kind:<11} {s.status:<12} {s.seconds:5.1f} s" + (f"  ({s.message})" if s.message else ""))
    lines += ["", f"{'':<8}{'':<36}{'exact':>10}{'measured':>10}{'error':>10}"]
    for row in run.rows:
        lines.append(f"{row['modality']:<8}{row['quantity']:<36}{_fmt_value(row['exact']):>10}"
                     f"{_fmt_value(row['measured']):>10}{row['error'] or '-':>10}")
    analysed = run.analysed
    for kind in DEMO_KINDS:
        s = analysed.get(kind)
        if s is None:
            continue
        flags = [q for q in s.qc if str(getattr(q.severity, "value", q.severity)) != "info"]
        lines.append(f"QC {kind}: {s.qc_status}" + "".join(f"\n  {q.code}: {q.message}" for q in flags))
    lines += ["", "written:"]
    for key, path in run.files.items():
        lines.append(f"  {key:<14} {path}")
    for st in run.studies:
        lines.append(f"  study {st.folder}:")
        for key, path in st.files.items():
            for p in (path if isinstance(path, list) else [path]):
                lines.append(f"    {key:<12} {p}")
        if st.run_id:
            lines.append(f"    registry run {st.run_id}")
    if run.registry_path is not None:
        lines.append(f"  (list the runs with: {prog} registry {run.registry_path})")
    lines.append(f"  summary        {run.summary_path}")
    return "\n".join(lines)
