"""Range backfills through the Dagster instance, used by the CLI, the demo and benchmarks.

A range becomes a few single-run ranges, in order: ingestion of both datasets per chunk of
days (a failed run redoes at most a chunk), then one run of the warehouse models and
features over the range's complete days. Today can be ingested, but its marts wait for the
day to end, as automation does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

from pipeline_assets.instance import run_tags
from pipeline_assets.lib.contract import day_window, days_between, parse_daily_key
from pipeline_assets.lib.warehouse import ROW_COUNT_OF

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# Each run costs ~0.7 s of Dagster set-up; a month bounds what a failed run has to redo.
DAYS_PER_RUN = 31
DBT_LAYERS = ("staging", "intermediate", "marts")
INGEST_GROUP = "ingest"
# What a backfill runs: the Definitions, or the code location they resolve to (a job's
# `context.repository_def`).
Code = dg.Definitions | dg.RepositoryDefinition


def repository(code: Code) -> dg.RepositoryDefinition:
    return code.get_repository_def() if isinstance(code, dg.Definitions) else code


@dataclass(frozen=True)
class Step:
    """One Dagster run of the plan: what it materializes, for which days."""

    label: str  # "ingest" or "warehouse"
    selection: list[dg.AssetKey]
    days: list[str]
    datasets: dict[dg.AssetKey, str] = field(default_factory=dict)  # copy asset -> dataset

    def describe(self) -> str:
        first, last = self.days[0], self.days[-1]
        span = first if first == last else f"{first}..{last}"
        noun = "day" if len(self.days) == 1 else "days"
        return f"{self.label} {span} ({len(self.days)} {noun})"


@dataclass
class BackfillReport:
    start: date
    end: date
    days_done: int = 0
    days_total: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    mart_rows: dict[str, int] = field(default_factory=dict)
    whole_tables: set[str] = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    empty_days: dict[str, list[str]] = field(default_factory=dict)  # dataset -> days
    waiting: list[str] = field(default_factory=list)  # ingested; marts wait for the day's end
    seconds: float = 0.0
    runs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        status = "OK" if self.ok else "FAILED"
        lines = [
            f"backfill {self.start}..{self.end}: {status}",
            f"  days ingested     {self.days_done}/{self.days_total}",
            f"  rows loaded       {self.rows_loaded}",
            f"  rows quarantined  {self.rows_quarantined}",
        ]
        for name, n in sorted(self.mart_rows.items()):
            scope = "whole table" if name in self.whole_tables else "these days"
            lines.append(f"  {name + ':':<30}{n} rows ({scope})")
        if self.waiting:
            lines.append(f"  marts wait for    {', '.join(self.waiting)} (not over yet, UTC)")
        lines += [
            f"  checks passed     {self.checks_passed}",
            f"  checks failed     {len(self.checks_failed)}",
            *(f"    {name}" for name in self.checks_failed),
            f"  dagster runs      {len(self.runs)}",
            f"  time taken        {self.seconds:.1f}s",
        ]
        if self.log_path:
            lines.append(f"  full log          {self.log_path}")
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def run_range(
    defs: Code,
    selection: list[dg.AssetKey],
    first: str,
    last: str,
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
    log_level: str = "WARNING",
) -> dg.ExecuteInProcessResult:
    """One Dagster run materializing `selection`, and their checks, for [first, last].

    The run records its asset selection, so the UI's run list shows what it targets.
    """
    for key in (first, last):  # Dagster reads "2024-01-01-10:00" as a day at UTC-10:00,
        parse_daily_key(key)  # i.e. 2024-01-02: refuse anything but YYYY-MM-DD first
    job = repository(defs).get_implicit_job_def_for_assets(selection)
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance,
        asset_selection=selection,
        tags={RANGE_START: first, RANGE_END: last, **run_tags(), **(tags or {})},
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The failed step and its error; for a wrapped error, what caused it."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            message = error.message.strip()
            while error.cause is not None:
                error = error.cause
            if error.message.strip() != message:
                message += f" (caused by {error.message.strip()})"
            return f"{event.step_key}: {message}"
    return f"run {result.run_id} failed"


def plan(defs: Code, days: list[str], days_per_run: int, now: datetime) -> list[Step]:
    """The runs of a backfill, in the order they must run: the `ingest` group's assets per
    chunk of days, then every other partitioned asset over the complete days."""
    repo = repository(defs)
    ingest, warehouse, datasets = [], [], {}
    for key, assets_def in repo.assets_defs_by_key.items():
        if assets_def.is_materializable and assets_def.partitions_def is not None:
            is_ingest = assets_def.group_names_by_key.get(key) == INGEST_GROUP
            (ingest if is_ingest else warehouse).append(key)
            if is_ingest and key.path[0] == "processing":
                datasets[key] = assets_def.tags_by_key[key]["dataset"]
    size = max(1, days_per_run)
    steps = [
        Step("ingest", ingest, days[i : i + size], datasets) for i in range(0, len(days), size)
    ]
    complete = [d for d in days if day_window(d)[1] <= now.astimezone(UTC).replace(tzinfo=None)]
    if warehouse and complete:
        steps.append(Step("warehouse", warehouse, complete))
    return steps


class RunDisplay:
    """One line per finished run; in a terminal, also a live bar of the runs so far."""

    def __init__(self, echo: Callable[[str], None] | None, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(highlight=False)  # no colour codes unless stdout is a terminal
        self.echo = echo or (lambda line: console.print(line, markup=False, soft_wrap=True))
        self.bar = None
        if echo is None and console.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            self.bar = Progress(*columns, console=console, transient=True)
            self.task = self.bar.add_task("backfill", total=total)

    def __enter__(self) -> RunDisplay:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def running(self, step: Step) -> None:
        if self.bar:
            self.bar.update(self.task, description=f"{step.describe()}: running")

    def done(self, line: str) -> None:
        self.echo(line)
        if self.bar:
            self.bar.advance(self.task)


@contextmanager
def _captured(log: TextIO | None) -> Iterator[None]:
    """Dagster's and dbt's own output go to the log file, not between the progress lines."""
    if log is None:
        yield
        return
    with redirect_stdout(log), redirect_stderr(log):
        yield
    log.flush()


def backfill(
    start: date,
    end: date,
    *,
    defs: Code,
    instance: dg.DagsterInstance | None = None,
    days_per_run: int = DAYS_PER_RUN,
    echo: Callable[[str], None] | None = None,
    log_path: Path | None = None,
) -> BackfillReport:
    """Materialize every asset for the inclusive day range, in date order.

    `echo` receives one line per run (default: the terminal, with a live bar there);
    `log_path` collects the runs' own output (Dagster's events, dbt's log lines).
    """
    instance = instance or dg.DagsterInstance.get()
    days = days_between(start, end)
    steps = plan(defs, days, days_per_run, datetime.now(UTC))
    report = BackfillReport(start, end, days_total=len(days), log_path=log_path)
    built = {d for step in steps if step.label == "warehouse" for d in step.days}
    report.waiting = [d for d in days if d not in built]
    t0 = time.perf_counter()
    log = open(log_path, "a") if log_path else None  # noqa: SIM115 (closed below)
    try:
        with RunDisplay(echo, len(steps)) as display:
            for step in steps:
                display.running(step)
                t = time.perf_counter()
                with _captured(log):
                    result = run_range(
                        defs,
                        step.selection,
                        step.days[0],
                        step.days[-1],
                        instance,
                        {"pipeline/command": "backfill"},
                        "DEBUG" if log else "WARNING",  # the log file is the whole record
                    )
                report.runs.append(result.run_id)
                line = _record(report, step, result)
                display.done(f"{step.describe()}: {line}  ({time.perf_counter() - t:.1f}s)")
                if not result.success:
                    break
    finally:
        if log:
            log.close()
    report.seconds = time.perf_counter() - t0
    return report


def _record(report: BackfillReport, step: Step, result: dg.ExecuteInProcessResult) -> str:
    """Fold one run into the report; return its line's text."""
    checks = result.get_asset_check_evaluations()
    report.checks_passed += sum(c.passed for c in checks)
    report.checks_failed += [
        f"{c.asset_check_key.to_user_string()} {c.partition or ''}".strip()
        for c in checks
        if not c.passed
    ]
    mats = [e.materialization for e in result.get_asset_materialization_events()]
    if step.label == "ingest":
        line = _record_ingest(report, step, mats, checks, result.success)
    else:
        line = _record_warehouse(report, mats, checks)
    if result.success:
        return line
    report.errors.append(failure_message(result))
    return f"FAILED ({line}): {report.errors[-1]}"


