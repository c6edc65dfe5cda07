"""The copy: one day's landing files mirrored into the processing zone, with a manifest.

The manifest (keys, sizes, sha256, the landing ETags) records exactly what was copied; the
load reads exactly that. A landing file that is gone is removed from the processing zone
(a retraction), and a key outside the contract is named with the reason it is ignored.

The materialization says how much, and where the manifest is, in a size that does not grow
with the day's files: counts, bytes, the manifest's digest and location, and at most
`KEY_SAMPLE` keys of each kind. Every key is in the manifest.
"""

import hashlib
from contextlib import closing
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
from pipeline_assets.lib.manifest import LANDING_COMPLETE, Manifest, manifest_key, snapshot

KEY_SAMPLE = 10  # keys of each kind a copy's metadata shows, in key order


def manifest_location(uri: str) -> dg.MetadataValue:
    """A link to the manifest: an S3 URI, or a local path."""
    return dg.MetadataValue.url(uri) if uri.startswith("s3://") else dg.MetadataValue.path(uri)


def copy_metadata(dataset: Dataset, manifest: Manifest, processing_uri: str) -> dict:
    """One day's copy as its materialization shows it, whatever its number of files."""
    key = manifest_key(manifest.dataset, manifest.partition)
    return {
        "files": len(manifest.files),
        "bytes": sum(f.size for f in manifest.files),
        "manifest": manifest_location(f"{processing_uri}/{key}"),
        "manifest_sha256": hashlib.sha256(manifest.to_bytes()).hexdigest(),
        "inputs_sha256": manifest.digest(),
        "keys_sample": dg.MetadataValue.json([f.key for f in manifest.files[:KEY_SAMPLE]]),
        "retracted": len(manifest.retracted),
        "retracted_sample": dg.MetadataValue.json(list(manifest.retracted[:KEY_SAMPLE])),
        "ignored": len(manifest.ignored),
        "ignored_keys": dg.MetadataValue.json(
            {key: dataset.why_outside_contract(key) for key in manifest.ignored[:KEY_SAMPLE]}
        ),
        "listed_at": manifest.listed_at,
        LANDING_COMPLETE: manifest.complete,
    }


def log_copy(context: dg.AssetExecutionContext, pk: str, metadata: dict) -> None:
    """The day's ignored and retracted keys in the run's log, at most a sample of each."""
    location = metadata["manifest"].value
    for key, why in metadata["ignored_keys"].value.items():
        context.log.warning(f"{pk}: ignored landing key {key}: {why}")
    if (more := metadata["ignored"] - len(metadata["ignored_keys"].value)) > 0:
        context.log.warning(f"{pk}: {more} more ignored landing keys, every one in {location}")
    if metadata["retracted"]:
        sample = metadata["retracted_sample"].value
        more = metadata["retracted"] - len(sample)
        also = f" and {more} more (every one in {location})" if more else ""
        context.log.info(f"{pk}: removed retracted files {sample}{also}")


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
        with closing(landing.store()) as source, closing(processing.store()) as dest:
            for pk in context.partition_keys:
                with bad_input_fails_without_retry():
                    manifest, _ = snapshot(source, dest, dataset, pk, datetime.now(UTC))
                metadata = copy_metadata(dataset, manifest, dest.uri)
                log_copy(context, pk, metadata)
                context.add_asset_metadata(metadata, partition_key=pk)
        return dg.MaterializeResult()

    return copy_asset
