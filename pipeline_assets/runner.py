"""Range backfills through the Dagster instance, used by the CLI, the demo and benchmarks.

Hourly and daily assets cannot share one run's partition range, so a range becomes a few
single-run ranges, in order: orders (hourly) and customers (daily) per chunk of days,
then the daily warehouse models over the whole range.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from pipeline_assets.defs.automation.freshness import FRESHNESS_CHECK
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS, days_between, hours_of_day

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# Each run costs ~0.7 s of Dagster set-up; a month bounds what a failed run has to redo.
DAYS_PER_RUN = 31


@dataclass
class BackfillReport:
    start: date
    end: date
    partitions_done: int = 0
    partitions_total: int = 0
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
            f"  partitions done   {self.partitions_done}/{self.partitions_total}",
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
    """One Dagster run materializing `selection` for the partition range [first, last].

    The run executes the selected assets' own checks, but not the freshness checks: those
    judge "now", belong to their sensor, and would call every backfill of old days stale.
    """
    checks = {
        key
        for key in defs.resolve_asset_graph().asset_check_keys
        if key.asset_key in selection and key.name != FRESHNESS_CHECK
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
    report = BackfillReport(start, end, partitions_total=sum(n for *_, n in steps))
    t0 = time.perf_counter()
    for label, selection, first, last, n in steps:
        t = time.perf_counter()
        result = run_range(defs, selection, first, last, instance, {"pipeline/command": "backfill"})
        report.runs.append(result.run_id)
        for check in result.get_asset_check_evaluations():
            if check.passed:
                report.checks_passed += 1
            else:
                report.checks_failed.append(check.asset_check_key.to_user_string())
        if not result.success:
            report.errors.append(failure_message(result))
            echo(f"{label} {first}..{last}: FAILED ({report.errors[-1]})")
            break
        report.partitions_done += n
        loaded, quarantined = _rows(result)
        report.rows_loaded += loaded
        report.rows_quarantined += quarantined
        report.mart_rows.update(_mart_rows(result))
        checks = result.get_asset_check_evaluations()
        echo(
            f"{label:<9} {first}..{last}  [{report.partitions_done}/{report.partitions_total} "
            f"partitions]  loaded {loaded}, quarantined {quarantined}, "
            f"checks passed {sum(c.passed for c in checks)}/{len(checks)}  "
            f"({time.perf_counter() - t:.1f}s)"
        )
    report.seconds = time.perf_counter() - t0
    return report


def _plan(defs: dg.Definitions, days: list[str], days_per_run: int) -> list[tuple]:
    """(label, asset keys, first partition, last partition, partition count) per run."""
    ingest = {
        ds: [dg.AssetKey(["processing", ds]), dg.AssetKey(["raw", ds])]
        for ds in (ORDERS, CUSTOMERS)
    }
    steps = []
    for chunk in _chunks(days, max(1, days_per_run)):
        hours = hours_of_day(chunk[0])[0], hours_of_day(chunk[-1])[-1]
        steps.append((ORDERS, ingest[ORDERS], hours[0], hours[1], 24 * len(chunk)))
        steps.append((CUSTOMERS, ingest[CUSTOMERS], chunk[0], chunk[-1], len(chunk)))
    daily_models = [
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] not in ("processing", "raw")
        and defs.resolve_assets_def(key).partitions_def is not None
    ]
    if daily_models:
        steps.append(("warehouse", daily_models, days[0], days[-1], len(days)))
    return steps


def _rows(result: dg.ExecuteInProcessResult) -> tuple[int, int]:
    """Rows loaded and quarantined by the raw assets of one run (from their metadata)."""
    loaded = quarantined = 0
    seen = set()
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.path[0] != "raw" or mat.asset_key in seen:
            continue
        seen.add(mat.asset_key)  # a range run repeats the same metadata per partition
        loaded += mat.metadata["rows_loaded"].value
        quarantined += mat.metadata["rows_quarantined"].value
    return loaded, quarantined


def _mart_rows(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Row counts of the mart tables as reported by the run's materializations."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.path[0] == "marts" and "dagster/row_count" in mat.metadata:
            out[".".join(mat.asset_key.path)] = mat.metadata["dagster/row_count"].value
    return out
