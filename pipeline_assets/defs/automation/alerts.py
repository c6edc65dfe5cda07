"""Alerting: a failed run posts to Slack when a token is configured, else to a local file."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipeline_assets.lib.settings import is_set, local_or_uri, setting


def alert_record(context: dg.RunFailureSensorContext) -> dict[str, str | None]:
    """What an on-call engineer needs first: which run, which partition, what broke."""
    run = context.dagster_run
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition")
        or run.tags.get("dagster/asset_partition_range_start"),
        "error": context.failure_event.message,
    }


def send_alert(record: dict[str, str | None]) -> str:
    """Slack through dagster-slack if SLACK_BOT_TOKEN is set; otherwise one JSON line."""
    if is_set("SLACK_BOT_TOKEN"):
        from dagster_slack import SlackResource

        slack = SlackResource(token=dg.EnvVar("SLACK_BOT_TOKEN").get_value())
        slack.get_client().chat_postMessage(
            channel=setting("PIPELINE_SLACK_CHANNEL"),
            text=f":red_circle: {record['job']} failed (partition {record['partition']}): "
            f"{record['error']} (run {record['run_id']})",
        )
        return "slack"
    path = Path(local_or_uri("PIPELINE_ALERTS_FILE"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
    return str(path)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends every failed run to Slack, or to PIPELINE_ALERTS_FILE without a token.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    destination = send_alert(alert_record(context))
    context.log.info(f"alert for run {context.dagster_run.run_id} sent to {destination}")
