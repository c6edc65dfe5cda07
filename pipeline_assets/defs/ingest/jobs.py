"""One job per dataset: copy one day of its files with a manifest, validate and load them.

The sensor and the schedules launch these; a backfill of the whole pipeline needs no job
(the UI's Materialize all, or `pipeline backfill`).
"""

from __future__ import annotations

import dagster as dg

from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS


def _ingest_job(dataset: str) -> dg.JobDefinition:
    return dg.define_asset_job(
        f"ingest_{dataset}_job",
        selection=dg.AssetSelection.assets(files_key(dataset), raw_key(dataset)),
        description=f"Copy one day of {dataset} files with a manifest, validate and load them.",
    )


ingest_orders_job = _ingest_job(ORDERS)
ingest_customers_job = _ingest_job(CUSTOMERS)
INGEST_JOBS = {ORDERS: ingest_orders_job, CUSTOMERS: ingest_customers_job}