def _record_ingest(
    report: BackfillReport,
    step: Step,
    mats: list[dg.AssetMaterialization],
    checks: list[dg.AssetCheckEvaluation],
    success: bool,
) -> str:
    raw = [m for m in mats if m.asset_key.path[0] == "raw"]
    loaded = sum(m.metadata["rows_loaded"].value for m in raw)
    quarantined = sum(m.metadata["rows_quarantined"].value for m in raw)
    report.rows_loaded += loaded
    report.rows_quarantined += quarantined
    if success:
        report.days_done += len(step.days)
    for mat in mats:  # the copy assets (processing/*) say how many landing files a day had
        if mat.asset_key in step.datasets and mat.metadata["files"].value == 0:
            report.empty_days.setdefault(step.datasets[mat.asset_key], []).append(mat.partition)
    passed = sum(c.passed for c in checks)
    return f"loaded {loaded}, quarantined {quarantined}, checks passed {passed}/{len(checks)}"


def _record_warehouse(
    report: BackfillReport,
    mats: list[dg.AssetMaterialization],
    checks: list[dg.AssetCheckEvaluation],
) -> str:
    """dbt's part summarized: models built, tests passed, the failed ones by name."""
    for mat in mats:
        if mat.asset_key.path[0] != "marts" or "dagster/row_count" not in mat.metadata:
            continue
        name, rows = ".".join(mat.asset_key.path), mat.metadata["dagster/row_count"].value
        if mat.metadata[ROW_COUNT_OF].value == "day":
            report.mart_rows[name] = report.mart_rows.get(name, 0) + rows
        else:
            report.mart_rows[name] = rows
            report.whole_tables.add(name)
    models = {m.asset_key for m in mats if m.asset_key.path[0] in DBT_LAYERS}
    tests = [c for c in checks if c.asset_key.path[0] in DBT_LAYERS]
    failed = sorted({c.check_name for c in tests if not c.passed})
    line = (
        f"dbt built {len(models)} models, tests passed {sum(c.passed for c in tests)}/{len(tests)}"
    )
    features = {m.partition for m in mats if m.asset_key.path[0] == "features"}
    if features:
        line += f", features for {len(features)} days"
    return line + (f", failed: {', '.join(failed)}" if failed else "")


def empty_day_warnings(report: BackfillReport) -> list[str]:
    """One warning per dataset naming the days that had no landing files at all."""
    return [
        f"warning: no landing files for {dataset} on {len(days)} day(s): {', '.join(days)}"
        for dataset, days in sorted(report.empty_days.items())
    ]
