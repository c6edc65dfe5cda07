"""Freshness: the marts must be updated after midnight by PIPELINE_MARTS_FRESH_BY_HOUR (UTC).

A day's marts build once the day is closed, shortly after midnight; a mart that has not
materialized since the previous midnight by that hour is overdue. Dagster's freshness
daemon evaluates the policy and the UI shows the state on each asset.
"""

from datetime import timedelta

import dagster as dg

MART_KEYS = (
    dg.AssetKey(["marts", "orders_daily_summary"]),
    dg.AssetKey(["marts", "fct_orders"]),
)


def mart_freshness_policy(hour: int) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 {hour} * * *", lower_bound_delta=timedelta(hours=hour), timezone="UTC"
    )
