"""Case B: the seed's Airflow-style backfill, one run per day, the day passed as a dbt var.

B1 runs it through Dagster: per day, one run ingesting the day's partition of both datasets
(copy with manifest, validate, load: the same assets as A), then a dbt asset whose run calls
`dbt build --vars '{"window_start": "YYYY-MM-DD", "window_end": ...}'`, exactly what the Airflow DAG's
BashOperator does. B2 is the plain loop: the same ingestion run, then `dbt run --vars` and
`dbt test --vars` as bare subprocesses. A changed `--vars` makes dbt re-parse the whole
project on every invocation; that cost is part of what this case measures.
"""

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.automation.freshness import mart_freshness_policy
from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.defs.transform.assets import NO_UNIT_TESTS, dbt_events
from pipeline_assets.defs.transform.project import dbt_executable, dbt_project
from pipeline_assets.defs.transform.translator import ShopTranslator, load_manifest
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.settings import Settings
from pipeline_assets.runner import failure_message, run_range


def run_date_vars(day: str) -> str:
    """The day [D, D+1) as --vars, as an Airflow DAG passes its logical date."""
    end = date.fromisoformat(day) + timedelta(days=1)
    return json.dumps({"window_start": day, "window_end": end.isoformat()})


def airflow_style_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    project = dbt_project(settings)
    translator = ShopTranslator(
        automation=warehouse_condition(settings.integer("PIPELINE_AUTOMATION_LOOKBACK_DAYS")),
        mart_freshness=mart_freshness_policy(settings.integer("PIPELINE_MARTS_FRESH_BY_HOUR")),
    )

    @dbt_assets(
        manifest=load_manifest(project),
        project=project,
        partitions_def=daily_partitions(settings),
        dagster_dbt_translator=translator,
        pool="warehouse_writer",
        name="airflow_style_dbt_assets",
    )
    def assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        """One `dbt build --vars '{"window_start": ..., "window_end": ...}'` per daily
        partition, as the Airflow DAG does."""
        args = ["build", *NO_UNIT_TESTS, "--vars", run_date_vars(context.partition_key)]
        yield from dbt_events(context, dbt, warehouse, args)

    return assets


def airflow_style_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions.merge(
        *(dataset.build_dataset_defs(settings) for dataset in declared_datasets()),
        dg.Definitions(
            assets=[airflow_style_dbt_assets(settings)],
            resources=build_resources(settings),
            executor=dg.in_process_executor,
        ),
    )


def ingest_keys() -> list[dg.AssetKey]:
    """Every declared dataset's copy and raw load."""
    return [key(ds) for ds in declared_datasets() for key in (files_key, raw_key)]


def ingest_day(defs: dg.Definitions, instance: dg.DagsterInstance, day: str) -> None:
    """One run of the day's partition of every dataset: what A does per chunk, per day."""
    _run(defs, ingest_keys(), day, day, instance)


def _run(defs: dg.Definitions, selection: list, first: str, last: str, instance) -> None:
    result = run_range(defs, selection, first, last, instance, {"pipeline/command": "bench"})
    if not result.success:
        raise RuntimeError(failure_message(result))


def b1_dagster_per_day(days: list[str]) -> dict[str, Any]:
    """Per day: ingestion runs, then one dbt run of that partition with `--vars` (the day's window)."""
    settings = Settings(os.environ)
    defs = airflow_style_defs(settings)
    graph = defs.resolve_asset_graph()
    dbt_keys = [k for k in graph.materializable_asset_keys if k not in ingest_keys()]
    with dg.DagsterInstance.get() as instance:

        def day_step(day: str) -> dict[str, float]:
            t = time.perf_counter()
            ingest_day(defs, instance, day)
            t_ingest = time.perf_counter() - t
            _run(defs, dbt_keys, day, day, instance)
            return {"ingest": t_ingest, "dbt": time.perf_counter() - t - t_ingest}

        return _loop(days, day_step)


def b2_plain_dbt_loop(days: list[str]) -> dict[str, Any]:
    """Per day: the same ingestion runs, then bare `dbt run --vars` and `dbt test --vars`."""
    from pipeline_assets.definitions import build_defs

    settings = Settings(os.environ)
    defs = build_defs()
    project_dir = dbt_project(settings).project_dir
    env = {
        **os.environ,
        "PIPELINE_DUCKDB_PATH": settings.location("PIPELINE_DUCKDB_PATH"),
        "DBT_PROFILES_DIR": str(project_dir),
    }
    with dg.DagsterInstance.get() as instance:

        def day_step(day: str) -> dict[str, float]:
            t = time.perf_counter()
            ingest_day(defs, instance, day)
            t_ingest = time.perf_counter() - t
            for command in (["run"], ["test", *NO_UNIT_TESTS]):
                done = subprocess.run(
                    [dbt_executable(), *command, "--vars", run_date_vars(day)],
                    cwd=project_dir,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"dbt {command[0]} for {day} failed:\n{done.stdout[-3000:]}")
            return {"ingest": t_ingest, "dbt": time.perf_counter() - t - t_ingest}

        return _loop(days, day_step)


def _loop(days: list[str], day_step: Callable[[str], dict[str, float]]) -> dict[str, Any]:
    """Run every day in order; the loop's own time is what scales with the number of days."""
    t = time.perf_counter()
    per_day = []
    for day in days:
        per_day.append(day_step(day))
        print(f"{day}: " + ", ".join(f"{k} {v:.1f}s" for k, v in per_day[-1].items()), flush=True)
    return {
        "days": len(days),
        "loop_seconds": time.perf_counter() - t,
        "ingest_seconds": sum(d["ingest"] for d in per_day),
        "dbt_seconds": sum(d["dbt"] for d in per_day),
    }
