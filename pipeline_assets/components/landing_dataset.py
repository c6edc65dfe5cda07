"""`LandingDataset`: one landing dataset, declared in `defs/datasets/<name>/defs.yaml`.

Its attributes are the dataset's contract (`lib/dataset.py`: layout, key, time column,
columns, row rules); from them it builds the dataset's copy asset (with its manifest), its
raw load, the raw load's three checks, its ingest job and its closing schedule. The landing
sensor, the CLI, `verify` and the automation conditions find every declared dataset through
`declared_datasets()`. Add a dataset with `dg scaffold defs
pipeline_assets.components.LandingDataset datasets/<name>`, then its dbt source and models.
"""

from __future__ import annotations

import os
import warnings
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster.components.resolved.errors import ResolutionException
from pydantic import PydanticDeprecatedSince20, ValidationError

import pipeline_assets.defs
from pipeline_assets.defs.automation.definitions import schedule_status
from pipeline_assets.defs.automation.schedules import build_closing_schedule
from pipeline_assets.defs.ingest.checks import build_raw_checks
from pipeline_assets.defs.ingest.copy import build_copy_asset
from pipeline_assets.defs.ingest.jobs import build_ingest_job
from pipeline_assets.defs.ingest.raw import build_raw_asset
from pipeline_assets.defs.partitions import daily_partitions, ingest_backfill_policy
from pipeline_assets.lib.dataset import Dataset, DeclarationError, singular
from pipeline_assets.lib.settings import Settings

if TYPE_CHECKING:  # not exported by dagster: what define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


class LandingDatasetScaffolder(dg.Scaffolder):
    """`dg scaffold defs ... datasets/<name>`: a valid declaration to edit."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name = request.target_path.name
        text = TEMPLATE.format(type=request.type_name, name=name, key=f"{singular(name)}_id")
        (request.target_path / "defs.yaml").write_text(text)


TEMPLATE = """\
# A landing dataset (docs/architecture.md#landing-datasets). Declare its columns as your
# files' header names them; then add its dbt source (dbt/models/staging/_sources.yml, with
# meta.dagster.asset_key [raw, {name}]) and its staging model.
type: {type}
attributes:
  name: {name}
  layout: daily  # daily: {name}/date=D/<file>.csv; hourly: {name}/date=D/hour=HH/<file>.csv
  key: {key}  # within a day, duplicates keep the greatest updated_at, then the last line
  # time_column: <a timestamp column that must fall inside its file's folder (day or hour)>
  columns:
    - {{name: {key}, type: string, required: true}}  # types: string, cents, timestamp
    - {{name: updated_at, type: timestamp}}
"""


@dg.scaffold_with(LandingDatasetScaffolder)
class LandingDataset(dg.Component, dg.Resolvable, Dataset):
    """A landing dataset: its files' layout, key, time rule and columns. Builds the copy with
    its manifest, the validated raw load and its checks, an ingest job and a closing
    schedule."""

    @classmethod
    def resolve_from_model(cls, context: dg.ResolutionContext, model: Any) -> LandingDataset:
        """A declaration that describes no dataset fails naming its file, line and attribute."""
        try:
            return super().resolve_from_model(context, model)
        except ValidationError as e:
            error = e.errors()[0]
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, DeclarationError):
                attribute, message = cause.attribute, cause.message
            else:
                attribute = "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]
                )
                attribute, message = attribute.lstrip(".") or "attributes", error["msg"]
            raise ResolutionException(_located(context, attribute, message)) from None

    @cached_property
    def ingest_job(self) -> UnresolvedAssetJobDefinition:
        return build_ingest_job(self)

    def build_dataset_defs(self, settings: Settings) -> dg.Definitions:
        """The dataset's definitions for these settings."""
        partitions, policy = daily_partitions(settings), ingest_backfill_policy(settings)
        copy = build_copy_asset(self, partitions, policy)
        raw = build_raw_asset(self, copy, partitions, policy)
        schedule = build_closing_schedule(
            self,
            self.ingest_job,
            partitions,
            settings.integer("PIPELINE_CATCHUP_DAYS"),
            schedule_status(settings),
        )
        return dg.Definitions(
            assets=[copy, raw],
            asset_checks=[build_raw_checks(self, partitions)],
            jobs=[self.ingest_job],
            schedules=[schedule],
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """As Dagster's loader builds a component on its own: for this process's environment
        (the code location builds every dataset with its own settings: `definitions.py`)."""
        return self.build_dataset_defs(Settings(os.environ))


def _located(context: dg.ResolutionContext, attribute: str, message: str) -> str:
    """`<file>:<line> - attributes.<attribute>: <message>`, as Dagster says YAML errors."""
    path = ["attributes", *(int(p) if p.isdigit() else p for p in _parts(attribute))]
    tree = context.source_position_tree
    position = None
    while tree is not None and path and position is None:
        position = tree.lookup(path)
        path = path[:-1]
    where = f"{position.filename}:{position.start.line} - " if position else ""
    return f"{where}attributes.{attribute}: {message}"


def _parts(attribute: str) -> list[str]:
    """`columns[2].name` -> ["columns", "2", "name"]."""
    return [p for p in attribute.replace("[", ".").replace("]", "").split(".") if p]


def declared_datasets(defs_module: ModuleType = pipeline_assets.defs) -> list[LandingDataset]:
    """Every dataset declared under the defs folder, by name (loading only their YAML)."""
    root = Path(defs_module.__file__).parent  # type: ignore[arg-type]
    tree = dg.ComponentTree.from_module(defs_module=defs_module, project_root=root.parent)
    with warnings.catch_warnings():
        # dagster 1.13's YAML loader still calls pydantic's deprecated parse_obj_as
        warnings.filterwarnings(
            "ignore", category=PydanticDeprecatedSince20, module="dagster._utils.pydantic_yaml"
        )
        found = tree.get_all_components(of_type=LandingDataset)
    names = [d.name for d in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ResolutionException(f"datasets declared twice under {root}: {duplicated}")
    return sorted(found, key=lambda d: d.name)
