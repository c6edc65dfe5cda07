"""Who runs a run: its worker process, recorded so that a later process can tell it died.

A run's worker (the `pipeline` command for a CLI run, the run worker process `dagster dev`
spawns for a daemon- or UI-launched one) records itself in the run's `pipeline/worker` tag:
host, boot id, pid, when the process started, and the run it was written for. The tag lives
in the instance's storage, so it survives the host dying. Whoever reads it later (the
start-up check of every command, the run launcher's health check inside the daemon) judges
it against the machine as it is now:

- another host: unknown (nothing here can tell);
- another boot id: dead, the machine restarted (every process of the old boot is gone);
- same boot, no such pid, a zombie, or a pid whose process started at another time (the pid
  was reused): dead;
- otherwise alive, however slow.

The start time is the kernel's own (clock ticks since boot, from /proc), not wall-clock time:
a laptop that sleeps and has its clock stepped on waking must not see its live runs as new
processes. Elsewhere psutil's `create_time()` stands in (macOS records it once, absolutely).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

WORKER_TAG = "pipeline/worker"
# The tag CLI runs carried before boot ids and start times were recorded: `<host>/<pid>`.
LEGACY_PROCESS_TAG = "pipeline/process"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
ALIVE, DEAD, UNKNOWN = "alive", "dead", "unknown"
# A process that exists but whose start this user may not read: taken as the worker (never
# fail a run on a guess).
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Worker:
    """A run's worker process. `boot`, `started` and `run_id` are None on a legacy tag."""

    host: str
    pid: int
    boot: str | None = None
    started: str | None = None
    run_id: str | None = None

    def tag(self) -> str:
        """The tag's value: `host=h pid=n boot=b started=s run=r`, readable in the UI."""
        fields = {"host": self.host, "pid": self.pid, "boot": self.boot}
        fields |= {"started": self.started, "run": self.run_id}
        return " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)

    @classmethod
    def parse(cls, value: str) -> Worker | None:
        fields = dict(f.partition("=")[::2] for f in value.split())
        if not fields.get("host") or not fields.get("pid", "").isdigit():
            return None
        return cls(
            fields["host"],
            int(fields["pid"]),
            fields.get("boot"),
            fields.get("started"),
            fields.get("run"),
        )


def recorded_worker(tags: dict[str, str], run_id: str) -> Worker | None:
    """The worker recorded for this run; None if it has not recorded itself yet (a retry
    carries its parent's tag, written for another run)."""
    if WORKER_TAG in tags:
        worker = Worker.parse(tags[WORKER_TAG])
        return worker if worker is not None and worker.run_id == run_id else None
    host, _, pid = tags.get(LEGACY_PROCESS_TAG, "").rpartition("/")
    return Worker(host, int(pid)) if host and pid.isdigit() else None


def _linux_process_start(pid: int) -> str | None:
    """The process's start in clock ticks since boot (/proc/<pid>/stat, field 22); None if
    there is no such process or it is a zombie (it died; its parent has not reaped it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError:
        return UNREADABLE
    fields = stat.rpartition(")")[2].split()  # after `(comm)`, which may hold spaces
    return None if fields[0] in ("Z", "X") else f"t{fields[19]}"


def _psutil_process_start(pid: int) -> str | None:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{process.create_time():.2f}"
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return UNREADABLE


@dataclass(frozen=True)
class Machine:
    """This machine as a judge sees it: its name, its boot, and a process lookup (pid ->
    start, None if gone). Tests inject their own to simulate a reboot or a reused pid."""

    host: str
    boot: str
    process_start: Callable[[int], str | None]

    @classmethod
    def this(cls) -> Machine:
        if BOOT_ID.exists():
            return cls(socket.gethostname(), BOOT_ID.read_text().strip(), _linux_process_start)
        return cls(socket.gethostname(), f"{psutil.boot_time():.0f}", _psutil_process_start)

    def worker(self, run_id: str, pid: int | None = None) -> Worker:
        """The worker record of process `pid` (default: this process) running `run_id`."""
        pid = os.getpid() if pid is None else pid
        return Worker(self.host, pid, self.boot, self.process_start(pid), run_id)


@dataclass(frozen=True)
class Verdict:
    state: str  # ALIVE, DEAD or UNKNOWN
    reason: str


def judge(worker: Worker | None, machine: Machine) -> Verdict:
    """Is the worker alive, dead, or beyond what this machine can tell? The reason says so."""
    if worker is None:
        return Verdict(UNKNOWN, "no run worker recorded for this run yet")
    where = f"run worker on {worker.host} (pid {worker.pid})"
    if worker.host != machine.host:
        return Verdict(UNKNOWN, f"{where}: another machine, not judged from {machine.host}")
    if worker.boot is not None and worker.boot != machine.boot:
        return Verdict(DEAD, f"{where} died; the machine restarted")
    started = machine.process_start(worker.pid)
    if started is None:
        return Verdict(DEAD, f"{where} died; its process is gone (killed, or out of memory)")
    if worker.started is not None and started not in (worker.started, UNREADABLE):
        return Verdict(DEAD, f"{where} died; pid {worker.pid} is now another process")
    return Verdict(ALIVE, f"{where} is alive")
