"""Schedules that refresh today and close finished days; marts that wait for a complete day."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.test_utils import create_run_for_test
from helpers import dataset, ingest, resources, settings

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.automation.definitions import landing_sensor
from pipeline_assets.defs.ingest.checks import QUARANTINE_RATE, REQUIRED_COLUMNS, ROW_ACCOUNTING
from pipeline_assets.lib.manifest import LANDING_COMPLETE, snapshot
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
SUMMARY = dg.AssetKey(["marts", "orders_daily_summary"])
DIM_CUSTOMERS = dg.AssetKey(["marts", "dim_customers"])
RAW_ORDERS = dg.AssetKey(["raw", "orders"])
RAW_CUSTOMERS = dg.AssetKey(["raw", "customers"])


def landed(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    day: str,
    complete: bool,
    checks_pass: bool = True,
) -> None:
    """A raw day as an ingest run leaves it: a materialization and its per-day checks, in a
    run of their own (the event log keeps one check result per run and partition)."""
    run_id = create_run_for_test(instance, job_name="ingest").run_id
    report(
        instance,
        run_id,
        DagsterEventType.ASSET_MATERIALIZATION,
        StepMaterializationData(
            dg.AssetMaterialization(key, partition=day, metadata={LANDING_COMPLETE: complete})
        ),
    )
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
    ).records[0]
    target = AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=run_id, timestamp=record.timestamp
    )
    for check in (ROW_ACCOUNTING, REQUIRED_COLUMNS, QUARANTINE_RATE):
        report(
            instance,
            run_id,
            DagsterEventType.ASSET_CHECK_EVALUATION,
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=check,
                passed=checks_pass,
                partition=day,
                blocking=True,
                severity=dg.AssetCheckSeverity.ERROR,
                target_materialization_data=target,
            ),
        )


def report(instance, run_id, event_type, data) -> None:
    instance.report_dagster_event(
        DagsterEvent(event_type.value, "ingest", event_specific_data=data), run_id=run_id
    )


def zones() -> dict[str, object]:
    """The test's landing and processing zones."""
    return {k: v for k, v in resources().items() if k in ("landing", "processing")}


def evaluate(name: str, instance: dg.DagsterInstance, at: datetime) -> list[dg.RunRequest]:
    """The schedule's requests at `at`, with the test's landing and processing zones."""
    schedule = {
        s.name: s for d in declared_datasets() for s in d.build_dataset_defs(settings()).schedules
    }[name]
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, resources=zones()
    ) as context:
        result = schedule(context)
    if isinstance(result, dg.SkipReason):  # nothing to run says why, in the UI's tick history
        assert "last 2" in result.skip_message, result.skip_message
        return []
    return result


def copied(name: str, day: str, at: datetime) -> None:
    """The day's copy as an ingest run at `at` leaves it: the processing files and manifest."""
    zone = zones()
    snapshot(zone["landing"].store(), zone["processing"].store(), dataset(name), day, at)


def test_hourly_schedule_refreshes_today_if_changed_and_closes_unfinished_days(pipeline_env):
    at = datetime(2024, 1, 5, 0, 10, tzinfo=UTC)
    for day in ("2024-01-03", "2024-01-04", "2024-01-05"):
        pipeline_env.write(f"orders/date={day}/hour=00/a.csv", HEADER)
    copied("orders", "2024-01-04", datetime(2024, 1, 4, 23, 10))
    with dg.instance_for_test() as instance:
        landed(instance, RAW_ORDERS, "2024-01-03", complete=True)
        landed(instance, RAW_ORDERS, "2024-01-04", complete=False)  # last refresh at 23:10
        requests = evaluate("hourly_orders_schedule", instance, at)
        # 2 catch-up days: 01-03 is closed, 01-04 needs its closing run; and today's refresh
        assert [(r.partition_key, r.run_key) for r in requests] == [
            ("2024-01-04", "orders:2024-01-04:closing"),
            ("2024-01-05", "orders:2024-01-05:00"),
        ]
        landed(instance, RAW_ORDERS, "2024-01-04", complete=True)
        copied("orders", "2024-01-05", at)  # today's refresh ran
        later = at.replace(hour=1)
        assert evaluate("hourly_orders_schedule", instance, later) == []  # nothing new: no run
        pipeline_env.write("orders/date=2024-01-05/hour=00/b.csv", HEADER)  # the next hour
        requests = evaluate("hourly_orders_schedule", instance, later)
        assert [r.partition_key for r in requests] == ["2024-01-05"]


