"""Find new, changed and deleted landing objects without listing the whole landing zone.

Pure code for the landing-zone sensor: list only the date prefixes inside a lookback window,
and compare each day's digest of its files (keys, ETags and sizes, from the
listing alone: no file is read) with the cursor. A day whose digest changed runs again: a
new, re-landed or deleted file (a retraction, so its rows leave the warehouse). What changed
is described against the day's latest copy.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline_assets.lib.dataset import Dataset
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


def window_days(
    datasets: Iterable[Dataset], today: date, lookback_days: int, first_day: date
) -> list[tuple[Dataset, str]]:
    """Each dataset's days in the window (today and `lookback_days` before it), never
    before `first_day`: one listing of `<dataset>/date=YYYY-MM-DD/` each."""
    days = [today - timedelta(days=i) for i in range(lookback_days + 1)]
    datasets = list(datasets)
    return [(ds, f"{d:%Y-%m-%d}") for d in sorted(days) if d >= first_day for ds in datasets]


def day_digest(objects: Iterable[tuple[str, str]]) -> str:
    """12 hex digits naming a day's exact files: its sorted (key, fingerprint) pairs."""
    state = json.dumps(sorted(objects))
    return hashlib.sha256(state.encode()).hexdigest()[:12]


def day_of(dataset: str, partition_key: str) -> str:
    return f"{dataset}/{partition_key}"


def cursor_from_manifests(manifests: Iterable[Manifest]) -> str:
    """A first cursor that already knows what was ingested: each day of the latest
    manifests, by the fingerprints of the versions their copy took. A sensor starting on a
    warehouse that is up to date (after a backfill, say) then requests nothing."""
    days = {
        day_of(m.dataset, m.partition): day_digest((f.key, f.fingerprint) for f in m.files)
        for m in manifests
        if m.files and all(f.etag for f in m.files)
    }
    return json.dumps({"days": days, "seq": 0}, sort_keys=True)


def _load_cursor(cursor: str | None) -> tuple[dict[str, str], int]:
    state = json.loads(cursor) if cursor else {}
    return state.get("days", {}), state.get("seq", 0)


def describe_change(listed: dict[str, str], copied: dict[str, str] | None) -> tuple:
    """(added, changed, removed) keys: the landing files against the day's latest copy."""
    copied = copied or {}
    return (
        tuple(sorted(k for k in listed if k not in copied)),
        tuple(sorted(k for k in listed if k in copied and copied[k] != listed[k])),
        tuple(sorted(k for k in copied if k not in listed)),
    )


def scan(
    store: ObjectStore,
    days: list[tuple[Dataset, str]],
    cursor: str | None,
    exists: Callable[[str], bool] = lambda partition_key: True,
    copied: Callable[[str, str], dict[str, str] | None] = lambda dataset, day: None,
) -> tuple[list[PartitionChange], str]:
    """Changes since `cursor`, and the new cursor: one digest per day inside the window
    (a few hundred bytes, whatever the number of files), and a sequence number that makes
    every change's run key unique (a day that goes back to an earlier state must still run
    again). `copied(dataset, day)` is what the day's latest copy took ({key: fingerprint}),
    which the change is described against.

    Days that do not exist yet (`exists` is false: a clock ahead of ours) stay out of the
    cursor, so a later scan reports them once their day exists; days that left the window
    are forgotten.
    """
    seen, seq = _load_cursor(cursor)
    listed: dict[tuple[str, str], dict[str, str]] = {}
    for dataset, partition_key in days:
        if not exists(partition_key):
            continue
        # not a landing file: the copy reports it as ignored
        listed[(dataset.name, partition_key)] = {
            obj.key: obj.fingerprint
            for obj in store.list(dataset.partition_prefix(partition_key))
            if dataset.partition_of_key(obj.key) == partition_key
        }
    digests, changes = {}, []
    for (dataset, partition_key), files in sorted(listed.items()):
        name = day_of(dataset, partition_key)
        digest = day_digest(files.items()) if files else None
        if digest:
            digests[name] = digest
        if digest == seen.get(name):
            continue
        seq += 1
        added, changed, removed = describe_change(files, copied(dataset, partition_key))
        changes.append(
            PartitionChange(
                dataset,
                partition_key,
                added,
                changed,
                removed,
                f"{dataset}:{partition_key}:{digest or 'empty'}:{seq}",
            )
        )
    return changes, json.dumps({"days": digests, "seq": seq}, sort_keys=True)
