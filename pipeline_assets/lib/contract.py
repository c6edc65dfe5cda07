"""The landing-zone contract: object keys, partition keys and column rules.

Pure code, no Dagster: everything here is unit-tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

ORDERS = "orders"
CUSTOMERS = "customers"
DATASETS = (ORDERS, CUSTOMERS)

_DATE = r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
_NAME = r"(?P<name>[^/\x00-\x1f]+\.csv)"
_KEY_PATTERNS = {
    ORDERS: re.compile(rf"^orders/date={_DATE}/hour=(?P<hour>[0-9]{{2}})/{_NAME}\Z"),
    CUSTOMERS: re.compile(rf"^customers/date={_DATE}/{_NAME}\Z"),
}
_DAILY_KEY = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})\Z")  # `$` would allow a trailing "\n"


class ContractError(ValueError):
    """Input that breaks the landing contract before any row is read."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "timestamp" or "cents"
    required: bool


# Column order here is the warehouse column order.
COLUMNS: dict[str, tuple[Column, ...]] = {
    ORDERS: (
        Column("order_id", "str", True),
        Column("customer_id", "str", True),
        Column("store_id", "str", False),
        Column("ordered_at", "timestamp", True),
        Column("subtotal", "cents", True),
        Column("tax_paid", "cents", True),
        Column("order_total", "cents", True),
        Column("updated_at", "timestamp", False),
    ),
    CUSTOMERS: (
        Column("customer_id", "str", True),
        Column("name", "str", False),
        Column("updated_at", "timestamp", False),
    ),
}
KEY_COLUMN = {ORDERS: "order_id", CUSTOMERS: "customer_id"}


def column_names(dataset: str) -> list[str]:
    return [c.name for c in COLUMNS[dataset]]


def required_columns(dataset: str) -> list[str]:
    return [c.name for c in COLUMNS[dataset] if c.required]


def parse_daily_key(partition_key: str) -> date:
    """'2024-01-01' -> date; anything else is rejected."""
    m = _DAILY_KEY.match(partition_key)
    if not m:
        raise ContractError(f"invalid daily partition key {partition_key!r}: want YYYY-MM-DD")
    try:
        return date.fromisoformat(m.group(1))
    except ValueError as e:
        raise ContractError(f"invalid daily partition key {partition_key!r}: {e}") from None


def partition_prefix(dataset: str, partition_key: str) -> str:
    """The landing folder that holds one day's files (for orders, all 24 hour folders)."""
    if dataset not in DATASETS:
        raise ContractError(f"unknown dataset {dataset!r}")
    return f"{dataset}/date={parse_daily_key(partition_key):%Y-%m-%d}/"


def day_window(partition_key: str) -> tuple[datetime, datetime]:
    """Half-open [start, end) naive-UTC window of a daily partition."""
    day = parse_daily_key(partition_key)
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def hour_window(key: str) -> tuple[datetime, datetime] | None:
    """The [start, end) hour an orders file's folder names; None for customers files.

    The hour-folder rule: an order's `ordered_at` must fall inside its file's hour.
    """
    m = _KEY_PATTERNS[ORDERS].match(key)
    if not m:
        return None
    day, hour = parse_daily_key(m.group("date")), int(m.group("hour"))
    if hour > 23:
        raise ContractError(f"object key {key!r}: hour {hour} > 23")
    start = datetime(day.year, day.month, day.day, hour)
    return start, start + timedelta(hours=1)


def partition_of_key(key: str) -> tuple[str, str]:
    """Map a landing object key to (dataset, daily partition key); reject keys outside the
    contract."""
    check_key_is_safe(key)
    for dataset, pattern in _KEY_PATTERNS.items():
        m = pattern.match(key)
        if not m:
            continue
        parse_daily_key(m.group("date"))
        if dataset == ORDERS:
            hour_window(key)
        return dataset, m.group("date")
    raise ContractError(
        f"object key {key!r} is outside the landing contract "
        "(orders/date=YYYY-MM-DD/hour=HH/<name>.csv or customers/date=YYYY-MM-DD/<name>.csv)"
    )


# Names writers use while a file is still being written: never a landing file.
_TEMPORARY = re.compile(
    r"(^[.~]|\.(tmp|temp|part|partial|swp|crdownload|filepart)$|_COPYING_$)", re.IGNORECASE
)


def why_outside_contract(key: str) -> str:
    """Why a key under a day's landing folder is not a landing file (it is reported and
    never copied or loaded): a temporary name, the extension's case, the wrong folder..."""
    try:
        check_key_is_safe(key)
    except ContractError as e:
        return str(e)
    name = key.rsplit("/", 1)[-1]
    if _TEMPORARY.search(name):
        return "a temporary file (a write in progress), not a landing file"
    if name.lower().endswith(".csv") and not name.endswith(".csv"):
        return "the extension must be lower-case .csv"
    if not name.endswith(".csv"):
        return "not a .csv file"
    hour = re.fullmatch(r"orders/date=[^/]+/hour=([^/]*)/[^/]+", key)
    if key.startswith(f"{ORDERS}/") and not hour:
        return "not directly in an hour folder (orders/date=YYYY-MM-DD/hour=HH/<name>.csv)"
    if hour and not re.fullmatch(r"[01][0-9]|2[0-3]", hour.group(1)):
        return f"hour={hour.group(1)} is not an hour 00..23"
    if key.startswith(f"{CUSTOMERS}/") and key.count("/") != 2:
        return "not directly in the day's folder (customers/date=YYYY-MM-DD/<name>.csv)"
    try:
        partition_of_key(key)
    except ContractError as e:
        return str(e)
    return "outside the landing contract"


def check_key_is_safe(key: str) -> str:
    """Reject keys that could escape a root or smuggle control characters."""
    if not key or key.startswith("/") or "\\" in key:
        raise ContractError(
            f"unsafe object key {key!r}: must be a relative key with '/' separators"
        )
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ContractError(f"unsafe object key {key!r}: empty, '.' or '..' path segment")
    if any(ord(ch) < 32 for ch in key):
        raise ContractError(f"unsafe object key {key!r}: control character")
    return key


def complete_days(days: list[str], now: datetime) -> list[str]:
    """The days that are over at `now` (aware, or naive UTC): the only days whose marts and
    features are built, whatever launched the run. Today's raw rows load hour by hour."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return [d for d in days if day_window(d)[1] <= now]


def complete_until(now: datetime) -> datetime:
    """The start of `now`'s UTC day (aware): every day before it is over."""
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def days_between(start: date, end: date) -> list[str]:
    """Inclusive list of daily partition keys."""
    if end < start:
        raise ContractError(f"end {end} is before start {start}")
    return [f"{start + timedelta(days=i):%Y-%m-%d}" for i in range((end - start).days + 1)]
