"""Test helpers: run ingestion ranges in-process and fingerprint the DuckDB warehouse."""

import dagster as dg
import duckdb

from pipeline_assets.defs.ingest.assets import customers_assets, orders_assets
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.lib.warehouse import Db

ASSETS = {"orders": orders_assets, "customers": customers_assets}
RAW_TABLES = ("orders", "customers", "quarantine")


def ingest(
    dataset: str,
    first: str,
    last: str | None = None,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize copy + raw load for one partition range of one dataset."""
    return dg.materialize(
        ASSETS[dataset],
        resources=build_resources(),
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last or first,
        },
        raise_on_error=raise_on_error,
    )


def fingerprints(path, tables=RAW_TABLES, schema: str = "raw") -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        db = Db(conn)
        return {t: db.fingerprint(db.table(schema, t)) for t in tables}


def query(path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()
