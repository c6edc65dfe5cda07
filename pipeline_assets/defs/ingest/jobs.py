"""A dataset's job: copy one day of its files with a manifest, validate and load them.

The landing sensor and the dataset's closing schedule launch it; a backfill of the whole
pipeline needs no job (the UI's Materialize all, or `pipeline backfill`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.lib.dataset import Dataset

if TYPE_CHECKING:  # not exported by dagster: what define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_ingest_job(dataset: Dataset) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        f"ingest_{dataset.name}_job",
        selection=dg.AssetSelection.assets(files_key(dataset), raw_key(dataset)),
        description=f"Copy one day of {dataset.name} files with a manifest, validate and load "
        "them.",
    )
