"""dbt models as Dagster assets on a real DuckDB file, run by real dbt invocations."""

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import dataset, fingerprints, query

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.defs.transform.assets import dbt_window_args
from pipeline_assets.defs.transform.project import DBT_PROJECT_DIR
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.settings import Settings
from pipeline_assets.runner import backfill, run_range

REFERENCE_SQL = (Path(__file__).parents[1] / "bench" / "reference_summary.sql").read_text()
DBT_TABLES = {
    "intermediate": ("int_orders_deduplicated",),
    "marts": ("fct_orders", "orders_daily_summary", "dim_customers"),
}
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
SUMMARY = "marts__orders_daily_summary"


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


@pytest.mark.slow
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


@pytest.mark.slow
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

    # Retract day 4's hour 12 (all its files): re-running the day removes exactly its orders.
    hour12 = "orders/date=2024-01-04/hour=12/"
    retracted = query(
        pipeline_env.duckdb,
        "select order_id from raw.orders where starts_with(_source_key, ?)",
        [hour12],
    )
    assert len(retracted) > 5
    day4 = query(
        pipeline_env.duckdb, "select count(*) from marts.fct_orders where order_date = '2024-01-04'"
    )
    shutil.rmtree(pipeline_env.landing / hour12)
    build(date(2024, 1, 4), date(2024, 1, 4))
    ids = [o for (o,) in retracted]
    for table in ("raw.orders", "marts.fct_orders"):
        assert query(
            pipeline_env.duckdb,
            f"select count(*) from {table} where list_contains(?, order_id)",  # noqa: S608
            [ids],
        ) == [(0,)]
    assert query(
        pipeline_env.duckdb, "select count(*) from marts.fct_orders where order_date = '2024-01-04'"
    ) == [(day4[0][0] - len(ids),)]

    build(date(2024, 1, 2), date(2024, 1, 2))  # the closed day last: customers, no orders
    assert query(
        pipeline_env.duckdb, "select count(*) from raw.orders where _partition = '2024-01-02'"
    ) == [(0,)]
    incremental = dbt_fingerprints(pipeline_env.duckdb)
    incremental_raw = fingerprints(pipeline_env.duckdb)

    # Re-running any day range changes nothing.
    run_range(build_defs(), _dbt_keys(), "2024-01-02", "2024-01-04", dg.DagsterInstance.ephemeral())
    assert dbt_fingerprints(pipeline_env.duckdb) == incremental

    # A from-scratch build of the same landing data is identical, raw tables included.
    pipeline_env.duckdb.unlink()
    build(date(2024, 1, 1), date(2024, 1, 5))
    assert dbt_fingerprints(pipeline_env.duckdb) == incremental
    assert fingerprints(pipeline_env.duckdb) == incremental_raw


def _ingest_keys() -> list[dg.AssetKey]:
    return [key(ds) for ds in declared_datasets() for key in (files_key, raw_key)]


def _dbt_keys() -> list[dg.AssetKey]:
    return [dg.AssetKey([s, t]) for s, tables in DBT_TABLES.items() for t in tables] + [
        dg.AssetKey(["staging", "stg_shop__orders"]),
        dg.AssetKey(["staging", "stg_shop__customers"]),
    ]


@pytest.mark.slow
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
    assert run_range(defs, _ingest_keys(), "2024-01-01", "2024-01-01", instance).success
    result = run_range(defs, _dbt_keys(), "2024-01-01", "2024-01-01", instance)
    assert not result.success
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["order_total__between_0_and_100000"]
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_orders"]) in built
    assert dg.AssetKey(["marts", "orders_daily_summary"]) not in built
    (fct_event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["marts", "fct_orders"])
    ]
    assert fct_event.partition == "2024-01-01"
    fct = fct_event.materialization.metadata
    assert fct["dagster/row_count"].value == 2
    columns = [c.name for c in fct["dagster/column_schema"].value.columns]
    assert columns[:3] == ["order_id", "order_date", "customer_id"]
    assert query(
        pipeline_env.duckdb,
        "select count(*) from information_schema.tables where table_name = 'orders_daily_summary'",
    ) == [(0,)]


