"""dbt models as daily-partitioned Dagster assets; dbt tests become (blocking) asset checks.

A range backfill is one `dbt build` over the whole half-open window
(`BackfillPolicy.single_run`). The manifest is prepared once (`prepare_if_dev` under
`dagster dev`, `dbt parse` in `make install`, the Dockerfile and CI), never at import.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.automation.freshness import MART_KEYS, mart_freshness_policy
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.defs.resources import WarehouseResource
from pipeline_assets.defs.transform.project import absolute_warehouse_path, dbt_project
from pipeline_assets.lib.failing_rows import FailingRows, sample_failing_rows
from pipeline_assets.lib.faults import DBT_MERGE, maybe_die
from pipeline_assets.lib.warehouse import ROW_COUNT_OF, Db, row_counts, table_columns

# Unit tests check the models' SQL on fixed inputs, not the data: CI runs them
# (tests/test_dbt_unit_tests.py); a pipeline run neither pays for nor waits on them.
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def dbt_window_args(start: datetime, end: datetime) -> list[str]:
    """The partition window as dbt run flags; they do not invalidate partial parsing."""
    fmt = "%Y-%m-%dT%H:%M:%S"
    return ["--event-time-start", start.strftime(fmt), "--event-time-end", end.strftime(fmt)]


class ShopTranslator(DagsterDbtTranslator):
    """Asset keys mirror where the data lives: <schema>/<model>; sources use their meta key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        layer = Path(dbt_resource_props["original_file_path"]).parts[1]
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "warehouse"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return warehouse_condition()

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt reads a check's description from meta only; use the test's own."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        description = manifest["nodes"][unique_id].get("description")
        if spec is None or spec.description or not description:
            return spec
        return spec._replace(description=description)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.key in MART_KEYS:
            return spec.replace_attributes(freshness_policy=mart_freshness_policy())
        return spec


translator = ShopTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def with_short_check_names(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as Dagster sees it: each test named without its model's prefix.

    dbt needs project-wide unique test names (`fct_orders__customer_id__in_dim_customers`);
    a Dagster check is named within its asset, where the prefix only repeats the asset and
    makes the UI cut the name in the middle. dbt selects tests by FQN, which is unchanged.
    """
    for node in manifest["nodes"].values():
        attached = node.get("attached_node") or ""
        prefix = attached.split(".")[-1] + "__"
        if node["resource_type"] == "test" and node["name"].startswith(prefix):
            node["name"] = node["name"].removeprefix(prefix)
    return manifest


def dbt_test_label(unique_id: str, manifest: Mapping[str, Any]) -> str:
    """`fct_orders: customer_id__in_dim_customers`, for messages."""
    node = manifest["nodes"].get(unique_id, {})
    model = (node.get("attached_node") or "").split(".")[-1]
    return f"{model}: {node.get('name', unique_id)}" if model else node.get("name", unique_id)


MANIFEST = with_short_check_names(json.loads(Path(dbt_project.manifest_path).read_text()))


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),  # beta, kept: one run for a range
    dagster_dbt_translator=translator,
    pool="warehouse_writer",
)
def shop_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """One `dbt build` for the run's whole time window; with no partition (a check run from
    the UI on its own), the whole history."""
    window = []
    if context.has_partition_key or context.has_partition_key_range:
        window = dbt_window_args(*context.partition_time_window)
    yield from dbt_events(context, dbt, warehouse, ["build", *NO_UNIT_TESTS, *window])


def dbt_events(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
) -> Iterator[Any]:
    """Run dbt under the writer lock, then yield its events with table metadata, then its error.

    Shared with the benchmark's Airflow-style assets, so both pay for exactly the same work.
    """
    with absolute_warehouse_path(), warehouse.writer_lock():
        invocation = dbt.cli(args, context=context)
        buffered, error = _drain(invocation.stream())
        # Crash tests: dbt itself was SIGKILLed inside its merge (lib/dbt_fault_plugin.py);
        # now the run's own process dies too, as when a whole run is killed.
        maybe_die(DBT_MERGE)
    results = _run_results(invocation)
    failed_tests = {
        uid: r["compiled_code"]
        for uid, r in results.items()
        if r["status"] in ("fail", "warn") and r.get("compiled_code")
    }
    failing: dict[str, FailingRows] = {}
    if failed_tests:
        with warehouse.db() as db:
            failing = {uid: sample_failing_rows(db, sql) for uid, sql in failed_tests.items()}
    buffered = [_with_failing_rows(e, failing) for e in buffered]
    yield from _with_table_metadata(context, buffered, warehouse)
    if error is not None:
        # Not chained (`from None`): the description is the cause, said once.
        raise dg.Failure(
            description=_failure_summary(results, failing) or _dbt_error(error),
            allow_retries=False,
        ) from None


def _dbt_error(error: Exception) -> str:
    """dbt's own error lines, without dagster-dbt's advice to read the compute logs."""
    text = str(error)
    marker = "Errors parsed from dbt logs:"
    if marker in text:
        return "dbt failed: " + text.split(marker, 1)[1].strip()
    return text.split(" Check the stdout", 1)[0]


def _run_results(invocation: Any) -> dict[str, dict[str, Any]]:
    """unique_id -> dbt's result for each node of the invocation (none if dbt died early)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except (OSError, ValueError, KeyError):
        return {}
    return {r["unique_id"]: r for r in results}


