"""The automation domain: the landing sensor, the producer schedules, the warehouse's
automation conditions' sensor, failure alerts, and the verify job."""

import dagster as dg

from pipeline_assets.defs.automation.alerts import run_failure_alert_sensor
from pipeline_assets.defs.automation.schedules import build_schedules
from pipeline_assets.defs.automation.sensors import build_automation_sensor, build_landing_sensor
from pipeline_assets.defs.automation.verify import verify_job, verify_schedule
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.lib.settings import Settings


def sensor_status(settings: Settings) -> dg.DefaultSensorStatus:
    """What launches runs starts running, unless PIPELINE_AUTOMATION=off (a sandbox, a UI
    test): then it starts stopped, and an operator can switch it on in the UI."""
    on = settings.automation_on
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


def landing_sensor(settings: Settings) -> dg.SensorDefinition:
    return build_landing_sensor(
        daily_partitions(settings),
        settings.integer("PIPELINE_SENSOR_LOOKBACK_DAYS"),
        settings.integer("PIPELINE_SENSOR_INTERVAL_SECONDS"),
        sensor_status(settings),
    )


def schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    """The producer schedules (orders hourly, customers daily)."""
    on = settings.automation_on
    status = dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED
    return build_schedules(
        daily_partitions(settings), settings.integer("PIPELINE_CATCHUP_DAYS"), status
    )


def build_defs(settings: Settings) -> dg.Definitions:
    interval = settings.integer("PIPELINE_SENSOR_INTERVAL_SECONDS")
    return dg.Definitions(
        sensors=[
            landing_sensor(settings),
            build_automation_sensor(interval, sensor_status(settings)),
            run_failure_alert_sensor,
        ],
        schedules=[*schedules(settings), verify_schedule],
        jobs=[verify_job],
    )
