"""The features domain: customer_features, computed outside the run through Dagster Pipes."""

import dagster as dg

from pipeline_assets.defs.features.assets import build_features_asset
from pipeline_assets.lib.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=[build_features_asset(settings)])
