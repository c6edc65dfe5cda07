"""Each case's `orders_daily_summary`, kept as Parquet, and the equality checks between cases.

The run folder is wiped between cases, so a case's result is exported before the next one
starts; the checks (A == C, B == A on B's days) then compare the files.
"""

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

SCHEMAS = {"main", "marts"}
COLUMNS = "order_date, customer_id, total_orders, cast(total_revenue as decimal(18, 2))"


def export_summary(database: Path, schema: str, parquet: Path) -> int:
    """Write `<schema>.orders_daily_summary` of `database` to `parquet`; return its row count."""
    if schema not in SCHEMAS:
        raise ValueError(f"unexpected schema {schema!r}")
    parquet.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as conn:
        table = conn.sql(
            f'select {COLUMNS} as total_revenue from "{schema}".orders_daily_summary '  # noqa: S608
            "order by order_date, customer_id"
        ).to_arrow_table()
    pq.write_table(table, parquet)
    return table.num_rows


def equal_summaries(left: Path, right: Path, only_days_of_right: bool = False) -> bool:
    """Same rows (as a multiset) on both sides; optionally only the days present on the right."""
    with duckdb.connect() as conn:
        conn.register("left_all", pq.read_table(left))
        conn.register("right_side", pq.read_table(right))
        if only_days_of_right:
            conn.execute(
                "create temp view left_side as select * from left_all "
                "where order_date in (select order_date from right_side)"
            )
        else:
            conn.execute("create temp view left_side as select * from left_all")
        (differences,) = conn.execute(
            "select (select count(*) from (select * from left_side except all "
            "select * from right_side)) + (select count(*) from (select * from right_side "
            "except all select * from left_side))"
        ).fetchone()
        (left_rows,) = conn.execute("select count(*) from left_side").fetchone()
    return differences == 0 and left_rows > 0
