"""`pipeline verify`: the comparison, the re-run plan, and a real run that finds no change."""

from datetime import date

import dagster as dg
import pytest

from pipeline_assets.definitions import build_defs
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill
from pipeline_assets.verify import compare, render, rerun_plan, verify


def test_rerun_plan_mixes_a_single_run_with_shuffled_days_some_twice():
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    plan = rerun_plan(days, seed=1)
    assert plan[0] == ("2024-01-01", "2024-01-03")
    singles = [first for first, last in plan[1:] if first == last]
    assert sorted(set(singles)) == days and len(singles) == 5


def test_compare_names_the_table_and_partition_that_changed():
    before = {("marts.fct_orders", "2024-01-01"): (3, "a"), ("raw.orders", "x"): (1, "b")}
    after = {("marts.fct_orders", "2024-01-01"): (3, "c"), ("raw.orders", "x"): (1, "b")}
    rows = compare(before, after)
    assert [(r.table, r.partition, r.equal) for r in rows] == [
        ("marts.fct_orders", "2024-01-01", False),
        ("raw.orders", "x", True),
    ]
    assert "1 different" in render(rows)


@pytest.mark.slow
def test_verify_finds_nothing_changed(pipeline_env):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 100)
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    assert backfill(
        date(2024, 1, 1), date(2024, 1, 2), echo=lambda _: None, defs=defs, instance=instance
    ).ok
    rows = verify(
        date(2024, 1, 1), date(2024, 1, 2), echo=lambda _: None, defs=defs, instance=instance
    )
    tables = {r.table for r in rows}
    assert len(tables) == 7 and len(rows) > 50
    assert all(r.equal for r in rows), render(rows)
