"""dbt models as Dagster assets on a real DuckDB file, run by real dbt invocations."""

import shutil
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import fingerprints, query

from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.transform.assets import dbt_window_args
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill, run_range

REFERENCE_SQL = (Path(__file__).parents[1] / "bench" / "reference_summary.sql").read_text()
DBT_TABLES = {
    "intermediate": ("int_orders_deduplicated",),
    "marts": ("fct_orders", "orders_daily_summary", "dim_customers"),
}
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
SUMMARY = "marts__orders_daily_summary"
pytestmark = pytest.mark.slow


def build(first: date, last: date):
    report = backfill(
        first, last, echo=lambda _: None, defs=build_defs(), instance=dg.DagsterInstance.ephemeral()
    )
    assert report.ok, report.errors
    return report


def dbt_fingerprints(path) -> dict:
    out = {}
    for schema, tables in DBT_TABLES.items():
        out.update(fingerprints(path, tables, schema=schema))
    return out


def summary_by_day(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "select order_date, count(*), sum(hash(t)) from marts.orders_daily_summary t "
            "group by 1 order by 1"
        ).fetchall()
    return {d: (n, h) for d, n, h in rows}


def test_window_args_are_half_open_and_exact():
    assert dbt_window_args(datetime(2024, 1, 3), datetime(2024, 1, 4)) == [
        "--event-time-start",
        "2024-01-03T00:00:00",
        "--event-time-end",
        "2024-01-04T00:00:00",
    ]


def test_mart_equals_independent_sql_over_landing_files(pipeline_env):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 3), 300)
    report = build(date(2024, 1, 1), date(2024, 1, 3))
    mart = query(
        pipeline_env.duckdb,
        "select order_date, customer_id, total_orders, total_revenue "
        "from marts.orders_daily_summary order by 1, 2",
    )
    with duckdb.connect() as conn:
        reference = conn.execute(
            REFERENCE_SQL, [str(pipeline_env.landing / "orders" / "*" / "*" / "*.csv")]
        ).fetchall()
    assert len(mart) > 100
    assert mart == reference
    assert report.mart_rows["marts.orders_daily_summary"] == len(mart)  # row-count metadata
    assert report.checks_passed > 30 and not report.checks_failed
    types = query(
        pipeline_env.duckdb,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'orders_daily_summary' "
        "order by ordinal_position",
    )
    assert types == [
        ("order_date", "DATE"),
        ("customer_id", "VARCHAR"),
        ("total_orders", "BIGINT"),
        ("total_revenue", "DECIMAL(18,2)"),
    ]


def test_out_of_order_backfills_and_corrections_equal_a_scratch_build(pipeline_env, tmp_path):
    store = LocalStore(pipeline_env.landing)
    seed_landing(store, date(2024, 1, 1), date(2024, 1, 5), 200)
    shutil.rmtree(pipeline_env.landing / "orders" / "date=2024-01-02")  # a closed day

    build(date(2024, 1, 3), date(2024, 1, 5))
    build(date(2024, 1, 1), date(2024, 1, 1))  # an older day after newer ones
    assert {d.day for d in summary_by_day(pipeline_env.duckdb)} == {1, 3, 4, 5}
    before = summary_by_day(pipeline_env.duckdb)

    # Correct day 3: a customer's only order of the day moves to another customer.
    (order_id, old, ordered_at, hour, new), *_ = query(
        pipeline_env.duckdb,
        """
        with single as (
            select customer_id from marts.orders_daily_summary
            where order_date = '2024-01-03' and total_orders = 1
        )
        select f.order_id, f.customer_id, strftime(f.ordered_at, '%Y-%m-%dT%H:%M:%S'),
               strftime(f.ordered_at, '%H'),
               (select min(customer_id) from marts.fct_orders
                where order_date = '2024-01-03' and customer_id <> f.customer_id)
        from marts.fct_orders f join single using (customer_id)
        where f.order_date = '2024-01-03' order by 1 limit 1
        """,
    )
    pipeline_env.write(
        f"orders/date=2024-01-03/hour={hour}/part-999-late.csv",
        HEADER + f"{order_id},{new},s01,{ordered_at},500,40,540,2024-01-04T00:00:00Z\n",
    )
    build(date(2024, 1, 3), date(2024, 1, 3))
    after = summary_by_day(pipeline_env.duckdb)
    assert [d.day for d in after if after[d] != before[d]] == [3]  # exactly that day changed
    rows = query(
        pipeline_env.duckdb,
        "select customer_id from marts.orders_daily_summary "
        "where order_date = '2024-01-03' and customer_id = ?",
        [old],
    )
    assert rows == []  # the row that no longer exists upstream is gone
    incremental = dbt_fingerprints(pipeline_env.duckdb)

    # Re-running any day range changes nothing.
    run_range(build_defs(), _dbt_keys(), "2024-01-02", "2024-01-04", dg.DagsterInstance.ephemeral())
    assert dbt_fingerprints(pipeline_env.duckdb) == incremental

    # A from-scratch build of the same landing data is identical.
    pipeline_env.duckdb.unlink()
    build(date(2024, 1, 1), date(2024, 1, 5))
    assert dbt_fingerprints(pipeline_env.duckdb) == incremental


