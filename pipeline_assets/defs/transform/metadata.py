"""What each dbt materialization says in the UI: its rows per day, or the table's, and its
columns, read in one pass once dbt has exited."""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from pipeline_assets.defs.partitions import WAITING, WAITING_TEXT
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.contract import complete_until
from pipeline_assets.lib.warehouse import ROW_COUNT_OF, Db, row_counts, table_columns


def day_columns(manifest: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """(schema, model) -> the column that says which day a row belongs to.

    It is the incremental models' window column (`meta.window_column` in dbt), so a day's
    row count is exactly the rows its partition's window replaces.
    """
    out = {}
    for node in manifest["nodes"].values():
        column = node.get("config", {}).get("meta", {}).get("window_column")
        if node["resource_type"] == "model" and column:
            out[(Path(node["original_file_path"]).parts[1], node["name"])] = column
    return out


def rows_per_day(
    db: Db, key: tuple[str, ...], column: str, start: datetime, end: datetime
) -> dict[str, int]:
    day = f"cast(cast({db.ident(column)} as date) as varchar)"
    rows = db.execute(
        f"select {day}, count(*) from {db.table(*key)} "  # noqa: S608
        f"where {db.ident(column)} >= ? and {db.ident(column)} < ? group by 1",
        [start, end],
    )
    return dict(rows)


def with_table_metadata(
    context: dg.AssetExecutionContext,
    buffered: list[Any],
    warehouse: WarehouseResource,
    manifest: Mapping[str, Any],
) -> Iterator[Any]:
    """Attach row counts and column schemas of what dbt built, read once dbt has exited.

    A model with a window column reports each day's own rows (`dagster/row_count` per
    partition, so the UI's plot over partitions is right); a whole-table model such as
    dim_customers reports the table's rows. Not dagster-dbt's fetch_row_counts /
    fetch_column_metadata: they open in-process DuckDB connections that outlive the step
    (and hold the file lock against the next writer), and the column fetch cost more than
    the dbt run itself (18 s vs 10 s for one day).
    """
    built = [
        tuple(context.asset_key_for_output(e.output_name).path)
        for e in buffered
        if isinstance(e, dg.Output)
    ]
    if not built:  # a run of checks only
        yield from buffered
        return
    window = context.partition_time_window
    today = f"{complete_until(datetime.now(UTC)):%Y-%m-%d}"
    per_day: dict[tuple[str, ...], dict[str, int]] = {}
    windowed = day_columns(manifest)
    with warehouse.db() as db:
        columns = table_columns(db, built)
        counts = row_counts(db, built)
        for key in built:
            if key in counts and key in windowed:
                per_day[key] = rows_per_day(db, key, windowed[key], window.start, window.end)
    for event in buffered:
        if isinstance(event, dg.Output):
            key = tuple(context.asset_key_for_output(event.output_name).path)
            extra: dict[str, Any] = {}
            if key in per_day:
                for pk in context.partition_keys:
                    metadata = {"dagster/row_count": per_day[key].get(pk, 0), ROW_COUNT_OF: "day"}
                    if pk >= today:  # in the run's range, but built once the day is over
                        metadata[WAITING] = WAITING_TEXT
                    context.add_asset_metadata(
                        metadata, asset_key=dg.AssetKey(list(key)), partition_key=pk
                    )
            elif key in counts:
                extra.update({"dagster/row_count": counts[key], ROW_COUNT_OF: "table"})
            if columns.get(key):
                extra["dagster/column_schema"] = dg.TableSchema(
                    columns=[dg.TableColumn(n, t) for n, t in columns[key]]
                )
            event = event.with_metadata({**event.metadata, **extra})
        yield event
