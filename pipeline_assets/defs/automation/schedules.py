"""The producer schedules and the consumer's automation condition.

Producers: an hourly orders schedule and a daily customers schedule. Each tick requests the
last complete partition plus any of the previous few that were never materialized: catch-up
after downtime is bounded (`PIPELINE_CATCHUP_HOURS`, `PIPELINE_CATCHUP_DAYS`) and explicit;
anything older is a deliberate `pipeline backfill`, never a surprise storm of runs.

Consumer: a day of the warehouse models runs once *its own* 24 hourly order partitions and
its customers partition exist (never "the latest run"), and again whenever one of them is
updated later (late data), within `PIPELINE_AUTOMATION_LOOKBACK_DAYS`.
"""

from datetime import datetime, timedelta

import dagster as dg

from pipeline_assets.defs.automation.sensors import INGEST_JOBS, SCHEDULE_STATUS, SENSOR_STATUS
from pipeline_assets.defs.resources import setting
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS


def recent_partition_keys(now: datetime, dataset: str, count: int) -> list[str]:
    """The last `count` complete hourly (orders) or daily (customers) partitions, oldest first."""
    if dataset == ORDERS:
        last = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        return [f"{last - timedelta(hours=i):%Y-%m-%d-%H:00}" for i in reversed(range(count))]
    last = now.date() - timedelta(days=1)
    return [f"{last - timedelta(days=i):%Y-%m-%d}" for i in reversed(range(count))]


def _catch_up_requests(context: dg.ScheduleEvaluationContext, dataset: str, count: int):
    done = context.instance.get_materialized_partitions(dg.AssetKey(["raw", dataset]))
    keys = recent_partition_keys(context.scheduled_execution_time, dataset, count)
    for key in keys:
        if key == keys[-1] or key not in done:
            # one run per partition and schedule, however many ticks see it
            yield dg.RunRequest(run_key=f"{dataset}:{key}", partition_key=key)


@dg.schedule(
    job=INGEST_JOBS[ORDERS],
    cron_schedule="10 * * * *",
    execution_timezone="UTC",
    default_status=SCHEDULE_STATUS,
    description="Ingest the last complete hour (and missed hours within the catch-up window).",
)
def hourly_orders_schedule(context: dg.ScheduleEvaluationContext):
    yield from _catch_up_requests(context, ORDERS, int(setting("PIPELINE_CATCHUP_HOURS")))


@dg.schedule(
    job=INGEST_JOBS[CUSTOMERS],
    cron_schedule="20 0 * * *",
    execution_timezone="UTC",
    default_status=SCHEDULE_STATUS,
    description="Ingest yesterday's customers (and missed days within the catch-up window).",
)
def daily_customers_schedule(context: dg.ScheduleEvaluationContext):
    yield from _catch_up_requests(context, CUSTOMERS, int(setting("PIPELINE_CATCHUP_DAYS")))


def warehouse_condition() -> dg.AutomationCondition:
    """eager(), widened from the latest day to a lookback window, and gated on blocking checks."""
    lookback = timedelta(days=int(setting("PIPELINE_AUTOMATION_LOOKBACK_DAYS")))
    return (
        dg.AutomationCondition.in_latest_time_window(lookback)
        & (
            dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
        ).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        # Raw inputs must have passed their blocking checks; between dbt models, dbt build
        # itself skips whatever sits downstream of a failing test.
        & dg.AutomationCondition.all_deps_blocking_checks_passed().allow(
            dg.AssetSelection.groups("ingest")
        )
    ).with_label("all hours of the day in, and something new")


warehouse_automation_sensor = dg.AutomationConditionSensorDefinition(
    "warehouse_automation_sensor",
    target=dg.AssetSelection.groups("warehouse", "features"),
    default_status=SENSOR_STATUS,
    minimum_interval_seconds=60,
)
