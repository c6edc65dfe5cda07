"""Wall time of a 30-day dbt backfill as one single run vs 30 one-day runs (same data).

Usage: python bench/dbt_single_vs_daily.py [--days 30] [--orders-per-day 1000]
Ingestion is done once up front; only the warehouse (dbt) step is timed, alternating the
two approaches so machine noise hits both alike.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    root = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    os.environ.update(
        PIPELINE_LANDING_URI=str(root / "landing"),
        PIPELINE_PROCESSING_URI=str(root / "processing"),
        PIPELINE_DUCKDB_PATH=str(root / "warehouse.duckdb"),
    )
    import dagster as dg

    from pipeline_assets.definitions import build_defs
    from pipeline_assets.defs.transform.project import prepare_dbt
    from pipeline_assets.lib.objectstore import LocalStore
    from pipeline_assets.lib.sample import seed_landing
    from pipeline_assets.runner import backfill, run_range

    start = date(2024, 1, 1)
    end = start + timedelta(days=args.days - 1)
    seed_landing(LocalStore(root / "landing"), start, end, args.orders_per_day)
    prepare_dbt()  # the manifest for this warehouse path: partial parsing applies to both
    defs = build_defs()
    instance = dg.DagsterInstance.ephemeral()
    t = time.perf_counter()
    report = backfill(
        start, end, days_per_run=args.days, echo=lambda _: None, defs=defs, instance=instance
    )
    assert report.ok, report.errors
    print(f"full backfill (ingest + dbt, single runs): {time.perf_counter() - t:.1f}s")
    keys = [
        k
        for k in defs.resolve_asset_graph().get_all_asset_keys()
        if k.path[0] not in ("processing", "raw")
    ]
    days = [f"{start + timedelta(days=i):%Y-%m-%d}" for i in range(args.days)]
    for _ in range(args.rounds):
        t = time.perf_counter()
        assert run_range(defs, keys, days[0], days[-1], instance).success
        single = time.perf_counter() - t
        t = time.perf_counter()
        for day in days:
            assert run_range(defs, keys, day, day, instance).success
        daily = time.perf_counter() - t
        print(
            f"dbt {args.days} days: single run {single:.1f}s, {args.days} one-day runs "
            f"{daily:.1f}s, ratio {daily / single:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
