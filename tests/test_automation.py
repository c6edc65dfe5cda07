"""Schedules with bounded catch-up, and the daily consumer waiting for its own 24 hours."""

from datetime import UTC, datetime

import dagster as dg

from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.automation.schedules import hourly_orders_schedule, recent_partition_keys
from pipeline_assets.defs.ingest.assets import QUARANTINE_RATE, REQUIRED_COLUMNS, ROW_ACCOUNTING

SUMMARY = dg.AssetKey(["marts", "orders_daily_summary"])
RAW_ORDERS = dg.AssetKey(["raw", "orders"])


def landed(instance: dg.DagsterInstance, key: dg.AssetKey, *partitions: str) -> None:
    """Materializations of a raw asset whose blocking checks passed, as an ingest run leaves."""
    for partition in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    for check in (ROW_ACCOUNTING, REQUIRED_COLUMNS, QUARANTINE_RATE):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=key, check_name=check, passed=True)
        )


def test_recent_partition_keys():
    now = datetime(2024, 1, 5, 0, 10, tzinfo=UTC)
    assert recent_partition_keys(now, "orders", 3) == [
        "2024-01-04-21:00",
        "2024-01-04-22:00",
        "2024-01-04-23:00",
    ]
    assert recent_partition_keys(now, "customers", 2) == ["2024-01-03", "2024-01-04"]


def test_hourly_schedule_catches_up_only_inside_its_window(pipeline_env):
    with dg.instance_for_test() as instance:
        landed(instance, RAW_ORDERS, "2024-01-04-20:00", "2024-01-04-22:00")
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2024, 1, 5, 0, 10, tzinfo=UTC)
        )
        requests = list(hourly_orders_schedule(context))
    # 6-hour window 18:00..23:00: the missing hours and the latest one; never older gaps
    assert [r.partition_key for r in requests] == [
        "2024-01-04-18:00",
        "2024-01-04-19:00",
        "2024-01-04-21:00",
        "2024-01-04-23:00",
    ]
    assert len({r.run_key for r in requests}) == 4


def test_a_day_of_marts_waits_for_all_24_hours_and_reruns_on_late_data(pipeline_env):
    defs = build_defs()
    selection = dg.AssetSelection.groups("warehouse")
    at = datetime(2024, 1, 5, 1, 0, tzinfo=UTC)
    hours = [f"2024-01-03-{h:02d}:00" for h in range(24)]
    with dg.instance_for_test() as instance:
        landed(instance, dg.AssetKey(["raw", "customers"]), "2024-01-03")
        landed(instance, RAW_ORDERS, *hours[:23])
        tick = dg.evaluate_automation_conditions(defs, instance, selection, evaluation_time=at)
        assert tick.get_requested_partitions(SUMMARY) == set()  # 23 of 24 hours: wait

        landed(instance, RAW_ORDERS, hours[23])
        tick = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=at, cursor=tick.cursor
        )
        assert tick.get_requested_partitions(SUMMARY) == {"2024-01-03"}

        tick = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=at, cursor=tick.cursor
        )
        assert tick.get_requested_partitions(SUMMARY) == set()  # handled: no repeat

        landed(instance, RAW_ORDERS, hours[5])  # a corrected file for an old hour
        tick = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=at, cursor=tick.cursor
        )
        assert tick.get_requested_partitions(SUMMARY) == {"2024-01-03"}


def test_marts_are_stale_until_yesterday_is_built(pipeline_env):
    from datetime import timedelta

    from pipeline_assets.defs.automation.freshness import FRESHNESS_CHECK, MART_KEYS

    checks = [dg.AssetCheckKey(key, FRESHNESS_CHECK) for key in MART_KEYS]
    defs = build_defs()
    job = dg.Definitions.merge(
        defs,
        dg.Definitions(
            jobs=[dg.define_asset_job("fresh", selection=dg.AssetSelection.checks(*checks))]
        ),
    ).resolve_job_def("fresh")

    def evaluate(instance) -> list[bool]:
        result = job.execute_in_process(instance=instance)
        return [e.passed for e in result.get_asset_check_evaluations()]

    with dg.instance_for_test() as instance:
        assert evaluate(instance) == [False, False]
        today = datetime.now(UTC).date()
        for days_ago in (1, 2):
            day = f"{today - timedelta(days=days_ago):%Y-%m-%d}"
            for key in MART_KEYS:
                instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day))
        assert evaluate(instance) == [True, True]
