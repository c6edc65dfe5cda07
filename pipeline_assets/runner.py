"""Range backfills through the Dagster instance, used by the CLI, `verify` and the benchmark.

A range becomes a few single-run ranges, in order: ingestion of both datasets per chunk of
days (a failed run redoes at most a chunk), then one run of the warehouse models and
features over the range's complete days. Today can be ingested, but its marts wait for the
day to end: the rule automation and a UI backfill follow too (`lib/contract.complete_days`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from pipeline_assets.console import CommandLog, RunDisplay
from pipeline_assets.instance import run_tags
from pipeline_assets.lib.contract import complete_days, days_between, parse_daily_key
from pipeline_assets.report import INGEST, WAREHOUSE, BackfillReport, run_error

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
COMMAND_TAG = "pipeline/command"
DAYS_TAG = "pipeline/days"  # shown in the UI's runs list (dagster/ tags are not)
# Each run costs ~0.7 s of Dagster set-up; a month bounds what a failed run has to redo.
DAYS_PER_RUN = 31
# What a backfill runs: the Definitions, or the code location they resolve to (a job's
# `context.repository_def`).
Code = dg.Definitions | dg.RepositoryDefinition


def repository(code: Code) -> dg.RepositoryDefinition:
    return code.get_repository_def() if isinstance(code, dg.Definitions) else code


def days_tag(first: str, last: str) -> str:
    return first if first == last else f"{first}..{last}"


def run_days(tags: Mapping[str, str]) -> str | None:
    """A run's days as `pipeline/days` says them: its own tag, else Dagster's partition
    tags (one day, or a range run's first and last); None for a run of no partition."""
    if DAYS_TAG in tags:
        return tags[DAYS_TAG]
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    if RANGE_START in tags and RANGE_END in tags:
        return days_tag(tags[RANGE_START], tags[RANGE_END])
    return None


@dataclass(frozen=True)
class Step:
    """One Dagster run of the plan: what it materializes, for which days."""

    label: str  # INGEST or WAREHOUSE
    selection: list[dg.AssetKey]
    days: list[str]

    def describe(self) -> str:
        noun = "day" if len(self.days) == 1 else "days"
        return f"{self.label} {days_tag(self.days[0], self.days[-1])} ({len(self.days)} {noun})"


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

    The run records its asset selection and its days, so the UI's runs list shows both, and
    this process as its worker, so that a later command can tell if it died.
    """
    for key in (first, last):  # Dagster reads "2024-01-01-10:00" as a day at UTC-10:00,
        parse_daily_key(key)  # i.e. 2024-01-02: refuse anything but YYYY-MM-DD first
    job = repository(defs).get_implicit_job_def_for_assets(selection)
    run_id = str(uuid.uuid4())
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance,
        asset_selection=selection,
        run_id=run_id,
        tags={
            RANGE_START: first,
            RANGE_END: last,
            DAYS_TAG: days_tag(first, last),
            **run_tags(run_id),
            **(tags or {}),
        },
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """Why a run failed: each failed step's cause, once."""
    return run_error(result.all_events)


def step_labels(defs: Code) -> dict[str, str]:
    """Step key -> what the step builds, for messages: `raw/orders`, `dbt build`."""
    labels = {}
    for assets_def in set(repository(defs).assets_defs_by_key.values()):
        keys = sorted(k.to_user_string() for k in assets_def.keys)
        name = keys[0] if len(keys) == 1 else f"{assets_def.node_def.name} ({len(keys)} assets)"
        is_dbt = any("dbt" in spec.kinds for spec in assets_def.specs)
        labels[assets_def.node_def.name] = "dbt build" if is_dbt else name
    return labels


def plan(defs: Code, days: list[str], days_per_run: int, now: datetime) -> list[Step]:
    """The runs of a backfill, in the order they must run: the `ingest` group's assets per
    chunk of days, then every other partitioned asset over the complete days."""
    ingest, warehouse = [], []
    for key, assets_def in repository(defs).assets_defs_by_key.items():
        if assets_def.is_materializable and assets_def.partitions_def is not None:
            is_ingest = assets_def.group_names_by_key.get(key) == INGEST
            (ingest if is_ingest else warehouse).append(key)
    size = max(1, days_per_run)
    steps = [Step(INGEST, ingest, days[i : i + size]) for i in range(0, len(days), size)]
    complete = complete_days(days, now)
    if warehouse and complete:
        steps.append(Step(WAREHOUSE, warehouse, complete))
    return steps


def copy_assets(defs: Code) -> dict[dg.AssetKey, str]:
    """The copy assets (they carry a `dataset` tag) and their datasets."""
    return {
        key: assets_def.tags_by_key[key]["dataset"]
        for key, assets_def in repository(defs).assets_defs_by_key.items()
        if key.path[0] == "processing" and "dataset" in assets_def.tags_by_key.get(key, {})
    }


def backfill(
    start: date,
    end: date,
    *,
    defs: Code,
    instance: dg.DagsterInstance | None = None,
    days_per_run: int = DAYS_PER_RUN,
    echo: Callable[[str], None] | None = None,
    log: CommandLog | None = None,
    command: str = "backfill",
) -> BackfillReport:
    """Materialize every asset for the inclusive day range, in date order.

    `echo` receives one line per run (default: the terminal, with a live bar there); `log`
    collects the runs' own output (Dagster's events, dbt's log lines, warnings).
    """
    instance = instance or dg.DagsterInstance.get()
    log = log or CommandLog(None)
    days = days_between(start, end)
    steps = plan(defs, days, days_per_run, datetime.now(UTC))
    report = BackfillReport(command, start, end, days, copy_assets(defs), log_path=log.path)
    for step in steps:
        if step.label == WAREHOUSE:
            report.warehouse_days = step.days
            report.warehouse_assets = [k.to_user_string() for k in step.selection]
    labels = step_labels(defs)
    t0 = time.perf_counter()
    with RunDisplay(echo, len(steps)) as display:
        for step in steps:
            display.running(step.describe())
            t = time.perf_counter()
            with log.captured():
                result = run_range(
                    defs,
                    step.selection,
                    step.days[0],
                    step.days[-1],
                    instance,
                    {COMMAND_TAG: command},
                    "DEBUG" if log.file else "WARNING",  # the log file is the whole record
                )
            line = report.record(step.label, result, labels)
            display.done(f"{step.describe()}: {line}  ({time.perf_counter() - t:.1f}s)")
            if not result.success:
                break
    report.seconds = time.perf_counter() - t0
    return report
