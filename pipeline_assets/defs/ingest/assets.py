"""Ingestion assets: landing -> processing copy with a manifest, then validate + load.

One factory builds both datasets (orders, customers) so they cannot drift. Every asset is
partitioned by UTC day. A range runs as one run (`BackfillPolicy.single_run`), and each day
is loaded in its own transaction, so a day's rows are always either all old or all new.
Metadata and check results are recorded per day, so the UI shows which day did what.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported by dagster; see below
)

from pipeline_assets.defs.partitions import daily_partitions, ingest_backfill_policy
from pipeline_assets.defs.resources import WarehouseResource, ZoneResource
from pipeline_assets.lib.contract import (
    CUSTOMERS,
    ORDERS,
    ContractError,
    column_names,
    required_columns,
)
from pipeline_assets.lib.failing_rows import FailingRows, sample_failing_rows
from pipeline_assets.lib.faults import AFTER_MANIFEST, maybe_die
from pipeline_assets.lib.manifest import LANDING_COMPLETE, read_files, read_manifest, snapshot
from pipeline_assets.lib.settings import setting
from pipeline_assets.lib.validate import SUPERSEDED, PartitionSummary, Validator
from pipeline_assets.lib.warehouse import (
    Db,
    invalid_rows_query,
    null_required_counts,
    null_required_rows_query,
    partition_counts,
    validate_and_load,
)

ROW_ACCOUNTING = "row_accounting"
REQUIRED_COLUMNS = "required_columns_present"
QUARANTINE_RATE = "quarantine_rate_below_threshold"

IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
OWNER = "team:data-engineering"
FILES_ASSET = {ORDERS: "order_files", CUSTOMERS: "customer_files"}
LAYOUT = {
    ORDERS: "orders/date=YYYY-MM-DD/hour=HH/*.csv",
    CUSTOMERS: "customers/date=YYYY-MM-DD/*.csv",
}


def files_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(["processing", FILES_ASSET[dataset]])


def raw_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", dataset])


def build_ingest_assets(dataset: str) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=files_key(dataset),
        partitions_def=daily_partitions,
        backfill_policy=ingest_backfill_policy(),  # a beta parameter: ranges in one run
        retry_policy=IO_RETRY,
        group_name="ingest",
        kinds={"s3"},
        owners=[OWNER],
        tags={"dataset": dataset},
        description=f"The day's {dataset} landing files, mirrored into the processing zone, "
        "with a manifest of exactly what was copied.",
        metadata={"landing_layout": LAYOUT[dataset]},
    )
    def copy_asset(
        context: dg.AssetExecutionContext, landing: ZoneResource, processing: ZoneResource
    ) -> dg.MaterializeResult:
        source, dest = landing.store(), processing.store()
        for pk in context.partition_keys:
            with _bad_input_fails_without_retry():
                manifest, removed = snapshot(source, dest, dataset, pk, datetime.now(UTC))
            if manifest.ignored:
                context.log.warning(f"{pk}: ignored keys outside the contract: {manifest.ignored}")
            if removed:
                context.log.info(f"{pk}: removed retracted files {removed}")
            context.add_asset_metadata(
                {
                    "files": len(manifest.files),
                    "bytes": sum(f.size for f in manifest.files),
                    "keys": dg.MetadataValue.json([f.key for f in manifest.files]),
                    "sha256": dg.MetadataValue.json({f.key: f.sha256 for f in manifest.files}),
                    "inputs_sha256": manifest.digest(),
                    "retracted": dg.MetadataValue.json(removed),
                    "ignored_keys": dg.MetadataValue.json(list(manifest.ignored)),
                    "listed_at": manifest.listed_at,
                    LANDING_COMPLETE: manifest.complete,
                },
                partition_key=pk,
            )
        maybe_die(AFTER_MANIFEST)
        return dg.MaterializeResult()

    key = raw_key(dataset)

    def check(name: str, description: str) -> dg.AssetCheckSpec:
        # Partitioned checks (a preview API in 1.13): each day gets its own result, so the
        # UI shows which day failed its gate, not one verdict for a whole range run.
        return dg.AssetCheckSpec(
            name,
            asset=key,
            blocking=True,
            partitions_def=daily_partitions,
            description=description,
        )

    @dg.asset(
        key=key,
        deps=[copy_asset],
        partitions_def=daily_partitions,
        backfill_policy=ingest_backfill_policy(),  # a beta parameter: ranges in one run
        retry_policy=IO_RETRY,
        pool="warehouse_writer",
        group_name="ingest",
        kinds={"duckdb", "snowflake"},
        owners=[OWNER],
        tags={"dataset": dataset},
        description=f"Validated, deduplicated {dataset} rows in raw.{dataset}, loaded from "
        "exactly the files of the day's manifest; rejected rows go to raw.quarantine.",
        metadata={
            "columns": dg.MetadataValue.json(column_names(dataset)),
            "dagster/table_name": f"raw.{dataset}",
        },
        check_specs=[
            check(ROW_ACCOUNTING, "Rows read = rows loaded + rows quarantined, per day."),
            check(REQUIRED_COLUMNS, "Every loaded row has all the contract's required values."),
            check(
                QUARANTINE_RATE,
                "Share of invalid rows: warns above PIPELINE_QUARANTINE_WARN_RATE, blocks "
                "downstream above PIPELINE_QUARANTINE_FAIL_RATE.",
            ),
        ],
    )
    def raw_asset(
        context: dg.AssetExecutionContext, processing: ZoneResource, warehouse: WarehouseResource
    ) -> Iterator[
        dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.Output
    ]:
        store = processing.store()
        partition_keys = list(context.partition_keys)
        results: list[tuple[PartitionSummary, bool]] = []
        try:
            with (
                _bad_input_fails_without_retry(),
                warehouse.db() as db,
                Validator(setting("PIPELINE_DUCKDB_MEMORY_LIMIT")) as validator,
            ):
                for pk in partition_keys:
                    manifest = read_manifest(store, dataset, pk)
                    files = read_files(store, manifest)
                    summary = validate_and_load(db, dataset, pk, files, validator)
                    results.append((summary, manifest.complete))
                counts = partition_counts(db, dataset, partition_keys)
                nulls = null_required_counts(db, dataset, partition_keys)
                samples = {
                    summary.partition_key: _failing_samples(db, dataset, summary, nulls)
                    for summary, _ in results
                }
        except Exception:
            # The days already committed are recorded before the run fails, so the event log
            # never disagrees with the warehouse (their checks run with their next load).
            for summary, complete in results:
                yield dg.AssetMaterialization(
                    key, partition=summary.partition_key, metadata=_load_metadata(summary, complete)
                )
            raise
        for summary, complete in results:
            context.add_asset_metadata(
                _load_metadata(summary, complete), partition_key=summary.partition_key
            )
        yield dg.MaterializeResult()  # after the metadata: it is attached when this is yielded
        for summary, _ in results:
            pk = summary.partition_key
            target = _latest_materialization(context.instance, key, pk)
            yield from _check_evaluations(
                key, dataset, summary, counts[pk], nulls[pk], samples[pk], target
            )
        for name in (ROW_ACCOUNTING, REQUIRED_COLUMNS, QUARANTINE_RATE):
            check_key = dg.AssetCheckKey(key, name)
            yield dg.Output(None, context.assets_def.get_output_name_for_asset_check_key(check_key))

    return [copy_asset, raw_asset]


@contextmanager
def _bad_input_fails_without_retry() -> Iterator[None]:
    """Bad input and non-transient OS errors fail at once, naming the file; only transient
    I/O errors (a dropped connection, a file deleted between listing and reading) are retried.
    """
    try:
        yield
    except ContractError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e
    except (PermissionError, IsADirectoryError, NotADirectoryError) as e:
        raise dg.Failure(description=f"{e.filename}: {e.strerror}", allow_retries=False) from e


def _load_metadata(summary: PartitionSummary, complete: bool) -> dict:
    """One day's counts, as its own materialization shows them in the UI."""
    return {
        "files": len(summary.files),
        "rows_read": summary.rows_read,
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": sum(summary.reasons.values()),
        "quarantine_reasons": dg.MetadataValue.json(summary.reasons),
        "extra_columns_ignored": dg.MetadataValue.json(
            sorted({c for f in summary.files for c in f.extra_columns})
        ),
        "dagster/row_count": summary.rows_loaded,
        LANDING_COMPLETE: complete,
    }


