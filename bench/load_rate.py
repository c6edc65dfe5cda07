"""Rows per second of validation + transactional load on the demo data (no Dagster).

Usage: python bench/load_rate.py [--days 7] [--orders-per-day 1000]
"""

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipeline_assets.lib.contract import hours_of_day
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.validate import validate_partition
from pipeline_assets.lib.warehouse import Db, load_partitions


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-load-"))
    store = LocalStore(root / "landing")
    start = date(2024, 1, 1)
    days = [start + timedelta(days=i) for i in range(args.days)]
    seed_landing(store, days[0], days[-1], args.orders_per_day)
    read = validate_s = load_s = 0.0
    rows = 0
    with duckdb.connect(str(root / "warehouse.duckdb")) as conn:
        db = Db(conn)
        for day in days:
            t = time.perf_counter()
            batch = []
            for pk in hours_of_day(f"{day:%Y-%m-%d}"):
                prefix = f"orders/date={day:%Y-%m-%d}/hour={pk[11:13]}/"
                files = [(o.key, store.read(o.key)) for o in store.list(prefix)]
                batch.append(validate_partition("orders", pk, files))
            validate_s += time.perf_counter() - t
            t = time.perf_counter()
            load_partitions(db, batch)
            load_s += time.perf_counter() - t
            rows += sum(r.rows_read for r in batch)
    read = validate_s + load_s
    print(
        f"{rows} order rows: validate {validate_s:.2f}s ({rows / validate_s:,.0f} rows/s), "
        f"load {load_s:.2f}s ({rows / load_s:,.0f} rows/s), "
        f"together {rows / read:,.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
