"""Latency of the service's read path under a fixed request rate, on loopback.

Starts the API under uvicorn in a subprocess (``python -m heartprint.service serve``, one process,
SQLite registry in a temporary folder), puts one real phantom study through the queue (a worker
in this process, no report, no TTA), then sends requests **open loop** at a fixed rate (default
50 per second, each sent at its scheduled time whether or not earlier ones have answered, so a
slow server cannot hide its queueing: latency is counted from the scheduled send time — the
"coordinated omission" correction of Tene's HdrHistogram/wrk2) with httpx, cycling through:

* ``GET /jobs/{id}``                      status (token check, rate limit, one SELECT, audit row)
* ``GET /jobs/{id}/results``              the result index
* ``GET /jobs/{id}/files/<study>/measurements.json``   a result file
* ``GET /health``                         no token, no database: the floor of this server on this machine

and prints p50/p95/p99/max per endpoint, and each read's p95 as a ratio to ``/health``'s (what the
token check, database read and audit write cost over the bare server).

    .venv/bin/python benchmarks/service_load.py [--rate 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _phantom_zip(folder: Path) -> bytes:
    from heartprint.phantoms import make_cine_sax, write_cine_sax_dicom

    ph = make_cine_sax(seed=5, n_phases=5, n_slices=6, matrix=(80, 80), spacing=(8.0, 1.75, 1.75))
    paths = write_cine_sax_dicom(ph, folder / "cine")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, p.name)
    return buf.getvalue()


async def _load(base: str, token: str, targets: list[tuple[str, str, bool]], rate: float, seconds: float):
    n = int(rate * seconds)
    lat: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    errors: dict[str, int] = {name: 0 for name, _, _ in targets}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            name, path, authed = targets[i % len(targets)]
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            headers = {"Authorization": f"Bearer {token}"} if authed else {}
            try:
                r = await client.get(path, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            lat[name].append(time.perf_counter() - due)
            if not ok:
                errors[name] += 1

        await asyncio.gather(*(one(i) for i in range(n)))
    return lat, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50.0, help="requests per second, all endpoints together")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    from heartprint.service import Settings
    from heartprint.service._auth import TokenStore
    from heartprint.service._db import open_engine
    from heartprint.service._jobs import JobQueue
    from heartprint.service.worker import Worker

    tmp = Path(tempfile.mkdtemp(prefix="hp-service-load-"))
    server = None
    try:
        token_file = tmp / "tokens.json"
        token = TokenStore.add_to_file(token_file, "bench", "reader")
        settings = Settings(registry=str(tmp / "registry.db"), data_dir=tmp / "data", report=False, tta=False,
                            rate_limit=10 ** 6)
        # one real study through the queue, as the API would have queued it
        job_id = JobQueue(open_engine(settings.registry)).submit(source="upload", source_ref="bench",
                                                                 submitted_by="bench")
        (settings.jobs_dir / job_id).mkdir(parents=True)
        (settings.jobs_dir / job_id / "input.zip").write_bytes(_phantom_zip(tmp))
        worker = Worker(settings)
        t0 = time.perf_counter()
        job = worker.run_once()
        worker.close()
        analysis_s = time.perf_counter() - t0
        result = JobQueue(open_engine(settings.registry)).get(job.id)
        assert result.status == "done", result.error
        folder = result.result["studies"][0]["folder"]

        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "heartprint.service", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--registry", settings.registry, "--data", str(settings.data_dir), "--token-file", str(token_file),
             "--rate-limit", str(10 ** 6)], env={**os.environ, "HEARTPRINT_THREADS": "1"})
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        targets = [("GET /health (floor)", "/health", False),
                   ("GET /jobs/{id}", f"/jobs/{job_id}", True),
                   ("GET /jobs/{id}/results", f"/jobs/{job_id}/results", True),
                   ("GET measurements.json", f"/jobs/{job_id}/files/{folder}/measurements.json", True)]
        httpx.get(f"{base}/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})  # token verified once (scrypt)
        lat, errors = asyncio.run(_load(base, token, targets, args.rate, args.seconds))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"heartprint service read latency, open loop at {args.rate:g} requests/s for {args.seconds:g} s on "
          f"loopback ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}); setup analysis {analysis_s:.1f} s")
    print(f"{'endpoint':<28}{'n':>6}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'p95/floor':>11}")
    floor = float(np.percentile(lat[targets[0][0]], 95))
    for name, _, _ in targets:
        ms = np.asarray(lat[name]) * 1000
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        print(f"{name:<28}{len(ms):>6}{errors[name]:>8}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{ms.max():>9.1f}"
              f"{p95 / (floor * 1000):>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
