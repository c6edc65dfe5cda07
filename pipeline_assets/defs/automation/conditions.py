"""When the warehouse models run: a leaf module (it imports no other definitions).

A day of the dbt models and features runs once the day is complete (it is over and both
datasets were ingested after it ended) and its raw data passed its blocking checks; then
again whenever that day's inputs change (late or retracted files), within
`PIPELINE_AUTOMATION_LOOKBACK_DAYS`. Today's partition is ingested hour by hour, but its
marts wait for the day to end.

A blocking check that failed because of another asset's data heals without a manual step:
when a relationships test on fct_orders failed (an order naming a customer that no file
had) and the missing customer lands later, dim_customers is rebuilt by the rule above, and
`HealsFailedCheck` then re-runs fct_orders for the failed days, although its own inputs did
not change; its test passes, and what it held back (the summary, the features) follows.
"""

from datetime import timedelta

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,  # not exported by dagster; the history's status filter
)

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


class HealsFailedCheck(dg.AutomationCondition):
    """The day's latest build failed a blocking check that also reads another asset, and that
    asset was rebuilt after the failure: re-running this asset re-evaluates the check."""

    @property
    def name(self) -> str:
        return "heals_failed_check"

    @property
    def description(self) -> str:
        return "a blocking check failed on another asset's data, which changed since"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        graph, instance = context.asset_graph, context.asset_graph_view.instance
        nodes = [graph.get(ck) for ck in graph.get(context.key).check_keys]
        reads_others = [n for n in nodes if n.blocking and len(n.parent_entity_keys) > 1]
        failed: dict[str, list[tuple[float, set[dg.AssetKey]]]] = {}  # run -> failures
        for node in reads_others:
            others = set(node.parent_entity_keys) - {context.key}
            for record in instance.event_log_storage.get_asset_check_execution_history(
                node.key, limit=20, status={AssetCheckExecutionRecordStatus.FAILED}
            ):
                at = record.event.timestamp if record.event else record.create_timestamp
                failed.setdefault(record.run_id, []).append((at, others))
        healable = set()
        if failed:
            days = list(context.candidate_subset.expensively_compute_partition_keys())
            latest = latest_materializations(instance, context.key, days)
            updated = {
                key: event.timestamp
                for key in {k for runs in failed.values() for _, ks in runs for k in ks}
                if (event := instance.get_latest_materialization_event(key))
            }
            for day, record in latest.items():
                for at, others in failed.get(record.run_id, []):
                    if any(updated.get(key, 0) > at for key in others):
                        healable.add(day)
        return dg.AutomationResult(
            context, context.candidate_subset.compute_intersection_with_partition_keys(healable)
        )


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
            dg.AutomationCondition.newly_missing()
            | dg.AutomationCondition.any_deps_updated()
            | HealsFailedCheck()
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
