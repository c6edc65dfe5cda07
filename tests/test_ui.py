"""The Dagster UI for real: `dagster dev` (webserver + daemon) driven by a browser.

As an operator would, in Chromium (see `browser.py`): open the lineage page, click
"Materialize all", choose two days, "Launch backfill". Then, waiting through the GraphQL
API, poll the backfill to completion and read the marts and the asset checks. Runs go
through the real run queue, run launcher and multiprocess executor, with the repo's example
`dagster.yaml`.

Screenshots of each step go to the test's tmp dir and, when PIPELINE_SCREENSHOTS names a
folder, there too (for the docs).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from browser import DagsterUI, Screenshots, chromium_page, require_chromium
from helpers import fingerprints, query

from bench.ui_run import start_dagster_dev, stop_dagster_dev
from pipeline_assets.definitions import build_defs
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import run_range

SUMMARY_DAY = (
    "select count(*), sum(hash(t)) from marts.orders_daily_summary t where order_date = ?::date"
)
DAYS = ("2024-01-01", "2024-01-02")
BACKFILL_TIMEOUT_S = 900
pytestmark = pytest.mark.slow

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      isAssetBackfill
      assetSelection { path }
      assetBackfillData {
        rootTargetedPartitions { partitionKeys ranges { start end } }
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts {
            assetKey { path }
            numPartitionsTargeted
            numPartitionsMaterialized
            numPartitionsFailed
          }
        }
      }
      runs(limit: 100) { runId status }
    }
    ... on Error { message }
  }
}
"""
ASSETS = """
query {
  assetNodes {
    assetKey { path }
    isPartitioned
    isMaterializable
    partitionStats { numMaterialized numFailed }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization { status runId }
          partitionStatuses {
            __typename
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
          }
        }
      }
    }
  }
}
"""


LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
CHECK = """
query Check($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) {
    status
    evaluation {
      description
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on MarkdownMetadataEntry { mdStr }
      }
    }
  }
}
"""


class GraphQL:
    def __init__(self, url: str):
        self.url = url

    def __call__(self, document: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": document, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chromium():
    """Skip without /usr/bin/chromium, unless under CI, where that is a failure."""
    require_chromium()


@pytest.fixture
def dagster_dev(request, pipeline_env, monkeypatch):
    """`dagster dev -w workspace.yaml` on 127.0.0.1, automation off (runs only on request),
    on an instance the CLI set up (`pipeline instance`), as `make dev` does. Indirect
    parameters add settings to its environment."""
    port = _free_port()
    env = {**os.environ, "PIPELINE_AUTOMATION": "off", **getattr(request, "param", {})}
    setup = [sys.executable, "-m", "pipeline_assets.cli", "instance"]
    subprocess.run(setup, env=env, check=True, capture_output=True, timeout=120)
    with open(pipeline_env.root / "dagster-dev.log", "w") as log:
        server = start_dagster_dev(port, env, log)
        try:
            graphql = GraphQL(f"http://127.0.0.1:{port}/graphql")
            deadline = time.monotonic() + 180
            while not _answers(graphql):
                assert server.poll() is None, (pipeline_env.root / "dagster-dev.log").read_text()
                assert time.monotonic() < deadline, "dagster dev did not answer"
                time.sleep(1)
            # The UI greets a fresh instance on localhost with a "Join the Dagster community"
            # dialog a second after load, which can close a menu mid-click: mark it seen.
            assert graphql("mutation { setNuxSeen }")["setNuxSeen"]
            yield graphql
        finally:
            stop_dagster_dev(server)


INGEST = ("processing/order_files", "raw/orders", "processing/customer_files", "raw/customers")


@pytest.mark.parametrize("dagster_dev", [{"PIPELINE_INGEST_DAYS_PER_RUN": "1"}], indirect=True)
def test_a_multi_run_backfill_queues_on_the_writer_and_equals_one_run(
    pipeline_env, dagster_dev, tmp_path, monkeypatch
):
    """Ingestion split into one run per day, launched by the daemon at once: the runs take
    turns on the warehouse (the one-slot pool and the file lock) and end as one run would."""
    graphql = dagster_dev
    days = ("2024-01-01", "2024-01-03")
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 3), 100)
    params = {
        "assetSelection": [{"path": a.split("/")} for a in INGEST],
        "partitionNames": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "fromFailure": False,
    }
    launched = graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = _wait_for_backfill(
        graphql, launched["backfillId"], pipeline_env.root / "dagster-dev.log"
    )
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    runs = backfill["runs"]
    assert len(runs) == 3 and {r["status"] for r in runs} == {"SUCCESS"}, runs  # a run a day
    multi = fingerprints(pipeline_env.duckdb)

    for name, path in (("PIPELINE_DUCKDB_PATH", "one.duckdb"), ("PIPELINE_PROCESSING_URI", "one")):
        monkeypatch.setenv(name, str(tmp_path / path))
    keys = [dg.AssetKey(a.split("/")) for a in INGEST]
    one = run_range(build_defs(), keys, *days, dg.DagsterInstance.ephemeral())
    assert one.success
    assert multi == fingerprints(tmp_path / "one.duckdb")


