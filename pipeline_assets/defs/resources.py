"""Environment -> resources: the one place that decides where data lives.

Non-secret locations have local defaults so a fresh clone runs with no configuration;
secrets (Snowflake) arrive only through `dg.EnvVar`.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_k8s import PipesK8sClient

from pipeline_assets.lib.objectstore import ObjectStore, open_store
from pipeline_assets.lib.warehouse import (
    Db,
    SnowflakeDb,
    WarehouseUnavailableError,
    connect_duckdb,
    connect_snowflake,
    exclusive_writer,
)

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
    """The warehouse, handed out as a short-lived `Db`. One class per engine, below."""

    def db(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the warehouse's writer lock while something else writes to it, e.g. dbt."""
        yield

    def pipes_extras(self) -> dict[str, str]:
        """What an external process (features_job) needs to read the warehouse."""
        raise NotImplementedError


class DuckDBWarehouse(WarehouseResource):
    """A local DuckDB file: one writing process at a time, serialized by an OS file lock."""

    path: str
    memory_limit: str = "1GB"

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        with _fail_fast(), exclusive_writer(self.path, on_wait=_log_wait):
            yield

    @contextmanager
    def db(self) -> Iterator[Db]:
        """Lock, open, yield and always close: DuckDB allows one writer per file."""
        # DuckDB's default is 80 % of RAM; a limit makes it spill big windows and sorts.
        with self.writer_lock():
            with _fail_fast():
                conn = connect_duckdb(self.path, {"memory_limit": self.memory_limit})
            try:
                yield Db(conn)
            finally:
                conn.close()

    def pipes_extras(self) -> dict[str, str]:
        return {"engine": "duckdb", "duckdb_path": self.path}


class SnowflakeWarehouse(WarehouseResource):
    """Snowflake: concurrent writers are fine, transactions isolate them."""

    account: str
    user: str
    password: str
    role: str | None = None
    warehouse: str | None = None
    database: str

    @contextmanager
    def db(self) -> Iterator[Db]:
        conn = connect_snowflake(
            self.database,
            account=self.account,
            user=self.user,
            password=self.password,
            role=self.role,
            warehouse=self.warehouse,
        )
        try:
            yield SnowflakeDb(conn)
        finally:
            conn.close()

    def pipes_extras(self) -> dict[str, str]:
        return {"engine": "snowflake", "snowflake_database": self.database}


@contextmanager
def _fail_fast() -> Iterator[None]:
    """A warehouse that cannot be opened for writing fails the step at once, no retries."""
    try:
        yield
    except WarehouseUnavailableError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e


def build_resources() -> dict[str, object]:
    """Resources for the current environment (`PIPELINE_TARGET`)."""
    s3 = S3Resource()
    if target() == "prod":
        warehouse: WarehouseResource = SnowflakeWarehouse(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=dg.EnvVar("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"),
            role=dg.EnvVar("SNOWFLAKE_ROLE"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            database=snowflake_database(),
        )
        pipes_client: dg.PipesClient = PipesK8sClient()
    else:
        warehouse = DuckDBWarehouse(
            path=local_or_uri("PIPELINE_DUCKDB_PATH"),
            memory_limit=setting("PIPELINE_DUCKDB_MEMORY_LIMIT"),
        )
        pipes_client = dg.PipesSubprocessClient()
    return {
        "landing": ZoneResource(uri=local_or_uri("PIPELINE_LANDING_URI"), s3=s3),
        "processing": ZoneResource(uri=local_or_uri("PIPELINE_PROCESSING_URI"), s3=s3),
        "features": ZoneResource(uri=local_or_uri("PIPELINE_FEATURES_URI"), s3=s3),
        "warehouse": warehouse,
        "pipes_client": pipes_client,
    }
