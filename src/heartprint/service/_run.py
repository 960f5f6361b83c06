"""One job's work: the same library path as ``heartprint analyze`` (:func:`heartprint.pipeline.analyze`
then :func:`heartprint.outputs.write_study` per study), made safe to repeat.

At-least-once means a job may run twice (its worker died after writing, before marking it done).
Repeating it changes nothing a reader could see twice:

* each study's folder ``results/<job id>/<study folder>`` is written by the one writer, which
  builds it under a temporary name and swaps it in whole; the folder names are a function of the
  input (:func:`heartprint.outputs.study_folder_name` in scan order), so a rerun replaces the
  same folders, and leftovers of a killed run are removed (:func:`heartprint.outputs.check_output_root`);
* each study is recorded in the registry once per job: the run carries ``service_job`` in its
  parameters, and a rerun that finds a complete run of the same job and study reuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heartprint.service._jobs import Job
from heartprint.service._settings import Settings

__all__ = ["job_input", "run_job"]


def job_input(settings: Settings, job_id: str) -> Path:
    """The job's input archive (an upload as sent, or the study fetched from the archive)."""
    return settings.jobs_dir / job_id / "input.zip"


def _recorded_run(registry: Any, job_id: str, study_uid: str | None) -> str | None:
    if not study_uid:
        return None
    for run in registry.runs(study_uid):
        if run.status == "complete" and run.parameters.get("service_job") == job_id:
            return run.run_id
    return None


def run_job(job: Job, settings: Settings, registry: Any, *, fetch: Any = None) -> dict[str, Any]:
    """Analyse ``job``'s input and write and record every study it holds; returns the job's
    result (``{"studies": [...]}``, paths relative to ``results/<job id>``).

    ``fetch(job, path)`` first brings the input to ``path`` when it is not there yet (an archive
    study); a failure raises, so the job is retried.
    """
    from heartprint.outputs import write_study
    from heartprint.pipeline import AnalysisOptions, analyze

    source = job_input(settings, job.id)
    if not source.is_file():
        if fetch is None:
            raise FileNotFoundError(f"job {job.id}: its input is missing")
        fetch(job, source)
    if settings.analysis_hook is not None:
        settings.analysis_hook(job, source)
    options = AnalysisOptions(tta=settings.tta)
    results = analyze(source, options)
    root = settings.results_dir / job.id
    used: set[str] = set()
    studies = []
    params = {"service_job": job.id, "source": job.source, "tta": settings.tta}
    for res in results:
        st = write_study(res, root, used, report=settings.report)
        run_id = None
        if st.write_error is None:
            uid = res.study.study_uid
            run_id = _recorded_run(registry, job.id, uid) or registry.record_study_result(
                res.to_dict(), parameters=params)
        files = sorted(p.relative_to(root).as_posix() for p in Path(st.path).rglob("*") if p.is_file()) \
            if st.path is not None and st.write_error is None else []
        studies.append({"folder": st.folder, "study_uid": res.study.study_uid, "patient_id": res.patient.patient_id,
                        "status": st.status, "run_id": run_id, "files": files, "failed_outputs": st.failed_outputs,
                        "write_error": st.write_error,
                        "series": [{"series_uid": s.series_uid, "kind": s.kind, "status": s.status,
                                    "message": s.message} for s in res.series]})
    return {"studies": studies}
