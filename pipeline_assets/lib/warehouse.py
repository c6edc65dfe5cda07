"""Talking to the warehouse: one `Db` per engine (DuckDB, Snowflake), and what the code
asks of it besides the load (a transaction, tables' columns and row counts).

What differs by engine (how a Parquet file is staged and read, how names are stored, the
fingerprint's hash) is a method of `Db` / `SnowflakeDb`. Values always travel as bind
parameters; identifiers come from a fixed allow-list and are quoted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa  # only the features process asks for Arrow results

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Paths this process made for its own files (temporary directories): nothing from a key.
_LOCAL_PATH = re.compile(r"^/[A-Za-z0-9_./-]+\Z")


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
        self, table: str, day_column: str | None = None, columns: Sequence[str] = ()
    ) -> list[tuple]:
        """(day, row count, order-independent hash of the rows) per day of `day_column` (a
        date, a timestamp or a 'YYYY-MM-DD' string), or one row for the whole table; of all
        columns, or only of `columns`."""
        group = f"cast({self.ident(day_column)} as date)" if day_column else "null"
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
        self, table: str, day_column: str | None = None, columns: Sequence[str] = ()
    ) -> list[tuple]:
        group = f"cast({self.ident(day_column)} as date)" if day_column else "null"
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


# Definition metadata of a warehouse table's asset: the column that says which day a row
# belongs to (raw tables: `_partition`; dbt window models: their window column). `verify`
# fingerprints such a table per day, any other table (not a view) whole.
DAY_COLUMN = "pipeline/day_column"

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