def _latest_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The day's materialization a check result is about. Automation treats a partitioned
    check as current only when it names the latest materialization; AssetCheckResult would
    fill this in, but it cannot name a partition inside a range run."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=records[0].storage_id, run_id=records[0].run_id, timestamp=records[0].timestamp
    )


def _quarantine_rate(summary: PartitionSummary) -> tuple[int, float]:
    """The day's rows that broke a rule (superseded duplicates are not bad), and their share."""
    invalid = sum(summary.reasons.values()) - summary.reasons.get(SUPERSEDED, 0)
    return invalid, invalid / summary.rows_read if summary.rows_read else 0.0


def _failing_samples(
    db: Db, dataset: str, summary: PartitionSummary, nulls: dict[str, int]
) -> dict[str, FailingRows]:
    """For the checks that will not pass, the rows they are about: file, line and why."""
    pk, samples = summary.partition_key, {}
    if _quarantine_rate(summary)[1] > float(setting("PIPELINE_QUARANTINE_WARN_RATE")):
        samples[QUARANTINE_RATE] = sample_failing_rows(db, *invalid_rows_query(db, dataset, pk))
    if nulls[pk]:
        samples[REQUIRED_COLUMNS] = sample_failing_rows(
            db, *null_required_rows_query(db, dataset, pk)
        )
    return samples


