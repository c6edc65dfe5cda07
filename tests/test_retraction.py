"""A retracted landing file stops counting, end to end: raw tables, quarantine and marts.

The case that used to go wrong: a draft correction is landed, then deleted from the landing
zone. Its rows stayed in the processing zone, kept winning the dedup and stayed in the marts.
"""

from datetime import date
from decimal import Decimal

import dagster as dg
import pytest
from helpers import fingerprints, query

from pipeline_assets.definitions import build_defs
from pipeline_assets.runner import backfill

DAY = "2024-01-02"
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
ORIGINAL = f"orders/date={DAY}/hour=10/part-000.csv"
DRAFT = f"orders/date={DAY}/hour=10/part-001-draft-correction.csv"
MARTS = ("fct_orders", "orders_daily_summary", "dim_customers")


def land_day(env) -> None:
    env.write(
        ORIGINAL,
        HEADER
        + f"o1,c1,s01,{DAY}T10:05:00,1000,80,1080,\n"
        + f"o2,c2,s02,{DAY}T10:15:00,500,40,540,\n"
        + f"o3,c2,s02,{DAY}T10:20:00,-5,0,-5,\n",  # quarantined: negative_amount
    )
    env.write(f"customers/date={DAY}/customers.csv", "customer_id,name\nc1,Ann\nc2,Bob\n")


def build(day: str = DAY) -> None:
    d = date.fromisoformat(day)
    report = backfill(
        d, d, echo=lambda _: None, defs=build_defs(), instance=dg.DagsterInstance.ephemeral()
    )
    assert report.ok, report.errors


def warehouse(path) -> dict:
    return {**fingerprints(path), **fingerprints(path, MARTS, schema="marts")}


@pytest.mark.slow
def test_a_deleted_draft_correction_leaves_raw_quarantine_and_marts(pipeline_env):
    land_day(pipeline_env)
    build()
    never_drafted = warehouse(pipeline_env.duckdb)

    # The draft re-attributes o1 to c2 with a later updated_at (wins the dedup) and carries a
    # bad row of its own (quarantined).
    pipeline_env.write(
        DRAFT,
        HEADER
        + f"o1,c2,s01,{DAY}T10:05:00,2000,160,2160,{DAY}T11:30:00Z\n"
        + f"o4,c1,s01,{DAY}T09:00:00,1,0,1,\n",  # outside the file's hour
    )
    build()
    summary = (
        "select customer_id, total_orders, total_revenue from marts.orders_daily_summary order by 1"
    )
    assert query(pipeline_env.duckdb, summary) == [("c2", 2, Decimal("27.00"))]
    assert query(
        pipeline_env.duckdb, "select count(*) from raw.quarantine where source_key = ?", [DRAFT]
    ) == [(1,)]

    (pipeline_env.landing / DRAFT).unlink()  # retracted
    build()
    assert not (pipeline_env.processing / DRAFT).exists()
    assert query(
        pipeline_env.duckdb, "select count(*) from raw.orders where _source_key = ?", [DRAFT]
    ) == [(0,)]
    assert query(
        pipeline_env.duckdb, "select count(*) from raw.quarantine where source_key = ?", [DRAFT]
    ) == [(0,)]
    assert query(pipeline_env.duckdb, summary) == [
        ("c1", 1, Decimal("10.80")),
        ("c2", 1, Decimal("5.40")),
    ]
    assert warehouse(pipeline_env.duckdb) == never_drafted
