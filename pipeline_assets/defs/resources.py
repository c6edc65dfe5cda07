"""Environment -> resources: the one place that decides where data lives.

Non-secret locations have local defaults so a fresh clone runs with no configuration;
secrets (Snowflake) arrive only through `dg.EnvVar`.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
from dagster_aws.s3 import S3Resource
from dagster_duckdb import DuckDBResource
from dagster_k8s import PipesK8sClient

from pipeline_assets.lib.objectstore import ObjectStore, open_store
from pipeline_assets.lib.warehouse import Db, SnowflakeDb, WarehouseLockedError, exclusive_writer

DEFAULTS = {
    "PIPELINE_LANDING_URI": "./data/landing",
    "PIPELINE_PROCESSING_URI": "./data/processing",
    "PIPELINE_DUCKDB_PATH": "./data/warehouse.duckdb",
    "PIPELINE_DUCKDB_MEMORY_LIMIT": "1GB",
    "PIPELINE_PARTITIONS_START": "2024-01-01",
    "PIPELINE_TARGET": "dev",
    "PIPELINE_QUARANTINE_WARN_RATE": "0.05",
    "PIPELINE_QUARANTINE_FAIL_RATE": "0.5",
    "PIPELINE_SENSOR_LOOKBACK_DAYS": "3",
    "PIPELINE_CATCHUP_HOURS": "6",
    "PIPELINE_CATCHUP_DAYS": "2",
    "PIPELINE_AUTOMATION_LOOKBACK_DAYS": "7",
    "PIPELINE_MARTS_FRESH_BY_HOUR": "6",
    "PIPELINE_ALERTS_FILE": "./data/alerts.jsonl",
    "PIPELINE_FEATURES_URI": "./data/features",
    "PIPELINE_FEATURES_IMAGE": "pipeline-assets:latest",
    "PIPELINE_FEATURES_CPU": "1",
    "PIPELINE_FEATURES_MEMORY": "2Gi",
    "PIPELINE_K8S_NAMESPACE": "dagster",
    "PIPELINE_K8S_SECRET": "pipeline-assets-secrets",
    "PIPELINE_AUTOMATION": "on",
}


def setting(name: str) -> str:
    """A non-secret setting: the environment, else the documented local default."""
    return os.environ.get(name) or DEFAULTS[name]


def local_or_uri(name: str) -> str:
    """A setting that is a URI or a local path; local paths become absolute at load time,
    so nothing that changes the working directory later (dbt does) can redirect writes."""
    value = setting(name)
    return value if "://" in value or value.startswith("md:") else os.path.abspath(value)


def target() -> str:
    value = setting("PIPELINE_TARGET")
    if value not in ("dev", "prod"):
        raise ValueError(f"PIPELINE_TARGET must be 'dev' or 'prod', not {value!r}")
    return value


def snowflake_database(env: Mapping[str, str] = os.environ) -> str:
    """This deployment's Snowflake database. A Dagster Cloud branch deployment writes to its
    own, `<SNOWFLAKE_DATABASE>_PR_<n>`, never to production's tables; dbt's profile
    (`dbt/profiles.yml`) renders the same name."""
    base = env.get("SNOWFLAKE_DATABASE")
    if not base:
        raise ValueError("PIPELINE_TARGET=prod needs SNOWFLAKE_DATABASE in the environment")
    if env.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1":
        return f"{base}_PR_{env['DAGSTER_CLOUD_PULL_REQUEST_ID']}"
    return base


def features_pod_spec(cpu: str, memory: str, secret: str) -> dict[str, Any]:
    """The features pod: requested CPU and memory (memory also its limit), and the secrets
    (the Snowflake password) from a Kubernetes secret, never from the pod spec itself."""
    resources = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}
    container = {
        "name": "customer-features",
        "resources": resources,
        "env_from": [{"secret_ref": {"name": secret}}],
    }
    return {"containers": [container]}


class ZoneResource(dg.ConfigurableResource):
    """A landing or processing zone: a local folder, or `s3://bucket/prefix` via dagster-aws."""

    uri: str
    s3: S3Resource

    def store(self) -> ObjectStore:
        return open_store(self.uri, self.s3.get_client)


def _log_wait(message: str) -> None:
    dg.get_dagster_logger().info(message)


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB (dev) or Snowflake (prod), handed out as a short-lived `Db`."""

    target: str = "dev"
    duckdb_resource: DuckDBResource
    snowflake_account: str | None = None
    snowflake_user: str | None = None
    snowflake_password: str | None = None
    snowflake_role: str | None = None
    snowflake_warehouse: str | None = None
    snowflake_database: str | None = None

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the warehouse's writer lock (dev: DuckDB) while something else writes, e.g. dbt."""
        if self.target == "prod":
            yield
            return
        with exclusive_writer(self.duckdb_resource.database, on_wait=_log_wait):
            yield

    @contextmanager
    def db(self) -> Iterator[Db]:
        """Open, yield and always close: DuckDB allows one writer per file."""
        if self.target == "prod":
            import snowflake.connector

            conn = snowflake.connector.connect(
                account=self.snowflake_account,
                user=self.snowflake_user,
                password=self.snowflake_password,
                role=self.snowflake_role,
                warehouse=self.snowflake_warehouse,
                database=self.snowflake_database,
                paramstyle="qmark",
            )
            try:
                yield SnowflakeDb(conn)
            finally:
                conn.close()
            return
        try:
            with (
                exclusive_writer(self.duckdb_resource.database, on_wait=_log_wait),
                self.duckdb_resource.get_connection() as conn,
            ):
                try:
                    yield Db(conn)
                finally:
                    # get_connection() skips close() when the body raises; a leaked
                    # connection would hold DuckDB's file lock against dbt.
                    conn.close()
        except duckdb.IOException as e:
            if "lock" in str(e).lower():
                raise WarehouseLockedError(
                    f"DuckDB warehouse {self.duckdb_resource.database} is locked by another "
                    f"process (DuckDB allows one writer per file): {e}"
                ) from e
            raise


def build_resources() -> dict[str, object]:
    """Resources for the current environment (`PIPELINE_TARGET`)."""
    # DuckDB's default is 80 % of RAM; a limit makes it spill big windows and sorts to disk.
    warehouse_file = DuckDBResource(
        database=local_or_uri("PIPELINE_DUCKDB_PATH"),
        connection_config={"memory_limit": setting("PIPELINE_DUCKDB_MEMORY_LIMIT")},
    )
    s3 = S3Resource()
    if target() == "prod":
        warehouse = WarehouseResource(
            target="prod",
            duckdb_resource=warehouse_file,
            snowflake_account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            snowflake_user=dg.EnvVar("SNOWFLAKE_USER"),
            snowflake_password=dg.EnvVar("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"),
            snowflake_role=dg.EnvVar("SNOWFLAKE_ROLE"),
            snowflake_warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            snowflake_database=snowflake_database(),
        )
        pipes_client: dg.PipesClient = PipesK8sClient()
    else:
        warehouse = WarehouseResource(target="dev", duckdb_resource=warehouse_file)
        pipes_client = dg.PipesSubprocessClient()
    return {
        "landing": ZoneResource(uri=local_or_uri("PIPELINE_LANDING_URI"), s3=s3),
        "processing": ZoneResource(uri=local_or_uri("PIPELINE_PROCESSING_URI"), s3=s3),
        "features": ZoneResource(uri=local_or_uri("PIPELINE_FEATURES_URI"), s3=s3),
        "warehouse": warehouse,
        "pipes_client": pipes_client,
    }
