"""Incremental latency (a late file lands in an hour of yesterday -> the mart shows it) and the
no-op re-run.

The path is production's, stage by stage, against the real instance: the landing-zone
sensor's evaluation, the ingest run it requests, the automation conditions' evaluation, and
the dbt run they request. Left out is the waiting between stages: each sensor ticks at most
every 60 s, and the daemon starts every run in a new process (measured here separately as
the import time of the code location).
"""

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.automation.definitions import landing_sensor
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.settings import Settings
from pipeline_assets.lib.warehouse import Db
from pipeline_assets.runner import backfill, failure_message, run_range
from pipeline_assets.verify import fingerprint_warehouse, warehouse_tables

WAREHOUSE = dg.AssetSelection.groups("warehouse")
LATE_ORDERS = 3
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def late_file(day: date, customer: str) -> bytes:
    """A new file for an already-built hour: LATE_ORDERS orders of a known customer."""
    rows = [
        f"late-{day:%Y%m%d}-{i:03d},{customer},s01,{day}T12:{i:02d}:00Z,1000,80,1080,\n"
        for i in range(LATE_ORDERS)
    ]
    return (HEADER + "".join(rows)).encode()


def warehouse_path() -> str:
    return Settings(os.environ).location("PIPELINE_DUCKDB_PATH")


def day_orders(day: date) -> tuple[int, str]:
    with duckdb.connect(warehouse_path(), read_only=True) as conn:
        (n,) = conn.execute(
            "select coalesce(sum(total_orders), 0) from marts.orders_daily_summary "
            "where order_date = ?",
            [day],
        ).fetchone()
        (customer,) = conn.execute(
            "select min(customer_id) from marts.dim_customers where last_seen_date = ?", [day]
        ).fetchone()
    return n, customer


def fingerprints(defs: dg.Definitions) -> dict:
    with duckdb.connect(warehouse_path(), read_only=True) as conn:
        return fingerprint_warehouse(Db(conn), warehouse_tables(defs))