def _check_evaluations(
    key: dg.AssetKey,
    dataset: str,
    summary: PartitionSummary,
    counts: tuple[int, int],
    nulls: int,
    samples: dict[str, FailingRows],
    target: AssetCheckEvaluationTargetMaterializationData | None,
) -> Iterator[dg.AssetCheckEvaluation]:
    """The three raw checks of one day, re-counted from the warehouse where they can be;
    a check that does not pass names its rows (file and line)."""
    pk = summary.partition_key

    def evaluation(name: str, passed: bool, severity=dg.AssetCheckSeverity.ERROR, **metadata):
        description = None
        if name in samples:
            rows = samples[name]
            metadata["failing_rows"] = rows.count
            metadata["failing_rows_sample"] = dg.MetadataValue.md(rows.markdown())
            description = rows.describe()
        return dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=passed,
            severity=severity,
            blocking=True,
            partition=pk,
            metadata=metadata,
            description=description,
            target_materialization_data=target,
        )

    loaded, quarantined = counts
    yield evaluation(
        ROW_ACCOUNTING,
        summary.rows_read == loaded + quarantined,
        rows_read=summary.rows_read,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
    )
    # A file missing a required column already failed the run; this re-checks the loaded
    # rows in the warehouse, so a regression in parsing or loading cannot slip through.
    yield evaluation(
        REQUIRED_COLUMNS,
        nulls == 0,
        required=dg.MetadataValue.json(required_columns(dataset)),
        files_checked=len(summary.files),
        rows_missing_required_values=nulls,
    )
    warn_at = float(setting("PIPELINE_QUARANTINE_WARN_RATE"))
    fail_at = float(setting("PIPELINE_QUARANTINE_FAIL_RATE"))
    invalid, rate = _quarantine_rate(summary)
    yield evaluation(
        QUARANTINE_RATE,
        rate <= warn_at,
        # Above the fail rate the day is more garbage than data: block everything downstream.
        dg.AssetCheckSeverity.ERROR if rate > fail_at else dg.AssetCheckSeverity.WARN,
        invalid_rows=invalid,
        rows_read=summary.rows_read,
        rate=round(rate, 6),
        warn_above=warn_at,
        fail_above=fail_at,
        reasons=dg.MetadataValue.json(summary.reasons),
    )


orders_assets = build_ingest_assets(ORDERS)
customers_assets = build_ingest_assets(CUSTOMERS)
