"""customer_features, computed by an external process through Dagster Pipes.

The process (`pipeline_assets.features_job`) writes run-scoped outputs; this asset moves
each day's pointer only after the process succeeded and the bytes check out. That is the
whole atomicity story: a killed or failed run leaves the previous pointer, and its own
orphaned output is never read.
"""

import sys
from typing import Any

import dagster as dg

from pipeline_assets.defs.automation.conditions import warehouse_condition
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.defs.resources import WarehouseResource, ZoneResource, features_pod_spec
from pipeline_assets.lib.faults import FEATURES_BEFORE_POINTER, maybe_die
from pipeline_assets.lib.features import Output, pointer_key, publish
from pipeline_assets.lib.settings import present, setting

COMMAND = ["python", "-m", "pipeline_assets.features_job"]
# What the pod needs besides the Pipes extras: where S3 and Snowflake are (not who may use them)
POD_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
)
MART_INPUTS = [dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "dim_customers"])]


def _launch_options(client: dg.PipesClient) -> dict[str, Any]:
    """Where the process runs: a local subprocess, or a pod of the project's image that
    gets the non-secret settings as environment and the secrets from a Kubernetes secret."""
    if type(client).__name__ == "PipesK8sClient":  # without importing dagster_k8s locally
        return {
            "command": COMMAND,
            "image": setting("PIPELINE_FEATURES_IMAGE"),
            "namespace": setting("PIPELINE_K8S_NAMESPACE"),
            "env": present(POD_ENV),
            "base_pod_spec": features_pod_spec(
                setting("PIPELINE_FEATURES_CPU"),
                setting("PIPELINE_FEATURES_MEMORY"),
                setting("PIPELINE_K8S_SECRET"),
            ),
        }
    return {"command": [sys.executable, *COMMAND[1:]]}


@dg.asset(
    key=["features", "customer_features"],
    deps=MART_INPUTS,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),  # beta, kept: one run for a range
    pool="warehouse_writer",
    group_name="features",
    kinds={"python", "parquet"},
    owners=["team:data-science"],
    automation_condition=warehouse_condition(),
)
def customer_features(
    context: dg.AssetExecutionContext,
    pipes_client: dg.ResourceParam[dg.PipesClient],
    warehouse: WarehouseResource,
    features: ZoneResource,
) -> dg.MaterializeResult:
    """Per-customer order features as of each day, one Parquet file per day."""
    # The days travel as extras: Pipes' own partition context is empty for a range run.
    extras = {
        "days": context.partition_keys,
        "features_uri": features.uri,
        **warehouse.pipes_extras(),
    }
    # The process reads DuckDB; a writer of another run would make its connect fail.
    with warehouse.writer_lock():
        result = pipes_client.run(
            context=context, extras=extras, **_launch_options(pipes_client)
        ).get_materialize_result()
    store = features.store()
    outputs = [Output(**o) for o in result.metadata["outputs"].value]
    maybe_die(FEATURES_BEFORE_POINTER)
    for output in outputs:
        publish(store, output)
    return dg.MaterializeResult(
        metadata={
            **result.metadata,
            "days": len(outputs),
            "pointers": dg.MetadataValue.json(
                [f"{store.uri}/{pointer_key(o.day)}" for o in outputs]
            ),
        }
    )
