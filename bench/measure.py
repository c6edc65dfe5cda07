"""Wall time and peak memory of a whole process tree (the case and every child it starts).

Each case runs as its own process, so its memory is not mixed with the harness's: dbt and
the Dagster run are children of it, and psutil polls the sum of their resident sets.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.2


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    returncode: int
    timed_out: bool
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def tree_rss(root: psutil.Process) -> int:
    """Bytes resident in `root` and all its descendants (shared pages count once per process)."""
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # exited between listing and reading
    return total


def run_measured(
    cmd: list[str], env: dict[str, str], log: Path, timeout: float | None = None
) -> Measurement:
    """Run `cmd` to completion (or `timeout` seconds), its output in `log`; time and poll RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        # Its own session, so a timeout can end exactly this tree (by its process group id).
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        root = psutil.Process(proc.pid)
        peak = 0
        timed_out = False
        while True:
            peak = max(peak, tree_rss(root))
            try:
                proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            if timeout is not None and time.perf_counter() - start > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                break
        seconds = time.perf_counter() - start
    return Measurement(seconds, peak / 2**20, proc.returncode, timed_out, log)


def tail(log: Path, lines: int = 15) -> str:
    """The end of a case's output, for error messages."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
