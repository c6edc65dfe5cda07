"""The copy: one day's landing files mirrored into the processing zone, with a manifest.

The manifest (keys, sizes, sha256, the listed ETags) records exactly what was copied; the
load reads exactly that. A landing file that is gone is removed from the processing zone
(a retraction), and a key outside the contract is named with the reason it is ignored.
"""

from datetime import UTC, datetime

import dagster as dg

from pipeline_assets.defs.ingest.shared import (
    DATASET_TAG,
    IO_RETRY,
    OWNER,
    bad_input_fails_without_retry,
    files_key,
)
from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.manifest import LANDING_COMPLETE, Manifest, snapshot


def copy_metadata(dataset: Dataset, manifest: Manifest, removed: list[str]) -> dict:
    """One day's copy as its materialization shows it."""
    return {
        "files": len(manifest.files),
        "bytes": sum(f.size for f in manifest.files),
        "keys": dg.MetadataValue.json([f.key for f in manifest.files]),
        "sha256": dg.MetadataValue.json({f.key: f.sha256 for f in manifest.files}),
        "inputs_sha256": manifest.digest(),
        "retracted": dg.MetadataValue.json(removed),
        "ignored_keys": dg.MetadataValue.json(
            {key: dataset.why_outside_contract(key) for key in manifest.ignored}
        ),
        "listed_at": manifest.listed_at,
        LANDING_COMPLETE: manifest.complete,
    }


def build_copy_asset(
    dataset: Dataset, partitions: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy
) -> dg.AssetsDefinition:
    @dg.asset(
        key=files_key(dataset),
        partitions_def=partitions,
        backfill_policy=backfill_policy,  # a beta parameter: ranges in one run
        retry_policy=IO_RETRY,
        group_name="ingest",
        kinds={"s3"},
        owners=[OWNER],
        tags={DATASET_TAG: dataset.name},
        description=f"The day's {dataset.name} landing files, mirrored into the processing "
        "zone, with a manifest of exactly what was copied.",
        metadata={"landing_layout": dataset.layout_pattern},
    )
    def copy_asset(
        context: dg.AssetExecutionContext, landing: ZoneResource, processing: ZoneResource
    ) -> dg.MaterializeResult:
        source, dest = landing.store(), processing.store()
        for pk in context.partition_keys:
            with bad_input_fails_without_retry():
                manifest, removed = snapshot(source, dest, dataset, pk, datetime.now(UTC))
            metadata = copy_metadata(dataset, manifest, removed)
            for key, why in metadata["ignored_keys"].value.items():
                context.log.warning(f"{pk}: ignored landing key {key}: {why}")
            if removed:
                context.log.info(f"{pk}: removed retracted files {removed}")
            context.add_asset_metadata(metadata, partition_key=pk)
        return dg.MaterializeResult()

    return copy_asset
