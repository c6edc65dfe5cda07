"""The landing-zone sensor: new or re-landed files trigger runs of exactly their partitions."""

from datetime import UTC, datetime

import dagster as dg

from pipeline_assets.defs.ingest.assets import PARTITIONS
from pipeline_assets.defs.partitions import START
from pipeline_assets.defs.resources import ZoneResource, setting
from pipeline_assets.lib.contract import CUSTOMERS, ORDERS, parse_daily_key, partition_window
from pipeline_assets.lib.landing_scan import date_prefixes, scan

# Schedules and sensors that launch runs start running, unless PIPELINE_AUTOMATION=off (a
# sandbox, a UI test): then they start stopped, and an operator can switch them on in the UI.
AUTOMATION_ON = setting("PIPELINE_AUTOMATION") != "off"
SENSOR_STATUS = dg.DefaultSensorStatus.RUNNING if AUTOMATION_ON else dg.DefaultSensorStatus.STOPPED
SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.RUNNING if AUTOMATION_ON else dg.DefaultScheduleStatus.STOPPED
)

INGEST_JOBS = {
    dataset: dg.define_asset_job(
        f"ingest_{dataset}_job",
        selection=dg.AssetSelection.assets(
            dg.AssetKey(["processing", dataset]), dg.AssetKey(["raw", dataset])
        ),
        partitions_def=PARTITIONS[dataset],
        description=f"Copy, validate and load {dataset} partitions.",
    )
    for dataset in (ORDERS, CUSTOMERS)
}


@dg.sensor(
    jobs=list(INGEST_JOBS.values()),
    minimum_interval_seconds=60,
    default_status=SENSOR_STATUS,
    description="Lists the landing zone's date prefixes inside a lookback window and requests "
    "runs for partitions whose files are new or changed (by ETag/checksum).",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: ZoneResource):
    """Run keys are built from keys and checksums: repeated ticks never launch duplicates."""
    now = datetime.now(UTC)
    lookback = int(setting("PIPELINE_SENSOR_LOOKBACK_DAYS"))

    def ready(dataset: str, partition_key: str) -> bool:
        """A partition exists once its window is over (hourly/daily, end offset 0)."""
        return partition_window(dataset, partition_key)[1] <= now.replace(tzinfo=None)

    prefixes = date_prefixes(now.date(), lookback, parse_daily_key(START))
    changes, cursor = scan(landing.store(), prefixes, context.cursor, ready)
    requests = [
        dg.RunRequest(
            run_key=change.run_key,
            job_name=INGEST_JOBS[change.dataset].name,
            partition_key=change.partition_key,
            run_config={
                "ops": {f"processing__{change.dataset}": {"config": {"keys": list(change.keys)}}}
            },
            tags={"pipeline/trigger": "landing_zone_sensor"},
        )
        for change in changes
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor)
