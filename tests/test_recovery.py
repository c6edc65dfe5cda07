"""The first week of an operator, for real: a bad row lands, is seen with its cause, is fixed
by landing data, and automation heals it, with no manual step.

`dagster dev` runs with its daemon and automation on (the landing sensor, the warehouse
automation, the failure alerts), on the instance the CLI backfilled. An order naming a
customer that no file has lands for yesterday: the sensor ingests it, automation builds the
day, the relationships test fails naming the row (seen in Chromium on the check's page),
an alert with the cause is written. Then the missing customer lands: automation rebuilds
dim_customers, re-runs fct_orders (whose own inputs did not change) so the check is
evaluated again, and builds what it held back. Every check ends green. The test only lands
files and watches.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from browser import Screenshots, chromium_page, require_chromium
from helpers import query
from services import dagster_dev, free_port, pipeline

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

TIMEOUT_S = 600
GHOST = "o-ghost"
CHECK = "customer_id__in_dim_customers"

CHECK_STATUS = """
query Check($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) {
    status
    runId
    evaluation { description }
  }
}
"""
CHECKS = """
query {
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization { status }
        }
      }
    }
  }
}
"""
RUNS = """
query {
  runsOrError(limit: 50) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""


def wait_for(what: str, predicate, log, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n" + log()[-4000:]
        time.sleep(2)


@pytest.mark.slow
def test_a_bad_row_is_seen_fixed_by_a_later_file_and_healed_by_automation(
    pipeline_env, tmp_path, monkeypatch
):
    require_chromium()
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).date()
    first = yesterday - timedelta(days=1)
    monkeypatch.setenv("PIPELINE_PARTITIONS_START", f"{first}")
    monkeypatch.setenv("PIPELINE_SENSOR_INTERVAL_SECONDS", "5")
    port = free_port()
    monkeypatch.setenv("PIPELINE_UI_URL", f"http://127.0.0.1:{port}")
    seed_landing(
        LocalStore(pipeline_env.landing), first, yesterday, 40, now=now.replace(tzinfo=None)
    )
    done = pipeline("backfill", "--start", f"{first}", "--end", f"{yesterday}")
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = pipeline_env.root / "alerts.jsonl"
    dev_log = pipeline_env.root / "dagster-dev.log"
    shots = Screenshots(tmp_path / "screenshots", os.environ.get("PIPELINE_SCREENSHOTS"))
    fct = {"path": ["marts", "fct_orders"]}

    env = {**os.environ, "PIPELINE_AUTOMATION": "on"}
    command = ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with dagster_dev(command, port, env, dev_log) as graphql:
        assert graphql("mutation { setNuxSeen }")["setNuxSeen"]

        def latest_check() -> dict:
            (execution,) = graphql(CHECK_STATUS, {"key": fct, "name": CHECK})[
                "assetCheckExecutions"
            ] or [{}]
            return execution

        # 1. The bad row lands; nothing else is done by hand from here on.
        pipeline_env.write(
            f"orders/date={yesterday}/hour=12/ghost.csv",
            "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total\n"
            f"{GHOST},c-ghost,s01,{yesterday}T12:00:00,100,8,108\n",
        )
        failed = wait_for(
            "the relationships test to fail",
            lambda: (e := latest_check()).get("status") == "FAILED" and e,
            dev_log.read_text,
        )
        assert failed["evaluation"]["description"] == (
            f"1 failing row: order_id={GHOST} customer_id=c-ghost order_date={yesterday}"
        )
        summary_day = "select count(*) from marts.orders_daily_summary where customer_id = ?"
        assert query(pipeline_env.duckdb, summary_day, ["c-ghost"]) == [(0,)]  # held back

        # 2. The alert says what failed, for which day, why, and where to look.
        record = wait_for(
            "the failure alert",
            lambda: alerts.exists() and [json.loads(x) for x in alerts.read_text().splitlines()],
            dev_log.read_text,
        )[0]
        assert record["days"] == f"{yesterday}"
        assert f"order_id={GHOST} customer_id=c-ghost" in record["error"], record
        assert "Traceback" not in record["error"] and "compute logs" not in record["error"]
        assert record["run_url"] == f"http://127.0.0.1:{port}/runs/{failed['runId']}"
        assert record["trigger"] == "warehouse_automation_sensor"

        # 3. The operator sees it in the UI: the check, red, naming the row.
        with chromium_page(tmp_path / "chromium") as page:
            page.goto(f"http://127.0.0.1:{port}/assets/marts/fct_orders?view=checks")
            page.get_by_text(CHECK, exact=True).first.click()
            page.get_by_text(f"order_id={GHOST}").first.wait_for()
            shots(page, "ui-check-failed")

            # 4. The fix lands: the missing customer, in its day's customers folder.
            pipeline_env.write(
                f"customers/date={yesterday}/late.csv", "customer_id,name\nc-ghost,Ghost\n"
            )
            healed = wait_for(
                "automation to heal the check",
                lambda: (e := latest_check()).get("status") == "SUCCEEDED" and e,
                dev_log.read_text,
            )
            assert healed["runId"] != failed["runId"]
            wait_for(
                "the held-back summary",
                lambda: query(pipeline_env.duckdb, summary_day, ["c-ghost"]) == [(1,)],
                dev_log.read_text,
            )
            page.reload()
            page.get_by_text(CHECK, exact=True).first.click()
            page.get_by_text("Succeeded").first.wait_for()
            shots(page, "ui-check-healed")

        # 5. Every check is green, and every run after the CLI's was automation's.
        nodes = graphql(CHECKS)["assetNodes"]
        statuses = {
            ("/".join(n["assetKey"]["path"]), c["name"]): (
                c["executionForLatestMaterialization"] or {}
            ).get("status")
            for n in nodes
            for c in n["assetChecksOrError"].get("checks", [])
            if "freshness" not in c["name"]
        }
        assert {k: v for k, v in statuses.items() if v != "SUCCEEDED"} == {}
        runs = graphql(RUNS)["runsOrError"]["results"]
        triggers = {
            next(
                (
                    t["value"]
                    for t in r["tags"]
                    if t["key"] in ("pipeline/trigger", "pipeline/command")
                ),
                None,
            )
            for r in runs
        }
        assert triggers <= {"backfill", "landing_zone_sensor", "warehouse_automation_sensor"}, (
            triggers
        )
        # Every run says its days in the runs list, automation's too (the instance's run
        # coordinator adds what the automation sensor's static tags cannot).
        tags = [{t["key"]: t["value"] for t in r["tags"]} for r in runs]
        automation = [t for t in tags if t.get("pipeline/trigger") == "warehouse_automation_sensor"]
        assert len(automation) >= 2, tags  # the failed build and the healing one(s)
        days = {f"{yesterday}", f"{first}", f"{first}..{yesterday}"}
        assert {t.get("pipeline/days") for t in tags} <= days, tags
