"""Run manifests: exactly what a partition's copy put into the processing zone.

The copy lists one day's landing files (metadata only), copies each into the processing zone
under the same key, many at a time, deletes the day's processing files that are no longer in
the landing zone (retracted or renamed: taken from the previous manifest, not from a listing
of the processing zone), and writes the manifest last: key, size, sha256 and listed ETag of
every file, and when the landing zone was listed. The load reads exactly the manifest's
files, each once, and verifies each checksum on that read. A file missing or changed since
the copy, or a missing manifest, fails the load naming the key; only a manifest that lists
no file is a quiet (empty) day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline_assets.lib.contract import ContractError, day_window, parse_daily_key
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.objects import STREAM_ABOVE
from pipeline_assets.lib.objectstore import (
    MissingSourceError,
    MissingZoneError,
    ObjectInfo,
    ObjectStore,
    fingerprint,
)
from pipeline_assets.lib.parallel import map_ordered
from pipeline_assets.lib.transfer import copy_many

MANIFEST_PREFIX = "_manifests"
# A copy of a day writes `_copying/<dataset>/date=D.json` before its first file and deletes it
# after the manifest: found by the next copy, it says that one did not finish, so files it
# copied may be in no manifest, and the next copy takes its retractions from a listing.
COPYING_PREFIX = "_copying"
# Materialization metadata of the ingestion assets: their manifest listed the day after it
# ended, so no hour of it can still be on its way. The warehouse models wait for it.
LANDING_COMPLETE = "landing_complete"


class ManifestError(ContractError):
    """The processing zone does not hold what the manifest says: never load a guess."""


@dataclass(frozen=True)
class ManifestEntry:
    key: str
    size: int
    sha256: str
    etag: str = ""  # the landing ETag of the version copied (local: size and mtime_ns)

    @property
    def fingerprint(self) -> str:
        """What the sensor and the schedules compare with a landing listing."""
        return fingerprint(self.etag, self.size)


@dataclass(frozen=True)
class Manifest:
    """One day of one dataset as copied: the files, and whether the day was over."""

    dataset: str
    partition: str
    listed_at: str  # ISO-8601 UTC: when the landing zone was listed
    complete: bool  # listed after the day ended: no hour of it can still be on its way
    files: tuple[ManifestEntry, ...]
    ignored: tuple[str, ...]  # keys under the day's folder that break the landing contract
    retracted: tuple[str, ...] = ()  # processing files this copy removed (landing file gone)

    def to_bytes(self) -> bytes:
        """The manifest file's JSON, built field by field: `dataclasses.asdict` deep-copies
        every entry (~0.1 s a day of the copy at 14,400 files)."""
        fields = {
            "dataset": self.dataset,
            "partition": self.partition,
            "listed_at": self.listed_at,
            "complete": self.complete,
            "files": [
                {"key": f.key, "size": f.size, "sha256": f.sha256, "etag": f.etag}
                for f in self.files
            ],
            "ignored": list(self.ignored),
            "retracted": list(self.retracted),
        }
        return json.dumps(fields, indent=1, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        files = tuple(ManifestEntry(**f) for f in raw.pop("files"))
        retracted = tuple(raw.pop("retracted", ()))  # manifests before it was recorded
        return cls(files=files, ignored=tuple(raw.pop("ignored")), retracted=retracted, **raw)

    def digest(self) -> str:
        """One sha256 over the keys and their checksums: names the partition's exact inputs."""
        lines = "".join(f"{f.key}\t{f.sha256}\n" for f in self.files)
        return hashlib.sha256(lines.encode()).hexdigest()


def manifest_key(dataset: str, partition_key: str) -> str:
    return f"{MANIFEST_PREFIX}/{dataset}/date={parse_daily_key(partition_key):%Y-%m-%d}.json"


def copying_key(dataset: str, partition_key: str) -> str:
    return f"{COPYING_PREFIX}/{dataset}/date={parse_daily_key(partition_key):%Y-%m-%d}.json"


def list_day(
    store: ObjectStore, dataset: Dataset, partition_key: str
) -> tuple[list[ObjectInfo], list[str]]:
    """One listing of a day's folder: (contract objects, other keys reported as ignored)."""
    objects, ignored = [], []
    for obj in store.list(dataset.partition_prefix(partition_key)):
        if dataset.partition_of_key(obj.key) == partition_key:
            objects.append(obj)
        else:
            ignored.append(obj.key)
    return objects, ignored


def previous_keys(processing: ObjectStore, dataset: Dataset, partition_key: str) -> set[str]:
    """The day's files a previous copy may have left in the processing zone: its manifest's,
    or, with no manifest or after a copy that did not finish, a listing (metadata only)."""
    unfinished = processing.exists(copying_key(dataset.name, partition_key))
    if not unfinished:
        try:
            return {f.key for f in read_manifest(processing, dataset.name, partition_key).files}
        except ManifestError:
            pass  # never copied, or copied before manifests: what is there says
    try:
        return {obj.key for obj in processing.list(dataset.partition_prefix(partition_key))}
    except MissingZoneError:  # nothing was ever copied: nothing to retract
        return set()


