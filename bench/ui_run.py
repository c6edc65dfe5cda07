"""A one-day run of every asset launched as from the UI: `dagster dev`, its GraphQL API, the
run queue and the daemon's run launcher, exactly the path a person's click takes.

Reported: the run's own duration (RUN_START to RUN_SUCCESS, what the in-process executor
and the work cost), its time in the queue, and the time from the launch to its end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import IO, Any

import dagster as dg

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

ASSETS = "query { assetNodes { assetKey { path } isMaterializable } }"
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 10) { runId } }
  }
}
"""


def _default_sigint() -> None:
    """Let `dagster dev` stop on SIGTERM even when started from a background shell job.

    Such a job inherits SIGINT ignored, and Dagster's processes handle SIGTERM as they
    handle SIGINT: the server and daemon would then ignore it and wait out the SIGKILL.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_dagster_dev(port: int, env: dict[str, str], log: IO[str]) -> subprocess.Popen:
    """`dagster dev -w workspace.yaml` on 127.0.0.1 from the checkout, with this venv's
    executables first on PATH, in its own process group (see `stop_dagster_dev`)."""
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
    return subprocess.Popen(
        ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def stop_dagster_dev(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL whatever is left after a minute."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def _graphql(url: str, document: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": document, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    if "errors" in payload:
        raise RuntimeError(payload["errors"])
    return payload["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ui_one_day_run(landing: Path, orders_per_day: int, log: Path) -> dict[str, Any]:
    """Seed one day, start dagster dev, launch all assets for it through GraphQL, time it."""
    day = date(2024, 1, 1)
    seed_landing(LocalStore(landing), day, day, orders_per_day)
    subprocess.run([sys.executable, "-m", "pipeline_assets.cli", "instance"], check=True)
    port = _free_port()
    with open(log, "w") as out:
        server = start_dagster_dev(port, {**os.environ, "PIPELINE_AUTOMATION": "off"}, out)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                nodes = _graphql(url, ASSETS)["assetNodes"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"dagster dev did not answer (see {log})") from None
                time.sleep(1)
        keys = [n["assetKey"] for n in nodes if n["isMaterializable"]]
        params = {"assetSelection": keys, "partitionNames": [f"{day}"], "fromFailure": False}
        launched_at = time.time()
        launched = _graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]
        backfill_id = launched["backfillId"]
        while True:
            backfill = _graphql(url, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
            if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(0.5)
        finished_at = time.time()
    finally:
        stop_dagster_dev(server)
    with dg.DagsterInstance.get() as instance:
        runs = []
        for run in backfill["runs"]:
            record = instance.get_run_record_by_id(run["runId"])
            stats = instance.get_run_stats(run["runId"])
            runs.append(
                {
                    "status": record.dagster_run.status.value,
                    "queued_seconds": stats.launch_time - record.create_timestamp.timestamp()
                    if stats.launch_time
                    else None,
                    "run_seconds": stats.end_time - stats.start_time,
                    "assets": len(record.dagster_run.asset_selection or keys),
                }
            )
    return {
        "status": backfill["status"],
        "assets": len(keys),
        "runs": runs,
        "launch_to_end_seconds": finished_at - launched_at,
    }
