"""Run-failure alerting: a real failed run, to the local alerts file or to (mocked) Slack,
saying what failed, for which day, why (the failing step's own error) and where to look."""

import json
from unittest import mock

import dagster as dg

from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.automation.alerts import run_failure_alert_sensor
from pipeline_assets.defs.resources import AlertsResource
from pipeline_assets.runner import run_range

BAD = "orders/date=2024-01-01/hour=10/bad.csv"
CAUSE = f"raw/orders: {BAD}: line 1: not valid UTF-8 (byte 0xff at offset 0)"


def alert_for_a_failed_run(
    pipeline_env, instance, alerts: AlertsResource, dataset: str = "orders"
) -> str:
    """A real ingest run that fails (on an unreadable file, unless the test landed another
    cause), through the sensor; its run id."""
    if dataset == "orders":
        pipeline_env.write(BAD, b"\xff\xfe not utf-8")
    defs = build_defs()
    keys = [dg.AssetKey(["processing", f"{dataset[:-1]}_files"]), dg.AssetKey(["raw", dataset])]
    result = run_range(defs, keys, "2024-01-01", "2024-01-01", instance)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert_sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": alerts},
        repository_def=defs.get_repository_def(),
    ).for_run_failure()
    run_failure_alert_sensor(context)
    return result.run_id


def test_a_failed_run_is_written_to_the_alerts_file_with_its_cause(pipeline_env):
    path = pipeline_env.root / "alerts.jsonl"
    alerts = AlertsResource(ui_url="http://dagster.example:3000/", alerts_file=str(path))
    with dg.instance_for_test() as instance:
        run_id = alert_for_a_failed_run(pipeline_env, instance, alerts)
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert record["days"] == "2024-01-01"
    assert record["job"] == "materialize processing/order_files, raw/orders"
    assert record["error"] == CAUSE  # the cause, once: no wrapper, no traceback
    assert record["run_url"] == f"http://dagster.example:3000/runs/{run_id}"


def test_a_failed_run_goes_to_slack_when_a_token_is_set(pipeline_env):
    path = pipeline_env.root / "alerts.jsonl"
    alerts = AlertsResource(
        ui_url="http://127.0.0.1:3000", alerts_file=str(path), slack_token="xoxb-test"
    )
    with (
        dg.instance_for_test() as instance,
        mock.patch("dagster_slack.resources.WebClient") as client,
    ):
        run_id = alert_for_a_failed_run(pipeline_env, instance, alerts)
    post = client.return_value.chat_postMessage
    post.assert_called_once()
    assert post.call_args.kwargs["channel"] == "#data-alerts"
    text = post.call_args.kwargs["text"]
    assert "materialize processing/order_files, raw/orders* failed for 2024-01-01" in text
    assert CAUSE in text and f"http://127.0.0.1:3000/runs/{run_id}" in text
    assert not path.exists()


def test_a_failed_quarantine_rate_alerts_with_its_rate_counts_and_threshold(pipeline_env):
    """Not "2 failing rows" alone: the rate, of how many rows, and the threshold it broke."""
    path = pipeline_env.root / "alerts.jsonl"
    alerts = AlertsResource(ui_url="http://127.0.0.1:3000", alerts_file=str(path))
    pipeline_env.write(
        "customers/date=2024-01-01/c.csv", "customer_id,name\nc1,Ann\n,x\n,y\n"
    )  # 2 of 3 rows without their required customer_id
    with dg.instance_for_test() as instance:
        alert_for_a_failed_run(pipeline_env, instance, alerts, "customers")
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert (
        "2024-01-01 quarantine_rate_below_threshold: "
        "rate 66.67 % (2 of 3 rows) > fail threshold 50 %; 2 failing rows: "
    ) in record["error"], record["error"]
