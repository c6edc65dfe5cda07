"""The landing-zone sensor: new, changed or deleted files re-run exactly their day."""

import dagster as dg

from pipeline_assets.defs.ingest.jobs import INGEST_JOBS
from pipeline_assets.defs.partitions import START, daily_partitions
from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.lib.contract import parse_daily_key
from pipeline_assets.lib.landing_scan import cursor_from_manifests, date_prefixes, scan
from pipeline_assets.lib.manifest import ManifestError, latest_manifests, read_manifest
from pipeline_assets.lib.settings import setting

# Schedules and sensors that launch runs start running, unless PIPELINE_AUTOMATION=off (a
# sandbox, a UI test): then they start stopped, and an operator can switch them on in the UI.
AUTOMATION_ON = setting("PIPELINE_AUTOMATION") != "off"
SENSOR_STATUS = dg.DefaultSensorStatus.RUNNING if AUTOMATION_ON else dg.DefaultSensorStatus.STOPPED
SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.RUNNING if AUTOMATION_ON else dg.DefaultScheduleStatus.STOPPED
)


# How often the landing zone is listed and automation evaluated: together with a run's own
# time, what bounds a landed file's way to the marts (docs/benchmarks.md: latency).
INTERVAL = int(setting("PIPELINE_SENSOR_INTERVAL_SECONDS"))


@dg.sensor(
    jobs=list(INGEST_JOBS.values()),
    minimum_interval_seconds=INTERVAL,
    default_status=SENSOR_STATUS,
    description="Lists the landing zone's date prefixes inside a lookback window and re-runs "
    "each day whose files are new, changed (ETag/checksum) or deleted.",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, landing: ZoneResource, processing: ZoneResource
):
    """One run per changed day; every change gets its own run key, repeated ticks none."""
    today = parse_daily_key(daily_partitions.get_last_partition_key())
    lookback = int(setting("PIPELINE_SENSOR_LOOKBACK_DAYS"))
    prefixes = date_prefixes(today, lookback, parse_daily_key(START))
    cursor = context.cursor
    if cursor is None:  # first tick: start from what the manifests say was ingested
        cursor = cursor_from_manifests(latest_manifests(processing.store(), prefixes))
    store = processing.store()

    def copied(dataset: str, day: str) -> dict[str, str] | None:
        try:
            return {f.key: f.etag for f in read_manifest(store, dataset, day).files}
        except ManifestError:
            return None  # never ingested

    changes, cursor = scan(
        landing.store(), prefixes, cursor, daily_partitions.has_partition_key, copied
    )
    requests = [
        dg.RunRequest(
            run_key=change.run_key,
            job_name=INGEST_JOBS[change.dataset].name,
            partition_key=change.partition_key,
            tags={
                "pipeline/trigger": "landing_zone_sensor",
                "pipeline/days": change.partition_key,
                "pipeline/change": change.describe(),
            },
        )
        for change in changes
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# Custom conditions (conditions.DayComplete) run in user code: `use_user_code_server` is a
# beta parameter in 1.13, kept on purpose since the daemon cannot import project code.
warehouse_automation_sensor = dg.AutomationConditionSensorDefinition(
    "warehouse_automation_sensor",
    target=dg.AssetSelection.groups("warehouse", "features"),
    default_status=SENSOR_STATUS,
    minimum_interval_seconds=INTERVAL,
    use_user_code_server=True,
    run_tags={"pipeline/trigger": "warehouse_automation_sensor"},
)
