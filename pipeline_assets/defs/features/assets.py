"""customer_features, computed by an external process through Dagster Pipes.

The process (`pipeline_assets.features_job`) writes run-scoped outputs; this asset moves
each day's pointer only after the process succeeded and the bytes check out. That is the
whole atomicity story: a killed or failed run leaves the previous pointer, and its own
orphaned output is never read.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.partitions import WAITING, WAITING_TEXT, daily_partitions
from pipeline_assets.defs.resources import FeaturesPodResource, ZoneResource
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.contract import complete_until
from pipeline_assets.lib.features import Output, pointer_key, publish
from pipeline_assets.lib.settings import Settings

COMMAND = ["python", "-m", "pipeline_assets.features_job"]
MART_INPUTS = [dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "dim_customers"])]


def launch_options(client: dg.PipesClient, pod: FeaturesPodResource) -> dict[str, Any]:
    """Where the process runs: a local subprocess, or a pod of the project's image."""
    if type(client).__name__ == "PipesK8sClient":  # without importing dagster_k8s locally
        return pod.launch_options(COMMAND)
    return {"command": [sys.executable, *COMMAND[1:]]}


def run_features_process(
    context: dg.AssetExecutionContext,
    pipes_client: dg.PipesClient,
    pod: FeaturesPodResource,
    extras: dict[str, Any],
) -> dg.MaterializeResult:
    """The external process, to its end: what it reported."""
    return pipes_client.run(
        context=context, extras=extras, **launch_options(pipes_client, pod)
    ).get_materialize_result()


@contextmanager
def _cause_said(context: dg.AssetExecutionContext) -> Iterator[None]:
    """The external process's own exception as the step's error, not only its exit code."""
    try:
        yield
    except Exception:
        records = context.instance.get_records_for_run(
            context.run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, ascending=False
        ).records
        for record in records:  # Pipes logs the process's exception as an engine event
            data = record.event_log_entry.dagster_event.engine_event_data
            if data and data.error and "[pipes]" in (record.event_log_entry.message or ""):
                cause = data.error.message.strip()
                raise dg.Failure(description=f"the features process failed: {cause}") from None
        raise


def build_features_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=["features", "customer_features"],
        deps=MART_INPUTS,
        partitions_def=daily_partitions(settings),
        backfill_policy=dg.BackfillPolicy.single_run(),  # beta, kept: one run for a range
        pool="warehouse_writer",
        group_name="features",
        kinds={"python", "parquet"},
        owners=["team:data-science"],
        automation_condition=warehouse_condition(
            settings.integer("PIPELINE_AUTOMATION_LOOKBACK_DAYS")
        ),
    )
    def customer_features(
        context: dg.AssetExecutionContext,
        pipes_client: dg.ResourceParam[dg.PipesClient],
        warehouse: WarehouseResource,
        features: ZoneResource,
        features_pod: FeaturesPodResource,
    ) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
        """Per-customer order features as of each day, one Parquet file per day."""
        store = features.store()
        until = f"{complete_until(datetime.now(UTC)):%Y-%m-%d}"
        days = [pk for pk in context.partition_keys if pk < until]
        for pk in context.partition_keys:
            if pk >= until:  # in the run's range, but built once the day is over
                context.add_asset_metadata({WAITING: WAITING_TEXT}, partition_key=pk)
        if not days:
            yield dg.MaterializeResult(metadata={"days": 0})
            return
        # The days travel as extras: Pipes' own partition context is empty for a range run.
        extras = {"days": days, "features_uri": features.uri, **warehouse.pipes_extras()}
        # The process reads DuckDB; a writer of another run would make its connect fail.
        with warehouse.writer_lock(), _cause_said(context):
            result = run_features_process(context, pipes_client, features_pod, extras)
        outputs = [Output(**o) for o in result.metadata["outputs"].value]
        for output in outputs:
            publish(store, output)
        for output in outputs:
            if output.day not in context.partition_keys:  # an earlier correction reached it
                yield dg.AssetMaterialization(
                    context.asset_key,
                    partition=output.day,
                    metadata={
                        "rows": output.rows,
                        "sha256": output.sha256,
                        "republished": "its inputs changed since it was published (a correction "
                        "on this day or before it); recomputed by this run",
                    },
                )
        yield dg.MaterializeResult(
            metadata={
                **result.metadata,
                "days": len(outputs),
                "pointers": dg.MetadataValue.json(
                    [f"{store.uri}/{pointer_key(o.day)}" for o in outputs]
                ),
            }
        )

    return customer_features
