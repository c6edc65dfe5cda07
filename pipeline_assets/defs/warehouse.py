"""The warehouse resource: a DuckDB file (locally) or Snowflake (`PIPELINE_TARGET=prod`).

Steps write through `db()`, one writer at a time on DuckDB. Commands that only read
(`pipeline quarantine`, `pipeline verify`'s first look) use `reader()`: read-only, it creates
no file, folder or lock, and says plainly when nothing was ever loaded.
"""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import dagster as dg

from pipeline_assets.defs.knobs import configured
from pipeline_assets.lib.connect import (
    SNOWFLAKE_ENV,
    WarehouseEmptyError,
    WarehouseUnavailableError,
    connect_duckdb,
    connect_snowflake,
    exclusive_writer,
    shared_reader,
)
from pipeline_assets.lib.settings import DEFAULTS, Settings, half_memory
from pipeline_assets.lib.warehouse import Db, SnowflakeDb, table_columns


def _log_wait(message: str) -> None:
    dg.get_dagster_logger().info(message)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse, handed out as a short-lived `Db`. One class per engine, below."""

    def db(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def reader(self) -> AbstractContextManager[Db]:
        """A read-only connection to a warehouse something was loaded into; else
        `WarehouseEmptyError`, having created nothing."""
        raise NotImplementedError

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the warehouse's writer lock while something else writes to it, e.g. dbt."""
        yield

    def pipes_extras(self) -> dict[str, str]:
        """What an external process (features_job) needs to read the warehouse."""
        raise NotImplementedError

    def dbt_env(self) -> dict[str, str]:
        """What dbt's profile (`dbt/profiles.yml`) reads besides secrets."""
        return {}


class DuckDBWarehouse(WarehouseResource):
    """A local DuckDB file: one writing process at a time, serialized by an OS file lock."""

    path: str
    memory_limit: str = DEFAULTS["PIPELINE_DUCKDB_MEMORY_LIMIT"]

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        with _fail_fast(), exclusive_writer(self.path, on_wait=_log_wait):
            yield

    @contextmanager
    def db(self) -> Iterator[Db]:
        """Lock, open, yield and always close: DuckDB allows one writer per file."""
        # DuckDB's default is 80 % of RAM; a limit makes it spill big windows and sorts.
        # Half of it: a load step holds a validator with the other half (dbt has it all).
        with self.writer_lock():
            with _fail_fast():
                limit = half_memory(self.memory_limit)
                conn = connect_duckdb(self.path, {"memory_limit": limit})
            try:
                yield Db(conn)
            finally:
                conn.close()

    @contextmanager
    def reader(self) -> Iterator[Db]:
        # Waits for a writer to finish (a read-only open fails while one holds the file).
        if not os.path.isfile(self.path):
            raise WarehouseEmptyError(f"DuckDB file {self.path} does not exist")
        with shared_reader(self.path, on_wait=_log_wait):
            limit = half_memory(self.memory_limit)
            conn = connect_duckdb(self.path, {"memory_limit": limit}, read_only=True)
            try:
                yield _loaded(Db(conn), f"DuckDB file {self.path}")
            finally:
                conn.close()

    def pipes_extras(self) -> dict[str, str]:
        return {"engine": "duckdb", "duckdb_path": self.path}

    def dbt_env(self) -> dict[str, str]:
        return {
            "PIPELINE_DUCKDB_PATH": self.path,
            "PIPELINE_DUCKDB_MEMORY_LIMIT": self.memory_limit,
        }


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

    @contextmanager
    def reader(self) -> Iterator[Db]:
        with self.db() as db:
            yield _loaded(db, f"Snowflake database {self.database}")

    def pipes_extras(self) -> dict[str, str]:
        return {"engine": "snowflake", "snowflake_database": self.database}


def _loaded(db: Db, where: str) -> Db:
    """`db`, if a load ever created the raw tables (the first load creates them all)."""
    if not table_columns(db, [("raw", "quarantine")]):
        raise WarehouseEmptyError(f"{where} has no table raw.quarantine")
    return db


@contextmanager
def _fail_fast() -> Iterator[None]:
    """A warehouse that cannot be opened for writing fails the step at once, no retries."""
    try:
        yield
    except WarehouseUnavailableError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e


def build_warehouse(settings: Settings) -> WarehouseResource:
    """The engine (`PIPELINE_TARGET`): a DuckDB file, or Snowflake with `dg.EnvVar` secrets."""
    if settings.target == "prod":
        # role and warehouse are optional (the user's defaults): an EnvVar of an unset
        # variable would fail every run's config.
        credentials = {
            field: dg.EnvVar(name)
            for field, name in SNOWFLAKE_ENV.items()
            if field not in ("role", "warehouse") or settings.is_set(name)
        }
        return configured(SnowflakeWarehouse, **credentials, database=settings.snowflake_database())
    return configured(
        DuckDBWarehouse,
        path=settings.location("PIPELINE_DUCKDB_PATH"),
        memory_limit=settings.get("PIPELINE_DUCKDB_MEMORY_LIMIT"),
    )
