"""`pipeline verify`: the comparison, the re-run plan, and real runs that find (no) change."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from helpers import query
from services import pipeline

from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.automation.verify import VerifyConfig, verify_range
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill
from pipeline_assets.verify import (
    compare,
    fingerprint_warehouse,
    render,
    rerun_plan,
    warehouse_tables,
)


def report_lines(report: str) -> list[str]:
    """The table rows of a rendered report: each ends in its verdict, `yes` or `NO`."""
    return [line for line in report.splitlines() if line.endswith((" yes", " NO"))]


def differences(summary: str) -> set[tuple[str, str]]:
    """(table, partition) of each change `pipeline verify` printed: one line per table,
    `  <table>   <n> partitions  CHANGED: <partition>, <partition>`."""
    changed = set()
    for line in summary.splitlines():
        if "CHANGED: " in line:
            table = line.split()[0]
            changed |= {(table, p) for p in line.split("CHANGED: ")[1].split(", ")}
    return changed


def test_rerun_plan_mixes_a_single_run_with_shuffled_days_some_twice():
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    plan = rerun_plan(days, seed=1)
    assert plan[0] == ("2024-01-01", "2024-01-03")
    singles = [first for first, last in plan[1:] if first == last]
    assert sorted(set(singles)) == days and len(singles) == 5
    assert rerun_plan(days[:1], seed=1) == [("2024-01-01", "2024-01-01")] * 2


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


def run_verify_job(config: dict, tmp: Path) -> tuple[subprocess.CompletedProcess, dg.DagsterRun]:
    """verify_job launched from its code location, as a schedule launches it: the op
    re-runs the code location it finds in `context.repository_def`."""
    (tmp / "verify.json").write_text(json.dumps(config))  # JSON is YAML
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "pipeline_assets.definitions"]
        + ["-j", "verify_job", "-c", str(tmp / "verify.json")],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="verify_job"), limit=1)
        return done, run


def step_event(run: dg.DagsterRun, event_type: dg.DagsterEventType) -> dg.DagsterEvent:
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run.run_id, of_type=event_type).records
        return records[0].event_log_entry.dagster_event


@pytest.mark.slow
def test_verify_job_passes_on_a_rerun_and_names_a_partition_that_changed(pipeline_env):
    """The Dagster job: nothing changes on a plain re-run; a re-landed file is reported."""
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 1), 100)
    with dg.DagsterInstance.get() as instance:
        assert backfill(
            date(2024, 1, 1),
            date(2024, 1, 1),
            echo=lambda _: None,
            defs=build_defs(),
            instance=instance,
        ).ok
    config = {"ops": {"verify_idempotency": {"config": {"days": 1, "end": "2024-01-01"}}}}

    done, run = run_verify_job(config, pipeline_env.root)
    assert done.returncode == 0 and run.is_success, done.stdout[-3000:] + done.stderr[-3000:]
    output = step_event(run, dg.DagsterEventType.STEP_OUTPUT).step_output_data
    report = output.metadata["report"].value
    assert output.metadata["different"].value == 0
    # One row per table and day (the day grain), dim_customers as a whole table.
    compared = {tuple(line.split()[:2]) for line in report_lines(report)}
    assert compared == {
        ("raw.orders", "2024-01-01"),
        ("raw.customers", "2024-01-01"),
        ("raw.quarantine", "2024-01-01"),
        ("intermediate.int_orders_deduplicated", "2024-01-01"),
        ("marts.fct_orders", "2024-01-01"),
        ("marts.orders_daily_summary", "2024-01-01"),
        ("marts.dim_customers", "*"),
        ("features.customer_features", "2024-01-01"),
    }
    assert output.metadata["table_partitions_compared"].value == len(compared)

    # A file re-landed with different content: the re-run changes that day, and verify says so.
    hour = sorted(pipeline_env.landing.glob("orders/date=2024-01-01/hour=10/*.csv"))[0]
    hour.write_text(hour.read_text().replace(",s01,", ",s02,"))
    done, run = run_verify_job(config, pipeline_env.root)
    assert done.returncode != 0 and run.status == dg.DagsterRunStatus.FAILURE
    failure = step_event(run, dg.DagsterEventType.STEP_FAILURE).step_failure_data
    assert "raw.orders 2024-01-01" in failure.user_failure_data.description
    assert failure.user_failure_data.metadata["different"].value >= 1


@pytest.mark.slow
def test_verify_reports_a_retraction_that_was_not_applied_then_passes(pipeline_env):
    """A landing file deleted after its day was loaded: the warehouse still holds its rows.

    Verify's re-run applies the retraction, so it reports raw.orders of exactly that day
    (and exits 1); another re-run of the day finds nothing left to change.
    """
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 100)
    defs = build_defs()
    warehouse = defs.resources["warehouse"]
    with dg.DagsterInstance.from_config(str(pipeline_env.dagster_home)) as instance:
        report = backfill(
            date(2024, 1, 1), date(2024, 1, 2), echo=lambda _: None, defs=defs, instance=instance
        )
    assert report.ok, report.errors
    key = "orders/date=2024-01-01/hour=10/part-000.csv"
    stale = "select count(*) from raw.orders where _source_key = ?"
    (loaded,) = query(pipeline_env.duckdb, stale, [key])[0]
    assert loaded > 0
    (pipeline_env.landing / key).unlink()  # retracted upstream; nothing re-runs the day

    # Verify the retracted day only: it still fingerprints the whole warehouse, day 2 too.
    failed = pipeline("verify", "--start", "2024-01-01", "--end", "2024-01-01")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    changed = differences(failed.stdout)
    assert ("raw.orders", "2024-01-01") in changed
    assert ("marts.fct_orders", "2024-01-01") in changed
    # Day 2's tables were compared too, and did not change.
    (raw_orders,) = [line for line in failed.stdout.splitlines() if "raw.orders " in line]
    assert raw_orders.split()[1:3] == ["2", "partitions"], raw_orders
    assert not {(t, p) for t, p in changed if p == "2024-01-02"}
    assert query(pipeline_env.duckdb, stale, [key]) == [(0,)]  # the re-run applied it
    assert not (pipeline_env.processing / key).exists()

    # The retracted day once more: nothing is left to change, anywhere.
    tables = warehouse_tables(defs)
    with warehouse.db() as db:
        before = fingerprint_warehouse(db, tables)
    with dg.DagsterInstance.from_config(str(pipeline_env.dagster_home)) as instance:
        rerun = backfill(
            date(2024, 1, 1), date(2024, 1, 1), echo=lambda _: None, defs=defs, instance=instance
        )
    assert rerun.ok, rerun.errors
    with warehouse.db() as db:
        rows = compare(before, fingerprint_warehouse(db, tables))
    assert rows and all(r.equal for r in rows), render(rows)
    assert {(r.table, r.partition) for r in rows} >= {
        ("raw.orders", "2024-01-01"),
        ("raw.orders", "2024-01-02"),
    }
