"""The fuzz harness (benchmarks/fuzz.py, issue 17 item 7): a small slice of mutants must give no
crash, hang, memory blow-up or write outside the output root; the generator is deterministic;
and the classifier can fail (planted crash, hang, signal, memory and escape are each caught)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fuzz  # noqa: E402

#: mostly file-level mutants (folder mutants analyse whole series), a few on the small calcium series
SLICE_SEED, SLICE_N, N_FOLDER = 7, 60, 8


@pytest.fixture(scope="module")
def corpus() -> fuzz.Corpus:
    return fuzz.build_corpus(phantom=True, pydicom_files=True, max_bytes=256 << 10)


def test_generator_is_deterministic_per_seed(corpus):
    again = fuzz.build_corpus(phantom=True, pydicom_files=True, max_bytes=256 << 10)
    assert again.digest() == corpus.digest()  # phantom UIDs and dates normalised
    a = [fuzz.generate(corpus, 3, i).fingerprint() for i in range(25)]
    b = [fuzz.generate(again, 3, i).fingerprint() for i in range(25)]
    c = [fuzz.generate(corpus, 4, i).fingerprint() for i in range(25)]
    assert a == b
    assert sum(x != y for x, y in zip(a, c)) >= 20  # another seed, other mutants
    assert len(set(a)) >= 20


def test_operators_change_the_file(corpus):
    import random

    base = corpus.series["calcium"][0][1]

    for op in fuzz.FILE_OPS:
        if op == "identity":
            continue
        changed = any(fuzz.mutate_file(random.Random(f"{op}{k}"), base, op)[0] != base for k in range(4))
        assert changed, op


def _planted(index: int, action: str) -> dict:
    return {"plant": action, "mutant": fuzz.Mutant(index, 0, f"planted_{action}", "planted", action, "file", b"x")}


def test_classifier_catches_planted_failures(tmp_path):
    jobs = [lambda a=a, i=i: _planted(i, a)
            for i, a in enumerate(["crash", "clean", "hang", "escape", "signal", "memory", "crash"])]
    cfg = fuzz.RunConfig(timeout=2.0, keep=tmp_path / "keep", report_outputs=False)
    results = fuzz.run(jobs, jobs=1, cfg=cfg, run_dir=tmp_path / "run")
    got = {r["index"]: r["outcome"] for r in results}
    assert got == {0: "crash", 1: "clean", 2: "hang", 3: "escape", 4: "crash", 5: "memory", 6: "crash"}
    assert results[0]["exc_type"] == "KeyError" and "planted crash" in results[0]["last_line"]
    assert results[4]["exc_type"] == "signal SIGSEGV"
    assert "fuzz.py:_planted" in results[2]["where"][1]  # the faulthandler dump names where it hung
    kept = sorted(p.name for p in (tmp_path / "keep").iterdir())
    assert kept == ["000000_planted_crash", "000002_planted_hang", "000003_planted_escape", "000004_planted_signal",
                    "000005_planted_memory", "000006_planted_crash"]
    assert "crash" in fuzz.summarise(results)


def test_slice_has_no_crash_hang_memory_or_escape(corpus, tmp_path):
    ops = [o for o in fuzz.FILE_OPS if o != "deflate"]  # the 3 GiB deflate bomb belongs to the benchmark
    jobs = [lambda i=i: fuzz.generate(corpus, SLICE_SEED, i, ops=ops) for i in range(SLICE_N)]
    # and a few whole-series mutants on the (fast) calcium CT: hostile UIDs, special files, zips
    folder_ops = ["folder_uid", "folder_fifo", "folder_symlink", "folder_zip", "folder_all_files"]
    jobs += [lambda i=i: fuzz.generate(corpus, SLICE_SEED, i, ops=folder_ops, series=["calcium"])
             for i in range(SLICE_N, SLICE_N + N_FOLDER)]
    results = fuzz.run(jobs, jobs=1, cfg=fuzz.RunConfig(timeout=60.0, report_outputs=False), run_dir=tmp_path / "run")
    assert len(results) == SLICE_N + N_FOLDER
    assert {r["mode"] for r in results} == {"file", "folder"}
    bad = [r for r in results if r["outcome"] in fuzz.FAILURES]
    assert not bad, fuzz.summarise(results)