def remove_retracted(
    processing: ObjectStore, previous: Iterable[str], landed: set[str]
) -> list[str]:
    """Delete the previous copy's files whose landing file is gone (a retraction): only
    once every landed file is copied, right before the manifest that no longer lists them."""
    removed = sorted(set(previous) - landed)
    for _ in map_ordered(processing.delete, removed, processing.workers):
        pass
    return removed


def snapshot(
    landing: ObjectStore,
    processing: ObjectStore,
    dataset: Dataset,
    partition_key: str,
    now: datetime,
) -> tuple[Manifest, list[str]]:
    """Mirror one day of the landing zone into the processing zone; return the manifest and
    the processing keys removed because their landing file is gone."""
    # Naive UTC; an aware `now` in another zone is converted, not just stripped of its zone.
    listed_at = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    objects, ignored = list_day(landing, dataset, partition_key)
    previous = previous_keys(processing, dataset, partition_key)
    marker = copying_key(dataset.name, partition_key)
    processing.write(marker, json.dumps({"listed_at": listed_at.isoformat()}).encode())
    # A file deleted since the listing fails the copy (retried, re-listed), naming its key.
    copied = copy_many(landing, processing, objects)
    files = [ManifestEntry(c.key, c.size, c.sha256, c.etag) for c in copied]
    removed = remove_retracted(processing, previous, {obj.key for obj in objects})
    manifest = Manifest(
        dataset=dataset.name,
        partition=partition_key,
        listed_at=listed_at.isoformat(timespec="seconds"),
        complete=listed_at >= day_window(partition_key)[1],
        files=tuple(files),
        ignored=tuple(ignored),
        retracted=tuple(removed),
    )
    processing.write(manifest_key(dataset.name, partition_key), manifest.to_bytes())
    processing.delete(marker)
    return manifest, removed


def read_manifest(processing: ObjectStore, dataset: str, partition_key: str) -> Manifest:
    key = manifest_key(dataset, partition_key)
    try:
        return Manifest.from_bytes(processing.read(key))
    except MissingSourceError:
        raise ManifestError(
            f"{processing.uri}/{key}: no manifest for {dataset} {partition_key}; "
            "materialize its processing files first"
        ) from None


def latest_manifests(processing: ObjectStore, days: list[tuple[str, str]]) -> list[Manifest]:
    """The manifests of these (dataset, day) that have one."""
    found = []
    for dataset, day in days:
        try:
            found.append(read_manifest(processing, dataset, day))
        except ManifestError:
            continue  # never ingested
    return found


def landing_state(
    landing: ObjectStore, processing: ObjectStore, dataset: Dataset, partition_key: str
) -> tuple[bool, bool]:
    """(whether the day has anything to ingest at all, whether its landing files differ from
    what its latest manifest copied), by key, ETag and size. A day with no files that was
    never ingested has nothing: a run of it would load an empty day for nobody."""
    listed = {obj.key: obj.fingerprint for obj in list_day(landing, dataset, partition_key)[0]}
    try:
        manifest: Manifest | None = read_manifest(processing, dataset.name, partition_key)
    except ManifestError:
        manifest = None
    anything = bool(listed) or manifest is not None
    copied = {f.key: f.fingerprint for f in manifest.files} if manifest else None
    return anything, anything and listed != copied


def read_files(
    processing: ObjectStore, manifest: Manifest, stream_above: int = STREAM_ABOVE
) -> list[tuple[str, bytes | Iterator[bytes]]]:
    """The manifest's files, in its order, each read once and checked against its recorded
    size and sha256 on that read (ManifestError naming it). Files up to `stream_above` bytes
    are read whole, as many at a time as the store has connections; a bigger one is returned
    as its chunks, checked as they are read (the end of the stream raises if it differs from
    the manifest), so that nothing holds it whole."""
    small = [entry for entry in manifest.files if entry.size <= stream_above]
    whole = map_ordered(
        lambda e: b"".join(_checked(processing, manifest, e)), small, processing.workers
    )
    data = dict(zip((entry.key for entry in small), whole, strict=True))
    return [
        (entry.key, data[entry.key] if entry.key in data else _checked(processing, manifest, entry))
        for entry in manifest.files
    ]


def _checked(processing: ObjectStore, manifest: Manifest, entry: ManifestEntry) -> Iterator[bytes]:
    """One file's chunks as the store streams them, hashed on the way; raises ManifestError
    if it is missing, or, after its last chunk, if it is not what the copy wrote."""
    where = f"{processing.uri}/{entry.key}"
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in processing.read_chunks(entry.key):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    except MissingSourceError:
        raise ManifestError(
            f"{where}: listed in the manifest of {manifest.dataset} {manifest.partition} "
            "but missing from the processing zone; re-run the copy"
        ) from None
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise ManifestError(
            f"{where}: changed since the copy (sha256 {digest.hexdigest()}, manifest "
            f"{entry.sha256}); re-run the copy"
        )
