"""Ingestion's bookkeeping cost per day: what Dagster adds on top of the work itself.

Method (one process, one set of runs, so there is no cross-process noise to subtract):

- **Wall**: each ingest run of `pipeline backfill` is timed around `runner.run_range`, i.e.
  from building the job subset to the run's result (run and step start-up, resources, the
  asset bodies, event and metadata storage, check evaluations, run teardown).
- **Work**: the library calls the ingest asset bodies make are timed where the bodies call
  them (`WORK_SITES`): `snapshot` (list, copy, hash, retract, write
  the manifest), `read_manifest`, `read_files` (read and verify checksums), `Validator`
  (the run's in-memory DuckDB with the contract's macros), `validate_and_load` (validation
  and dedup in DuckDB, written out as Parquet, then the day's transaction), the quarantine samples, and the counts behind the checks (`partition_counts`,
  `null_required_counts`). That is exactly what a
  script doing the same ingestion without Dagster would run, the same functions on the same
  data, and each timer costs microseconds. Nested calls count once.
- **Bookkeeping per day** = (wall − work) / days ingested. Everything else in the runs is
  Dagster's: planning the run, one materialization and planned event per asset and day,
  the per-day metadata, three check evaluations per raw asset and day, the run's fixed
  start-up (amortized over the run's days, 31 by default) and the DuckDB connection per run.

The same split is also taken in CPU seconds of the process (`time.process_time`, all
threads): (CPU during the ingest runs − CPU inside the work) / days. Wall time is the
figure that matters, but on a shared machine other processes inflate it; CPU time is
what Dagster itself burns per day and is barely affected by them (it leaves out waiting,
e.g. SQLite's fsync of the event log, which only the wall figure shows). The quietest and
busiest runs' wall figures are kept too: with many runs, the quietest is the best estimate
of the uncontended cost.

Not counted as wall: the process start and the import of the code location (once per
command), and the runner reading a run's result (milliseconds). At a size smaller than one
chunk (the quick benchmark's 2 days), the run's fixed start-up and the first resolution of
the definitions dominate the per-day figure; read it at a size of many chunks. Per-run
figures are kept in results.json, so growth with the instance's history shows.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Where the ingest definitions call their work: module -> the names timed there.
WORK_SITES = {
    "pipeline_assets.defs.ingest.copy": ("snapshot",),
    "pipeline_assets.defs.ingest.raw": (
        "read_manifest",
        "read_files",
        "Validator",
        "validate_and_load",
        "quarantine_samples",
    ),
    "pipeline_assets.defs.ingest.checks": (
        "partition_counts",
        "null_required_counts",
        "quarantine_samples",
    ),
}
WORK_FUNCTIONS = tuple(sorted({name for names in WORK_SITES.values() for name in names}))


@dataclass
class IngestRun:
    first: str
    last: str
    days: int
    wall: float
    work: float
    cpu: float = 0.0  # CPU seconds of this process (all threads) during the run
    work_cpu: float = 0.0  # ... of them inside the work functions

    @property
    def bookkeeping_per_day(self) -> float:
        return (self.wall - self.work) / self.days

    @property
    def bookkeeping_cpu_per_day(self) -> float:
        return (self.cpu - self.work_cpu) / self.days


@dataclass
class IngestClock:
    """Timers around the ingest runs and around the work inside their asset bodies."""

    runs: list[IngestRun] = field(default_factory=list)
    work: dict[str, float] = field(default_factory=dict)
    work_cpu: float = 0.0
    other_runs_seconds: float = 0.0  # the warehouse run(s): dbt and features
    _depth: int = 0

    @contextmanager
    def installed(self) -> Iterator[IngestClock]:
        """Wrap the work functions where the ingest assets call them, and the runner's runs;
        restore the originals on the way out."""
        import importlib

        import pipeline_assets.runner as runner

        saved = [
            (module, name, getattr(module, name))
            for module in map(importlib.import_module, WORK_SITES)
            for name in WORK_SITES[module.__name__]
        ]
        saved.append((runner, "run_range", runner.run_range))
        try:
            for module, name, fn in saved:
                wrap = self._timed_run if name == "run_range" else self._timed_work
                setattr(module, name, wrap(name, fn))
            yield self
        finally:
            for module, name, fn in saved:
                setattr(module, name, fn)

    def _timed_work(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.work[name] = self.work.get(name, 0.0) + time.perf_counter() - t
                self.work_cpu += time.process_time() - cpu
                self._depth -= 1

        return timed

    def _timed_run(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        from datetime import date

        from pipeline_assets.lib.contract import days_between

        @functools.wraps(fn)
        def timed(defs: Any, selection: list, first: str, last: str, *args: Any, **kw: Any):
            ingest = any(key.path[0] == "processing" for key in selection)
            work_before, work_cpu_before = sum(self.work.values()), self.work_cpu
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(defs, selection, first, last, *args, **kw)
            finally:
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                if ingest:
                    days = len(days_between(date.fromisoformat(first), date.fromisoformat(last)))
                    work = sum(self.work.values()) - work_before
                    work_cpu = self.work_cpu - work_cpu_before
                    self.runs.append(IngestRun(first, last, days, wall, work, cpu, work_cpu))
                else:
                    self.other_runs_seconds += wall

        return timed

    def result(self) -> dict[str, Any]:
        return summarize(self.runs, self.work, self.other_runs_seconds)


def summarize(
    runs: list[IngestRun], work: dict[str, float], other_runs_seconds: float = 0.0
) -> dict[str, Any]:
    """The figures `pipeline bench` reports (JSON-ready)."""
    days = sum(r.days for r in runs)
    wall = sum(r.wall for r in runs)
    total_work = sum(r.work for r in runs)
    cpu, work_cpu = sum(r.cpu for r in runs), sum(r.work_cpu for r in runs)
    per_run = [r.bookkeeping_per_day for r in runs]
    return {
        "ingest_runs": len(runs),
        "ingest_days": days,
        "ingest_wall_seconds": wall,
        "ingest_work_seconds": total_work,
        "bookkeeping_seconds_per_day": (wall - total_work) / days if days else None,
        "work_seconds_per_day": total_work / days if days else None,
        "ingest_cpu_seconds": cpu,
        "ingest_work_cpu_seconds": work_cpu,
        "bookkeeping_cpu_seconds_per_day": (cpu - work_cpu) / days if days else None,
        "bookkeeping_per_day_min_run": min(per_run, default=None),
        "bookkeeping_per_day_max_run": max(per_run, default=None),
        "work_by_function": work,
        "per_run": [
            {
                "first": r.first,
                "last": r.last,
                "days": r.days,
                "wall": r.wall,
                "work": r.work,
                "cpu": r.cpu,
                "work_cpu": r.work_cpu,
                "bookkeeping_per_day": r.bookkeeping_per_day,
                "bookkeeping_cpu_per_day": r.bookkeeping_cpu_per_day,
            }
            for r in runs
        ],
        "warehouse_runs_seconds": other_runs_seconds,
    }


def run_backfill(argv: list[str]) -> tuple[int, dict[str, Any]]:
    """`pipeline backfill <argv>` as the CLI runs it, in this process, with the clock on."""
    from pipeline_assets.cli import main

    clock = IngestClock()
    with clock.installed():
        code = main(["backfill", *argv])
    return code, clock.result()
