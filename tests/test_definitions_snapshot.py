"""A snapshot of the code location, so an accidental change to it shows in review.

Asset keys, groups, partitions, backfill policies, pools, automation, dependencies; checks
and whether they block; jobs, schedules, sensors and their default status; resources and
the executor; locally and as deployed (Snowflake on Kubernetes). A deliberate change updates
the snapshot: `pytest tests/test_definitions_snapshot.py --snapshot-update`, and the diff of
`tests/__snapshots__/` goes into the review.
"""

import dagster as dg
import pytest

from pipeline_assets.definitions import build_defs

DEPLOYED = {
    "PIPELINE_TARGET": "prod",
    "PIPELINE_RUNS_ON": "kubernetes",
    "SNOWFLAKE_ACCOUNT": "dummy-account",
    "SNOWFLAKE_USER": "dummy-user",
    "SNOWFLAKE_DATABASE": "SHOP",
    "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "dummy",
}


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
