"""The whole service on one machine, for trying it: Orthanc (with its DICOMweb plugin), the API
and a worker watching Orthanc, started as child processes and stopped by their PIDs
(``python -m heartprint.service stack [--demo]``).

With ``--demo`` the phantom demo patient (:func:`heartprint.phantoms.write_demo_patient`: a CMR
study with cine, LGE and MOLLI, and a calcium CT) is stored into Orthanc once it is up; Orthanc
reports each study stable, the worker analyses it and stores its SEG and SR back. The command
prints the addresses and an admin token (issued into ``DATA/tokens.json`` on the first start),
then waits; SIGINT or SIGTERM stops the worker, the API and Orthanc in that order (SIGTERM,
then SIGKILL after 10 s), each by its PID.

Orthanc listens with ``RemoteAccessAllowed: false`` (it answers only this machine); Orthanc
1.10 has no option to bind to loopback alone. Where even that cannot bind (a sandbox without a
usable network), run the command inside ``unshare -rn`` with its clients.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["run_stack"]

ORTHANC_BINARY = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def _wait(url: str, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} stopped at start (exit status {proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


def _stop(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for name, proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        print(f"stopped {name} (pid {proc.pid})", file=sys.stderr)


def run_stack(data: Path, *, port: int = 8080, orthanc_port: int = 8042, demo: bool = False,
              orthanc_binary: str = ORTHANC_BINARY, no_report: bool = False, no_tta: bool = False,
              ready: Any = None) -> int:
    """Start Orthanc, the API and a worker on ``data``; load the demo patient if ``demo``; wait
    for SIGINT/SIGTERM (or, for tests, until ``ready(info)`` returns); stop them all by PID."""
    from heartprint.service._auth import TokenStore

    data = Path(data).resolve()
    data.mkdir(parents=True, exist_ok=True)
    token_file = data / "tokens.json"
    token = None
    if not token_file.exists():
        token = TokenStore.add_to_file(token_file, "stack admin", "admin")
    orthanc_url = f"http://127.0.0.1:{orthanc_port}"
    config = {"Name": "heartprint", "HttpPort": orthanc_port, "DicomServerEnabled": False,
              "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
              "StorageDirectory": str(data / "orthanc"), "IndexDirectory": str(data / "orthanc"),
              "Plugins": [DICOMWEB_PLUGIN], "StableAge": 5, "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}
    (data / "orthanc.json").write_text(json.dumps(config, indent=2))
    common = ["--registry", str(data / "registry.db"), "--data", str(data), "--orthanc", orthanc_url]
    stop_now = {"flag": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stop_now["flag"] = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    procs: list[tuple[str, subprocess.Popen]] = []
    log = open(data / "stack.log", "ab")
    try:
        procs.append(("Orthanc", subprocess.Popen([orthanc_binary, str(data / "orthanc.json")], stdout=log, stderr=log)))
        _wait(f"{orthanc_url}/system", procs[-1][1], "Orthanc")
        api = subprocess.Popen([sys.executable, "-m", "heartprint.service", "serve", "--host", "127.0.0.1", "--port",
                                str(port), "--token-file", str(token_file), *common], stdout=log, stderr=log)
        procs.append(("API", api))
        _wait(f"http://127.0.0.1:{port}/health", api, "the API")
        flags = (["--no-report"] if no_report else []) + (["--no-tta"] if no_tta else [])
        procs.append(("worker", subprocess.Popen([sys.executable, "-m", "heartprint.service", "worker", *common,
                                                  "--poll", "1", *flags], stdout=log, stderr=log)))
        if demo:
            from heartprint.phantoms import write_demo_patient

            folder = data / "demo-dicom"
            if not folder.exists():
                write_demo_patient(folder, spect=False)
            n = 0
            for f in sorted(folder.rglob("*.dcm")):
                httpx.post(f"{orthanc_url}/instances", content=f.read_bytes(), timeout=60).raise_for_status()
                n += 1
            print(f"demo patient: {n} instances stored into Orthanc", file=sys.stderr)
        info = {"api": f"http://127.0.0.1:{port}", "openapi": f"http://127.0.0.1:{port}/docs",
                "sign_in": f"http://127.0.0.1:{port}/login", "viewer": f"http://127.0.0.1:{port}/viewer/",
                "patient_page": f"http://127.0.0.1:{port}/patients/<patient id>/page",
                "orthanc": orthanc_url, "dicomweb": f"{orthanc_url}/dicom-web", "token": token,
                "pids": {name: p.pid for name, p in procs}, "log": str(data / "stack.log")}
        print(json.dumps(info, indent=2), flush=True)
        if token is None:
            print(f"(the admin token was printed when {token_file} was made)", file=sys.stderr)
        while not stop_now["flag"]:
            if ready is not None and ready(info):
                break
            dead = [name for name, p in procs if p.poll() is not None]
            if dead:
                print(f"stopping: {', '.join(dead)} exited; see {data / 'stack.log'}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop(procs)
        log.close()
        for s, h in old.items():
            signal.signal(s, h)


def add_arguments(p: Any) -> None:
    p.add_argument("--data", type=Path, default=Path("service-data"), help="folder of all state (default service-data)")
    p.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    p.add_argument("--orthanc-port", type=int, default=8042, help="Orthanc HTTP port (default 8042)")
    p.add_argument("--demo", action="store_true", help="store the phantom demo patient into Orthanc")
    p.add_argument("--no-report", action="store_true", help="worker writes no report.html/pdf (faster)")
    p.add_argument("--no-tta", action="store_true", help="worker without test-time augmentation (faster)")


def cmd_stack(args: Any) -> int:
    return run_stack(args.data, port=args.port, orthanc_port=args.orthanc_port, demo=args.demo,
                     no_report=args.no_report, no_tta=args.no_tta)
