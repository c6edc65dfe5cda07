"""The customer_features job: an external process, launched through Dagster Pipes.

Locally it is a subprocess (`PipesSubprocessClient`); in production the same module runs as
the command of a Kubernetes pod (`PipesK8sClient`) built from the project's image. It gets
the run's days from Pipes, reads the marts, writes one Parquet file per day to a run-scoped
path, and reports what it wrote. Besides its own days it recomputes every published day
whose inputs changed since (a correction on an earlier day changes every later day's
cumulative features). It never moves the readers' pointer: the orchestrator does that once
this process has succeeded.

    python -m pipeline_assets.features_job   # only meaningful when launched by Pipes
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from dagster_pipes import PipesContext, open_dagster_pipes

from pipeline_assets.lib.connect import SNOWFLAKE_ENV, connect_duckdb, connect_snowflake
from pipeline_assets.lib.features import recompute
from pipeline_assets.lib.objectstore import open_store
from pipeline_assets.lib.warehouse import Db, SnowflakeDb


def _duckdb(extras: dict[str, Any]) -> Db:
    return Db(connect_duckdb(extras["duckdb_path"], {}, read_only=True))


def _snowflake(extras: dict[str, Any]) -> Db:
    # This process's entry point reads its own environment: in the pod, the credentials come
    # from a Kubernetes secret (env_from), never through Pipes.
    credentials = {field: os.environ.get(name) for field, name in SNOWFLAKE_ENV.items()}
    return SnowflakeDb(connect_snowflake(extras["snowflake_database"], **credentials))


# The engine the code location's warehouse resource names in the extras (`pipes_extras`).
READERS: dict[str, Callable[[dict[str, Any]], Db]] = {"duckdb": _duckdb, "snowflake": _snowflake}


@contextmanager
def _reader(extras: dict[str, Any]) -> Iterator[Db]:
    db = READERS[extras["engine"]](extras)
    try:
        yield db
    finally:
        db.conn.close()


def run(pipes: PipesContext) -> None:
    extras = pipes.extras
    store = open_store(extras["features_uri"], _s3_client)
    requested = list(extras["days"])
    with _reader(extras) as db:
        written, stale = recompute(db, store, requested, pipes.run_id)
    # One line for the run (a log line is an event in Dagster's event log: not one a day).
    pipes.log.info(
        f"wrote {sum(o.rows for o in written)} rows for {len(written)} days to {store.uri}"
        + (f"; inputs changed since published: also recomputed {stale}" if stale else "")
    )
    outputs = [asdict(o) for o in written]
    pipes.report_asset_materialization(
        metadata={
            "rows": sum(o["rows"] for o in outputs if o["day"] in requested),
            "outputs": {"raw_value": outputs, "type": "json"},
            "republished": {"raw_value": stale, "type": "json"},
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
