"""The code location: assembles the domain modules; decides nothing itself."""

from __future__ import annotations

import dagster as dg

from pipeline_assets.defs.automation.alerts import run_failure_alert_sensor
from pipeline_assets.defs.automation.schedules import (
    daily_customers_schedule,
    hourly_orders_schedule,
)
from pipeline_assets.defs.automation.sensors import (
    INGEST_JOBS,
    landing_zone_sensor,
    warehouse_automation_sensor,
)
from pipeline_assets.defs.automation.verify import verify_job, verify_schedule
from pipeline_assets.defs.features.assets import customer_features
from pipeline_assets.defs.ingest.assets import customers_assets, orders_assets
from pipeline_assets.defs.resources import build_resources, target
from pipeline_assets.defs.transform.assets import shop_dbt_assets
from pipeline_assets.defs.transform.project import build_dbt_resource


def build_defs() -> dg.Definitions:
    """Definitions for the current environment (tests build one per isolated environment)."""
    return dg.Definitions(
        assets=[*orders_assets, *customers_assets, shop_dbt_assets, customer_features],
        resources={**build_resources(), "dbt": build_dbt_resource()},
        jobs=[*INGEST_JOBS.values(), verify_job],
        schedules=[hourly_orders_schedule, daily_customers_schedule, verify_schedule],
        sensors=[
            landing_zone_sensor,
            run_failure_alert_sensor,
            warehouse_automation_sensor,
        ],
        executor=executor(),
    )


def executor() -> dg.ExecutorDefinition:
    """Local: every step of a run in the run's own process. DuckDB takes one writer per file,
    so steps could not run in parallel anyway, and a process per step costs seconds each.
    Prod: a Kubernetes job per step."""
    if target() == "prod":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.configured({"max_concurrent": 8})
    return dg.in_process_executor


defs = build_defs()
