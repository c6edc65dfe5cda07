"""The producer schedules: today's orders refreshed hourly, and every day closed once over.

Orders land hourly into their day's partition. `hourly_orders_schedule` re-runs today's
ingestion at :10 past each hour when today's landing files differ from what was last copied
(the landing sensor usually got there first), so today's raw rows are never more than an
hour behind; and it closes finished days: a day whose latest ingestion listed the landing
zone before the day ended (or never ran) is ingested once more. That closing run is what the
warehouse models wait for (`conditions.DayComplete`). `daily_customers_schedule` closes
customers days. Neither requests a day with no files that was never ingested: there is
nothing to load. Catch-up is bounded (`PIPELINE_CATCHUP_DAYS`); anything older is a
deliberate backfill.
"""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg

from pipeline_assets.defs.automation.conditions import landing_complete
from pipeline_assets.defs.ingest.jobs import INGEST_JOBS
from pipeline_assets.defs.ingest.shared import raw_key
from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS
from pipeline_assets.lib.manifest import landing_state


def closing_requests(
    context: dg.ScheduleEvaluationContext,
    dataset: str,
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
                run_key=f"{dataset}:{day}:closing",
                partition_key=day,
                tags={"pipeline/trigger": "closing", "pipeline/days": day},
            )


def build_schedules(
    partitions: dg.PartitionsDefinition, catchup_days: int, status: dg.DefaultScheduleStatus
) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        job=INGEST_JOBS[ORDERS],
        cron_schedule="10 * * * *",
        execution_timezone="UTC",
        default_status=status,
        description="Refresh today's orders if they changed; close finished days (within the "
        f"catch-up window of {catchup_days} days).",
    )
    def hourly_orders_schedule(
        context: dg.ScheduleEvaluationContext, landing: ZoneResource, processing: ZoneResource
    ) -> list[dg.RunRequest] | dg.SkipReason:
        now = context.scheduled_execution_time
        today = f"{now:%Y-%m-%d}"
        requests = list(
            closing_requests(context, ORDERS, landing, processing, partitions, catchup_days)
        )
        _, changed = landing_state(landing.store(), processing.store(), ORDERS, today)
        if changed:
            requests.append(
                dg.RunRequest(
                    run_key=f"{ORDERS}:{today}:{now:%H}",
                    partition_key=today,
                    tags={"pipeline/trigger": "hourly_refresh", "pipeline/days": today},
                )
            )
        return requests or dg.SkipReason(
            f"today's orders ({today}) are as last copied, and every finished day of the last "
            f"{catchup_days} was ingested after it ended (or has no files)"
        )

    @dg.schedule(
        job=INGEST_JOBS[CUSTOMERS],
        cron_schedule="20 0 * * *",
        execution_timezone="UTC",
        default_status=status,
        description="Close yesterday's customers (and missed days within the catch-up window of "
        f"{catchup_days} days).",
    )
    def daily_customers_schedule(
        context: dg.ScheduleEvaluationContext, landing: ZoneResource, processing: ZoneResource
    ) -> list[dg.RunRequest] | dg.SkipReason:
        requests = list(
            closing_requests(context, CUSTOMERS, landing, processing, partitions, catchup_days)
        )
        return requests or dg.SkipReason(
            f"every finished customers day of the last {catchup_days} was "
            "ingested after it ended (or has no files)"
        )

    return [hourly_orders_schedule, daily_customers_schedule]
