"""``heartprint cohort run SOURCE --out DIR [--workers N] [--scheduler ADDRESS] [--registry URL]``.

Parses arguments and calls :func:`heartprint.cohort.run_cohort`; nothing else. Imports Dask
only when the command runs, so ``heartprint --help`` works without the ``cohort`` extra.

Exit status: 0 every study analysed and ``ok``; 1 the run finished but some studies failed or
are partial (the ``failures`` table says which and why) or the registry refused a study; 2 a
usage error or bad input found before any work (missing source, bad manifest, ``--out`` not a
writable folder, the ``cohort`` extra not installed).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_subcommand", "cmd_cohort_run"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """Register ``cohort`` (with its ``run`` action) on the ``heartprint`` subparsers."""
    p = subparsers.add_parser(
        "cohort", help="analyse a cohort of studies on Dask (resumable; Parquet tables and a summary)",
        description="Cohort runs: every study of SOURCE analysed as 'heartprint analyze' does, on a local Dask "
                    "cluster or a running one; a rerun skips studies already done (docs/cohort.md).")
    sub = p.add_subparsers(dest="cohort_command", metavar="ACTION")
    sub.required = True
    r = sub.add_parser("run", help="analyse every study of SOURCE into DIR",
                       description="Analyse every study of SOURCE (a folder with one study per entry, a CSV/"
                                   "Parquet manifest with path, patient and optional sex, age, height_cm, "
                                   "weight_kg, facts, or an Orthanc query orthanc+http://HOST:PORT/?StudyDate="
                                   "20240101-20241231&ModalitiesInStudy=MR, credentials from "
                                   "HEARTPRINT_ORTHANC_AUTH_FILE) into DIR: studies/, tables/*.parquet, "
                                   "cohort_summary.html.")
    r.add_argument("source", metavar="SOURCE", help="folder of studies, manifest .csv/.parquet, or "
                   "orthanc+http://HOST:PORT/?Keyword=value&… (DICOM keywords; docs/cohort.md)")
    r.add_argument("--out", required=True, metavar="DIR", help="output folder (rerunning into it resumes)")
    r.add_argument("--workers", type=int, metavar="N", help="local worker processes, one thread each "
                   "(default: the usable cores)")
    r.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler "
                   "(tcp://host:8786) instead of a local cluster; DIR must be writable by every worker")
    r.add_argument("--registry", metavar="URL", help="record each study as a run in this registry (SQLite file "
                   "or sqlite:///…, postgresql://…), in batches, from this process only")
    r.add_argument("--memory-limit", metavar="SIZE", help="memory per local worker, e.g. 4GiB (default: the "
                   "machine's memory divided by the workers); a worker above it is restarted, its study retried")
    r.add_argument("--batch-size", type=int, metavar="N", help="studies per committed batch (default 4 per worker, "
                   "at most 50)")
    r.add_argument("--dashboard", default=":8787", metavar="ADDRESS",
                   help="local Dask dashboard address (default :8787; served when bokeh is installed)")
    r.add_argument("--no-dashboard", action="store_true", help="no local dashboard")
    r.add_argument("--no-report", action="store_true", help="write no report.html/pdf per study (faster)")
    r.add_argument("--no-tta", action="store_true", help="no test-time flip augmentation (faster)")
    r.add_argument("--max-study-size", metavar="SIZE", help="largest study fetched from an archive, e.g. "
                   "2GiB (default 4GiB); a larger one is tabled as a fetch failure")
    r.add_argument("--model", metavar="ONNX", help="segmentation model (an .onnx beside its .card.json)")
    r.add_argument("--json", action="store_true", help="print the run's summary as JSON on stdout")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_cohort_run)


def cmd_cohort_run(args: argparse.Namespace) -> int:
    """Run :func:`heartprint.cohort.run_cohort` from parsed arguments; the exit status (module docstring)."""
    from heartprint.errors import InvalidInputError

    if args.workers is not None and args.workers < 1:
        raise InvalidInputError(f"--workers {args.workers}: expected 1 or more")
    if args.batch_size is not None and args.batch_size < 1:
        raise InvalidInputError(f"--batch-size {args.batch_size}: expected 1 or more")
    try:
        from heartprint.cohort._run import run_cohort
    except ImportError as exc:
        raise InvalidInputError(f"cohort runs need the cohort extra (pip install 'heartprint[cohort]'): "
                                f"{exc}") from None
    max_study_bytes = None
    if args.max_study_size is not None:
        from dask.utils import parse_bytes

        try:
            max_study_bytes = int(parse_bytes(args.max_study_size))
        except (ValueError, TypeError):
            max_study_bytes = 0
        if max_study_bytes < 1:
            raise InvalidInputError(f"--max-study-size {args.max_study_size}: expected a size such as 2GiB")
    options: dict[str, Any] = {}
    if args.no_tta:
        options["tta"] = False
    if args.model:
        options["model_path"] = args.model
    show = not args.quiet and not args.json and sys.stderr.isatty()

    def echo(line: str) -> None:
        if not args.quiet:
            print(f"heartprint: {line}", file=sys.stderr)

    run = run_cohort(args.source, args.out, workers=args.workers, scheduler=args.scheduler, registry=args.registry,
                     report=not args.no_report, options=options, batch_size=args.batch_size, progress=show,
                     memory_limit=args.memory_limit, dashboard=None if args.no_dashboard else args.dashboard,
                     echo=echo, max_study_bytes=max_study_bytes)
    if args.json:
        print(json.dumps(run.to_dict(), indent=2))
    else:
        for name, path in run.tables.items():
            print(f"{name:<13} {path}")
        print(f"{'summary':<13} {run.summary}")
    for note in run.notes:
        print(f"heartprint: note: {note}", file=sys.stderr)
    import pandas as pd

    studies = pd.read_parquet(run.tables["studies"], columns=["status"])
    return EXIT_OK if (studies["status"] == "ok").all() and not run.notes else EXIT_FAILED
