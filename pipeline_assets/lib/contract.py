"""The landing-zone contract's common ground: daily partition keys, safe object keys, and
which days are over. What one dataset's keys and rows look like is its declaration
(`lib/dataset.py`).

Pure code, no Dagster: everything here is unit-tested directly.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DAILY_KEY = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})\Z")  # `$` would allow a trailing "\n"
_CONTROL = re.compile(r"[\x00-\x1f]")  # one search: checked for every object of a day


class ContractError(ValueError):
    """Input that breaks the landing contract before any row is read."""


def parse_daily_key(partition_key: str) -> date:
    """'2024-01-01' -> date; anything else is rejected."""
    m = _DAILY_KEY.match(partition_key)
    if not m:
        raise ContractError(f"invalid daily partition key {partition_key!r}: want YYYY-MM-DD")
    try:
        return date.fromisoformat(m.group(1))
    except ValueError as e:
        raise ContractError(f"invalid daily partition key {partition_key!r}: {e}") from None


def day_window(partition_key: str) -> tuple[datetime, datetime]:
    """Half-open [start, end) naive-UTC window of a daily partition."""
    day = parse_daily_key(partition_key)
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def check_key_is_safe(key: str) -> str:
    """Reject keys that could escape a root or smuggle control characters."""
    if not key or key.startswith("/") or "\\" in key:
        raise ContractError(
            f"unsafe object key {key!r}: must be a relative key with '/' separators"
        )
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ContractError(f"unsafe object key {key!r}: empty, '.' or '..' path segment")
    if _CONTROL.search(key):
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