INSTANCE = """
query {
  instance {
    runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml }
    poolConfig { poolGranularity defaultPoolLimit }
    daemonHealth { allDaemonStatuses { daemonType required } }
  }
}
"""


def test_the_cli_installs_the_instance_settings_dagster_dev_runs_with(pipeline_env, dagster_dev):
    """The settings `pipeline instance` merged into DAGSTER_HOME are what dagster dev runs."""
    instance = dagster_dev(INSTANCE)["instance"]
    assert instance["runQueueConfig"]["maxConcurrentRuns"] == 4
    limits = yaml.safe_load(instance["runQueueConfig"]["tagConcurrencyLimitsYaml"])
    assert [limit["key"] for limit in limits] == [
        "dagster/partition",
        "dagster/asset_partition_range_start",
        "dagster/asset_partition_range_end",
    ]
    assert all(limit["limit"] == 1 and limit["value"] for limit in limits)
    assert instance["poolConfig"] == {"poolGranularity": "op", "defaultPoolLimit": 1}
    daemons = {
        d["daemonType"] for d in instance["daemonHealth"]["allDaemonStatuses"] if d["required"]
    }
    assert {"QUEUED_RUN_COORDINATOR", "MONITORING", "ASSET"} <= daemons, daemons
    # and conftest's own file (telemetry only) was merged, not replaced
    config = yaml.safe_load((pipeline_env.dagster_home / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False} and config["run_retries"]["enabled"]


def _answers(graphql: GraphQL) -> bool:
    try:
        return bool(graphql("{ version }")["version"])
    except OSError:
        return False


def _wait_for_backfill(graphql: GraphQL, backfill_id: str, log: Path) -> dict:
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while True:
        backfill = graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            return backfill
        assert time.monotonic() < deadline, (
            f"backfill still {backfill['status']}\n" + log.read_text()[-5000:]
        )
        time.sleep(3)


def _days(first: str, last: str) -> set[str]:
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    days = set()
    while day <= end:
        days.add(day.isoformat())
        day += timedelta(days=1)
    return days


@pytest.mark.timeout(BACKFILL_TIMEOUT_S + 600)
def test_backfill_two_days_from_the_ui(chromium, pipeline_env, dagster_dev, tmp_path):
    graphql = dagster_dev
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2))
    nodes = graphql(ASSETS)["assetNodes"]
    assets = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isMaterializable"]}
    assert all(n["isPartitioned"] for n in nodes if n["isMaterializable"]), nodes
    log = pipeline_env.root / "dagster-dev.log"
    base_url = graphql.url.removesuffix("/graphql")
    folders = [tmp_path / "screenshots", os.environ.get("PIPELINE_SCREENSHOTS")]
    shots = Screenshots(*folders)

    with chromium_page(tmp_path / "chromium-profile") as page:
        ui = DagsterUI(page, base_url)
        try:
            ui.open_lineage(("customer_features", "fct_orders", "dim_customers"))
            shots(page, "ui-01-lineage")

            dialog = ui.open_materialize_all()
            ui.expect(dialog).to_contain_text(f"Launch runs to materialize {len(assets)} assets")
            ui.choose_partition_range(dialog, *DAYS, count=len(DAYS))
            shots(page, "ui-02-launch-dialog")

            backfill_id = ui.launch_backfill(dialog)
            ui.open_backfill_from_toast(backfill_id)
            shots(page, "ui-03-backfill-started")

            backfill = _wait_for_backfill(graphql, backfill_id, log)

            ui.open_backfill_from_runs(backfill_id)
            if backfill["status"] == "COMPLETED_SUCCESS":
                ui.expect_backfill_page_done(*DAYS, assets=len(assets))
            shots(page, "ui-04-backfill-completed")
        except Exception:
            Screenshots(tmp_path / "screenshots")(page, "ui-failure")
            raise

    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), log.read_text()[-5000:]
    # What the clicks asked for: every asset, the two days, as one asset backfill.
    assert backfill["isAssetBackfill"]
    assert {"/".join(a["path"]) for a in backfill["assetSelection"]} == assets
    targeted = backfill["assetBackfillData"]["rootTargetedPartitions"]
    assert targeted["ranges"] == [{"start": DAYS[0], "end": DAYS[1]}], targeted
    statuses = {
        "/".join(s["assetKey"]["path"]): (
            s["numPartitionsTargeted"],
            s["numPartitionsMaterialized"],
            s["numPartitionsFailed"],
        )
        for s in backfill["assetBackfillData"]["assetBackfillStatuses"]
    }
    assert statuses == dict.fromkeys(assets, (2, 2, 0))
    runs = {run["runId"]: run["status"] for run in backfill["runs"]}
    assert "SUCCESS" in runs.values(), runs

    days = query(
        pipeline_env.duckdb,
        "select distinct order_date::varchar from marts.orders_daily_summary order by 1",
    )
    assert [d for (d,) in days] == list(DAYS)

    nodes = graphql(ASSETS)["assetNodes"]
    materialized = {
        "/".join(n["assetKey"]["path"]): n["partitionStats"]["numMaterialized"]
        for n in nodes
        if n["isMaterializable"]
    }
    assert materialized == dict.fromkeys(assets, 2)

    # Every data check (blocking or not) passed for both days. The freshness checks judge
    # "now", long after 2024, so they are left out.
    checks = {
        (".".join(node["assetKey"]["path"]), check["name"]): check
        for node in nodes
        for check in node["assetChecksOrError"].get("checks", [])
        if "freshness" not in check["name"]
    }
    assert len(checks) >= 30, sorted(checks)  # dbt's tests and the loads' own checks
    results = {}
    for key, check in checks.items():
        per_day = check["partitionStatuses"]
        if per_day is not None:  # a partitioned check: its status per day
            by_status: dict[str, set[str]] = {}
            for r in per_day.get("ranges", []):
                by_status.setdefault(r["status"], set()).update(_days(r["startKey"], r["endKey"]))
            results[key] = by_status
        else:  # a check of the latest materialization: that of the backfill
            execution = check["executionForLatestMaterialization"] or {}
            results[key] = (execution.get("status"), execution.get("runId") in runs)
    expected = {
        key: {"SUCCEEDED": set(DAYS)}
        if check["partitionStatuses"] is not None
        else ("SUCCEEDED", True)
        for key, check in checks.items()
    }
    assert results == expected

    # A daemon-launched run with bad data: an order for a customer that exists nowhere
    # fails the multi-parent relationships test, which must block the summary and features.
    ghost = "orders/date=2024-01-02/hour=12/ghost.csv"
    (pipeline_env.landing / ghost).parent.mkdir(parents=True, exist_ok=True)
    (pipeline_env.landing / ghost).write_text(
        "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total\n"
        "o-ghost,c-ghost,s01,2024-01-02T12:00:00,100,8,108\n"
    )
    summary_before = query(pipeline_env.duckdb, SUMMARY_DAY, [DAYS[1]])
    params = {
        "assetSelection": [{"path": a.split("/")} for a in sorted(assets)],
        "partitionNames": [DAYS[1]],
        "fromFailure": False,
    }
    launched = graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    bad = _wait_for_backfill(graphql, launched["backfillId"], log)
    assert bad["status"] in ("COMPLETED_FAILED", "FAILED"), bad["status"]
    assert query(pipeline_env.duckdb, SUMMARY_DAY, [DAYS[1]]) == summary_before
    assert query(
        pipeline_env.duckdb, "select count(*) from marts.fct_orders where order_id = 'o-ghost'"
    ) == [(1,)]
    counts = {
        "/".join(s["assetKey"]["path"]): (s["numPartitionsMaterialized"], s["numPartitionsFailed"])
        for s in bad["assetBackfillData"]["assetBackfillStatuses"]
    }
    assert counts["marts/fct_orders"] == (1, 0)
    assert counts["marts/orders_daily_summary"] == (0, 1)
    assert counts["features/customer_features"] == (0, 1)
    (execution,) = graphql(
        CHECK,
        {
            "key": {"path": ["marts", "fct_orders"]},
            "name": "customer_id__in_dim_customers",
        },
    )["assetCheckExecutions"]
    assert execution["status"] == "FAILED"
    evaluation = execution["evaluation"]
    assert evaluation["description"] == (
        "1 failing row: order_id=o-ghost customer_id=c-ghost order_date=2024-01-02"
    )
    entries = {e["label"]: e for e in evaluation["metadataEntries"]}
    assert entries["failing_rows"]["intValue"] == 1
    assert "| o-ghost | c-ghost | 2024-01-02 |" in entries["failing_rows_sample"]["mdStr"]
