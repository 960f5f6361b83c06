"""Cohort throughput (issue 22): studies per hour of ``heartprint cohort run`` with 1 and 2 Dask
workers on a phantom cine cohort with broken studies, against the obvious alternative — a plain
loop calling ``pipeline.analyze`` and ``outputs.write_study`` in one process — in the same run.

    python benchmarks/cohort_throughput.py --studies 200 --workers 1 2

Each mode starts from an empty output folder. "seconds" is the analysis phase (first study
submitted to last one committed); "total" adds cluster start, content hashing, the merged tables
and the summary. The issue's floor: ≥ 10,000 cine studies a day on 2 cores, i.e. ≥ 417 studies/h
(8.64 s of wall time per study, outputs included). The machine's load average is printed: on a
shared machine the numbers are lower bounds. "worker s/study" is the median time one worker spent
on an analysed study; "peak MiB" the largest worker resident memory (``timings`` table).

The phantoms are full-size cine SAX stacks (25 phases × 12 slices × 192², as ``make_cine_sax``
makes by default; ``--small`` for the test size), ``--distinct`` different hearts (each study with
its own patient and UIDs), every ``--broken-every``-th study broken (truncated file, missing
orientation, no DICOM).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _sequential(source: Path, out: Path, report: bool, tta: bool) -> tuple[float, int, int]:
    """The plain loop: every study through ``pipeline.analyze`` + ``write_study``; (seconds, done, failed)."""
    from heartprint.errors import HeartprintError
    from heartprint.outputs import write_study
    from heartprint.pipeline import AnalysisOptions, analyze

    t0 = time.perf_counter()
    done = failed = 0
    for folder in sorted(p for p in source.iterdir() if not p.name.startswith(".")):
        done += 1
        try:
            results = analyze(folder, AnalysisOptions(tta=tta))
        except HeartprintError:
            failed += 1
            continue
        used: set[str] = set()
        sts = [write_study(r, out / folder.name, used, report=report) for r in results]
        failed += int(any(st.status == "failed" for st in sts))
    return time.perf_counter() - t0, done, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--distinct", type=int, default=6, help="different hearts synthesised (default 6)")
    ap.add_argument("--broken-every", type=int, default=10, help="every N-th study broken (default 10)")
    ap.add_argument("--small", action="store_true", help="test-size phantoms instead of full-size")
    ap.add_argument("--no-report", action="store_true", help="no report.html/pdf per study")
    ap.add_argument("--no-tta", action="store_true", help="no test-time flip augmentation (one network pass, not 3)")
    ap.add_argument("--no-sequential", action="store_true", help="skip the plain-loop baseline")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HEARTPRINT_THREADS", "1")

    from heartprint.cohort import run_cohort, write_phantom_cohort

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hp-cohort-bench-"))
    try:
        t0 = time.perf_counter()
        rows = write_phantom_cohort(work / "cohort", args.studies, broken_every=args.broken_every,
                                    small=args.small, distinct=args.distinct)
        n_broken = sum(r["broken"] is not None for r in rows)
        print(f"phantom cohort: {args.studies} cine studies ({'small' if args.small else 'full-size'}, "
              f"{args.distinct} hearts), {n_broken} broken; written in {time.perf_counter() - t0:.0f} s", flush=True)
        source = work / "cohort" / "studies"
        table = []
        load0 = os.getloadavg()
        if not args.no_sequential:
            out = work / "out-sequential"
            shutil.rmtree(out, ignore_errors=True)
            secs, done, failed = _sequential(source, out, not args.no_report, not args.no_tta)
            table.append(("plain loop (no Dask)", 1, done, failed, secs, secs, None, None))
            print(f"  plain loop: {secs:.1f} s", flush=True)
        for w in args.workers:
            out = work / f"out-{w}"
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            run = run_cohort(source, out, workers=w, report=not args.no_report, dashboard=None,
                             options={"tta": False} if args.no_tta else None)
            total = time.perf_counter() - t
            import pandas as pd

            timings = pd.read_parquet(run.tables["timings"])
            per = timings["seconds"]
            ok = per[per > 1.0]  # analysed studies (broken ones fail in well under a second)
            rss = timings["max_rss_mib"].max() if "max_rss_mib" in timings else None
            table.append(("heartprint cohort run", w, run.n_done, run.n_failed, run.seconds, total,
                          statistics.median(ok) if len(ok) else None, rss))
            print(f"  {w} worker(s): {run.seconds:.1f} s", flush=True)
        load1 = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    base = table[0][4] / table[0][2] if not args.no_sequential else None
    print()
    print(f"{'mode':<24}{'workers':>8}{'studies':>9}{'failed':>8}{'seconds':>10}{'total s':>10}"
          f"{'s/study':>9}{'studies/h':>11}{'studies/day':>13}{'worker s/study':>16}{'peak MiB':>10}{'vs loop':>9}")
    for mode, w, n, failed, secs, total, median, rss in table:
        per_study = secs / n
        rate = 3600.0 / per_study
        vs = f"{base / per_study:.2f}x" if base else "-"
        print(f"{mode:<24}{w:>8}{n:>9}{failed:>8}{secs:>10.1f}{total:>10.1f}{per_study:>9.2f}{rate:>11.0f}"
              f"{24 * rate:>13,.0f}{(f'{median:.1f}' if median else '-'):>16}{(f'{rss:.0f}' if rss else '-'):>10}"
              f"{vs:>9}")
    by_w = {w: secs / n for mode, w, n, _f, secs, _t, _m, _r in table if mode.startswith("heartprint")}
    if 1 in by_w and 2 in by_w:
        print(f"\nscaling 1 → 2 workers: {by_w[1] / by_w[2]:.2f}x (ideal 2.00x)")
    if 2 in by_w:
        day = 86400.0 / by_w[2]
        print(f"2 workers: {day:,.0f} studies/day ({by_w[2]:.2f} s per study, outputs "
              f"{'without reports' if args.no_report else 'with reports'}"
              f"{', no TTA' if args.no_tta else ', TTA'}); floor 10,000/day (8.64 s): "
              f"{'met' if day >= 10000 else 'NOT met'}")
    print(f"machine: {os.cpu_count()} CPUs; load average {load0[0]:.1f} at start, {load1[0]:.1f} at end "
          f"(other work on the machine lowers these numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
