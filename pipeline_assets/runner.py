"""Range backfills through the Dagster instance, used by the CLI, the demo and benchmarks.

A range becomes a few single-run ranges, in order: ingestion of both datasets per chunk of
days (a failed run redoes at most a chunk), then one run of the warehouse models and
features over the range's complete days. Today can be ingested, but its marts wait for the
day to end, as automation does.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from pipeline_assets.defs.ingest.assets import files_key, raw_key
from pipeline_assets.defs.transform.assets import day_columns
from pipeline_assets.lib.contract import (
    CUSTOMERS,
    ORDERS,
    day_window,
    days_between,
    parse_daily_key,
)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# Each run costs ~0.7 s of Dagster set-up; a month bounds what a failed run has to redo.
DAYS_PER_RUN = 31


@dataclass
class BackfillReport:
    start: date
    end: date
    days_done: int = 0
    days_total: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    mart_rows: dict[str, int] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    runs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        status = "OK" if self.ok else "FAILED"
        lines = [
            f"backfill {self.start}..{self.end}: {status}",
            f"  days done         {self.days_done}/{self.days_total}",
            f"  rows loaded       {self.rows_loaded}",
            f"  rows quarantined  {self.rows_quarantined}",
            *(f"  rows in {name}: {n}" for name, n in sorted(self.mart_rows.items())),
            f"  checks passed     {self.checks_passed}",
            f"  checks failed     {len(self.checks_failed)} {self.checks_failed or ''}",
            f"  dagster runs      {len(self.runs)}",
            f"  time taken        {self.seconds:.1f}s",
        ]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def run_range(
    defs: dg.Definitions,
    selection: list[dg.AssetKey],
    first: str,
    last: str,
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One Dagster run materializing `selection`, and their checks, for [first, last]."""
    for key in (first, last):  # Dagster reads "2024-01-01-10:00" as a day at UTC-10:00,
        parse_daily_key(key)  # i.e. 2024-01-02: refuse anything but YYYY-MM-DD first
    checks = {
        key for key in defs.resolve_asset_graph().asset_check_keys if key.asset_key in selection
    }
    job = defs.resolve_implicit_job_def_def_for_assets(selection).get_subset(
        asset_selection=set(selection), asset_check_selection=checks
    )
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        instance=instance,
        tags={RANGE_START: first, RANGE_END: last, **(tags or {})},
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            return f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
    return f"run {result.run_id} failed"


def _chunks(days: list[str], size: int) -> list[list[str]]:
    return [days[i : i + size] for i in range(0, len(days), size)]


def backfill(
    start: date,
    end: date,
    days_per_run: int = DAYS_PER_RUN,
    echo: Callable[[str], None] = print,
    defs: dg.Definitions | None = None,
    instance: dg.DagsterInstance | None = None,
) -> BackfillReport:
    """Materialize every asset for the inclusive day range, in date order."""
    if defs is None:
        from pipeline_assets.definitions import defs
    instance = instance or dg.DagsterInstance.get()
    days = days_between(start, end)
    steps = _plan(defs, days, days_per_run)
    report = BackfillReport(start, end, days_total=len(days))
    t0 = time.perf_counter()
    for label, selection, first, last in steps:
        t = time.perf_counter()
        span = f"{label:<9} {first}..{last} ({len(days_between(*map(date.fromisoformat, (first, last))))} days)"
        result = run_range(defs, selection, first, last, instance, {"pipeline/command": "backfill"})
        report.runs.append(result.run_id)
        checks = result.get_asset_check_evaluations()
        report.checks_passed += sum(c.passed for c in checks)
        report.checks_failed += [
            f"{c.asset_check_key.to_user_string()} {c.partition or ''}".strip()
            for c in checks
            if not c.passed
        ]
        if not result.success:
            report.errors.append(failure_message(result))
            echo(f"{span}: FAILED ({report.errors[-1]})")
            break
        loaded, quarantined = _rows(result)
        report.rows_loaded += loaded
        report.rows_quarantined += quarantined
        if label == "ingest":
            report.days_done += len(days_between(*map(date.fromisoformat, (first, last))))
        report.mart_rows.update(_mart_rows(result))
        echo(
            f"{span}  loaded {loaded}, quarantined {quarantined}, "
            f"checks passed {sum(c.passed for c in checks)}/{len(checks)}  "
            f"({time.perf_counter() - t:.1f}s)"
        )
    report.seconds = time.perf_counter() - t0
    return report


def _plan(defs: dg.Definitions, days: list[str], days_per_run: int) -> list[tuple]:
    """(label, asset keys, first day, last day) per run, in the order they must run."""
    ingest = [key(ds) for ds in (ORDERS, CUSTOMERS) for key in (files_key, raw_key)]
    steps = [("ingest", ingest, c[0], c[-1]) for c in _chunks(days, max(1, days_per_run))]
    complete = [d for d in days if day_window(d)[1] <= datetime.now(UTC).replace(tzinfo=None)]
    warehouse = [
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] not in ("processing", "raw")
        and defs.resolve_assets_def(key).partitions_def is not None
    ]
    if warehouse and complete:
        steps.append(("warehouse", warehouse, complete[0], complete[-1]))
    return steps


def _rows(result: dg.ExecuteInProcessResult) -> tuple[int, int]:
    """Rows loaded and quarantined by the raw assets of one run (each day's own metadata)."""
    loaded = quarantined = 0
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.path[0] == "raw":
            loaded += mat.metadata["rows_loaded"].value
            quarantined += mat.metadata["rows_quarantined"].value
    return loaded, quarantined


def _mart_rows(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Rows of each mart for the run's days (a whole-table mart: the table's rows)."""
    out: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.path[0] != "marts" or "dagster/row_count" not in mat.metadata:
            continue
        name, rows = ".".join(mat.asset_key.path), mat.metadata["dagster/row_count"].value
        per_day = tuple(mat.asset_key.path) in day_columns()
        out[name] = out.get(name, 0) + rows if per_day else rows
    return out
