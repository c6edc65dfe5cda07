"""Where case A's time goes, per day: Dagster's events, the work on the data, and the rest.

Method (one process, one set of runs, so there is no cross-process noise to subtract):

- **Wall**: each run of `pipeline backfill` (ingestion chunks, then the warehouse run) is
  timed around `runner.run_range`, from building the job subset to the run's result.
- **Events**: every event the run writes to the instance's event log is counted and timed
  where Dagster stores it (`SqliteEventLogStorage.store_event`, the storage's public entry
  point; timed only, not changed): the planned event and the materialization of each asset
  and day, the check results, the runs' and steps' own events.
- **Work**: the calls that do the work on the data, timed where the project makes them
  (`WORK_SITES`): the copy with its manifest, reading and checking the files, validation and
  the load (DuckDB), dbt's own run (`_drain`: the dbt process from start to exit), and the
  features process (Pipes). A script doing the same without Dagster would run exactly these.
  Nested calls count once.
- **Overhead** = wall − events − work: what the project and Dagster add besides their event
  log: planning runs and steps, resources, metadata queries, the checks' counts, the
  pointers, each run's fixed start-up. Per day, at a size of many days, that is the
  project's own cost per day.

The same split is taken in CPU seconds of the process (all threads): wall time is the figure
that matters, but other processes on a shared machine inflate it; CPU time is barely
affected by them (it leaves out waiting, such as SQLite's fsync of the event log and the dbt
and features subprocesses, which only the wall figure shows).

Not in the runs' wall: the process start, the import of the code location and the
instance's set-up (once per command); the bench reports them as the command's fixed cost.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

# Where the definitions call their work on the data: module -> the names timed there.
WORK_SITES = {
    "pipeline_assets.defs.ingest.copy": ("snapshot",),
    "pipeline_assets.defs.ingest.raw": (
        "read_manifest",
        "read_files",
        "Validator",
        "validate_and_load_days",
    ),
    "pipeline_assets.defs.transform.assets": ("_drain",),
    "pipeline_assets.defs.features.assets": ("run_features_process",),
}
WORK_FUNCTIONS = tuple(sorted({name for names in WORK_SITES.values() for name in names}))


@dataclass
class Run:
    """One Dagster run of the backfill, split."""

    label: str  # "ingest" or "warehouse"
    first: str
    last: str
    days: int
    wall: float
    events: int
    events_seconds: float
    work: float
    cpu: float = 0.0
    work_cpu: float = 0.0
    events_cpu: float = 0.0

    @property
    def overhead(self) -> float:
        return self.wall - self.events_seconds - self.work


@dataclass
class Clock:
    """Timers around the runs, the events they store and the work inside them."""

    runs: list[Run] = field(default_factory=list)
    work: dict[str, float] = field(default_factory=dict)
    events: int = 0
    events_seconds: float = 0.0
    events_cpu: float = 0.0
    work_cpu: float = 0.0
    _depth: int = 0

    @contextmanager
    def installed(self) -> Iterator[Clock]:
        """Wrap the work where the definitions call it, the event log's store, and the
        runner's runs; restore the originals on the way out."""
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
            SqliteEventLogStorage,
        )

        import pipeline_assets.runner as runner

        saved = [
            (module, name, getattr(module, name))
            for module in map(importlib.import_module, WORK_SITES)
            for name in WORK_SITES[module.__name__]
        ]
        wrapped = [(module, name, self._timed_work(name, fn)) for module, name, fn in saved]
        store = SqliteEventLogStorage.store_event
        wrapped.append((SqliteEventLogStorage, "store_event", self._timed_store(store)))
        saved.append((SqliteEventLogStorage, "store_event", store))
        wrapped.append((runner, "run_range", self._timed_run(runner.run_range)))
        saved.append((runner, "run_range", runner.run_range))
        try:
            for target, name, fn in wrapped:
                setattr(target, name, fn)
            yield self
        finally:
            for target, name, fn in saved:
                setattr(target, name, fn)

    def _timed_store(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.events += 1
                self.events_seconds += time.perf_counter() - t
                self.events_cpu += time.process_time() - cpu

        return timed

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

    def _timed_run(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        from datetime import date

        from pipeline_assets.lib.contract import days_between

        @functools.wraps(fn)
        def timed(defs: Any, selection: list, first: str, last: str, *args: Any, **kw: Any):
            label = "ingest" if any(k.path[0] == "processing" for k in selection) else "warehouse"
            before = (
                sum(self.work.values()),
                self.work_cpu,
                self.events,
                self.events_seconds,
                self.events_cpu,
            )
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(defs, selection, first, last, *args, **kw)
            finally:
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                days = len(days_between(date.fromisoformat(first), date.fromisoformat(last)))
                self.runs.append(
                    Run(
                        label,
                        first,
                        last,
                        days,
                        wall,
                        self.events - before[2],
                        self.events_seconds - before[3],
                        sum(self.work.values()) - before[0],
                        cpu,
                        self.work_cpu - before[1],
                        self.events_cpu - before[4],
                    )
                )

        return timed

    def result(self) -> dict[str, Any]:
        return summarize(self.runs, self.work)


def summarize(runs: list[Run], work: dict[str, float]) -> dict[str, Any]:
    """The figures `pipeline bench` reports (JSON-ready): totals, per day, per run label."""
    days = max((r.days for r in runs if r.label == "ingest"), default=0)
    days = sum(r.days for r in runs if r.label == "ingest") or days

    def split(selected: list[Run]) -> dict[str, Any]:
        wall = sum(r.wall for r in selected)
        events_s = sum(r.events_seconds for r in selected)
        work_s = sum(r.work for r in selected)
        cpu, work_cpu = sum(r.cpu for r in selected), sum(r.work_cpu for r in selected)
        events_cpu = sum(r.events_cpu for r in selected)
        per_day = (lambda x: x / days) if days else (lambda x: None)
        return {
            "runs": len(selected),
            "wall_seconds": wall,
            "events": sum(r.events for r in selected),
            "events_seconds": events_s,
            "work_seconds": work_s,
            "overhead_seconds": wall - events_s - work_s,
            "per_day": {
                "wall": per_day(wall),
                "events": per_day(sum(r.events for r in selected)),
                "events_seconds": per_day(events_s),
                "work": per_day(work_s),
                "overhead": per_day(wall - events_s - work_s),
                "overhead_cpu": per_day(cpu - work_cpu - events_cpu) if days else None,
            },
        }

    return {
        "days": days,
        "all": split(runs),
        "ingest": split([r for r in runs if r.label == "ingest"]),
        "warehouse": split([r for r in runs if r.label == "warehouse"]),
        "work_by_function": work,
        "per_run": [asdict(r) | {"overhead": r.overhead} for r in runs],
    }


def run_backfill(argv: list[str]) -> tuple[int, dict[str, Any]]:
    """`pipeline backfill <argv>` as the CLI runs it, in this process, with the clock on."""
    from pipeline_assets.cli import main

    clock = Clock()
    t = time.perf_counter()
    with clock.installed():
        code = main(["backfill", *argv])
    measured = clock.result()
    measured["command_seconds"] = time.perf_counter() - t
    return code, measured
