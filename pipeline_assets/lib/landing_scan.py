"""Find new and changed landing objects without listing the whole landing zone.

Pure code for the landing-zone sensor: list only the date prefixes inside a lookback window,
compare each object's ETag/checksum with the cursor, and group what changed by partition.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline_assets.lib.contract import DATASETS, ContractError, partition_of_key
from pipeline_assets.lib.objectstore import ObjectStore


@dataclass(frozen=True)
class PartitionChange:
    """One partition with new or re-landed objects, and a run key unique to their content."""

    dataset: str
    partition_key: str
    keys: tuple[str, ...]
    run_key: str


def date_prefixes(today: date, lookback_days: int, first_day: date) -> list[str]:
    """`<dataset>/date=YYYY-MM-DD/` for each day in the window, never before `first_day`."""
    days = [today - timedelta(days=i) for i in range(lookback_days + 1)]
    return [f"{ds}/date={d:%Y-%m-%d}/" for d in sorted(days) if d >= first_day for ds in DATASETS]


def scan(
    store: ObjectStore,
    prefixes: list[str],
    cursor: str | None,
    ready: Callable[[str, str], bool] = lambda dataset, partition_key: True,
) -> tuple[list[PartitionChange], str]:
    """Changes since `cursor`, and the new cursor ({key: etag} for keys inside the window).

    Objects of partitions that are not `ready` (the hour is not over yet) are left out of
    the new cursor, so a later scan reports them once their partition exists.
    """
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    current: dict[str, str] = {}
    changed: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for prefix in prefixes:
        for obj in store.list(prefix):
            try:
                dataset, partition_key = partition_of_key(obj.key)
            except ContractError:
                continue  # not a landing file (the copy reports these as ignored)
            if not ready(dataset, partition_key):
                continue
            current[obj.key] = obj.etag
            if seen.get(obj.key) != obj.etag:
                changed.setdefault((dataset, partition_key), []).append((obj.key, obj.etag))
    changes = []
    for (dataset, partition_key), items in sorted(changed.items()):
        digest = hashlib.sha256(json.dumps(sorted(items)).encode()).hexdigest()[:16]
        changes.append(
            PartitionChange(
                dataset,
                partition_key,
                tuple(sorted(k for k, _ in items)),
                f"{dataset}:{partition_key}:{digest}",
            )
        )
    return changes, json.dumps(current, sort_keys=True)
