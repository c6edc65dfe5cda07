"""Warehouse access for DuckDB and Snowflake, and the transactional partition load.

The load is the same on both engines: the validated day arrives as two Parquet files
(`lib/validate.py`); the engine stages them, then one transaction deletes the partition's
rows and inserts the staged ones, data and quarantine together. What differs by engine (how a
Parquet file is staged and read) is a method of `Db` / `SnowflakeDb`. Values always travel
as bind parameters; identifiers come from a fixed allow-list and are quoted.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_assets.lib.contract import ContractError, column_names, required_columns
from pipeline_assets.lib.faults import LOAD_TRANSACTION, maybe_die
from pipeline_assets.lib.sqlfiles import sql_statements
from pipeline_assets.lib.validate import Files, PartitionSummary, ValidatedPartition, Validator

if TYPE_CHECKING:
    import pyarrow as pa  # only the features process asks for Arrow results

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS = (
    "dataset",
    "_partition",
    "source_key",
    "line_number",
    "raw_line",
    "reason_code",
    "reason_detail",
)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Paths this process made for its own files (temporary directories): nothing from a key.
_LOCAL_PATH = re.compile(r"^/[A-Za-z0-9_./-]+\Z")


class WarehouseLockedError(RuntimeError):
    """Another process holds DuckDB's single-writer lock on the warehouse file (transient)."""


class WarehouseUnavailableError(RuntimeError):
    """The warehouse file cannot be opened for writing for a reason waiting will not fix:
    permissions, a read-only or immutable file, a missing directory."""


def connect_duckdb(path: str, config: dict[str, str], read_only: bool = False) -> Any:
    """Open the DuckDB file once, without retries; say which kind of failure it was.

    A lock held by another process is transient (`WarehouseLockedError`, retried by the
    asset's policy); anything else names the path and the OS error and is not retried.
    """
    import duckdb

    try:
        return duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WarehouseLockedError(
                f"DuckDB warehouse {path} is locked by another process "
                f"(DuckDB allows one writer per file): {e}"
            ) from e
        raise WarehouseUnavailableError(f"cannot open DuckDB warehouse {path}: {e}") from e


# The variables a Snowflake connection is configured from, for the code location's resource
# and the features pod alike (the password from a secret store, never from a file).
SNOWFLAKE_ENV = {
    "account": "SNOWFLAKE_ACCOUNT",
    "user": "SNOWFLAKE_USER",
    "password": "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD",
    "role": "SNOWFLAKE_ROLE",
    "warehouse": "SNOWFLAKE_WAREHOUSE",
}


def connect_snowflake(database: str, **credentials: str | None) -> Any:
    """A Snowflake connection with qmark parameters, the style every query here uses."""
    import snowflake.connector

    return snowflake.connector.connect(database=database, paramstyle="qmark", **credentials)


