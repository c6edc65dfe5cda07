"""One daily grain for every asset: a UTC day, today included.

`end_offset=1` makes the current day a partition, so today's orders can be loaded hour by
hour as they land; the warehouse models wait for a day to be complete (see
`defs/automation/conditions.py`). Every asset sharing one definition is what lets a single
Dagster run, or one UI backfill, cover the whole pipeline for a date range.
"""

from __future__ import annotations

import dagster as dg

from pipeline_assets.lib.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The grain, from `PIPELINE_PARTITIONS_START` to today (UTC) included."""
    start = settings.get("PIPELINE_PARTITIONS_START")
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1, timezone="UTC")


# The metadata of a warehouse or features partition whose day is not over: it was in a
# run's range (a UI backfill up to today, say), and holds nothing until the day is over.
WAITING = "waiting"
WAITING_TEXT = "the day is not over (UTC): its rows are built once it is"


def ingest_backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    """How a backfill of the ingestion assets splits into runs.

    A warehouse that takes concurrent writers (Snowflake) fans a long backfill out into runs
    of `PIPELINE_INGEST_DAYS_PER_RUN` days (7), which the run queue starts in parallel (on
    Kubernetes, parallel jobs). A DuckDB file takes one writer at a time, so locally a range
    is one run, unless PIPELINE_INGEST_DAYS_PER_RUN is set explicitly (the runs then queue
    on the writer pool). Every other asset is a single run: one dbt build for the window.
    """
    if settings.target == "prod" or settings.is_set("PIPELINE_INGEST_DAYS_PER_RUN"):
        days = settings.integer("PIPELINE_INGEST_DAYS_PER_RUN")
        return dg.BackfillPolicy.multi_run(max_partitions_per_run=days)
    return dg.BackfillPolicy.single_run()
