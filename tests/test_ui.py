"""The Dagster UI for real: `dagster dev` (webserver + daemon) and its GraphQL API.

As an operator would: launch a partition backfill of every asset for two days, poll it to
completion, then read the marts and the asset checks. Runs go through the real run queue,
run launcher and multiprocess executor, with the repo's example `dagster.yaml`.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from helpers import query

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

REPO = Path(__file__).parents[1]
DAYS = ("2024-01-01", "2024-01-02")
HOURLY = (["processing", "orders"], ["raw", "orders"])
pytestmark = pytest.mark.slow

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on Error { message }
  }
}
"""
ASSETS = """
query {
  assetNodes {
    assetKey { path }
    isPartitioned
    partitionStats { numMaterialized numFailed }
    assetChecksOrError {
      ... on AssetChecks {
        checks { name executionForLatestMaterialization { status runId } }
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
def dagster_dev(pipeline_env, monkeypatch):
    """`dagster dev -w workspace.yaml` on 127.0.0.1, automation off (runs only on request)."""
    shutil.copy(REPO / "dagster.yaml", pipeline_env.dagster_home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "PIPELINE_AUTOMATION": "off"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    with open(pipeline_env.root / "dagster-dev.log", "w") as log:
        server = subprocess.Popen(
            ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            graphql = GraphQL(f"http://127.0.0.1:{port}/graphql")
            deadline = time.monotonic() + 180
            while not _answers(graphql):
                assert server.poll() is None, (pipeline_env.root / "dagster-dev.log").read_text()
                assert time.monotonic() < deadline, "dagster dev did not answer"
                time.sleep(1)
            yield graphql
        finally:
            stop(server)


def stop(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL whatever is left after a minute."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def _answers(graphql: GraphQL) -> bool:
    try:
        return bool(graphql("{ version }")["version"])
    except OSError:
        return False


def test_backfill_two_days_through_graphql(pipeline_env, dagster_dev):
    graphql = dagster_dev
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2))

    nodes = graphql(ASSETS)["assetNodes"]
    by_asset = []
    for node in nodes:
        if node["isPartitioned"]:
            hourly = node["assetKey"]["path"] in HOURLY
            first, last = (f"{DAYS[0]}-00:00", f"{DAYS[1]}-23:00") if hourly else DAYS
            by_asset.append(
                {
                    "assetKey": node["assetKey"],
                    "partitions": {"range": {"start": first, "end": last}},
                }
            )
    launched = graphql(
        LAUNCH, {"params": {"partitionsByAssets": by_asset, "title": "ui test: two days"}}
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    deadline = time.monotonic() + 600
    while True:
        backfill = graphql(BACKFILL, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        assert time.monotonic() < deadline, f"backfill still {backfill['status']}"
        time.sleep(3)
    log = (pipeline_env.root / "dagster-dev.log").read_text()
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), log[-5000:]

    days = query(
        pipeline_env.duckdb,
        "select distinct order_date::varchar from marts.orders_daily_summary order by 1",
    )
    assert [d for (d,) in days] == list(DAYS)
    nodes = graphql(ASSETS)["assetNodes"]
    materialized = {
        "/".join(n["assetKey"]["path"]): n["partitionStats"]["numMaterialized"]
        for n in nodes
        if n["isPartitioned"]
    }
    expected = {key: 48 if key.split("/") in HOURLY else 2 for key in materialized}
    assert materialized == expected

    checks = {
        (".".join(node["assetKey"]["path"]), check["name"]): check[
            "executionForLatestMaterialization"
        ]
        for node in nodes
        for check in node["assetChecksOrError"].get("checks", [])
    }
    assert None not in checks.values(), "every check of the backfilled assets ran"
    data_checks = {k: ex["status"] for k, ex in checks.items() if k[1] != "freshness_check"}
    assert len(data_checks) >= 30
    failed = {k: status for k, status in data_checks.items() if status != "SUCCEEDED"}
    assert not failed, failed
    # The freshness checks judge "now" (2026), so 2024's marts are stale: a warning, by design.
    freshness = {k: ex["status"] for k, ex in checks.items() if k[1] == "freshness_check"}
    assert freshness == {
        ("marts.fct_orders", "freshness_check"): "FAILED",
        ("marts.orders_daily_summary", "freshness_check"): "FAILED",
    }