@contextmanager
def exclusive_writer(
    database: str, timeout: float = 3600.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Serialize writers of one DuckDB file across processes (DuckDB allows one writer).

    An OS file lock beside the database: released by the kernel even if the holder is killed,
    so a crashed run can never leave the warehouse locked.
    """
    lock_path = f"{database}.writer.lock"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed below, after the lock)
    except OSError as e:
        raise WarehouseUnavailableError(f"cannot create the writer lock {lock_path}: {e}") from e
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseLockedError(
                        f"gave up after {timeout:.0f}s waiting for the writer lock {lock_path}"
                    ) from None
                if on_wait:
                    on_wait(f"waiting for another writer of {database} to finish")
                    on_wait = None  # say it once
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Db:
    """A thin DB-API wrapper: `?` parameters, quoted identifiers, Parquet loads per engine."""

    dialect = "duckdb"

    def __init__(self, conn: Any):
        self.conn = conn

    def ident(self, name: str) -> str:
        if not _IDENT.fullmatch(name):  # not match(): "$" also matches before a final "\n"
            raise ValueError(f"refusing identifier {name!r}")
        return f'"{name}"'

    def name(self, name: str) -> str:
        """How the engine stores an unquoted name (for information_schema lookups)."""
        return name

    def table(self, schema: str, name: str) -> str:
        return f"{self.ident(schema)}.{self.ident(name)}"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        # Not a cursor: a DuckDB cursor is a separate connection with its own transaction.
        rel = self.conn.execute(sql, params or None)
        return rel.fetchall() if rel.description else []

    def query(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list]:
        """Column names (lower case) and rows of a select."""
        rel = self.conn.execute(sql, params or None)
        return [d[0].lower() for d in rel.description], rel.fetchall()

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """A select's result as an Arrow table, column names lower case."""
        table = self.conn.sql(sql, params=list(params or [])).to_arrow_table()
        return table.rename_columns([c.lower() for c in table.column_names])

    def stage_parquet(self, path: Path) -> str:
        """Make a local Parquet file readable by `insert_parquet`, before the transaction;
        returns what names it there. DuckDB reads the file where it is."""
        return str(path)

    def insert_parquet(self, table: str, columns: Sequence[str], staged: str) -> None:
        """Insert a staged Parquet file's columns (matched by name) into `table`."""
        names = ", ".join(self.ident(c) for c in columns)
        self.execute(
            f"insert into {table} ({names}) select {names} from read_parquet(?)",  # noqa: S608
            [staged],
        )

    def fingerprint(
        self, table: str, group_by: str | None = None, columns: Sequence[str] = ()
    ) -> list[tuple]:
        """(group, row count, order-independent hash of the rows) per group; of all columns,
        or only of `columns`."""
        group = self.ident(group_by) if group_by else "null"
        hashed = ", ".join(f"t.{self.ident(c)}" for c in columns) or "t"
        return self.execute(
            f"select {group} as grp, count(*), coalesce(sum(hash({hashed})), 0)::varchar "  # noqa: S608
            f"from {table} as t group by all order by 1"
        )


class SnowflakeDb(Db):
    dialect = "snowflake"

    def ident(self, name: str) -> str:
        # Unquoted Snowflake identifiers resolve upper-case; quoting the upper-case form keeps
        # the same names dbt sees while still quoting.
        return super().ident(name).upper()

    def name(self, name: str) -> str:
        return name.upper()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or None)
            return cur.fetchall() if cur.description else []
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or None)
            return [d[0].lower() for d in cur.description], cur.fetchall()
        finally:
            cur.close()

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or None)
            table = cur.fetch_arrow_all(force_return_table=True)
        finally:
            cur.close()
        return table.rename_columns([c.lower() for c in table.column_names])

    def stage_parquet(self, path: Path) -> str:
        """PUT the file into a temporary stage of this session (the PUT and the stage's DDL
        stay outside the transaction: DDL would commit it). Stage paths cannot be bind
        parameters: the path is this process's own temporary file, and checked."""
        local = str(path)
        if not _LOCAL_PATH.match(local):
            raise ValueError(f"refusing to stage {local!r}: not a plain local path")
        stage = self.ident("_pipeline_load")
        location = f"{stage}/{uuid.uuid4().hex}"
        self.execute(f"create temporary stage if not exists {stage}")
        self.execute(f"put 'file://{local}' @{location} auto_compress = false overwrite = true")
        return f"@{location}"

    def insert_parquet(self, table: str, columns: Sequence[str], staged: str) -> None:
        # COPY INTO is DML: it belongs to the open transaction, as the delete before it.
        # It matches the Parquet columns to the table's by name (it takes no column list).
        self.execute(
            f"copy into {table} from {staged} file_format = (type = parquet) "
            "match_by_column_name = case_insensitive purge = true"
        )

    def fingerprint(
        self, table: str, group_by: str | None = None, columns: Sequence[str] = ()
    ) -> list[tuple]:
        group = self.ident(group_by) if group_by else "null"
        hashed = ", ".join(self.ident(c) for c in columns) or "*"
        return self.execute(
            f"select {group} as grp, count(*), to_varchar(hash_agg({hashed})) "  # noqa: S608
            f"from {table} group by 1 order by 1"
        )


@contextmanager
def transaction(db: Db) -> Iterator[None]:
    db.execute("begin")
    try:
        yield
    except BaseException:
        db.execute("rollback")
        raise
    db.execute("commit")


def ensure_raw_tables(db: Db) -> None:
    for statement in sql_statements("create_raw_tables.sql"):
        db.execute(statement)


def load_partition(db: Db, validated: ValidatedPartition) -> None:
    """Replace exactly one partition's rows (data and quarantine) in one transaction."""
    dataset, key = validated.dataset, validated.partition_key
    target = db.table(RAW_SCHEMA, dataset)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    data_cols = [*column_names(dataset), "_source_key", "_source_line", "_partition"]

    ensure_raw_tables(db)
    # Staging first: on Snowflake it is DDL and a PUT, which must not run in the transaction.
    data = db.stage_parquet(validated.accepted)
    rejected = db.stage_parquet(validated.quarantined)
    with transaction(db):
        db.execute(f"delete from {target} where _partition = ?", [key])  # noqa: S608
        maybe_die(LOAD_TRANSACTION)
        db.insert_parquet(target, data_cols, data)
        db.execute(
            f"delete from {quarantine} where dataset = ? and _partition = ?",  # noqa: S608
            [dataset, key],
        )
        db.insert_parquet(quarantine, QUARANTINE_COLUMNS, rejected)


def validate_and_load(
    db: Db,
    dataset: str,
    partition_key: str,
    files: Files,
    validator: Validator | None = None,
) -> PartitionSummary:
    """Validate one day's `(key, bytes)` files and replace its rows in the warehouse."""
    if validator is None:
        with Validator() as own:
            return validate_and_load(db, dataset, partition_key, files, own)
    summaries, error = validate_and_load_days(db, dataset, [(partition_key, files)], validator)
    if error is not None:
        raise error
    return summaries[0]


