"""The producer schedules: today's orders refreshed hourly, and every day closed once over.

Orders land hourly into their day's partition. `hourly_orders_schedule` re-runs today's
ingestion at :10 past each hour, so today's raw rows are never more than an hour behind,
and closes finished days: a day whose latest ingestion listed the landing zone before the
day ended (or never ran) is ingested once more. That closing run is what the warehouse
models wait for (`conditions.DayComplete`). `daily_customers_schedule` closes customers days.
Catch-up is bounded (`PIPELINE_CATCHUP_DAYS`); anything older is a deliberate backfill.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg

from pipeline_assets.defs.automation.conditions import landing_complete
from pipeline_assets.defs.automation.sensors import SCHEDULE_STATUS
from pipeline_assets.defs.ingest.assets import raw_key
from pipeline_assets.defs.ingest.jobs import INGEST_JOBS
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS
from pipeline_assets.lib.settings import setting


def closing_requests(
    instance: dg.DagsterInstance, dataset: str, today: date, days: int
) -> Iterator[dg.RunRequest]:
    """One run per finished day of the catch-up window that was not ingested after it ended."""
    for back in range(days, 0, -1):
        day = f"{today - timedelta(days=back):%Y-%m-%d}"
        if daily_partitions.has_partition_key(day) and not landing_complete(
            instance, raw_key(dataset), day
        ):
            yield dg.RunRequest(
                run_key=f"{dataset}:{day}:closing",
                partition_key=day,
                tags={"pipeline/trigger": "closing"},
            )


@dg.schedule(
    job=INGEST_JOBS[ORDERS],
    cron_schedule="10 * * * *",
    execution_timezone="UTC",
    default_status=SCHEDULE_STATUS,
    description="Refresh today's orders; close finished days (within the catch-up window).",
)
def hourly_orders_schedule(context: dg.ScheduleEvaluationContext):
    now = context.scheduled_execution_time
    today = now.date()
    yield from closing_requests(
        context.instance, ORDERS, today, int(setting("PIPELINE_CATCHUP_DAYS"))
    )
    yield dg.RunRequest(
        run_key=f"{ORDERS}:{today}:{now:%H}",
        partition_key=f"{today:%Y-%m-%d}",
        tags={"pipeline/trigger": "hourly_refresh"},
    )


@dg.schedule(
    job=INGEST_JOBS[CUSTOMERS],
    cron_schedule="20 0 * * *",
    execution_timezone="UTC",
    default_status=SCHEDULE_STATUS,
    description="Close yesterday's customers (and missed days within the catch-up window).",
)
def daily_customers_schedule(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    yield from closing_requests(
        context.instance, CUSTOMERS, today, int(setting("PIPELINE_CATCHUP_DAYS"))
    )
