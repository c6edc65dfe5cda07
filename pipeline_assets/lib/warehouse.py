"""Warehouse access for DuckDB and Snowflake, and the transactional partition load.

The load is the same SQL on both engines: stage rows in a temporary table, then delete the
partition's rows and insert the staged ones inside one transaction. Values always travel as
bind parameters; identifiers come from a fixed allow-list and are quoted.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

import pyarrow as pa

from pipeline_assets.lib.contract import COLUMNS, column_names, required_columns
from pipeline_assets.lib.faults import LOAD_TRANSACTION, maybe_die
from pipeline_assets.lib.validate import ValidationResult

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
_ARROW_TYPES = {"str": pa.string(), "timestamp": pa.timestamp("us"), "cents": pa.int64()}


def read_sql(name: str) -> str:
    return files("pipeline_assets.lib").joinpath("sql", name).read_text()


def split_statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


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
    """A thin DB-API wrapper: `?` parameters, quoted identifiers, bulk inserts per engine."""

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

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[Any], rows) -> None:
        if not rows:
            return
        arrays = [
            pa.array(list(col), type=t)
            for col, t in zip(zip(*rows, strict=True), types, strict=True)
        ]
        incoming = pa.Table.from_arrays(arrays, names=list(columns))
        self.conn.register("_incoming_rows", incoming)
        try:
            self.execute(f"insert into {table} select * from _incoming_rows")  # noqa: S608
        finally:
            self.conn.unregister("_incoming_rows")

    def fingerprint(self, table: str, group_by: str | None = None) -> list[tuple]:
        """(group, row count, order-independent hash of all rows) per group."""
        group = self.ident(group_by) if group_by else "null"
        return self.execute(
            f"select {group} as grp, count(*), coalesce(sum(hash(t)), 0)::varchar "  # noqa: S608
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

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[Any], rows) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        cur = self.conn.cursor()
        try:
            cur.executemany(f"insert into {table} values ({marks})", list(rows))  # noqa: S608
        finally:
            cur.close()

    def fingerprint(self, table: str, group_by: str | None = None) -> list[tuple]:
        group = self.ident(group_by) if group_by else "null"
        return self.execute(
            f"select {group} as grp, count(*), to_varchar(hash_agg(*)) "  # noqa: S608
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
    for statement in split_statements(read_sql("create_raw_tables.sql")):
        db.execute(statement)


def load_partition(db: Db, result: ValidationResult) -> None:
    """Replace exactly one partition's rows (data and quarantine) in one transaction."""
    dataset, key = result.dataset, result.partition_key
    target = db.table(RAW_SCHEMA, dataset)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    stage, stage_q = db.ident(f"_stage_{dataset}"), db.ident("_stage_quarantine")
    data_cols = [*column_names(dataset), "_source_key", "_source_line", "_partition"]
    data_types = [_ARROW_TYPES[c.kind] for c in COLUMNS[dataset]]
    data_types += [pa.string(), pa.int32(), pa.string()]
    q_types = [pa.string(), pa.string(), pa.string(), pa.int32()] + [pa.string()] * 3

    ensure_raw_tables(db)
    # DDL first: on Snowflake, DDL inside a transaction would commit it implicitly.
    db.execute(f"create or replace temporary table {stage} as select * from {target} where 1 = 0")  # noqa: S608
    db.execute(
        f"create or replace temporary table {stage_q} as select * from {quarantine} where 1 = 0"  # noqa: S608
    )
    db.insert_rows(stage, data_cols, data_types, [(*row, key) for row in result.accepted])
    db.insert_rows(
        stage_q,
        QUARANTINE_COLUMNS,
        q_types,
        [
            (dataset, key, q.source_key, q.line_number, q.raw_line, q.reason_code, q.reason_detail)
            for q in result.quarantined
        ],
    )
    with transaction(db):
        db.execute(f"delete from {target} where _partition = ?", [key])  # noqa: S608
        maybe_die(LOAD_TRANSACTION)
        db.execute(f"insert into {target} select * from {stage}")  # noqa: S608
        db.execute(
            f"delete from {quarantine} where dataset = ? and _partition = ?",  # noqa: S608
            [dataset, key],
        )
        db.execute(f"insert into {quarantine} select * from {stage_q}")  # noqa: S608
    db.execute(f"drop table if exists {stage}")
    db.execute(f"drop table if exists {stage_q}")


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