def _dbt_keys() -> list[dg.AssetKey]:
    return [dg.AssetKey([s, t]) for s, tables in DBT_TABLES.items() for t in tables] + [
        dg.AssetKey(["staging", "stg_shop__orders"]),
        dg.AssetKey(["staging", "stg_shop__customers"]),
    ]


def test_failing_mart_check_blocks_downstream_and_fails_the_run(pipeline_env):
    # 12,000,000.00 is valid by the landing contract but fails fct_orders' sanity bound.
    hour = "orders/date=2024-01-01/hour=10/"
    pipeline_env.write(
        hour + "a.csv",
        HEADER
        + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n"
        + "o2,c1,s01,2024-01-01T10:05:00,1200000000,0,1200000000,\n",
    )
    pipeline_env.write("customers/date=2024-01-01/c.csv", "customer_id,name\nc1,Ann\n")
    defs = build_defs()
    instance = dg.DagsterInstance.ephemeral()
    for keys, first, last in (
        (
            [dg.AssetKey(["processing", "orders"]), dg.AssetKey(["raw", "orders"])],
            "2024-01-01-00:00",
            "2024-01-01-23:00",
        ),
        (
            [dg.AssetKey(["processing", "customers"]), dg.AssetKey(["raw", "customers"])],
            "2024-01-01",
            "2024-01-01",
        ),
    ):
        assert run_range(defs, keys, first, last, instance).success
    result = run_range(defs, _dbt_keys(), "2024-01-01", "2024-01-01", instance)
    assert not result.success
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["column_values_between_fct_orders_order_total__100000__0"]
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_orders"]) in built
    assert dg.AssetKey(["marts", "orders_daily_summary"]) not in built
    fct = next(
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["marts", "fct_orders"])
    )
    assert fct["dagster/row_count"].value == 2
    columns = [c.name for c in fct["dagster/column_schema"].value.columns]
    assert columns[:3] == ["order_id", "order_date", "customer_id"]
    assert query(
        pipeline_env.duckdb,
        "select count(*) from information_schema.tables where table_name = 'orders_daily_summary'",
    ) == [(0,)]


def test_failed_raw_check_stops_dbt_in_the_same_run(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "0.5")
    pipeline_env.write("customers/date=2024-01-01/c.csv", "customer_id,name\nc1,Ann\n,x\n,y\n")
    defs = build_defs()
    keys = [dg.AssetKey(["processing", "customers"]), dg.AssetKey(["raw", "customers"])]
    keys += [
        dg.AssetKey(["staging", "stg_shop__customers"]),
        dg.AssetKey(["marts", "dim_customers"]),
    ]
    result = run_range(defs, keys, "2024-01-01", "2024-01-01", dg.DagsterInstance.ephemeral())
    assert not result.success
    rate = next(
        c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "quarantine_rate_below_threshold"
    )
    assert not rate.passed and rate.severity == dg.AssetCheckSeverity.ERROR
    built = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert built == {"processing", "raw"}


def test_a_day_depends_on_exactly_its_24_hours():
    graph = build_defs().resolve_asset_graph()
    summary = dg.AssetKey(["staging", "stg_shop__orders"])
    raw = dg.AssetKey(["raw", "orders"])
    parents = graph.get_parent_partition_keys_for_child(
        partition_key="2024-01-03", parent_asset_key=raw, child_asset_key=summary
    )
    assert sorted(parents.partitions_subset.get_partition_keys()) == [
        f"2024-01-03-{h:02d}:00" for h in range(24)
    ]
