"""Each dataset's schedule: today refreshed hourly (hourly datasets), every day closed once over.

An hourly dataset's files land hour by hour into their day's partition. Its
`hourly_<name>_schedule` re-runs today's ingestion at :10 past each hour when today's landing
files differ from what was last copied (the landing sensor usually got there first), so
today's raw rows are never more than an hour behind; and it closes finished days: a day
whose latest ingestion listed the landing zone before the day ended (or never ran) is
ingested once more. That closing run is what the warehouse models wait for
(`conditions.DayComplete`). A daily dataset's `daily_<name>_schedule` (00:20 UTC) closes its
finished days. Neither requests a day with no files that was never ingested: there is nothing
to load. Catch-up is bounded (`PIPELINE_CATCHUP_DAYS`); anything older is a deliberate
backfill.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg

from pipeline_assets.defs.automation.conditions import landing_complete
from pipeline_assets.defs.ingest.shared import raw_key
from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.manifest import landing_state

if TYPE_CHECKING:  # not exported by dagster: what define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def closing_requests(
    context: dg.ScheduleEvaluationContext,
    dataset: Dataset,
    landing: ZoneResource,
    processing: ZoneResource,
    partitions: dg.PartitionsDefinition,
    catchup_days: int,
) -> Iterator[dg.RunRequest]:
    """One run per finished day of the catch-up window that was not ingested after it ended
    and has something to ingest."""
    today = context.scheduled_execution_time.date()
    for back in range(catchup_days, 0, -1):
        day = f"{today - timedelta(days=back):%Y-%m-%d}"
        if not partitions.has_partition_key(day) or landing_complete(
            context.instance, raw_key(dataset), day
        ):
            continue
        anything, _ = landing_state(landing.store(), processing.store(), dataset, day)
        if anything:
            yield dg.RunRequest(
                run_key=f"{dataset.name}:{day}:closing",
                partition_key=day,
                tags={"pipeline/trigger": "closing", "pipeline/days": day},
            )


def build_closing_schedule(
    dataset: Dataset,
    job: UnresolvedAssetJobDefinition,
    partitions: dg.PartitionsDefinition,
    catchup_days: int,
    status: dg.DefaultScheduleStatus,
) -> dg.ScheduleDefinition:
    """`hourly_<name>_schedule` (today's refresh and closing) or `daily_<name>_schedule`."""
    hourly = dataset.layout == "hourly"
    if hourly:
        description = (
            f"Refresh today's {dataset.name} if they changed; close finished days (within the "
            f"catch-up window of {catchup_days} days)."
        )
    else:
        description = (
            f"Close yesterday's {dataset.name} (and missed days within the catch-up window of "
            f"{catchup_days} days)."
        )

    @dg.schedule(
        name=f"{dataset.layout}_{dataset.name}_schedule",
        job=job,
        cron_schedule="10 * * * *" if hourly else "20 0 * * *",
        execution_timezone="UTC",
        default_status=status,
        description=description,
    )
    def closing_schedule(
        context: dg.ScheduleEvaluationContext, landing: ZoneResource, processing: ZoneResource
    ) -> list[dg.RunRequest] | dg.SkipReason:
        requests = list(
            closing_requests(context, dataset, landing, processing, partitions, catchup_days)
        )
        if not hourly:
            return requests or dg.SkipReason(
                f"every finished {dataset.name} day of the last {catchup_days} was "
                "ingested after it ended (or has no files)"
            )
        now = context.scheduled_execution_time
        today = f"{now:%Y-%m-%d}"
        _, changed = landing_state(landing.store(), processing.store(), dataset, today)
        if changed:
            requests.append(
                dg.RunRequest(
                    run_key=f"{dataset.name}:{today}:{now:%H}",
                    partition_key=today,
                    tags={"pipeline/trigger": "hourly_refresh", "pipeline/days": today},
                )
            )
        return requests or dg.SkipReason(
            f"today's {dataset.name} ({today}) are as last copied, and every finished day of "
            f"the last {catchup_days} was ingested after it ended (or has no files)"
        )

    return closing_schedule
