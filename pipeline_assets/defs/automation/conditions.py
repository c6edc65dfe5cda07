"""When the warehouse models run: a leaf module (it imports no other definitions).

A day of the dbt models and features runs once the day is complete (it is over and both
datasets were ingested after it ended) and its raw data passed its blocking checks; then
again whenever that day's inputs change (late or retracted files), within
`PIPELINE_AUTOMATION_LOOKBACK_DAYS`. Today's partition is ingested hour by hour, but its
marts wait for the day to end.

A blocking check that failed because of another asset's data heals without a manual step:
every check's parents are its asset or that asset's ancestors (dim_customers is a declared
parent of fct_orders, whose relationships test reads it), so when the missing customer lands,
the rule above rebuilds dim_customers and then fct_orders for that day; its test passes, and
what it held back (the summary, the features) follows.
"""

from datetime import timedelta

import dagster as dg

from pipeline_assets.lib.manifest import LANDING_COMPLETE

RAW_ASSETS = (dg.AssetKey(["raw", "orders"]), dg.AssetKey(["raw", "customers"]))


def landing_complete(instance: dg.DagsterInstance, asset: dg.AssetKey, partition: str) -> bool:
    """True if the asset's latest materialization of `partition` listed the day after it ended."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return False
    flag = records[0].asset_materialization.metadata.get(LANDING_COMPLETE)
    return bool(flag and flag.value)


def latest_materializations(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]
) -> dict[str, dg.EventLogRecord]:
    """Each day's latest materialization, in two queries whatever the number of days."""
    ids = instance.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(days)
    )
    if not ids:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())), limit=len(ids)
    ).records
    return {r.partition_key: r for r in records if r.partition_key}


class DayComplete(dg.AutomationCondition):
    """The day is over and every raw dataset was ingested after it ended."""

    @property
    def name(self) -> str:
        return "day_complete"

    @property
    def description(self) -> str:
        return "the day is over and its ingestion ran after it ended"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance = context.asset_graph_view.instance
        complete = {
            day
            for day in context.candidate_subset.expensively_compute_partition_keys()
            if all(landing_complete(instance, asset, day) for asset in RAW_ASSETS)
        }
        return dg.AutomationResult(
            context, context.candidate_subset.compute_intersection_with_partition_keys(complete)
        )


def warehouse_condition(lookback_days: int) -> dg.AutomationCondition:
    """eager(), widened to a lookback window, gated on blocking checks and a complete day."""
    return (
        dg.AutomationCondition.in_latest_time_window(timedelta(days=lookback_days))
        & (
            dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
        ).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        # Raw inputs must have passed their blocking checks; between dbt models, dbt build
        # itself skips whatever sits downstream of a failing test.
        & dg.AutomationCondition.all_deps_blocking_checks_passed().allow(
            dg.AssetSelection.groups("ingest")
        )
        # Last: it reads the event log, so it only looks at days the rest let through.
        & DayComplete()
    ).with_label(f"the day is complete (last {lookback_days} days), and something new")
