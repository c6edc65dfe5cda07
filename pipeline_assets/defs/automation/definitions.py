"""The automation domain: the landing sensor over every declared dataset, the warehouse's
automation conditions' sensor, failure alerts, and the verify job. Each dataset's own
closing schedule is built with the dataset (`components/landing_dataset.py`)."""

import dagster as dg

from pipeline_assets.defs.automation.alerts import run_failure_alert_sensor
from pipeline_assets.defs.automation.sensors import (
    Ingests,
    build_automation_sensor,
    build_landing_sensor,
)
from pipeline_assets.defs.automation.verify import verify_job, verify_schedule
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.lib.settings import Settings


def sensor_status(settings: Settings) -> dg.DefaultSensorStatus:
    """What launches runs starts running, unless PIPELINE_AUTOMATION=off (a sandbox, a UI
    test): then it starts stopped, and an operator can switch it on in the UI."""
    on = settings.automation_on
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


def schedule_status(settings: Settings) -> dg.DefaultScheduleStatus:
    """The producer schedules start as the sensors do (PIPELINE_AUTOMATION)."""
    on = settings.automation_on
    return dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED


def landing_sensor(settings: Settings, ingests: Ingests) -> dg.SensorDefinition:
    return build_landing_sensor(
        ingests,
        daily_partitions(settings),
        settings.integer("PIPELINE_SENSOR_LOOKBACK_DAYS"),
        settings.integer("PIPELINE_SENSOR_INTERVAL_SECONDS"),
        sensor_status(settings),
    )


def build_defs(settings: Settings, ingests: Ingests) -> dg.Definitions:
    interval = settings.integer("PIPELINE_SENSOR_INTERVAL_SECONDS")
    return dg.Definitions(
        sensors=[
            landing_sensor(settings, ingests),
            build_automation_sensor(interval, sensor_status(settings)),
            run_failure_alert_sensor,
        ],
        schedules=[verify_schedule],
        jobs=[verify_job],
    )
