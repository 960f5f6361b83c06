"""Stopping a server a test started, by PID: terminate, wait, kill if it will not go."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, log=None, *, grace_s: float = 10.0) -> None:
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if log is not None:
        log.close()
