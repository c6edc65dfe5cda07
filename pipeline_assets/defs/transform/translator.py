"""How the dbt project appears in Dagster: asset keys, groups, owners, automation, checks.

Asset keys mirror where the data lives (`<schema>/<model>`); sources take the key in their
meta, so raw -> staging -> marts is one lineage graph. dbt tests become asset checks named
within their asset (`load_manifest`), with the test's own description.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from pipeline_assets.lib.warehouse import DAY_COLUMN


class ShopTranslator(DagsterDbtTranslator):
    """Asset keys mirror where the data lives: <schema>/<model>; sources use their meta key."""

    def __init__(
        self, automation: dg.AutomationCondition, mart_freshness: dg.FreshnessPolicy
    ) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._automation = automation
        self._mart_freshness = mart_freshness

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        layer = Path(dbt_resource_props["original_file_path"]).parts[1]
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "warehouse"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return self._automation

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt reads a check's description from meta only; use the test's own."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        description = manifest["nodes"][unique_id].get("description")
        if spec is None or spec.description or not description:
            return spec
        return spec._replace(description=description)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        """Marts carry the freshness policy; window models say their day column (verify)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id, {})
        column = node.get("config", {}).get("meta", {}).get("window_column")
        if column:
            spec = spec.merge_attributes(metadata={DAY_COLUMN: column})
        if spec.key.path[0] == "marts":
            spec = spec.replace_attributes(freshness_policy=self._mart_freshness)
        return spec


def load_manifest(project: DbtProject) -> dict[str, Any]:
    """The prepared manifest, as Dagster sees it (`with_short_check_names`)."""
    return with_short_check_names(json.loads(Path(project.manifest_path).read_text()))


def with_short_check_names(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as Dagster sees it: each test named without its model's prefix.

    dbt needs project-wide unique test names (`fct_orders__customer_id__in_dim_customers`);
    a Dagster check is named within its asset, where the prefix only repeats the asset and
    makes the UI cut the name in the middle. dbt selects tests by FQN, which is unchanged.
    """
    for node in manifest["nodes"].values():
        attached = node.get("attached_node") or ""
        prefix = attached.split(".")[-1] + "__"
        if node["resource_type"] == "test" and node["name"].startswith(prefix):
            node["name"] = node["name"].removeprefix(prefix)
    return manifest


def dbt_test_label(unique_id: str, manifest: Mapping[str, Any]) -> str:
    """`fct_orders: customer_id__in_dim_customers`, for messages."""
    node = manifest["nodes"].get(unique_id, {})
    model = (node.get("attached_node") or "").split(".")[-1]
    return f"{model}: {node.get('name', unique_id)}" if model else node.get("name", unique_id)
