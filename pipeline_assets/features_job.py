"""The customer_features job: an external process, launched through Dagster Pipes.

Locally it is a subprocess (`PipesSubprocessClient`); in production the same module runs as
the command of a Kubernetes pod (`PipesK8sClient`) built from the project's image. It gets
the partition's days from Pipes, reads the marts, writes one Parquet file per day to
a run-scoped path, and reports what it wrote. It never moves the readers' pointer: the
orchestrator does that once this process has succeeded.

    python -m pipeline_assets.features_job   # only meaningful when launched by Pipes
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from typing import Any

import pyarrow as pa
from dagster_pipes import PipesContext, open_dagster_pipes

from pipeline_assets.lib.features import FEATURES_SQL, features_params, write_output
from pipeline_assets.lib.objectstore import open_store
from pipeline_assets.lib.warehouse import connect_duckdb, connect_snowflake


@contextmanager
def _warehouse(extras: dict[str, Any]) -> Iterator[Any]:
    """A read-only DuckDB connection, or Snowflake with the pod's environment (its secret)."""
    if extras["engine"] == "snowflake":
        conn = connect_snowflake(
            extras["snowflake_database"],
            account=os.environ["SNOWFLAKE_ACCOUNT"],
            user=os.environ["SNOWFLAKE_USER"],
            password=os.environ["DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"],
            role=os.environ.get("SNOWFLAKE_ROLE"),
            warehouse=os.environ.get("SNOWFLAKE_WAREHOUSE"),
        )
    else:
        conn = connect_duckdb(extras["duckdb_path"], {}, read_only=True)
    try:
        yield conn
    finally:
        conn.close()


def _query(conn: Any, engine: str, day: date) -> pa.Table:
    if engine == "snowflake":
        cursor = conn.cursor()
        cursor.execute(FEATURES_SQL, features_params(day))
        table = cursor.fetch_arrow_all(force_return_table=True)
    else:
        table = conn.sql(FEATURES_SQL, params=features_params(day)).to_arrow_table()
    return table.rename_columns([c.lower() for c in table.column_names])


def run(pipes: PipesContext) -> None:
    extras = pipes.extras
    store = open_store(extras["features_uri"], _s3_client)
    outputs = []
    with _warehouse(extras) as conn:
        for day in extras["days"]:
            table = _query(conn, extras["engine"], date.fromisoformat(day))
            output = write_output(store, day, pipes.run_id, table)
            pipes.log.info(f"wrote {output.rows} rows to {store.uri}/{output.key}")
            outputs.append(asdict(output))
    pipes.report_asset_materialization(
        metadata={
            "rows": sum(o["rows"] for o in outputs),
            "outputs": {"raw_value": outputs, "type": "json"},
        }
    )


def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def main() -> None:
    with open_dagster_pipes() as pipes:
        run(pipes)


if __name__ == "__main__":
    main()
