"""`pipeline verify`: the comparison, the re-run plan, and a real run that finds no change."""

from datetime import date

import dagster as dg
import pytest

from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.automation.verify import VerifyConfig, verify_job, verify_range
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill
from pipeline_assets.verify import compare, render, rerun_plan


def test_rerun_plan_mixes_a_single_run_with_shuffled_days_some_twice():
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    plan = rerun_plan(days, seed=1)
    assert plan[0] == ("2024-01-01", "2024-01-03")
    singles = [first for first, last in plan[1:] if first == last]
    assert sorted(set(singles)) == days and len(singles) == 5


def test_compare_names_the_table_and_partition_that_changed():
    before = {("marts.fct_orders", "2024-01-01"): (3, "a"), ("raw.orders", "x"): (1, "b")}
    after = {("marts.fct_orders", "2024-01-01"): (3, "c"), ("raw.orders", "x"): (1, "b")}
    rows = compare(before, after)
    assert [(r.table, r.partition, r.equal) for r in rows] == [
        ("marts.fct_orders", "2024-01-01", False),
        ("raw.orders", "x", True),
    ]
    assert "1 different" in render(rows)


def test_verify_range_defaults_to_the_days_before_today():
    assert verify_range(VerifyConfig(), date(2024, 3, 10)) == (date(2024, 3, 7), date(2024, 3, 9))
    config = VerifyConfig(days=1, end="2024-01-01")
    assert verify_range(config, date(2030, 1, 1)) == (date(2024, 1, 1), date(2024, 1, 1))


@pytest.mark.slow
def test_verify_job_passes_on_a_rerun_and_names_a_partition_that_changed(pipeline_env):
    """The Dagster job: nothing changes on a plain re-run; a re-landed file is reported."""
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 1), 100)
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    assert backfill(
        date(2024, 1, 1), date(2024, 1, 1), echo=lambda _: None, defs=defs, instance=instance
    ).ok
    config = {"ops": {"verify_idempotency": {"config": {"days": 1, "end": "2024-01-01"}}}}

    passed = verify_job.execute_in_process(run_config=config, instance=instance)
    output = next(e for e in passed.all_events if e.is_successful_output).step_output_data
    report = output.metadata["report"].value
    assert passed.output_for_node("verify_idempotency") > 25  # 24 hours of raw.orders alone
    assert output.metadata["different"].value == 0
    for table in (
        "raw.orders",
        "raw.quarantine",
        "marts.orders_daily_summary",
        "features.customer_features",
    ):
        assert table in report

    # A file re-landed with different content: the re-run changes that hour, and verify says so.
    hour = sorted(pipeline_env.landing.glob("orders/date=2024-01-01/hour=10/*.csv"))[0]
    hour.write_text(hour.read_text().replace(",s01,", ",s02,"))
    failed = verify_job.execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure).step_failure_data
    assert "raw.orders 2024-01-01-10:00" in failure.user_failure_data.description
    assert failure.user_failure_data.metadata["different"].value >= 1