def _with_failing_rows(event: Any, failing: Mapping[str, FailingRows]) -> Any:
    """A failed or warned test's check result, with the count and a sample of its rows."""
    if not isinstance(event, dg.AssetCheckResult):
        return event
    uid = event.metadata.get("unique_id")
    rows = failing.get(uid.value if uid is not None else "")
    if rows is None:
        return event
    metadata = {
        **event.metadata,
        "failing_rows": rows.count,
        "failing_rows_sample": dg.MetadataValue.md(rows.markdown()),
    }
    return event._replace(metadata=metadata, description=rows.describe())


def _failure_summary(
    results: Mapping[str, Mapping[str, Any]], failing: Mapping[str, FailingRows]
) -> str:
    """Why dbt failed, naming each failing test's rows and what it kept from being built."""
    lines = []
    for uid, r in sorted(results.items()):
        name = dbt_test_label(uid, MANIFEST) if uid.startswith("test.") else uid.split(".")[2]
        if r["status"] == "fail" and uid in failing:
            lines.append(f"test {name}: {failing[uid].describe()}")
        elif r["status"] in ("fail", "error"):
            lines.append(f"{name}: {r['status']}: {(r.get('message') or '').strip()}")
    skipped = sorted(
        uid.split(".")[2]
        for uid, r in results.items()
        if r["status"] == "skipped" and uid.startswith("model.")
    )
    if not lines:
        return ""
    if skipped:
        lines.append("not built (downstream of a failure): " + ", ".join(skipped))
    return "dbt build failed:\n" + "\n".join(f"  {line}" for line in lines)


def _drain(events: Iterable[Any]) -> tuple[list[Any], Exception | None]:
    """All events dbt produced, and its failure if any: checks are reported either way."""
    buffered: list[Any] = []
    try:
        for event in events:
            buffered.append(event)
    except Exception as e:
        return buffered, e
    return buffered, None


@cache
def day_columns() -> dict[tuple[str, ...], str]:
    """(schema, model) -> the column that says which day a row belongs to.

    It is the incremental models' window column (`meta.window_column` in dbt), so a day's
    row count is exactly the rows its partition's window replaces.
    """
    out = {}
    for node in MANIFEST["nodes"].values():
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


def _with_table_metadata(
    context: dg.AssetExecutionContext, buffered: list[Any], warehouse: WarehouseResource
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
    per_day: dict[tuple[str, ...], dict[str, int]] = {}
    with warehouse.db() as db:
        columns = table_columns(db, built)
        counts = row_counts(db, built)
        for key in built:
            if key in counts and key in day_columns():
                per_day[key] = rows_per_day(db, key, day_columns()[key], window.start, window.end)
    for event in buffered:
        if isinstance(event, dg.Output):
            key = tuple(context.asset_key_for_output(event.output_name).path)
            extra: dict[str, Any] = {}
            if key in per_day:
                for pk in context.partition_keys:
                    context.add_asset_metadata(
                        {"dagster/row_count": per_day[key].get(pk, 0), ROW_COUNT_OF: "day"},
                        asset_key=dg.AssetKey(list(key)),
                        partition_key=pk,
                    )
            elif key in counts:
                extra.update({"dagster/row_count": counts[key], ROW_COUNT_OF: "table"})
            if columns.get(key):
                extra["dagster/column_schema"] = dg.TableSchema(
                    columns=[dg.TableColumn(n, t) for n, t in columns[key]]
                )
            event = event.with_metadata({**event.metadata, **extra})
        yield event
