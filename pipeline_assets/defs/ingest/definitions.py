"""The ingest domain: per dataset, the copy with its manifest, the load, its checks, its job."""

import dagster as dg

from pipeline_assets.defs.ingest.checks import build_raw_checks
from pipeline_assets.defs.ingest.copy import build_copy_asset
from pipeline_assets.defs.ingest.jobs import INGEST_JOBS
from pipeline_assets.defs.ingest.raw import build_raw_asset
from pipeline_assets.defs.partitions import daily_partitions, ingest_backfill_policy
from pipeline_assets.lib.contract import DATASETS
from pipeline_assets.lib.settings import Settings


def build_dataset(
    dataset: str, settings: Settings
) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """One dataset's copy asset, raw asset and raw checks."""
    partitions, policy = daily_partitions(settings), ingest_backfill_policy(settings)
    copy = build_copy_asset(dataset, partitions, policy)
    raw = build_raw_asset(dataset, copy, partitions, policy)
    return copy, raw, build_raw_checks(dataset, partitions)


def build_defs(settings: Settings) -> dg.Definitions:
    built = [build_dataset(dataset, settings) for dataset in DATASETS]
    return dg.Definitions(
        assets=[asset for copy, raw, _ in built for asset in (copy, raw)],
        asset_checks=[checks for _, _, checks in built],
        jobs=list(INGEST_JOBS.values()),
    )
