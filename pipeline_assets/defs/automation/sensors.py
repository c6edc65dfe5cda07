"""The landing-zone sensor: new, changed or deleted files re-run exactly their day."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING

import dagster as dg

from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.lib.contract import parse_daily_key
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.landing_scan import cursor_from_manifests, scan, window_days
from pipeline_assets.lib.manifest import ManifestError, latest_manifests, read_manifest

if TYPE_CHECKING:  # not exported by dagster: what define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


# Each declared dataset, with the job that ingests one of its days.
Ingests = Sequence[tuple[Dataset, "UnresolvedAssetJobDefinition"]]


def build_landing_sensor(
    ingests: Ingests,
    partitions: dg.TimeWindowPartitionsDefinition,
    lookback_days: int,
    interval: int,
    status: dg.DefaultSensorStatus,
) -> dg.SensorDefinition:
    """`interval`: how often the landing zone is listed; with a run's own time, what bounds
    a landed file's way to the marts (docs/benchmarks.md: latency)."""

    names = ", ".join(dataset.name for dataset, _ in ingests)

    @dg.sensor(
        jobs=[job for _, job in ingests],
        minimum_interval_seconds=interval,
        default_status=status,
        description=f"Lists the landing zone's date prefixes of the last {lookback_days} days "
        f"({names}) and re-runs each day whose files are new, changed (ETag and size; a local "
        "file's size and mtime) or deleted.",
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, landing: ZoneResource, processing: ZoneResource
    ):
        """One run per changed day; every change gets its own run key, repeated ticks none."""
        return landing_changes(context, ingests, landing, processing, partitions, lookback_days)

    return landing_zone_sensor


def landing_changes(
    context: dg.SensorEvaluationContext,
    ingests: Ingests,
    landing: ZoneResource,
    processing: ZoneResource,
    partitions: dg.TimeWindowPartitionsDefinition,
    lookback_days: int,
) -> dg.SensorResult:
    """The runs the landing zone's changes within the lookback window ask for, and the new
    cursor (one digest per day)."""
    today = parse_daily_key(partitions.get_last_partition_key())
    jobs = {dataset.name: job for dataset, job in ingests}
    days = window_days([d for d, _ in ingests], today, lookback_days, partitions.start.date())
    with closing(processing.store()) as store, closing(landing.store()) as source:
        cursor = context.cursor
        if cursor is None:  # first tick: start from what the manifests say was ingested
            days_of = [(d.name, p) for d, p in days]
            cursor = cursor_from_manifests(latest_manifests(store, days_of))

        def copied(dataset: str, day: str) -> dict[str, str] | None:
            try:
                return {f.key: f.fingerprint for f in read_manifest(store, dataset, day).files}
            except ManifestError:
                return None  # never ingested

        changes, cursor = scan(source, days, cursor, partitions.has_partition_key, copied)
    requests = [
        dg.RunRequest(
            run_key=change.run_key,
            job_name=jobs[change.dataset].name,
            partition_key=change.partition_key,
            tags={
                "pipeline/trigger": "landing_zone_sensor",
                "pipeline/days": change.partition_key,
                "pipeline/change": change.describe(),
            },
        )
        for change in changes
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def build_automation_sensor(
    interval: int, status: dg.DefaultSensorStatus
) -> dg.AutomationConditionSensorDefinition:
    # Custom conditions (conditions.DayComplete) run in user code: `use_user_code_server` is
    # a beta parameter in 1.13, kept on purpose since the daemon cannot import project code.
    return dg.AutomationConditionSensorDefinition(
        "warehouse_automation_sensor",
        target=dg.AssetSelection.groups("warehouse", "features"),
        default_status=status,
        minimum_interval_seconds=interval,
        use_user_code_server=True,
        run_tags={"pipeline/trigger": "warehouse_automation_sensor"},
    )
