"""Ingestion assets: landing -> processing copy, then validate + transactional raw load.

One factory builds both datasets (hourly orders, daily customers) so they cannot drift.
Ranges run as one run (`BackfillPolicy.single_run`); each day of a range is loaded in
its own transaction, so a partition's rows are always either all old or all new.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipeline_assets.defs.partitions import daily_partitions, hourly_partitions
from pipeline_assets.defs.resources import WarehouseResource, ZoneResource, setting
from pipeline_assets.lib.contract import (
    CUSTOMERS,
    ORDERS,
    ContractError,
    column_names,
    partition_of_key,
    partition_prefix,
    required_columns,
)
from pipeline_assets.lib.faults import AFTER_COPY, maybe_die
from pipeline_assets.lib.objectstore import (
    CopyReport,
    MissingSourceError,
    ObjectStore,
    copy_objects,
)
from pipeline_assets.lib.validate import SUPERSEDED, PartitionSummary, validate_partition
from pipeline_assets.lib.warehouse import load_partitions, null_required_counts, partition_counts

ROW_ACCOUNTING = "row_accounting"
REQUIRED_COLUMNS = "required_columns_present"
QUARANTINE_RATE = "quarantine_rate_below_threshold"

IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
OWNER = "team:data-engineering"
PARTITIONS = {ORDERS: hourly_partitions, CUSTOMERS: daily_partitions}
LOAD_BATCH = 24  # partitions per load transaction: one day of hours


class CopyConfig(dg.Config):
    """`keys` limits the copy to named objects (a sensor's findings); each must exist."""

    replace: bool = True
    keys: list[str] = []


def split_listing(store: ObjectStore, dataset: str, partition_key: str) -> tuple[list, list]:
    """One listing of a partition's folder: (contract keys, other keys to report as ignored).

    A missing folder is an empty partition.
    """
    keys, ignored = [], []
    for obj in store.list(partition_prefix(dataset, partition_key)):
        try:
            ok = partition_of_key(obj.key) == (dataset, partition_key)
        except ContractError:
            ok = False
        (keys if ok else ignored).append(obj.key)
    return keys, ignored


def _keys_to_copy(
    config: CopyConfig, landing: ObjectStore, dataset: str, partition_keys: list[str]
) -> tuple[list[str], list[str]]:
    if config.keys:
        wanted = set(partition_keys)
        for key in config.keys:
            key_dataset, key_partition = partition_of_key(key)
            if key_dataset != dataset or key_partition not in wanted:
                raise ContractError(f"key {key!r} is not in this run's {dataset} partitions")
        return sorted(config.keys), []
    keys, ignored = [], []
    for pk in partition_keys:
        found, other = split_listing(landing, dataset, pk)
        keys += found
        ignored += other
    return keys, ignored


def build_ingest_assets(dataset: str) -> list[dg.AssetsDefinition]:
    partitions_def = PARTITIONS[dataset]
    grain = "hourly" if dataset == ORDERS else "daily"

    @dg.asset(
        name=dataset,
        key_prefix=["processing"],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=IO_RETRY,
        group_name="ingest",
        kinds={"s3"},
        owners=[OWNER],
        tags={"dataset": dataset},
        description=f"{grain.capitalize()} {dataset} files copied from the landing zone "
        "into the processing zone.",
        metadata={"landing_layout": partition_prefix(dataset, _example_key(dataset)) + "*.csv"},
    )
    def copy_asset(
        context: dg.AssetExecutionContext,
        config: CopyConfig,
        landing: ZoneResource,
        processing: ZoneResource,
    ) -> dg.MaterializeResult:
        source, dest = landing.store(), processing.store()
        with _data_errors_fail_without_retry():
            keys, ignored = _keys_to_copy(config, source, dataset, list(context.partition_keys))
            report = copy_objects(source, dest, keys, replace=config.replace)
        maybe_die(AFTER_COPY)
        if ignored:
            context.log.warning(f"ignored keys outside the landing contract: {ignored}")
        context.log.info(
            f"{dataset}: copied {len(report.copied)}, skipped {len(report.skipped)} "
            f"over {len(context.partition_keys)} partition(s)"
        )
        return dg.MaterializeResult(
            metadata=_copy_metadata(report, ignored, context.partition_keys)
        )

    raw_key = dg.AssetKey(["raw", dataset])

    @dg.asset(
        key=raw_key,
        deps=[copy_asset],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=IO_RETRY,
        pool="warehouse_writer",
        group_name="ingest",
        kinds={"duckdb", "snowflake"},
        owners=[OWNER],
        tags={"dataset": dataset},
        description=f"Validated, deduplicated {dataset} rows in raw.{dataset}; "
        "rejected rows go to raw.quarantine with a reason.",
        metadata={
            "table": f"raw.{dataset}",
            "columns": dg.MetadataValue.json(column_names(dataset)),
            "dagster/table_name": f"raw.{dataset}",
        },
        check_specs=[
            dg.AssetCheckSpec(
                ROW_ACCOUNTING,
                asset=raw_key,
                blocking=True,
                description="Rows read = rows loaded + rows quarantined, per partition.",
            ),
            dg.AssetCheckSpec(
                REQUIRED_COLUMNS,
                asset=raw_key,
                blocking=True,
                description="Every loaded row has all the contract's required values.",
            ),
            dg.AssetCheckSpec(
                QUARANTINE_RATE,
                asset=raw_key,
                blocking=True,
                description="Share of invalid rows: warns above PIPELINE_QUARANTINE_WARN_RATE, "
                "blocks downstream above PIPELINE_QUARANTINE_FAIL_RATE.",
            ),
        ],
    )
    def raw_asset(
        context: dg.AssetExecutionContext, processing: ZoneResource, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        store = processing.store()
        partition_keys = list(context.partition_keys)
        results: list[PartitionSummary] = []
        with _data_errors_fail_without_retry(), warehouse.db() as db:
            for start in range(0, len(partition_keys), LOAD_BATCH):
                batch = []
                for pk in partition_keys[start : start + LOAD_BATCH]:
                    files = [(k, store.read(k)) for k in split_listing(store, dataset, pk)[0]]
                    batch.append(validate_partition(dataset, pk, files))
                load_partitions(db, batch)
                results += [r.summary() for r in batch]
            counts = partition_counts(db, dataset, partition_keys)
            nulls = null_required_counts(db, dataset, partition_keys)
        yield from _materialization_and_checks(dataset, results, counts, nulls)

    return [copy_asset, raw_asset]


def _copy_metadata(report: CopyReport, ignored: list[str], partitions: list[str]) -> dict:
    """Counts and one digest of the inputs; file lists only for a one-partition run.

    Dagster copies a range run's metadata into every partition's materialization, so lists
    of a range's files were repeated once per partition (7 % of a backfill's time).
    """
    metadata: dict = {
        "partitions": len(partitions),
        "copied": len(report.copied),
        "skipped": len(report.skipped),
        "ignored": len(ignored),
        "bytes": sum(report.bytes.values()),
        "inputs_sha256": report.digest(),
    }
    if len(partitions) == 1:
        metadata["keys"] = dg.MetadataValue.json(report.copied)
        metadata["skipped_keys"] = dg.MetadataValue.json(report.skipped)
        metadata["ignored_keys"] = dg.MetadataValue.json(ignored)
        metadata["sha256"] = dg.MetadataValue.json(report.sha256)
    return metadata


@contextmanager
def _data_errors_fail_without_retry() -> Iterator[None]:
    """Bad input fails at once with its message; only transient I/O errors are retried."""
    try:
        yield
    except (ContractError, MissingSourceError) as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e


def _example_key(dataset: str) -> str:
    return "2024-01-01-00:00" if dataset == ORDERS else "2024-01-01"


def _materialization_and_checks(
    dataset: str,
    results: list[PartitionSummary],
    counts: dict[str, tuple[int, int]],
    nulls: dict[str, int],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    rows_read = sum(r.rows_read for r in results)
    loaded = sum(r.rows_loaded for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        for code, n in r.reasons.items():
            reasons[code] = reasons.get(code, 0) + n
    quarantined = sum(reasons.values())
    invalid = quarantined - reasons.get(SUPERSEDED, 0)
    extra = sorted({c for r in results for f in r.files for c in f.extra_columns})
    yield dg.MaterializeResult(
        metadata={
            "partitions": len(results),
            "files": sum(len(r.files) for r in results),
            "rows_read": rows_read,
            "rows_loaded": loaded,
            "rows_quarantined": quarantined,
            "quarantine_reasons": dg.MetadataValue.json(reasons),
            "extra_columns_ignored": dg.MetadataValue.json(extra),
            "dagster/row_count": loaded,
        }
    )
    mismatched = {
        r.partition_key: {"read": r.rows_read, "in_warehouse": counts[r.partition_key]}
        for r in results
        if r.rows_read != sum(counts[r.partition_key])
    }
    yield dg.AssetCheckResult(
        check_name=ROW_ACCOUNTING,
        passed=not mismatched,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_read": rows_read,
            "rows_loaded": sum(c[0] for c in counts.values()),
            "rows_quarantined": sum(c[1] for c in counts.values()),
            "mismatched_partitions": dg.MetadataValue.json(mismatched),
        },
    )
    # A file missing a required column already failed the run; this re-checks the loaded
    # rows in the warehouse, so a regression in parsing or loading cannot slip through.
    yield dg.AssetCheckResult(
        check_name=REQUIRED_COLUMNS,
        passed=not any(nulls.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "required": dg.MetadataValue.json(required_columns(dataset)),
            "files_checked": sum(len(r.files) for r in results),
            "rows_missing_required_values": sum(nulls.values()),
        },
    )
    warn_at = float(setting("PIPELINE_QUARANTINE_WARN_RATE"))
    fail_at = float(setting("PIPELINE_QUARANTINE_FAIL_RATE"))
    rate = invalid / rows_read if rows_read else 0.0
    yield dg.AssetCheckResult(
        check_name=QUARANTINE_RATE,
        passed=rate <= warn_at,
        # Above the fail rate the batch is more garbage than data: block everything downstream.
        severity=dg.AssetCheckSeverity.ERROR if rate > fail_at else dg.AssetCheckSeverity.WARN,
        metadata={
            "invalid_rows": invalid,
            "rows_read": rows_read,
            "rate": round(rate, 6),
            "warn_above": warn_at,
            "fail_above": fail_at,
            "reasons": dg.MetadataValue.json(reasons),
        },
    )


orders_assets = build_ingest_assets(ORDERS)
customers_assets = build_ingest_assets(CUSTOMERS)
