"""Freshness: yesterday's marts must exist by PIPELINE_MARTS_FRESH_BY_HOUR (UTC) each day."""

import dagster as dg

from pipeline_assets.defs.automation.sensors import SENSOR_STATUS
from pipeline_assets.defs.resources import setting

FRESHNESS_CHECK = "freshness_check"  # the name Dagster's freshness-check builder gives
MART_KEYS = [
    dg.AssetKey(["marts", "orders_daily_summary"]),
    dg.AssetKey(["marts", "fct_orders"]),
]

mart_freshness_checks = dg.build_time_partition_freshness_checks(
    assets=MART_KEYS,
    deadline_cron=f"0 {int(setting('PIPELINE_MARTS_FRESH_BY_HOUR'))} * * *",
    timezone="UTC",
    severity=dg.AssetCheckSeverity.WARN,
)

mart_freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=mart_freshness_checks,
    name="mart_freshness_sensor",
    default_status=SENSOR_STATUS,
)
