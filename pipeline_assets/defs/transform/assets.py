"""dbt models as daily-partitioned Dagster assets; dbt tests become (blocking) asset checks.

A range backfill is one `dbt build` over the whole half-open window
(`BackfillPolicy.single_run`). The manifest is prepared once (`prepare_if_dev` under
`dagster dev`, `dbt parse` in `make install`, the Dockerfile and CI), never at import.
"""

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from pipeline_assets.defs.transform.metadata import with_table_metadata
from pipeline_assets.defs.transform.project import dbt_environment
from pipeline_assets.defs.transform.translator import ShopTranslator, dbt_test_label
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.contract import complete_until
from pipeline_assets.lib.failing_rows import FailingRows, sample_failing_rows

# Unit tests check the models' SQL on fixed inputs, not the data: CI runs them
# (tests/test_dbt_unit_tests.py); a pipeline run neither pays for nor waits on them.
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def dbt_window_args(start: datetime, end: datetime) -> list[str]:
    """The partition window as dbt run flags; they do not invalidate partial parsing."""
    fmt = "%Y-%m-%dT%H:%M:%S"
    return ["--event-time-start", start.strftime(fmt), "--event-time-end", end.strftime(fmt)]


def build_dbt_assets(
    manifest: Mapping[str, Any],
    project: DbtProject,
    partitions: dg.PartitionsDefinition,
    translator: ShopTranslator,
) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest,
        project=project,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),  # beta, kept: one run for a range
        dagster_dbt_translator=translator,
        pool="warehouse_writer",
    )
    def shop_dbt_assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        """One `dbt build` for the run's whole time window, cut at the start of today (UTC):
        a day's marts build once it is over, whatever launched the run. With no partition (a
        check run from the UI on its own), the whole history."""
        window = []
        if context.has_partition_key or context.has_partition_key_range:
            start, end = context.partition_time_window
            end = min(end, complete_until(datetime.now(UTC)))
            if end <= start:
                context.log.info(f"{context.partition_key_range}: not over yet (UTC); no build")
                return
            window = dbt_window_args(start, end)
        yield from dbt_events(context, dbt, warehouse, ["build", *NO_UNIT_TESTS, *window])

    return shop_dbt_assets


def dbt_events(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
) -> Iterator[Any]:
    """Run dbt under the writer lock, then yield its events with table metadata, then its
    error: the checks' results are reported whether or not dbt failed."""
    with dbt_environment(warehouse.dbt_env()), warehouse.writer_lock():
        invocation = dbt.cli(args, context=context)
        buffered, error = _drain(invocation.stream())
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
    yield from with_table_metadata(context, buffered, warehouse, invocation.manifest)
    if error is not None:
        # Not chained (`from None`): the description is the cause, said once.
        raise dg.Failure(
            description=_failure_summary(results, failing, invocation.manifest)
            or _dbt_error(error),
            allow_retries=False,
        ) from None


def _dbt_error(error: Exception) -> str:
    """dbt's own error lines, without dagster-dbt's advice to read the compute logs."""
    text = str(error)
    marker = "Errors parsed from dbt logs:"
    if marker in text:
        return text.split(marker, 1)[1].strip()
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
    results: Mapping[str, Mapping[str, Any]],
    failing: Mapping[str, FailingRows],
    manifest: Mapping[str, Any],
) -> str:
    """Why dbt failed, naming each failing test's rows and what it kept from being built."""
    lines = []
    for uid, r in sorted(results.items()):
        name = dbt_test_label(uid, manifest) if uid.startswith("test.") else uid.split(".")[2]
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
    return "\n".join(lines)


def _drain(events: Iterable[Any]) -> tuple[list[Any], Exception | None]:
    """All events dbt produced, and its failure if any: checks are reported either way."""
    buffered: list[Any] = []
    try:
        for event in events:
            buffered.append(event)
    except Exception as e:
        return buffered, e
    return buffered, None