class Pipeline:
    """The code location's sensor and automation, evaluated by hand, their runs executed."""

    def __init__(self, instance: dg.DagsterInstance):
        from pipeline_assets.definitions import build_defs

        self.defs, self.instance = build_defs(), instance
        self.sensor_cursor: str | None = None
        self.automation_cursor = None
        self.last_evaluation: Any = None

    def unmet(self, key: dg.AssetKey, partition: str) -> list[str]:
        """Why the last automation tick did not request `partition` of `key`: the first part
        of its condition that was false for it, and which of that part's own parts were
        false. (The condition is an AND evaluated in order, each part only on what the
        previous ones let through, so the parts after the first false one say nothing.)"""
        for result in self.last_evaluation.results if self.last_evaluation else []:
            if result.key == key:
                return [
                    _label(part) + (f" ({', '.join(map(_label, inner))} false)" if inner else "")
                    for part in _false(result, partition)[:1]
                    for inner in [_false(part, partition)]
                ]
        return [f"{key.to_user_string()} was not evaluated"]

    def sensor_tick(self) -> list[dg.RunRequest]:
        settings = Settings(os.environ)
        zones = build_resources(settings)
        resources = {"landing": zones["landing"], "processing": zones["processing"]}
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.sensor_cursor, resources=resources
        ) as context:
            ingests = [(d, d.ingest_job) for d in declared_datasets()]
            result = landing_sensor(settings, ingests)(context)
        self.sensor_cursor = result.cursor
        return list(result.run_requests or [])

    def automation_tick(self) -> dict[str, list[dg.AssetKey]]:
        """Requested warehouse assets by partition: the runs the daemon would launch."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            asset_selection=WAREHOUSE,
            evaluation_time=datetime.now(UTC),
            cursor=self.automation_cursor,
        )
        self.automation_cursor = result.cursor
        self.last_evaluation = result
        runs: dict[str, list[dg.AssetKey]] = {}
        for key in WAREHOUSE.resolve(self.defs.resolve_asset_graph()):
            for partition in result.get_requested_partitions(key):
                runs.setdefault(str(partition), []).append(key)
        return runs

    def execute_ingest(self, request: dg.RunRequest) -> None:
        result = self.defs.resolve_job_def(request.job_name).execute_in_process(
            run_config=request.run_config,
            instance=self.instance,
            partition_key=request.partition_key,
            tags=request.tags,
            raise_on_error=False,
        )
        if not result.success:
            raise RuntimeError(failure_message(result))

    def execute_assets(self, partition: str, keys: list[dg.AssetKey]) -> None:
        result = run_range(self.defs, keys, partition, partition, self.instance)
        if not result.success:
            raise RuntimeError(failure_message(result))


def _label(result: Any) -> str:
    condition = result.condition
    return condition.get_label() or condition.name


def _false(result: Any, partition: str) -> list[Any]:
    return [
        child
        for child in result.child_results
        if partition not in child.true_subset.expensively_compute_partition_keys()
    ]


def latency_and_noop(landing: Path, orders_per_day: int) -> dict[str, Any]:
    day = datetime.now(UTC).date() - timedelta(days=1)  # inside the sensor's lookback
    store = LocalStore(landing)
    seed_landing(store, day, day, orders_per_day)
    with dg.DagsterInstance.get() as instance:
        pipeline = Pipeline(instance)
        assert backfill(day, day, echo=lambda _: None, defs=pipeline.defs, instance=instance).ok
        pipeline.sensor_tick()  # the state before the file lands: everything seen and handled
        pipeline.automation_tick()
        before, customer = day_orders(day)

        stages: dict[str, float] = {}
        start = t = time.perf_counter()

        def stage(name: str) -> None:
            nonlocal t
            stages[name] = time.perf_counter() - t
            t = time.perf_counter()

        landed_at = time.time()
        store.write(f"orders/date={day}/hour=12/part-900-late.csv", late_file(day, customer))
        ingest_requests = pipeline.sensor_tick()
        stage("sensor tick")
        for request in ingest_requests:
            pipeline.execute_ingest(request)
        stage("ingest run")
        dbt_requests = pipeline.automation_tick()
        stage("automation tick")
        for partition, keys in dbt_requests.items():
            pipeline.execute_assets(partition, keys)
        # The summary reflects the file once dbt committed, before the run's features step.
        summary = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["marts", "orders_daily_summary"]),
                asset_partitions=[str(day)],
            ),
            limit=1,
        ).records
        summary_at = summary[0].timestamp - landed_at if summary else None
        stage("warehouse run (dbt, then features)")
        after, _ = day_orders(day)
        stage("query")
        latency = time.perf_counter() - start
        summary_key = dg.AssetKey(["marts", "orders_daily_summary"])
        not_requested = [] if dbt_requests else pipeline.unmet(summary_key, str(day))

        noop: dict[str, float] = {}
        t = time.perf_counter()
        idle_sensor = pipeline.sensor_tick()
        noop["sensor tick, nothing changed"] = time.perf_counter() - t
        t = time.perf_counter()
        idle_automation = pipeline.automation_tick()
        noop["automation tick, nothing changed"] = time.perf_counter() - t
        prints = fingerprints(pipeline.defs)
        t = time.perf_counter()
        assert backfill(day, day, echo=lambda _: None, defs=pipeline.defs, instance=instance).ok
        noop["explicit re-materialization of the day"] = time.perf_counter() - t
        unchanged = fingerprints(pipeline.defs) == prints
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pipeline_assets.definitions"], check=True)
    return {
        "day": str(day),
        "latency_seconds": latency,
        "summary_reflects_file_after_seconds": summary_at,
        "stages": stages,
        "ingest_runs": len(ingest_requests),
        "dbt_runs": len(dbt_requests),
        "mart_reflects_file": after == before + LATE_ORDERS,
        "not_requested_because": not_requested,  # empty when the dbt run was requested
        "noop": noop,
        "noop_requests": len(idle_sensor) + len(idle_automation),
        "noop_unchanged": unchanged,
        "run_process_import_seconds": time.perf_counter() - t,
    }
