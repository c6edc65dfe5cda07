"""The load: each day's manifest files validated and loaded into raw.<dataset>, one
transaction per day; rejected rows go to raw.quarantine with their reason.

A range runs as one run (`BackfillPolicy.single_run`) and each day is loaded in its own
transaction, so a day's rows are always either all old or all new. Each day's
materialization carries its own counts and a sample of its quarantined rows (file, line,
reason, the raw line); `pipeline quarantine --day D` lists them all. The checks on these
rows are `checks.py`.
"""

from collections.abc import Iterator

import dagster as dg

from pipeline_assets.defs.ingest.shared import (
    DATASET_TAG,
    IO_RETRY,
    OWNER,
    bad_input_fails_without_retry,
    raw_key,
)
from pipeline_assets.defs.resources import ValidationResource, ZoneResource
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.failing_rows import FailingRows, quarantine_samples
from pipeline_assets.lib.manifest import LANDING_COMPLETE, read_files, read_manifest
from pipeline_assets.lib.objectstore import ObjectStore
from pipeline_assets.lib.raw_load import validate_and_load_days
from pipeline_assets.lib.validate import Files, PartitionSummary, Validator
from pipeline_assets.lib.warehouse import DAY_COLUMN

QUARANTINE_SAMPLE = 10


def load_metadata(
    dataset: Dataset, summary: PartitionSummary, complete: bool, sample: FailingRows | None = None
) -> dict:
    """One day's counts, as its own materialization shows them in the UI."""
    metadata = {
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
    if sample is not None and sample.count:
        metadata["quarantine_sample"] = dg.MetadataValue.md(
            f"{sample.count} rows broke a rule (superseded duplicates not shown); the first "
            f"{len(sample.rows)}, in file and line order. All of them: "
            f"`pipeline quarantine --day {summary.partition_key} --dataset {dataset.name}`"
            f"\n\n{sample.markdown()}"
        )
    return metadata


# The landing bytes validated in one pass. The validator's memory no longer follows a pass
# (it checks a few MB of text at a time and keeps the rows on disk), but the files of a
# pass up to 16 MB each are read whole before it (lib/manifest.py, several at a time): this
# bounds what Python holds at once. A bigger file is streamed, and only puts its day in a
# pass of its own. A month of 20k orders a day (about 55 MB) is still one pass.
BATCH_BYTES = 64 * 2**20


def day_batches(
    store: ObjectStore, dataset: Dataset, days: list[str], budget: int
) -> Iterator[tuple[list[tuple[str, Files]], dict[str, bool], ContractError | None]]:
    """Each day's manifest files, in order, in consecutive batches of at most `budget` bytes
    (a bigger day alone): the days read (`read_files`: each file read once, checked against
    the manifest on that read; a big one as a stream the validator checks as it reads it),
    whether each was listed complete, and the error of the first day whose processing zone
    does not match its manifest, which ends the last batch."""
    batch: list[tuple[str, Files]] = []
    complete: dict[str, bool] = {}
    size = 0
    for day in days:
        try:
            manifest = read_manifest(store, dataset.name, day)
            day_size = sum(entry.size for entry in manifest.files)
            if batch and size + day_size > budget:
                yield batch, complete, None
                batch, complete, size = [], {}, 0
            batch.append((day, read_files(store, manifest)))
        except ContractError as e:
            yield batch, complete, e
            return
        complete[day] = manifest.complete
        size += day_size
    yield batch, complete, None


def build_raw_asset(
    dataset: Dataset,
    copy_asset: dg.AssetsDefinition,
    partitions: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
) -> dg.AssetsDefinition:
    key = raw_key(dataset)

    @dg.asset(
        key=key,
        deps=[copy_asset],
        partitions_def=partitions,
        backfill_policy=backfill_policy,  # a beta parameter: ranges in one run
        retry_policy=IO_RETRY,
        pool="warehouse_writer",
        group_name="ingest",
        kinds={"duckdb", "snowflake"},
        owners=[OWNER],
        tags={DATASET_TAG: dataset.name},
        description=f"Validated, deduplicated {dataset.name} rows in raw.{dataset.name}, "
        "loaded from exactly the files of the day's manifest; rejected rows go to "
        "raw.quarantine.",
        metadata={
            "columns": dg.MetadataValue.json(dataset.column_names),
            "dagster/table_name": f"raw.{dataset.name}",
            DAY_COLUMN: "_partition",
        },
    )
    def raw_asset(
        context: dg.AssetExecutionContext,
        processing: ZoneResource,
        warehouse: WarehouseResource,
        validation: ValidationResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
        store = processing.store()
        results: list[tuple[PartitionSummary, bool]] = []
        try:
            with (
                bad_input_fails_without_retry(),
                warehouse.db() as db,
                Validator(validation.duckdb_memory_limit) as validator,
            ):
                for days, complete, unread in day_batches(
                    store, dataset, context.partition_keys, BATCH_BYTES
                ):
                    summaries, error = validate_and_load_days(db, dataset, days, validator)
                    results += [(s, complete[s.partition_key]) for s in summaries]
                    if error or unread:  # the days before it are loaded and committed
                        raise error or unread
                samples = quarantine_samples(
                    db, dataset.name, [s.partition_key for s, _ in results], QUARANTINE_SAMPLE
                )
        except Exception:
            # The days already committed are recorded before the run fails, so the event log
            # never disagrees with the warehouse (their checks run with their next load).
            for summary, complete in results:
                metadata = load_metadata(dataset, summary, complete)
                yield dg.AssetMaterialization(
                    key, partition=summary.partition_key, metadata=metadata
                )
            raise
        for summary, complete in results:
            pk = summary.partition_key
            metadata = load_metadata(dataset, summary, complete, samples.get(pk))
            context.add_asset_metadata(metadata, partition_key=pk)
        yield dg.MaterializeResult()

    return raw_asset
