"""Run-failure alerting: a real failed run, to the local alerts file or to (mocked) Slack."""

import json
from unittest import mock

import dagster as dg
from helpers import ingest

from pipeline_assets.defs.automation.alerts import run_failure_alert_sensor

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def failed_run_context(pipeline_env, instance):
    pipeline_env.write("orders/date=2024-01-01/hour=10/bad.csv", b"\xff\xfe not utf-8")
    result = ingest("orders", "2024-01-01", instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert_sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()


def test_failed_run_is_written_to_the_alerts_file(pipeline_env, monkeypatch):
    alerts = pipeline_env.root / "alerts.jsonl"
    monkeypatch.setenv("PIPELINE_ALERTS_FILE", str(alerts))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with dg.instance_for_test() as instance:
        run_failure_alert_sensor(failed_run_context(pipeline_env, instance))
    (record,) = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert record["partition"] == "2024-01-01"
    assert record["job"] and record["run_id"]
    assert "raw__orders" in record["error"]


def test_failed_run_goes_to_slack_when_a_token_is_set(pipeline_env, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("PIPELINE_ALERTS_FILE", str(pipeline_env.root / "alerts.jsonl"))
    with (
        dg.instance_for_test() as instance,
        mock.patch("dagster_slack.resources.WebClient") as client,
    ):
        run_failure_alert_sensor(failed_run_context(pipeline_env, instance))
    post = client.return_value.chat_postMessage
    post.assert_called_once()
    assert post.call_args.kwargs["channel"] == "#data-alerts"
    assert "2024-01-01" in post.call_args.kwargs["text"]
    assert not (pipeline_env.root / "alerts.jsonl").exists()
