"""Deterministic sample landing data: same seed and range, same bytes.

Sample files of the two datasets the project ships with, orders and customers (as declared
in `defs/datasets/`); a dataset a team declares later gets no sample data from here. Realistic
enough to exercise the contract: quiet night hours (no folder at all), a small share of bad
rows, corrections re-landed as a later file in the same hour folder, and a daily customers
file covering every customer who ordered that day. `files_per_day` spreads the same rows over
about that many order files, as a producer that writes a file every minute or every few MB
does (Kinesis Firehose, Kafka Connect's S3 sink); by default an hour's orders are one file.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline_assets.lib.objectstore import ObjectStore

# Relative order volume per UTC hour; the shop is closed 02:00-05:00.
HOUR_WEIGHTS = [2, 1, 0, 0, 0, 1, 2, 4, 6, 7, 8, 8, 9, 9, 8, 7, 7, 8, 9, 9, 7, 5, 4, 3]
ORDER_COLUMNS = [
    "order_id",
    "customer_id",
    "store_id",
    "ordered_at",
    "subtotal",
    "tax_paid",
    "order_total",
    "updated_at",
]
CUSTOMER_COLUMNS = ["customer_id", "name", "updated_at"]
BAD_ROW_RATE = 0.01
CORRECTION_RATE = 0.03


@dataclass
class SeedStats:
    files_written: int = 0
    files_unchanged: int = 0
    order_rows: int = 0
    customer_rows: int = 0


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _ts(rng: random.Random, ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["", "", "Z", "+00:00"])


def _order(rng: random.Random, order_id: str, customer: str, at: datetime) -> list[str]:
    subtotal = rng.randint(300, 25000)
    tax = subtotal * 8 // 100
    store = rng.choice(["s01", "s02", "s03", ""])
    return [
        order_id,
        customer,
        store,
        _ts(rng, at),
        str(subtotal),
        str(tax),
        str(subtotal + tax),
        "",
    ]


def _spoil(rng: random.Random, row: list[str]) -> list[str]:
    """Break one rule of the contract; the pipeline must quarantine the row."""
    row = list(row)
    kind = rng.randrange(5)
    if kind == 0:
        row[4] = str(-int(row[4]))  # negative subtotal
    elif kind == 1:
        row[6] = str(int(row[6]) + 1)  # total mismatch
    elif kind == 2:
        row[3] = "not-a-time"
    elif kind == 3:
        row[1] = ""  # missing customer
    else:
        row[3] = "1999-01-01T00:00:00"  # outside the folder's hour
    return row


def _split(rows: list[list[str]], parts: int) -> list[list[list[str]]]:
    """`rows` in order, cut into `parts` consecutive chunks as even as can be (none empty)."""
    parts = max(1, min(parts, len(rows)))
    cuts = [len(rows) * i // parts for i in range(parts + 1)]
    return [rows[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def day_files(
    day: date, orders_per_day: int, seed: int, files_per_day: int | None = None
) -> dict[str, bytes]:
    """All landing files of one day, keyed by object key. With `files_per_day`, each hour's
    orders are cut into files (`part-000-NNNNN.csv`) in proportion to the hour's share of
    the day: the same rows, so the same marts, in about that many files (plus the hours'
    corrections files)."""
    rng = random.Random(f"{seed}-{day.isoformat()}")
    pool = max(20, orders_per_day // 3)
    header = ORDER_COLUMNS
    files: dict[str, bytes] = {}
    customers: set[str] = set()
    total_weight = sum(HOUR_WEIGHTS)
    for hour, weight in enumerate(HOUR_WEIGHTS):
        n = round(orders_per_day * weight / total_weight)
        if n == 0:
            continue  # a quiet hour: no folder, a valid empty partition
        start = datetime(day.year, day.month, day.day, hour)
        rows = []
        for i in range(n):
            customer = f"c{rng.randrange(pool):05d}"
            at = start + timedelta(seconds=rng.randrange(3600))
            row = _order(rng, f"o{start:%Y%m%d%H}{i:04d}", customer, at)
            if rng.random() < BAD_ROW_RATE:
                row = _spoil(rng, row)
            elif row[1]:
                customers.add(row[1])
            rows.append(row)
        prefix = f"orders/date={day:%Y-%m-%d}/hour={hour:02d}/"
        if files_per_day is None:
            files[prefix + "part-000.csv"] = _csv_bytes(header, rows)
        else:  # the rows' order across the hour's files is the one file's order
            for j, chunk in enumerate(_split(rows, round(files_per_day * n / orders_per_day))):
                files[prefix + f"part-000-{j:05d}.csv"] = _csv_bytes(header, chunk)
        corrections = []
        for row in rows:
            if rng.random() < CORRECTION_RATE and row[1] and row[3] != "not-a-time":
                fixed = list(row)
                fixed[1] = f"c{rng.randrange(pool):05d}"  # re-attributed to another customer
                fixed[4] = str(int(row[4]) // 2 if int(row[4]) > 0 else 100)
                fixed[5] = str(int(fixed[4]) * 8 // 100)
                fixed[6] = str(int(fixed[4]) + int(fixed[5]))
                fixed[7] = (start + timedelta(hours=1, minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
                customers.add(fixed[1])
                corrections.append(fixed)
        if corrections:
            files[prefix + "part-001-corrections.csv"] = _csv_bytes(header, corrections)
    day_start = datetime(day.year, day.month, day.day)
    cust_rows = [
        [c, f"Customer {int(c[1:])}", (day_start + timedelta(minutes=int(c[1:]) % 600)).isoformat()]
        for c in sorted(customers)
    ]
    files[f"customers/date={day:%Y-%m-%d}/customers.csv"] = _csv_bytes(CUSTOMER_COLUMNS, cust_rows)
    return files


def landed_by(key: str, now: datetime) -> bool:
    """A producer writes an hour's orders file once the hour is over, and a day's customers
    file once the day has begun: nothing from the future is seeded."""
    folders = dict(part.split("=", 1) for part in key.split("/") if "=" in part)
    written = datetime.combine(date.fromisoformat(folders["date"]), time())
    if "hour" in folders:
        written += timedelta(hours=int(folders["hour"]) + 1)
    return written <= now


def seed_landing(
    store: ObjectStore,
    start: date,
    end: date,
    orders_per_day: int = 1000,
    seed: int = 42,
    progress: Callable[[date, int], None] | None = None,
    now: datetime | None = None,
    files_per_day: int | None = None,
) -> SeedStats:
    """Write sample files for the inclusive range, up to `now` (naive UTC, default the
    clock); unchanged files are not rewritten. `files_per_day`: see `day_files`."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    stats = SeedStats()
    day = start
    done = 0
    while day <= end:
        files = day_files(day, orders_per_day, seed, files_per_day)
        for key, data in ((k, v) for k, v in files.items() if landed_by(k, now)):
            if store.exists(key) and store.read(key) == data:
                stats.files_unchanged += 1
            else:
                store.write(key, data)
                stats.files_written += 1
            rows = data.count(b"\n") - 1
            if key.startswith("orders/"):
                stats.order_rows += rows
            else:
                stats.customer_rows += rows
        done += 1
        if progress:
            progress(day, done)
        day += timedelta(days=1)
    return stats
