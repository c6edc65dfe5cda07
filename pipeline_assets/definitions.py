"""The code location: assembles the domain modules; decides nothing itself."""

from __future__ import annotations

import dagster as dg

from pipeline_assets.defs.ingest.assets import customers_assets, orders_assets
from pipeline_assets.defs.resources import build_resources

defs = dg.Definitions(
    assets=[*orders_assets, *customers_assets],
    resources=build_resources(),
    executor=dg.in_process_executor,
)
