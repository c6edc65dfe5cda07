"""A snapshot of the code location, so an accidental change to it shows in review.

Asset keys, groups, partitions, backfill policies, pools, automation, dependencies; checks
and whether they block; jobs, schedules, sensors and their default status; resources and
the executor; locally and as deployed (Snowflake on Kubernetes). A deliberate change updates
the snapshot: `pytest tests/test_definitions_snapshot.py --snapshot-update`, and the diff of
`tests/__snapshots__/` goes into the review.
"""

import dagster as dg
import pytest
from dagster._core.definitions.backfill_policy import BackfillPolicyType
from helpers import DEPLOYED

from pipeline_assets.definitions import build_defs
from pipeline_assets.instance import project_settings


def describe(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitions = node.partitions_def
        policy = node.backfill_policy
        condition = node.automation_condition
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": f"{type(partitions).__name__}(start={partitions.start:%Y-%m-%d}, "
            f"end_offset={partitions.end_offset}, timezone={partitions.timezone})",
            "backfill_policy": f"{policy.policy_type.value}"
            + (f"({policy.max_partitions_per_run})" if policy.max_partitions_per_run else ""),
            "pools": sorted(node.pools or []),
            "automation": condition.get_label() if condition else None,
            "freshness_policy": type(node.freshness_policy).__name__
            if node.freshness_policy
            else None,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(
                f"{c.name}{' (blocking)' if c.blocking else ''}"
                f"{' (per day)' if c.partitions_def else ''}"
                for c in map(graph.get_check_spec, node.check_keys)
            ),
        }
    return {
        "assets": assets,
        "jobs": sorted(job.name for job in defs.jobs or []),
        "schedules": {
            s.name: f"{s.cron_schedule} {s.execution_timezone} -> {s.job_name} "
            f"({s.default_status.value})"
            for s in sorted(defs.schedules or [], key=lambda s: s.name)
        },
        "sensors": {
            s.name: f"{type(s).__name__} ({s.default_status.value})"
            for s in sorted(defs.sensors or [], key=lambda s: s.name)
        },
        "resources": {k: type(v).__name__ for k, v in sorted((defs.resources or {}).items())},
        "executor": defs.executor.name,
    }


@pytest.mark.parametrize("where", ["local", "deployed"])
def test_the_code_location_matches_its_snapshot(where, monkeypatch, snapshot):
    if where == "deployed":
        for name, value in DEPLOYED.items():
            monkeypatch.setenv(name, value)
    assert describe(build_defs()) == snapshot


def test_deployed_ingestion_fans_out_in_bounded_runs_that_never_share_a_day(monkeypatch):
    """On Snowflake a backfill of ingestion is runs of 7 days, which the run queue starts in
    parallel (on Kubernetes, parallel jobs); the warehouse models stay one run per range.
    The instance settings keep two runs of the same day apart; locally it is one run."""
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    deployed = build_defs().resolve_asset_graph()
    policies = {
        k.to_user_string(): deployed.get(k).backfill_policy
        for k in deployed.materializable_asset_keys
    }
    ingest = {k: p for k, p in policies.items() if k.split("/")[0] in ("processing", "raw")}
    assert len(ingest) == 4
    for policy in ingest.values():
        assert policy.policy_type == BackfillPolicyType.MULTI_RUN
        assert policy.max_partitions_per_run == 7
    others = [p for k, p in policies.items() if k not in ingest]
    assert others and all(p.policy_type == BackfillPolicyType.SINGLE_RUN for p in others)
    assert build_defs().executor.name == "k8s"

    limits = project_settings()["concurrency"]["runs"]["tag_concurrency_limits"]
    keyed_by_day = {
        limit["key"]
        for limit in limits
        if limit["limit"] == 1 and limit["value"] == {"applyLimitPerUniqueValue": True}
    }
    assert keyed_by_day == {
        "dagster/partition",
        "dagster/asset_partition_range_start",
        "dagster/asset_partition_range_end",
    }

    for name in DEPLOYED:
        monkeypatch.delenv(name)
    local = build_defs().resolve_asset_graph()  # the same process, built anew: local now
    assert all(
        local.get(k).backfill_policy.policy_type == BackfillPolicyType.SINGLE_RUN
        for k in local.materializable_asset_keys
    )