@pytest.mark.slow
def test_an_order_for_an_unknown_customer_blocks_the_summary_and_names_the_order(pipeline_env):
    """relationships has two parents (fct_orders, dim_customers): it must still block."""
    pipeline_env.write(
        "orders/date=2024-01-01/hour=10/a.csv",
        HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n",
    )
    pipeline_env.write(
        "orders/date=2024-01-02/hour=09/a.csv",
        HEADER
        + "o2,c1,s01,2024-01-02T09:00:00,100,8,108,\n"
        + "o-ghost,c-ghost,s01,2024-01-02T09:30:00,500,40,540,\n",
    )
    for day in ("2024-01-01", "2024-01-02"):
        pipeline_env.write(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    warehouse = [*_dbt_keys(), dg.AssetKey(["features", "customer_features"])]
    assert run_range(defs, _ingest_keys(), "2024-01-01", "2024-01-02", instance).success
    assert run_range(defs, warehouse, "2024-01-01", "2024-01-01", instance).success
    before = summary_by_day(pipeline_env.duckdb)

    result = run_range(defs, warehouse, "2024-01-02", "2024-01-02", instance)
    assert not result.success
    (check,) = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert (
        check.asset_check_key.to_user_string() == "marts/fct_orders:customer_id__in_dim_customers"
    )
    assert check.metadata["failing_rows"].value == 1
    sample = check.metadata["failing_rows_sample"].value
    assert sample.splitlines()[0] == "| order_id | customer_id | order_date |"
    assert sample.splitlines()[2] == "| o-ghost | c-ghost | 2024-01-02 |"
    assert check.description == (
        "1 failing row: order_id=o-ghost customer_id=c-ghost order_date=2024-01-02"
    )
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/fct_orders" in built  # the model under test holds the row; nothing after it
    assert not built & {"marts/orders_daily_summary", "features/customer_features"}
    assert summary_by_day(pipeline_env.duckdb) == before  # day 2 was not published
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    message = failure.user_failure_data.description  # the run's error, said once
    assert message.splitlines() == [
        "test fct_orders: customer_id__in_dim_customers: 1 failing row: order_id=o-ghost "
        "customer_id=c-ghost order_date=2024-01-02",
        "not built (downstream of a failure): orders_daily_summary",
    ]
    assert failure.error.cause is None  # not chained to dagster-dbt's exception and its advice


def test_every_error_test_has_all_its_parents_upstream_of_what_it_guards():
    """dbt build skips a model after a failed test only if every parent of the test is the
    model's ancestor. So for each error-severity test and each model downstream of any of its
    parents, all of its parents must be upstream of that model: else the model is built from
    the failing rows."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    parents = {uid: set(n["depends_on"]["nodes"]) for uid, n in nodes.items()}

    def ancestors(uid: str, seen: set[str] | None = None) -> set[str]:
        seen = set() if seen is None else seen
        for parent in parents.get(uid, ()):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    models = [uid for uid, n in nodes.items() if n["resource_type"] == "model"]
    tests = [
        (uid, n)
        for uid, n in nodes.items()
        if n["resource_type"] == "test" and n["config"]["severity"].lower() == "error"
    ]
    assert len(tests) > 20
    unguarded = []
    for _, test in tests:
        tested = set(test["depends_on"]["nodes"])
        for model in models:
            upstream = ancestors(model)
            if model not in tested and upstream & tested and not tested <= upstream:
                unguarded.append((test["name"], model, sorted(tested - upstream)))
    assert unguarded == []


def test_every_check_reads_only_its_asset_and_its_ancestors():
    """Automation heals a failed check by rebuilding what changed upstream, and a backfill
    builds a check's inputs before it: both hold only if whatever a check reads is its asset
    or an ancestor of it (dim_customers is a declared parent of fct_orders for this)."""
    graph = build_defs().resolve_asset_graph()
    assert len(graph.asset_check_keys) > 30
    outside = {
        check.to_user_string(): sorted(
            k.to_user_string()
            for k in graph.get(check).parent_entity_keys
            if k != check.asset_key and k not in graph.get_ancestor_asset_keys(check.asset_key)
        )
        for check in graph.asset_check_keys
    }
    assert {check: keys for check, keys in outside.items() if keys} == {}


@pytest.mark.slow
def test_failed_raw_check_stops_dbt_in_the_same_run(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "0.5")
    pipeline_env.write("customers/date=2024-01-01/c.csv", "customer_id,name\nc1,Ann\n,x\n,y\n")
    defs = build_defs()
    keys = [files_key(dataset("customers")), raw_key(dataset("customers"))]
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
    assert rate.partition == "2024-01-01"
    # the failed gate names the rows: file, line and reason
    assert rate.metadata["failing_rows"].value == 2
    sample = rate.metadata["failing_rows_sample"].value.splitlines()
    assert sample[0] == "| source_key | line_number | reason_code | reason_detail | raw_line |"
    assert sample[2:] == [
        f"| customers/date=2024-01-01/c.csv | {line} | missing_required_value "
        f"| customer_id is required | ,{name} |"
        for line, name in ((3, "x"), (4, "y"))
    ]
    assert rate.description.startswith(
        "rate 66.67 % (2 of 3 rows) > fail threshold 50 %; "
        "2 failing rows: source_key=customers/date=2024-01-01/c.csv line_number=3 "
    )
    built = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert built == {"processing", "raw"}


def test_every_asset_shares_one_daily_partitions_definition_and_one_job_holds_them_all():
    defs = build_defs()
    partitions = daily_partitions(Settings(os.environ))
    graph = defs.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert {k.to_user_string() for k in keys} == {
        "processing/order_files",
        "processing/customer_files",
        "raw/orders",
        "raw/customers",
        "staging/stg_shop__orders",
        "staging/stg_shop__customers",
        "intermediate/int_orders_deduplicated",
        "marts/fct_orders",
        "marts/orders_daily_summary",
        "marts/dim_customers",
        "features/customer_features",
    }
    for key in keys:
        assert defs.resolve_assets_def(key).partitions_def == partitions, key
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.end_offset == 1 and partitions.timezone == "UTC"
    # end_offset=1: today (UTC) is a partition, tomorrow is not yet.
    today = datetime.now(UTC).date()
    assert partitions.get_last_partition_key() == f"{today:%Y-%m-%d}"

    # One job can hold every asset (it raises if two partitions definitions were mixed),
    # and a day of one asset depends on exactly the same day of its parents.
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.partitions_def == partitions
    assert {k for k in job.asset_layer.selected_asset_keys} >= keys
    for child, parent in (
        (dg.AssetKey(["raw", "orders"]), files_key(dataset("orders"))),
        (dg.AssetKey(["staging", "stg_shop__orders"]), raw_key(dataset("orders"))),
        (dg.AssetKey(["features", "customer_features"]), dg.AssetKey(["marts", "fct_orders"])),
    ):
        parents = graph.get_parent_partition_keys_for_child(
            partition_key="2024-01-03", parent_asset_key=parent, child_asset_key=child
        )
        assert list(parents.partitions_subset.get_partition_keys()) == ["2024-01-03"]


@pytest.mark.slow
def test_mart_row_counts_are_each_days_own_rows(pipeline_env):
    """One 2-day dbt run: each day's materialization carries that day's rows, not the table's."""
    orders = {
        # day 1: 4 orders, 3 customers (one at the day's last second)
        "orders/date=2024-01-01/hour=10/a.csv": "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n"
        "o2,c1,s01,2024-01-01T10:05:00,200,16,216,\n",
        "orders/date=2024-01-01/hour=11/a.csv": "o3,c2,s02,2024-01-01T11:00:00,300,24,324,\n",
        "orders/date=2024-01-01/hour=23/a.csv": "o4,c3,,2024-01-01T23:59:59,50,4,54,\n",
        # day 2: 1 order, at the day's first second
        "orders/date=2024-01-02/hour=00/a.csv": "o5,c1,s01,2024-01-02T00:00:00,10,0,10,\n",
    }
    for key, rows in orders.items():
        pipeline_env.write(key, HEADER + rows)
    customers = "customer_id,name\nc1,Ann\nc2,Bob\nc3,Cy\n"
    pipeline_env.write("customers/date=2024-01-01/c.csv", customers)
    pipeline_env.write("customers/date=2024-01-02/c.csv", "customer_id,name\nc1,Ann\n")
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    assert run_range(defs, _ingest_keys(), "2024-01-01", "2024-01-02", instance).success
    result = run_range(defs, _dbt_keys(), "2024-01-01", "2024-01-02", instance)
    assert result.success

    counts = {
        (e.asset_key.to_user_string(), e.partition): e.materialization.metadata[
            "dagster/row_count"
        ].value
        for e in result.get_asset_materialization_events()
        if "dagster/row_count" in e.materialization.metadata
    }
    expected = {}
    for table in ("fct_orders", "orders_daily_summary"):
        per_day = dict(
            query(
                pipeline_env.duckdb,
                f"select strftime(order_date, '%Y-%m-%d'), count(*) from marts.{table} group by 1",  # noqa: S608
            )
        )
        for day in ("2024-01-01", "2024-01-02"):
            expected[(f"marts/{table}", day)] = per_day[day]
    assert expected == {
        ("marts/fct_orders", "2024-01-01"): 4,
        ("marts/fct_orders", "2024-01-02"): 1,
        ("marts/orders_daily_summary", "2024-01-01"): 3,
        ("marts/orders_daily_summary", "2024-01-02"): 1,
    }
    assert {k: v for k, v in counts.items() if k in expected} == expected
    dedup = {
        d: counts[("intermediate/int_orders_deduplicated", d)] for d in ("2024-01-01", "2024-01-02")
    }
    assert dedup == {"2024-01-01": 4, "2024-01-02": 1}
    # dim_customers has no day: each partition reports the whole table.
    whole = query(pipeline_env.duckdb, "select count(*) from marts.dim_customers")[0][0]
    assert whole == 3
    assert counts[("marts/dim_customers", "2024-01-01")] == whole
    assert counts[("marts/dim_customers", "2024-01-02")] == whole


@pytest.mark.slow
def test_a_first_build_holds_exactly_its_complete_days_whatever_launched_it(pipeline_env):
    """A fresh warehouse backfilled from yesterday to today holds yesterday's marts and no
    row of today's (its hour 00 is loaded, its day is not over); a run of the warehouse
    assets whose range ends today (a UI backfill) builds the same and says today waits."""
    now = datetime.now(UTC)
    today, yesterday = now.date(), (now - timedelta(days=1)).date()
    seed_landing(
        LocalStore(pipeline_env.landing), yesterday, today, 200, now=now.replace(tzinfo=None)
    )
    # a correction of a yesterday order in today's files: it moves the order once today is over
    (order_id, customer) = ("o-moved", "c00001")
    pipeline_env.write(
        f"orders/date={yesterday}/hour=03/moved.csv",
        HEADER + f"{order_id},{customer},s01,{yesterday}T03:10:00,100,8,108,\n",
    )
    pipeline_env.write(
        f"orders/date={today}/hour=00/moved.csv",
        HEADER + f"{order_id},{customer},s01,{today}T00:10:00,500,40,540,{today}T00:30:00\n",
    )
    report = build(yesterday, today)
    assert report.warehouse_days == [f"{yesterday}"] and report.waiting == [f"{today}"]
    per_day = "select cast(order_date as varchar), count(*) from marts.{} group by 1 order by 1"
    for table in ("fct_orders", "orders_daily_summary"):
        days = [d for d, _ in query(pipeline_env.duckdb, per_day.format(table))]
        assert days == [f"{yesterday}"], (table, days)
    moved = "select order_date, order_total from marts.fct_orders where order_id = ?"
    assert query(pipeline_env.duckdb, moved, [order_id]) == [(yesterday, Decimal("1.08"))]
    first_build = dbt_fingerprints(pipeline_env.duckdb)

    # The same days as one run of every warehouse asset, its range ending today (UI).
    warehouse = [*_dbt_keys(), dg.AssetKey(["features", "customer_features"])]
    result = run_range(
        build_defs(), warehouse, f"{yesterday}", f"{today}", dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert dbt_fingerprints(pipeline_env.duckdb) == first_build
    waiting = {
        (e.asset_key.to_user_string(), e.partition)
        for e in result.get_asset_materialization_events()
        if e.materialization.metadata.get("waiting")
    }
    assert ("marts/fct_orders", f"{today}") in waiting
    assert ("features/customer_features", f"{today}") in waiting
    assert not (pipeline_env.features / f"date={today}").exists()


@pytest.mark.slow
def test_an_ignored_landing_key_is_named_with_its_reason(pipeline_env):
    """A file outside the contract is never loaded, and never skipped in silence."""
    pipeline_env.write("orders/date=2024-01-01/hour=10/a.csv", HEADER)
    pipeline_env.write("orders/date=2024-01-01/hour=10/UPPER.CSV", HEADER)
    pipeline_env.write("orders/date=2024-01-01/hour=10/b.csv.tmp", HEADER)
    report = backfill(
        date(2024, 1, 1),
        date(2024, 1, 1),
        echo=lambda _: None,
        defs=build_defs(),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert sorted(report.warnings()) == [
        "warning: ignored landing key orders/date=2024-01-01/hour=10/UPPER.CSV: "
        "the extension must be lower-case .csv",
        "warning: ignored landing key orders/date=2024-01-01/hour=10/b.csv.tmp: "
        "a temporary file (a write in progress), not a landing file",
        "warning: no landing files for customers on 1 day(s): 2024-01-01",
    ]
