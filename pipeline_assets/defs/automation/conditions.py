"""When the warehouse models run: each reads only the datasets upstream of it.

A day of a dbt model or the features runs once the day is complete for it: the day is over,
and every landing dataset upstream of it (from the lineage, dbt's included) was ingested
after the day ended and passed its blocking checks on that load. Then again whenever that
day's inputs change (late or retracted files), within `PIPELINE_AUTOMATION_LOOKBACK_DAYS`.
A late or failing dataset holds back only its own descendants. Today's partition is
ingested hour by hour, but its marts wait for the day to end.

A blocking check that failed because of another asset's data heals without a manual step:
every check's parents are its asset or that asset's ancestors (dim_customers is a declared
parent of fct_orders, whose relationships test reads it), so when the missing customer lands,
the rule above rebuilds dim_customers and then fct_orders for that day; its test passes, and
what it held back (the summary, the features) follows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter  # not exported; see ready_days
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus as CheckStatus,
)

from pipeline_assets.defs.ingest.shared import DATASET_TAG, RAW_PREFIX
from pipeline_assets.lib.manifest import LANDING_COMPLETE

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph


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


def ready_days(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    checks: set[dg.AssetCheckKey],
    days: set[str],
) -> set[str]:
    """The days whose latest load of `key` listed the landing zone after the day ended and
    whose blocking checks on that load did not fail (a warning does not hold a day back).

    The checks' partition statuses come in one query; only a failed one is looked at again
    for its severity (the storage's per-partition history: Dagster exports no public query
    for a partitioned check's latest result).
    """
    complete = {
        day
        for day, record in latest_materializations(instance, key, sorted(days)).items()
        if (flag := record.asset_materialization.metadata.get(LANDING_COMPLETE)) and flag.value
    }
    if not complete or not checks:
        return complete
    storage = instance.event_log_storage
    for info in storage.get_asset_check_partition_info(list(checks), partition_keys=complete):
        day = info.partition_key
        if day not in complete:
            continue
        if not info.is_current or info.latest_execution_status == CheckStatus.PLANNED:
            complete.discard(day)  # its checks have not judged this load yet
        elif info.latest_execution_status == CheckStatus.FAILED:
            history = storage.get_asset_check_execution_history(
                info.check_key, limit=1, partition_filter=PartitionKeyFilter(key=day)
            )
            event = history[0].event.dagster_event if history and history[0].event else None
            evaluation = event.asset_check_evaluation_data if event else None
            if evaluation is None or evaluation.severity == dg.AssetCheckSeverity.ERROR:
                complete.discard(day)
    return complete


def landing_loads(graph: BaseAssetGraph, key: dg.AssetKey) -> list[dg.AssetKey]:
    """The raw loads of the landing datasets upstream of `key`."""
    return sorted(
        k
        for k in graph.get_ancestor_asset_keys(key)
        if k.path[0] == RAW_PREFIX and DATASET_TAG in graph.get(k).tags
    )


class DayComplete(dg.AutomationCondition):
    """The day is over, and every landing dataset upstream was loaded after it ended and
    passed its blocking checks."""

    @property
    def name(self) -> str:
        return "day_complete"

    @property
    def description(self) -> str:
        return (
            "the day is over, and every dataset it reads was ingested after it ended and "
            "passed its blocking checks"
        )

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance = context.asset_graph_view.instance
        graph = context.asset_graph
        days = set(context.candidate_subset.expensively_compute_partition_keys())
        for load in landing_loads(graph, context.key):
            if not days:
                break
            days = ready_days(instance, load, set(graph.get(load).check_keys), days)
        return dg.AutomationResult(
            context, context.candidate_subset.compute_intersection_with_partition_keys(days)
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
