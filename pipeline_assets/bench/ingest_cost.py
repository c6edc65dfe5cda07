"""Ingestion's bookkeeping cost per day: what Dagster adds on top of the work itself.

Method (one process, one set of runs, so there is no cross-process noise to subtract):

- **Wall**: each ingest run of `pipeline backfill` is timed around `runner.run_range`, i.e.
  from building the job subset to the run's result (run and step start-up, resources, the
  asset bodies, event and metadata storage, check evaluations, run teardown).
- **Work**: the library calls the ingest asset bodies make are timed where the bodies call
  them (the names in `defs.ingest.assets`): `snapshot` (list, copy, hash, retract, write
  the manifest), `read_manifest`, `read_files` (read and verify checksums),
  `validate_partition`, `load_partition` (the day's transaction), and the counts behind the
  checks (`partition_counts`, `null_required_counts`). That is exactly what a script doing
  the same ingestion without Dagster would run, the same functions on the same data, and
  each timer costs microseconds. Nested calls count once.
- **Bookkeeping per day** = (wall − work) / days ingested. Everything else in the runs is
  Dagster's: planning the run, one materialization and planned event per asset and day,
  the per-day metadata, three check evaluations per raw asset and day, the run's fixed
  start-up (amortized over the run's days, 31 by default) and the DuckDB connection per run.

Not counted as wall: the process start and the import of the code location (once per
command), and the runner reading a run's result (milliseconds). At a size smaller than one
chunk (the quick benchmark's 2 days), the run's fixed start-up dominates the per-day figure;
read it at a size of many chunks. Per-run figures are kept, so growth with the instance's
history (later runs costing more per day) shows.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WORK_FUNCTIONS = (
    "snapshot",
    "read_manifest",
    "read_files",
    "validate_partition",
    "load_partition",
    "partition_counts",
    "null_required_counts",
)


@dataclass
class IngestRun:
    first: str
    last: str
    days: int
    wall: float
    work: float

    @property
    def bookkeeping_per_day(self) -> float:
        return (self.wall - self.work) / self.days


@dataclass
class IngestClock:
    """Timers around the ingest runs and around the work inside their asset bodies."""

    runs: list[IngestRun] = field(default_factory=list)
    work: dict[str, float] = field(default_factory=dict)
    other_runs_seconds: float = 0.0  # the warehouse run(s): dbt and features
    _depth: int = 0

    def install(self) -> None:
        """Wrap the work functions where the ingest assets call them, and the runner's runs."""
        import pipeline_assets.defs.ingest.assets as assets
        import pipeline_assets.runner as runner

        for name in WORK_FUNCTIONS:
            setattr(assets, name, self._timed_work(name, getattr(assets, name)))
        runner.run_range = self._timed_run(runner.run_range)

    def _timed_work(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.work[name] = self.work.get(name, 0.0) + time.perf_counter() - t
                self._depth -= 1

        return timed

    def _timed_run(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        from datetime import date

        from pipeline_assets.lib.contract import days_between

        @functools.wraps(fn)
        def timed(defs: Any, selection: list, first: str, last: str, *args: Any, **kw: Any):
            ingest = any(key.path[0] == "processing" for key in selection)
            work_before = sum(self.work.values())
            t = time.perf_counter()
            try:
                return fn(defs, selection, first, last, *args, **kw)
            finally:
                wall = time.perf_counter() - t
                if ingest:
                    days = len(days_between(date.fromisoformat(first), date.fromisoformat(last)))
                    work = sum(self.work.values()) - work_before
                    self.runs.append(IngestRun(first, last, days, wall, work))
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
    return {
        "ingest_runs": len(runs),
        "ingest_days": days,
        "ingest_wall_seconds": wall,
        "ingest_work_seconds": total_work,
        "bookkeeping_seconds_per_day": (wall - total_work) / days if days else None,
        "work_seconds_per_day": total_work / days if days else None,
        "work_by_function": work,
        "per_run": [
            {
                "first": r.first,
                "last": r.last,
                "days": r.days,
                "wall": r.wall,
                "work": r.work,
                "bookkeeping_per_day": r.bookkeeping_per_day,
            }
            for r in runs
        ],
        "warehouse_runs_seconds": other_runs_seconds,
    }


def run_backfill(argv: list[str]) -> tuple[int, dict[str, Any]]:
    """`pipeline backfill <argv>` as the CLI runs it, in this process, with the clock on."""
    from pipeline_assets.cli import main

    clock = IngestClock()
    clock.install()
    code = main(["backfill", *argv])
    return code, clock.result()
