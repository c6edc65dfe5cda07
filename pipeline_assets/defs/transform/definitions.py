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
    # A dbt project edited since its manifest was parsed (a dataset's model added, say) is
    # parsed again when the definitions load, wherever they load: `dg dev`, `dg list defs`,
    # a `pipeline` command. dagster-dbt's prepare_if_dev would re-parse on every load, only
    # under `dagster dev`, and look for `dbt` on PATH, which an unactivated venv lacks.
    if manifest_is_stale(project):
        prepare_dbt(project, build_warehouse(settings).dbt_env())
    translator = ShopTranslator(
        automation=warehouse_condition(settings.integer("PIPELINE_AUTOMATION_LOOKBACK_DAYS")),
        mart_freshness=mart_freshness_policy(settings.integer("PIPELINE_MARTS_FRESH_BY_HOUR")),
    )
    assets = build_dbt_assets(
        load_manifest(project), project, daily_partitions(settings), translator
    )
    return dg.Definitions(assets=[assets])