def test_schedules_request_no_day_with_nothing_to_ingest(pipeline_env):
    """No files and never ingested: neither a refresh nor a closing run (an empty run)."""
    with dg.instance_for_test() as instance:
        at = datetime(2024, 1, 5, 0, 10, tzinfo=UTC)
        assert evaluate("hourly_orders_schedule", instance, at) == []
        assert evaluate("daily_customers_schedule", instance, at) == []
        # a day that was ingested and then lost all its files still closes (a retraction)
        copied("orders", "2024-01-04", datetime(2024, 1, 4, 12, 0))
        requests = evaluate("hourly_orders_schedule", instance, at)
        assert [r.partition_key for r in requests] == ["2024-01-04"]


def test_customers_schedule_closes_missed_days_only_inside_its_window(pipeline_env):
    for day in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"):
        pipeline_env.write(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    with dg.instance_for_test() as instance:
        landed(instance, RAW_CUSTOMERS, "2024-01-04", complete=True)
        at = datetime(2024, 1, 5, 0, 20, tzinfo=UTC)
        requests = evaluate("daily_customers_schedule", instance, at)
        assert [r.partition_key for r in requests] == ["2024-01-03"]


def test_a_day_of_marts_waits_for_the_datasets_it_reads_and_reruns_on_late_data(pipeline_env):
    defs = build_defs()
    selection = dg.AssetSelection.groups("warehouse")
    at = datetime(2024, 1, 4, 1, 0, tzinfo=UTC)
    day, today = "2024-01-03", "2024-01-04"

    def tick(instance, cursor=None):
        """One evaluation; what it requested then runs and succeeds."""
        result = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=at, cursor=cursor
        )
        run_id = create_run_for_test(instance, job_name="warehouse").run_id
        for key in selection.resolve(defs.resolve_asset_graph()):
            for partition in result.get_requested_partitions(key):
                report(
                    instance,
                    run_id,
                    DagsterEventType.ASSET_MATERIALIZATION,
                    StepMaterializationData(dg.AssetMaterialization(key, partition=partition)),
                )
        return result

    with dg.instance_for_test() as instance:
        result = tick(instance)  # automation runs before the day's data lands
        landed(instance, RAW_CUSTOMERS, day, complete=True)
        landed(instance, RAW_ORDERS, day, complete=False)  # refreshed at 23:10, day not over
        landed(instance, RAW_ORDERS, today, complete=False)
        landed(instance, RAW_CUSTOMERS, today, complete=False)
        result = tick(instance, result.cursor)
        assert result.get_requested_partitions(SUMMARY) == set()  # wait for the closing run
        # A late dataset holds back only what reads it: dim_customers reads customers alone.
        assert result.get_requested_partitions(DIM_CUSTOMERS) == {day}

        landed(instance, RAW_ORDERS, day, complete=True)  # the closing run after midnight
        result = tick(instance, result.cursor)
        assert result.get_requested_partitions(SUMMARY) == {day}  # never today

        result = tick(instance, result.cursor)
        assert result.get_requested_partitions(SUMMARY) == set()  # handled: no repeat

        landed(instance, RAW_ORDERS, day, complete=True)  # a late or retracted file
        result = tick(instance, result.cursor)
        assert result.get_requested_partitions(SUMMARY) == {day}

        landed(instance, RAW_ORDERS, day, complete=True, checks_pass=False)
        result = tick(instance, result.cursor)
        assert result.get_requested_partitions(SUMMARY) == set()  # a failed gate blocks


def test_every_warehouse_asset_waits_for_complete_days_and_marts_have_a_freshness_policy():
    graph = build_defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] in ("staging", "intermediate", "marts", "features"):
            assert node.automation_condition.get_label() == warehouse_condition(7).get_label(), key
        if key.path[0] == "marts":
            policy = node.freshness_policy
            assert policy is not None and policy.deadline_cron == "0 6 * * *", key
            assert policy.lower_bound_delta == timedelta(hours=6), key
        else:
            assert node.freshness_policy is None, key


