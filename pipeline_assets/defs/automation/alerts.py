"""Alerting: every failed run, with its cause, to Slack when a token is set, else to a file.

An alert says what an on-call engineer needs first, without opening the UI: what the run
was building (a job name a person reads, not `__ASSET_JOB`), for which days, the failing
step's own error (the rows a failed test names, or the file, line and rule), and a link to
the run in the UI (`PIPELINE_UI_URL`).
"""

from datetime import UTC, datetime

import dagster as dg

from pipeline_assets.defs.resources import AlertsResource
from pipeline_assets.report import run_error
from pipeline_assets.runner import run_days, step_labels


def describe_run(run: dg.DagsterRun) -> str:
    """What the run was building: its job, or for an asset run the assets or checks."""
    if not run.job_name.startswith("__"):  # not __ASSET_JOB, Dagster's implicit job
        return run.job_name
    assets = sorted(k.to_user_string() for k in run.asset_selection or [])
    checks = sorted(
        f"{c.asset_key.to_user_string()}:{c.name}" for c in run.asset_check_selection or []
    )
    if assets:
        shown = ", ".join(assets[:3]) + (f" and {len(assets) - 3} more" if len(assets) > 3 else "")
        return f"materialize {shown}"
    if checks:
        return "check " + ", ".join(checks)
    return "asset run"


def alert_record(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> dict:
    """One failed run, said once: what, which days, why (each failed step's cause), where."""
    run = context.dagster_run
    labels = step_labels(context.repository_def) if context.repository_def else {}
    events = [*context.get_step_failure_events(), context.failure_event]
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "run_url": alerts.run_url(run.run_id),
        "job": describe_run(run),
        "days": run_days(run.tags),
        "trigger": run.tags.get("pipeline/trigger") or run.tags.get("pipeline/command"),
        "error": run_error(events, labels),
    }


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends every failed run, with its cause, to Slack (SLACK_BOT_TOKEN) or to "
    "PIPELINE_ALERTS_FILE.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    destination = alerts.send(alert_record(context, alerts))
    context.log.info(f"alert for run {context.dagster_run.run_id} sent to {destination}")