def validate_and_load_days(
    db: Db, dataset: str, days: list[tuple[str, Files]], validator: Validator
) -> tuple[list[PartitionSummary], ContractError | None]:
    """Validate days in one pass, then replace each day's rows in its own transaction, in
    order; the Parquet files in between live in a temporary directory for as long as the
    loads. Returns the days loaded, and the error of the first day whose files cannot be
    read (the days before it are loaded and committed)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-validate-") as workdir:
        validated, error = validator.validate_days(dataset, days, Path(workdir))
        summaries = []
        for day in validated:
            load_partition(db, day)
            summaries.append(day.summary)
    return summaries, error


def partition_counts(db: Db, dataset: str, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Rows in the warehouse per partition: (loaded, quarantined); the accounting check."""
    marks = ", ".join("?" for _ in keys)
    target = db.table(RAW_SCHEMA, dataset)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    loaded = dict(
        db.execute(
            f"select _partition, count(*) from {target} "  # noqa: S608
            f"where _partition in ({marks}) group by 1",
            list(keys),
        )
    )
    quarantined = dict(
        db.execute(
            f"select _partition, count(*) from {quarantine} "  # noqa: S608
            f"where dataset = ? and _partition in ({marks}) group by 1",
            [dataset, *keys],
        )
    )
    return {k: (loaded.get(k, 0), quarantined.get(k, 0)) for k in keys}


def null_required_counts(db: Db, dataset: str, keys: Sequence[str]) -> dict[str, int]:
    """Loaded rows per partition with a required value missing (must be 0)."""
    marks = ", ".join("?" for _ in keys)
    missing = " or ".join(f"{db.ident(c)} is null" for c in required_columns(dataset))
    rows = db.execute(
        f"select _partition, count(*) from {db.table(RAW_SCHEMA, dataset)} "  # noqa: S608
        f"where _partition in ({marks}) and ({missing}) group by 1",
        list(keys),
    )
    return {k: dict(rows).get(k, 0) for k in keys}


def invalid_rows_query(db: Db, dataset: str, key: str) -> tuple[str, list[str]]:
    """The day's quarantined lines that broke a rule (not superseded duplicates): the file,
    the line and why, for a failed quarantine-rate check to name."""
    sql = (
        "select source_key, line_number, reason_code, reason_detail "  # noqa: S608
        f"from {db.table(RAW_SCHEMA, QUARANTINE_TABLE)} "
        "where dataset = ? and _partition = ? and reason_code <> 'superseded_duplicate' "
        "order by source_key, line_number"
    )
    return sql, [dataset, key]


def null_required_rows_query(db: Db, dataset: str, key: str) -> tuple[str, list[str]]:
    """The day's loaded rows with a required value missing, with their file and line."""
    missing = " or ".join(f"{db.ident(c)} is null" for c in required_columns(dataset))
    columns = ", ".join(
        db.ident(c) for c in ["_source_key", "_source_line", *column_names(dataset)]
    )
    sql = (
        f"select {columns} from {db.table(RAW_SCHEMA, dataset)} "  # noqa: S608
        f"where _partition = ? and ({missing}) order by _source_key, _source_line"
    )
    return sql, [key]


def _relations_filter(db: Db, tables: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """An information_schema predicate matching these (schema, table) pairs, with its params."""
    where = " or ".join("(table_schema = ? and table_name = ?)" for _ in tables)
    return where, [db.name(part) for pair in tables for part in pair]


def table_columns(db: Db, tables: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list]:
    """(schema, table) -> [(column, type)] from information_schema, in one query."""
    if not tables:
        return {}
    where, params = _relations_filter(db, tables)
    rows = db.execute(
        "select lower(table_schema), lower(table_name), lower(column_name), lower(data_type) "  # noqa: S608
        f"from information_schema.columns where {where} "
        "order by table_schema, table_name, ordinal_position",
        params,
    )
    out: dict[tuple[str, str], list] = {}
    for schema, table, column, dtype in rows:
        out.setdefault((schema, table), []).append((column, dtype))
    return out


# Metadata beside a dbt model's dagster/row_count: "day" (a model with a window column
# reports each day's own rows) or "table" (dim_customers has no day: the whole table).
ROW_COUNT_OF = "row_count_of"


def row_counts(db: Db, tables: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(schema, table) -> row count for base tables (views are skipped: counting runs them)."""
    if not tables:
        return {}
    where, params = _relations_filter(db, tables)
    base = db.execute(
        "select lower(table_schema), lower(table_name) from information_schema.tables "  # noqa: S608
        f"where table_type = 'BASE TABLE' and ({where})",
        params,
    )
    if not base:
        return {}
    union = " union all ".join(
        f"select ? as s, ? as t, count(*) from {db.table(s, t)}"  # noqa: S608
        for s, t in base
    )
    rows = db.execute(union, [part for pair in base for part in pair])
    return {(s, t): n for s, t, n in rows}
