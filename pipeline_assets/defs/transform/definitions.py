"""The warehouse domain: the dbt project's models and tests, for these settings."""

import dagster as dg

from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.automation.freshness import mart_freshness_policy
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.defs.transform.assets import build_dbt_assets
from pipeline_assets.defs.transform.project import dbt_project, manifest_is_stale, prepare_dbt
from pipeline_assets.defs.transform.translator import ShopTranslator, load_manifest
from pipeline_assets.defs.warehouse import build_warehouse
from pipeline_assets.lib.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    project = dbt_project(settings)
    # Under `dg dev` / `dagster dev` (which set DAGSTER_IS_DEV_CLI), re-parse an edited
    # project when the code location loads: dagster-dbt's prepare_if_dev would re-parse on
    # every load and look for `dbt` on PATH, which an unactivated venv does not have.
    if settings.is_set("DAGSTER_IS_DEV_CLI") and manifest_is_stale(project):
        prepare_dbt(project, build_warehouse(settings).dbt_env())
    translator = ShopTranslator(
        automation=warehouse_condition(settings.integer("PIPELINE_AUTOMATION_LOOKBACK_DAYS")),
        mart_freshness=mart_freshness_policy(settings.integer("PIPELINE_MARTS_FRESH_BY_HOUR")),
    )
    assets = build_dbt_assets(
        load_manifest(project), project, daily_partitions(settings), translator
    )
    return dg.Definitions(assets=[assets])
