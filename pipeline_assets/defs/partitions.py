"""One daily grain for every asset: a UTC day, today included.

`end_offset=1` makes the current day a partition, so today's orders can be loaded hour by
hour as they land; the warehouse models wait for a day to be complete (see
`defs/automation/conditions.py`). Every asset sharing one definition is what lets a single
Dagster run, or one UI backfill, cover the whole pipeline for a date range.
"""

from __future__ import annotations

import dagster as dg

from pipeline_assets.lib.settings import setting

START = setting("PIPELINE_PARTITIONS_START")

daily_partitions = dg.DailyPartitionsDefinition(start_date=START, end_offset=1, timezone="UTC")
