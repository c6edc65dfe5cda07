"""The Dagster UI for real: `dagster dev` (webserver + daemon) driven by a browser.

As an operator would, in Chromium (see `browser.py`): open the lineage page, click
"Materialize all", choose two days, "Launch backfill". Then, waiting through the GraphQL
API, poll the backfill to completion and read the marts and the asset checks. Runs go
through the real run queue, run launcher and multiprocess executor, with the repo's example
`dagster.yaml`.

Screenshots of each step go to the test's tmp dir and, when PIPELINE_SCREENSHOTS names a
folder, there too (for the docs).
"""

import os
import re
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from browser import DagsterUI, Screenshots, chromium_page, require_chromium
from conftest import PipelineEnv
from helpers import fingerprints, query
from services import GraphQL, dagster_dev, free_port

from pipeline_assets.definitions import build_defs
from pipeline_assets.instance import ensure_instance
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import run_range

SUMMARY_DAY = (
    "select count(*), sum(hash(t)) from marts.orders_daily_summary t where order_date = ?::date"
)
DAYS = ("2024-01-01", "2024-01-02")
BACKFILL_TIMEOUT_S = 900

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
      runs(limit: 100) { runId status tags { key value } }
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `dagster dev -w workspace.yaml` for the module, automation off (runs only on
    request), on an instance with the project's settings, as `make dev` sets up (its run
    queue, pools and run coordinator); ingestion backfills split
    into one run per day (PIPELINE_INGEST_DAYS_PER_RUN=1), so the daemon's runs take turns
    on the warehouse. The landing zone holds three seeded days."""
    env = PipelineEnv(tmp_path_factory.mktemp("ui"))
    settings = {
        "PIPELINE_LANDING_URI": env.landing,
        "PIPELINE_PROCESSING_URI": env.processing,
        "PIPELINE_DUCKDB_PATH": env.duckdb,
        "PIPELINE_FEATURES_URI": env.features,
        "PIPELINE_LOG_DIR": env.root / "logs",
        "PIPELINE_ALERTS_FILE": env.root / "alerts.jsonl",
        "DAGSTER_HOME": env.dagster_home,
        "PIPELINE_TARGET": "dev",
        "PIPELINE_AUTOMATION": "off",
        "PIPELINE_INGEST_DAYS_PER_RUN": "1",
        # Not the documented defaults, so a knob's configured value can be told from them.
        "PIPELINE_QUARANTINE_WARN_RATE": "0.25",
        "PIPELINE_QUARANTINE_FAIL_RATE": "0.75",
    }
    seed_landing(LocalStore(env.landing), date(2024, 1, 1), date(2024, 1, 3), 200)
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, str(value))
        ensure_instance(env.dagster_home)  # what `make dev` runs first (`pipeline instance`)
        log = env.root / "dagster-dev.log"
        command = ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
        with dagster_dev(command, port, dict(os.environ), log) as graphql:
            # The UI greets a fresh instance on localhost with a "Join the Dagster community"
            # dialog a second after load, which can close a menu mid-click: mark it seen.
            assert graphql("mutation { setNuxSeen }")["setNuxSeen"]
            env.graphql, env.log = graphql, log
            yield env


INGEST = ("processing/order_files", "raw/orders", "processing/customer_files", "raw/customers")


@pytest.mark.slow
def test_a_multi_run_backfill_queues_on_the_writer_and_equals_one_run(
    server, tmp_path, monkeypatch
):
    """Ingestion split into one run per day, launched by the daemon at once: the runs take
    turns on the warehouse (the one-slot pool and the file lock) and end as one run would."""
    graphql = server.graphql
    days = ("2024-01-01", "2024-01-03")
    params = {
        "assetSelection": [{"path": a.split("/")} for a in INGEST],
        "partitionNames": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "fromFailure": False,
    }
    launched = graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = _wait_for_backfill(graphql, launched["backfillId"], server.log)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    runs = backfill["runs"]
    assert len(runs) == 3 and {r["status"] for r in runs} == {"SUCCESS"}, runs  # a run a day
    tagged = [{t["key"]: t["value"] for t in r["tags"]}.get("pipeline/days") for r in runs]
    assert sorted(tagged) == params["partitionNames"]  # the daemon's runs say their day
    multi = fingerprints(server.duckdb)

    for name, path in (("PIPELINE_DUCKDB_PATH", "one.duckdb"), ("PIPELINE_PROCESSING_URI", "one")):
        monkeypatch.setenv(name, str(tmp_path / path))
    keys = [dg.AssetKey(a.split("/")) for a in INGEST]
    one = run_range(build_defs(), keys, *days, dg.DagsterInstance.ephemeral())
    assert one.success
    assert multi == fingerprints(tmp_path / "one.duckdb")


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


@pytest.mark.slow
@pytest.mark.timeout(BACKFILL_TIMEOUT_S + 600)
def test_backfill_two_days_from_the_ui(server, tmp_path):
    require_chromium()
    graphql = server.graphql
    nodes = graphql(ASSETS)["assetNodes"]
    assets = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isMaterializable"]}
    assert all(n["isPartitioned"] for n in nodes if n["isMaterializable"]), nodes
    log = server.log
    base_url = graphql.url.removesuffix("/graphql")
    folders = [tmp_path / "screenshots", os.environ.get("PIPELINE_SCREENSHOTS")]
    shots = Screenshots(*folders)

    with chromium_page(tmp_path / "chromium-profile") as page:
        ui = DagsterUI(page, base_url)
        try:
            ui.open_lineage(("customer_features", "fct_orders", "dim_customers"))
            shots(page, "asset-graph")

            dialog = ui.open_materialize_all()
            ui.expect(dialog).to_contain_text(f"Launch runs to materialize {len(assets)} assets")
            ui.choose_partition_range(dialog, *DAYS, count=len(DAYS))
            shots(page, "ui-launch-backfill")

            backfill_id = ui.launch_backfill(dialog)
            ui.open_backfill_from_toast(backfill_id)
            shots(page, "ui-backfill-started")

            backfill = _wait_for_backfill(graphql, backfill_id, log)

            ui.open_backfill_from_runs(backfill_id)
            if backfill["status"] == "COMPLETED_SUCCESS":
                ui.expect_backfill_page_done(*DAYS, assets=len(assets))
            shots(page, "ui-backfill")
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
        server.duckdb,
        "select distinct order_date::varchar from marts.orders_daily_summary order by 1",
    )
    assert [d for (d,) in days] == list(DAYS)

    nodes = graphql(ASSETS)["assetNodes"]
    materialized = {
        "/".join(n["assetKey"]["path"]): n["partitionStats"]["numMaterialized"]
        for n in nodes
        if n["isMaterializable"]
    }
    # the ingestion assets also hold day 3, from the multi-run backfill before this test
    ingest = ("processing", "raw")
    assert materialized == {a: 3 if a.split("/")[0] in ingest else 2 for a in assets}

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
                days = _days(r["startKey"], r["endKey"]) & set(DAYS)  # (day 3: the test before)
                by_status.setdefault(r["status"], set()).update(days)
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
    (server.landing / ghost).parent.mkdir(parents=True, exist_ok=True)
    (server.landing / ghost).write_text(
        "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total\n"
        "o-ghost,c-ghost,s01,2024-01-02T12:00:00,100,8,108\n"
    )
    summary_before = query(server.duckdb, SUMMARY_DAY, [DAYS[1]])
    params = {
        "assetSelection": [{"path": a.split("/")} for a in sorted(assets)],
        "partitionNames": [DAYS[1]],
        "fromFailure": False,
    }
    launched = graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    bad = _wait_for_backfill(graphql, launched["backfillId"], log)
    assert bad["status"] in ("COMPLETED_FAILED", "FAILED"), bad["status"]
    assert query(server.duckdb, SUMMARY_DAY, [DAYS[1]]) == summary_before
    assert query(
        server.duckdb, "select count(*) from marts.fct_orders where order_id = 'o-ghost'"
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

    # The check page's Execute runs the test on its own (a dbt check has no partition: over
    # the whole history); it still fails on the same row. The raw checks are partitioned,
    # which Dagster 1.13's UI does not offer to execute alone: the button says so.
    execute_check_from_its_page(base_url, tmp_path, "marts/fct_orders", CHECK_NAME, graphql)
    (again,) = graphql(CHECK, {"key": {"path": ["marts", "fct_orders"]}, "name": CHECK_NAME})[
        "assetCheckExecutions"
    ]
    assert (
        again["status"] == "FAILED"
        and again["evaluation"]["description"] == (evaluation["description"])
    )
    with chromium_page(tmp_path / "chromium-raw") as page:
        page.goto(f"{base_url}/assets/raw/orders?view=checks")
        execute = page.get_by_role("button", name=re.compile(r"Execute$")).last
        DagsterUI(page, base_url).expect(execute).to_be_disabled()
        execute.hover()
        page.get_by_text("Executing checks on their own for partitioned assets").first.wait_for()


CHECK_NAME = "customer_id__in_dim_customers"
LATEST_RUN = """
query Check($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) { runId status }
}
"""


def execute_check_from_its_page(base_url, tmp_path, asset: str, check: str, graphql) -> None:
    """Open the asset's Checks tab, pick the check, click Execute; wait for its run to end."""
    key = {"path": asset.split("/")}
    (before,) = graphql(LATEST_RUN, {"key": key, "name": check})["assetCheckExecutions"]
    with chromium_page(tmp_path / "chromium-check") as page:
        ui = DagsterUI(page, base_url)
        page.goto(f"{base_url}/assets/{asset}?view=checks")
        page.get_by_text(check, exact=True).first.click()
        execute = page.get_by_role("button", name=re.compile(r"Execute$")).last
        ui.expect(execute).to_be_enabled()
        execute.click()
        deadline = time.monotonic() + BACKFILL_TIMEOUT_S
        while True:
            (latest,) = graphql(LATEST_RUN, {"key": key, "name": check})["assetCheckExecutions"]
            if latest["runId"] != before["runId"] and latest["status"] != "IN_PROGRESS":
                break
            assert time.monotonic() < deadline, latest
            time.sleep(2)
        page.reload()
        page.get_by_text(check, exact=True).first.click()
        shown = {"SUCCEEDED": "Passed", "FAILED": "Failed"}.get(latest["status"], "")
        page.get_by_text(shown, exact=True).first.wait_for()
        Screenshots(tmp_path / "screenshots", os.environ.get("PIPELINE_SCREENSHOTS"))(
            page, "ui-check-executed"
        )


LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message }
  }
}
"""
RUN_STATUS = """
query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }
"""
RATE_CHECK = """
query Check($key: AssetKeyInput!) {
  assetCheckExecutions(assetKey: $key, checkName: "quarantine_rate_below_threshold", limit: 1) {
    runId
    evaluation { metadataEntries { label ... on FloatMetadataEntry { floatValue } } }
  }
}
"""


@pytest.mark.slow
def test_one_knob_overridden_in_the_launchpad_applies_to_that_run_alone(server):
    """The launchpad's run config names one field of `validation`, as YAML: the run takes it,
    keeps the other configured values, and the next run is back to the configured ones."""
    graphql = server.graphql

    def launch(run_config_yaml: str) -> dict[str, float]:
        params = {
            "selector": {
                "repositoryLocationName": "pipeline_assets",
                "repositoryName": "__repository__",
                "jobName": "ingest_orders_job",
            },
            "runConfigData": run_config_yaml,
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2024-01-03"}]},
            "mode": "default",
        }
        launched = graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        deadline = time.monotonic() + BACKFILL_TIMEOUT_S
        while (run := graphql(RUN_STATUS, {"id": run_id})["runOrError"])["status"] not in (
            "SUCCESS",
            "FAILURE",
            "CANCELED",
        ):
            assert time.monotonic() < deadline, server.log.read_text()[-5000:]
            time.sleep(2)
        assert run["status"] == "SUCCESS", server.log.read_text()[-5000:]
        # launched from the UI, tagged with its day by the instance's run coordinator
        assert {"key": "pipeline/days", "value": "2024-01-03"} in run["tags"]
        (execution,) = graphql(RATE_CHECK, {"key": {"path": ["raw", "orders"]}})[
            "assetCheckExecutions"
        ]
        assert execution["runId"] == run_id
        entries = execution["evaluation"]["metadataEntries"]
        return {e["label"]: e["floatValue"] for e in entries if "floatValue" in e}

    overridden = launch("resources:\n  validation:\n    config:\n      quarantine_fail_rate: 0.9\n")
    assert (overridden["warn_above"], overridden["fail_above"]) == (0.25, 0.9)
    again = launch("{}")
    assert (again["warn_above"], again["fail_above"]) == (0.25, 0.75)
