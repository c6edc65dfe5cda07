"""Find new, changed and deleted landing objects without listing the whole landing zone.

Pure code for the landing-zone sensor: list only the date prefixes inside a lookback window,
compare each object's ETag/checksum with the cursor, and group what changed by day. A key
that was in the cursor and is gone from its (listed) prefix is a retraction: its day runs
again, so its rows leave the warehouse.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline_assets.lib.contract import DATASETS, ContractError, partition_of_key
from pipeline_assets.lib.manifest import Manifest
from pipeline_assets.lib.objectstore import ObjectStore


@dataclass(frozen=True)
class PartitionChange:
    """One day of one dataset whose landing files changed, and a run key for that change."""

    dataset: str
    partition_key: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    run_key: str

    def describe(self) -> str:
        return f"{len(self.added)} new, {len(self.changed)} changed, {len(self.removed)} removed"


def date_prefixes(today: date, lookback_days: int, first_day: date) -> list[str]:
    """`<dataset>/date=YYYY-MM-DD/` for each day in the window, never before `first_day`."""
    days = [today - timedelta(days=i) for i in range(lookback_days + 1)]
    return [f"{ds}/date={d:%Y-%m-%d}/" for d in sorted(days) if d >= first_day for ds in DATASETS]


def cursor_from_manifests(manifests: Iterable[Manifest]) -> str:
    """A first cursor that already knows what was ingested: the objects of the latest
    manifests, by the ETag their copy listed. A sensor starting on a warehouse that is
    up to date (after a backfill, say) then requests nothing."""
    objects = {f.key: f.etag for m in manifests for f in m.files if f.etag}
    return json.dumps({"objects": objects, "seq": 0}, sort_keys=True)


def _load_cursor(cursor: str | None) -> tuple[dict[str, str], int]:
    state = json.loads(cursor) if cursor else {}
    return state.get("objects", {}), state.get("seq", 0)


def scan(
    store: ObjectStore,
    prefixes: list[str],
    cursor: str | None,
    exists: Callable[[str], bool] = lambda partition_key: True,
) -> tuple[list[PartitionChange], str]:
    """Changes since `cursor`, and the new cursor: {key: etag} inside the window, and a
    sequence number that makes every change's run key unique (a day that goes back to an
    earlier state must still run again).

    Objects of days that do not exist yet (`exists` is false: a clock ahead of ours) stay
    out of the cursor, so a later scan reports them once their day exists.
    """
    seen, seq = _load_cursor(cursor)
    current: dict[str, str] = {}
    for prefix in prefixes:
        for obj in store.list(prefix):
            try:
                _, partition_key = partition_of_key(obj.key)
            except ContractError:
                continue  # not a landing file (the copy reports these as ignored)
            if exists(partition_key):
                current[obj.key] = obj.etag
    touched: dict[tuple[str, str], dict[str, list[str]]] = {}

    def note(key: str, kind: str) -> None:
        touched.setdefault(partition_of_key(key), {"added": [], "changed": [], "removed": []})[
            kind
        ].append(key)

    for key, etag in current.items():
        if key not in seen:
            note(key, "added")
        elif seen[key] != etag:
            note(key, "changed")
    listed = tuple(prefixes)
    for key in seen:
        if key.startswith(listed) and key not in current:
            note(key, "removed")  # keys of days that left the window are just forgotten
    changes = []
    for (dataset, partition_key), kinds in sorted(touched.items()):
        seq += 1
        state = sorted(
            (k, e) for k, e in current.items() if partition_of_key(k) == (dataset, partition_key)
        )
        digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:12]
        changes.append(
            PartitionChange(
                dataset,
                partition_key,
                tuple(sorted(kinds["added"])),
                tuple(sorted(kinds["changed"])),
                tuple(sorted(kinds["removed"])),
                f"{dataset}:{partition_key}:{digest}:{seq}",
            )
        )
    return changes, json.dumps({"objects": current, "seq": seq}, sort_keys=True)
