"""Partitions: hourly orders, daily customers and marts; a day needs its 24 hours."""

from __future__ import annotations

import dagster as dg

from pipeline_assets.defs.resources import setting

START = setting("PIPELINE_PARTITIONS_START")

hourly_partitions = dg.HourlyPartitionsDefinition(start_date=f"{START}-00:00", timezone="UTC")
daily_partitions = dg.DailyPartitionsDefinition(start_date=START, timezone="UTC")