def test_real_ingest_runs_of_a_past_day_release_its_marts(pipeline_env):
    """Through real runs: per-day check results that target the day's materialization, and
    `landing_complete` from the manifest, are what the condition reads."""
    day = "2024-01-03"
    pipeline_env.write(
        f"orders/date={day}/hour=10/a.csv",
        "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
        f"o1,c1,s01,{day}T10:00:00,100,8,108,\n",
    )
    pipeline_env.write(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    defs = build_defs()
    at = datetime(2024, 1, 4, 1, 0, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs, instance, dg.AssetSelection.groups("warehouse"), evaluation_time=at
        )
        for dataset in ("orders", "customers"):
            assert ingest(dataset, day, instance=instance).success
        result = dg.evaluate_automation_conditions(
            defs,
            instance,
            dg.AssetSelection.groups("warehouse"),
            evaluation_time=at,
            cursor=first.cursor,
        )
        assert result.get_requested_partitions(SUMMARY) == {day}


@pytest.mark.slow
def test_automation_switched_on_after_the_demo_launches_nothing(pipeline_env):
    """`make dev` after `make demo`: the demo's recent days are all in, so neither the
    sensor, the schedules nor the warehouse automation request a run."""
    now = datetime.now(UTC)
    today = now.date()
    start = today - timedelta(days=2)
    store = LocalStore(pipeline_env.landing)
    seed_landing(store, start, today, 60, now=now.replace(tzinfo=None))
    defs = build_defs()
    with dg.instance_for_test() as instance:
        assert backfill(start, today, defs=defs, instance=instance, echo=lambda _: None).ok
        with dg.build_sensor_context(instance=instance, resources=zones()) as context:
            sensor = landing_sensor(settings(), [(d, d.ingest_job) for d in declared_datasets()])
            assert sensor(context).run_requests == []
        at = now.replace(minute=10, second=0, microsecond=0)
        assert evaluate("hourly_orders_schedule", instance, at) == []
        assert evaluate("daily_customers_schedule", instance, at) == []
        selection = dg.AssetSelection.groups("warehouse", "features")
        first = dg.evaluate_automation_conditions(defs, instance, selection, evaluation_time=now)
        again = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=now, cursor=first.cursor
        )
        assert (first.total_requested, again.total_requested) == (0, 0)


FCT_ORDERS = dg.AssetKey(["marts", "fct_orders"])
IN_DIM = dg.AssetCheckKey(FCT_ORDERS, "customer_id__in_dim_customers")


def test_a_failed_check_heals_when_its_other_parent_is_rebuilt(pipeline_env):
    """fct_orders' relationships test fails (an unknown customer); the customer lands, and
    automation rebuilds dim_customers and, after it, fct_orders for that day, so the check
    is evaluated again, and the summary it held back follows, with no manual step."""
    defs = build_defs()
    selection = dg.AssetSelection.groups("warehouse")
    at = datetime(2024, 1, 4, 1, 0, tzinfo=UTC)
    day = "2024-01-03"

    def tick(instance, cursor):
        result = dg.evaluate_automation_conditions(
            defs, instance, selection, evaluation_time=at, cursor=cursor
        )
        keys = selection.resolve(defs.resolve_asset_graph())
        return result, {k for k in keys if day in result.get_requested_partitions(k)}

    def run(instance, built, check_passes=None) -> None:
        """A warehouse run of `day` that built `built`; the relationships test's verdict."""
        run_id = create_run_for_test(instance, job_name="warehouse").run_id
        for key in built:
            report(
                instance,
                run_id,
                DagsterEventType.ASSET_MATERIALIZATION,
                StepMaterializationData(dg.AssetMaterialization(key, partition=day)),
            )
        if check_passes is not None:
            report(
                instance,
                run_id,
                DagsterEventType.ASSET_CHECK_EVALUATION,
                dg.AssetCheckEvaluation(
                    asset_key=FCT_ORDERS,
                    check_name=IN_DIM.name,
                    passed=check_passes,
                    blocking=True,
                    severity=dg.AssetCheckSeverity.ERROR,
                ),
            )

    with dg.instance_for_test() as instance:
        result, _ = tick(instance, None)  # automation runs before the day's data lands
        landed(instance, RAW_ORDERS, day, complete=True)
        landed(instance, RAW_CUSTOMERS, day, complete=True)
        result, requested = tick(instance, result.cursor)
        assert FCT_ORDERS in requested and SUMMARY in requested
        run(instance, requested - {SUMMARY}, check_passes=False)  # the summary is held back
        result, requested = tick(instance, result.cursor)
        assert requested == set()  # nothing new: the failure stays until data changes

        landed(instance, RAW_CUSTOMERS, day, complete=True)  # the missing customer lands
        result, requested = tick(instance, result.cursor)
        # one run: the customers' chain, fct_orders after dim_customers (its declared parent,
        # so its check is evaluated again), and the summary the check held back
        assert {DIM_CUSTOMERS, FCT_ORDERS, SUMMARY} <= requested, requested
        run(instance, requested, check_passes=True)
        result, requested = tick(instance, result.cursor)
        assert requested == set()  # healed: nothing left to do
