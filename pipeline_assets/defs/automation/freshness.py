"""Freshness: every mart (a dbt model under `models/marts/`) must be updated after midnight
by PIPELINE_MARTS_FRESH_BY_HOUR (UTC); the dbt translator attaches the policy.

A day's marts build once the day is closed, shortly after midnight; a mart that has not
materialized since the previous midnight by that hour is overdue. Dagster's freshness
daemon evaluates the policy and the UI shows the state on each asset.
"""

from datetime import timedelta

import dagster as dg


def mart_freshness_policy(hour: int) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 {hour} * * *", lower_bound_delta=timedelta(hours=hour), timezone="UTC"
    )
