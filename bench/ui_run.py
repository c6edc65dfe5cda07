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
from datetime import UTC, date, datetime, timedelta
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


LATE_ORDER = "o-late-for-the-benchmark"


def daemon_latency(landing: Path, orders_per_day: int, log: Path) -> dict[str, Any]:
    """Yesterday and the day before backfilled by the CLI; then `dagster dev` with
    automation on and the default sensor intervals; a late order lands in yesterday's
    hour 12; how long until `orders_daily_summary` shows it, and the stages on the way."""
    import duckdb

    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    first = yesterday - timedelta(days=1)
    env = {**os.environ, "PIPELINE_PARTITIONS_START": f"{first}", "PIPELINE_AUTOMATION": "on"}
    env.pop("PIPELINE_SENSOR_INTERVAL_SECONDS", None)  # the default
    seed_landing(
        LocalStore(landing), first, yesterday, orders_per_day, now=now.replace(tzinfo=None)
    )
    cli = [sys.executable, "-m", "pipeline_assets.cli"]
    subprocess.run(
        [*cli, "backfill", "--start", f"{first}", "--end", f"{yesterday}"], env=env, check=True
    )
    warehouse = os.environ["PIPELINE_DUCKDB_PATH"]
    with duckdb.connect(warehouse, read_only=True) as conn:  # a customer the marts know
        (customer,) = conn.execute("select min(customer_id) from marts.dim_customers").fetchone()
    summary = (
        "select coalesce(sum(total_orders), 0) from marts.orders_daily_summary "
        "where order_date = ? and customer_id = ?"
    )

    def orders_shown() -> int | None:
        try:
            with duckdb.connect(warehouse, read_only=True) as conn:
                return conn.execute(summary, [yesterday, customer]).fetchone()[0]
        except duckdb.Error:  # a writer holds the file: look again
            return None

    before = orders_shown()
    port = _free_port()
    with open(log, "w") as out:
        server = start_dagster_dev(port, env, out)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        _wait_until_answering(url, server, log)
        key = f"orders/date={yesterday}/hour=12/late-for-the-benchmark.csv"
        (landing / key).parent.mkdir(parents=True, exist_ok=True)
        landed_at = time.time()
        (landing / key).write_text(
            "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total\n"
            f"{LATE_ORDER},{customer},s01,{yesterday}T12:30:00,100,8,108\n"
        )
        deadline = landed_at + 600
        while (shown := orders_shown()) is None or shown == before:
            if time.time() > deadline:
                return {"status": f"timed out: the summary did not change (see {log})"}
            time.sleep(0.5)
        seen_at = time.time()
    finally:
        stop_dagster_dev(server)
    with dg.DagsterInstance.get() as instance:

        def run(trigger: str) -> Any:
            (record,) = instance.get_run_records(
                dg.RunsFilter(tags={"pipeline/trigger": trigger}), limit=1
            )
            return record

        ingest, warehouse_run = run("landing_zone_sensor"), run("warehouse_automation_sensor")
    created = ingest.create_timestamp.timestamp()
    wh_created = warehouse_run.create_timestamp.timestamp()
    return {
        "status": "ok",
        "interval_seconds": int(os.environ.get("PIPELINE_SENSOR_INTERVAL_SECONDS", "15")),
        "landed_to_mart_seconds": seen_at - landed_at,
        "stages": {
            "landing sensor tick, run created": created - landed_at,
            "ingest run queued and launched": ingest.start_time - created,
            "ingest run": ingest.end_time - ingest.start_time,
            "automation tick, run created": wh_created - ingest.end_time,
            "warehouse run queued and launched": warehouse_run.start_time - wh_created,
            "warehouse run to the summary's commit": seen_at - warehouse_run.start_time,
        },
    }


def _wait_until_answering(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            _graphql(url, "{ version }")
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"dagster dev did not answer (see {log})") from None
            time.sleep(1)
