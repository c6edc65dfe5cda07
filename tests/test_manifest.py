"""Run manifests (lib/manifest.py): the copy of one day into the processing zone, and the
load's read of exactly what the manifest lists.

Unit level, on real LocalStore folders, and once on S3 (moto's server). Every test ends by
checking that the landing zone is byte-for-byte (and mtime-for-mtime) what it was.
"""

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import dataset, sql_validation

from pipeline_assets.lib.manifest import (
    Manifest,
    ManifestEntry,
    ManifestError,
    copying_key,
    manifest_key,
    read_files,
    read_manifest,
    snapshot,
)
from pipeline_assets.lib.objectstore import LocalStore, MissingSourceError, S3Store, local_etag

ORDERS, CUSTOMERS = dataset("orders"), dataset("customers")

DAY = "2024-01-01"
AFTER_THE_DAY = datetime(2024, 1, 2, 0, 5, tzinfo=UTC)
DURING_THE_DAY = datetime(2024, 1, 1, 15, 0, tzinfo=UTC)
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def hour_key(hour: int, name: str = "part.csv", day: str = DAY) -> str:
    return f"orders/date={day}/hour={hour:02d}/{name}"


def order_file(hour: int, order_id: str, day: str = DAY) -> bytes:
    return f"{HEADER}{order_id},c1,s01,{day}T{hour:02d}:30:00,100,8,108,\n".encode()


# Under the day's folder, but not files of the landing contract: listed, reported, not copied.
IGNORED = [
    "orders/date=2024-01-01/loose.csv",  # no hour folder
    "orders/date=2024-01-01/hour=05/notes.txt",  # not csv
    "orders/date=2024-01-01/hour=05/sub/deep.csv",  # below the hour folder
    "orders/date=2024-01-01/hour=24/a.csv",  # no such hour
    "orders/date=2024-01-01/hour=5/a.csv",  # one-digit hour
    "orders/date=2024-01-01/hour=٠٥/a.csv",  # non-ASCII digits
    "orders/date=2024-01-01/hour=05/a\x01b.csv",  # a control character
]
# Not under the day's folder at all: neither listed nor copied.
ELSEWHERE = [
    hour_key(0, day="2024-01-02"),
    hour_key(23, day="2023-12-31"),
    "customers/date=2024-01-01/c.csv",
]


class Zones:
    """A landing and a processing LocalStore under tmp_path, and the landing zone's state."""

    def __init__(self, root: Path):
        self.landing_root = root / "landing"
        self.landing = LocalStore(self.landing_root)
        self.processing = LocalStore(root / "processing")

    def land(self, key: str, data: bytes) -> None:
        """A producer's write: a plain file in the landing folder."""
        path = self.landing_root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def landing_state(self) -> dict[str, tuple[bytes, int]]:
        return {
            p.relative_to(self.landing_root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(self.landing_root.rglob("*"))
            if p.is_file()
        }

    def processing_files(self, prefix: str = "") -> dict[str, bytes]:
        return {
            o.key: self.processing.read(o.key)
            for o in self.processing.list(prefix)
            if not o.key.startswith("_manifests/")
        }


@pytest.fixture
def zones(tmp_path) -> Zones:
    return Zones(tmp_path)


@pytest.fixture
def full_day(zones) -> Zones:
    """One file in each of the day's 24 hour folders, ignored keys, and other days' files."""
    for hour in range(24):
        zones.land(hour_key(hour), order_file(hour, f"o{hour}"))
    for key in [*IGNORED, *ELSEWHERE]:
        zones.land(key, b"not part of the day\n")
    return zones


def test_snapshot_copies_exactly_the_days_contract_files(full_day):
    before = full_day.landing_state()

    manifest, removed = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)

    day_keys = [hour_key(h) for h in range(24)]
    assert [f.key for f in manifest.files] == day_keys  # all 24 hours, in key order
    assert full_day.processing_files() == {
        k: order_file(h, f"o{h}") for h, k in enumerate(day_keys)
    }
    assert list(manifest.ignored) == sorted(IGNORED)  # reported, not copied
    assert removed == []
    assert (manifest.dataset, manifest.partition) == ("orders", DAY)
    assert full_day.landing_state() == before  # the landing zone is never changed


def test_the_manifest_records_key_size_sha256_and_is_written_last_at_its_key(full_day):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)

    for hour, entry in enumerate(manifest.files):
        data = order_file(hour, f"o{hour}")
        assert entry == ManifestEntry(
            hour_key(hour),
            len(data),
            hashlib.sha256(data).hexdigest(),
            local_etag((full_day.landing_root / hour_key(hour)).stat()),  # size, mtime_ns
        )
    key = manifest_key("orders", DAY)
    assert key == "_manifests/orders/date=2024-01-01.json"
    stored = full_day.processing.read(key)
    assert (
        Manifest.from_bytes(stored) == manifest == read_manifest(full_day.processing, "orders", DAY)
    )
    assert json.loads(stored)["files"][0] == {
        "key": hour_key(0),
        "size": len(order_file(0, "o0")),
        "sha256": hashlib.sha256(order_file(0, "o0")).hexdigest(),
        "etag": local_etag((full_day.landing_root / hour_key(0)).stat()),
    }
    # The digest names the exact inputs: one changed byte anywhere changes it.
    lines = "".join(f"{f.key}\t{f.sha256}\n" for f in manifest.files)
    assert manifest.digest() == hashlib.sha256(lines.encode()).hexdigest()
    full_day.land(hour_key(7), order_file(7, "o7-fixed"))
    again, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    assert again.digest() != manifest.digest()
    assert [f.key for f in again.files if f not in manifest.files] == [hour_key(7)]


@pytest.mark.parametrize(
    "now,complete",
    [
        (datetime(2024, 1, 1, 0, 0, tzinfo=UTC), False),
        (DURING_THE_DAY, False),
        (datetime(2024, 1, 1, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2024, 1, 2, 0, 0, tzinfo=UTC), True),  # the day's end: nothing more can land
        (datetime(2024, 1, 5, 12, 0, tzinfo=UTC), True),
        # An aware time in another zone is compared in UTC: 01:00+02:00 is 23:00 UTC.
        (datetime(2024, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))), False),
        (datetime(2024, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5))), True),
    ],
)
def test_complete_means_listed_after_the_day_ended(full_day, now, complete):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, now)
    assert manifest.complete is complete
    utc = now.astimezone(UTC).replace(tzinfo=None)
    assert manifest.listed_at == utc.isoformat(timespec="seconds")
    assert read_manifest(full_day.processing, "orders", DAY).complete is complete


def test_a_deleted_landing_file_is_retracted_from_processing_and_the_manifest(full_day):
    snapshot(full_day.landing, full_day.processing, ORDERS, "2024-01-02", AFTER_THE_DAY)
    other_day = full_day.processing_files("orders/date=2024-01-02/")
    first, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, DURING_THE_DAY)
    assert hour_key(5) in [f.key for f in first.files]

    (full_day.landing_root / hour_key(5)).unlink()  # the producer retracts hour 05
    full_day.land(hour_key(6, "late.csv"), order_file(6, "late"))  # and adds a file
    before = full_day.landing_state()
    manifest, removed = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)

    assert removed == [hour_key(5)]
    assert not full_day.processing.exists(hour_key(5))
    keys = [f.key for f in manifest.files]
    assert hour_key(5) not in keys and hour_key(6, "late.csv") in keys and len(keys) == 24
    assert read_manifest(full_day.processing, "orders", DAY) == manifest
    assert sorted(full_day.processing_files(f"orders/date={DAY}/")) == keys
    loaded = dict(read_files(full_day.processing, manifest))
    assert list(loaded) == keys and hour_key(5) not in loaded
    # Other days are not touched by this day's retraction.
    assert full_day.processing_files("orders/date=2024-01-02/") == other_day
    assert read_manifest(full_day.processing, "orders", "2024-01-02").files[0].key == ELSEWHERE[0]
    assert full_day.landing_state() == before


def test_a_day_whose_files_are_all_retracted_becomes_empty(zones):
    zones.land(hour_key(3), order_file(3, "o3"))
    zones.land(hour_key(4), order_file(4, "o4"))
    snapshot(zones.landing, zones.processing, ORDERS, DAY, DURING_THE_DAY)
    for hour in (3, 4):
        (zones.landing_root / hour_key(hour)).unlink()

    manifest, removed = snapshot(zones.landing, zones.processing, ORDERS, DAY, AFTER_THE_DAY)

    assert removed == [hour_key(3), hour_key(4)]
    assert manifest.files == () and zones.processing_files() == {}
    assert read_files(zones.processing, read_manifest(zones.processing, "orders", DAY)) == []


def test_read_files_fails_naming_a_missing_processing_file(full_day):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    full_day.processing.delete(hour_key(13))
    before = full_day.landing_state()

    with pytest.raises(ManifestError) as e:
        read_files(full_day.processing, manifest)

    assert f"{full_day.processing.uri}/{hour_key(13)}: " in str(e.value)
    assert "missing from the processing zone" in str(e.value)
    assert full_day.landing_state() == before  # never "repaired" from the landing zone


@pytest.mark.parametrize("change", ["same size", "appended", "truncated"])
def test_read_files_fails_naming_a_changed_processing_file(full_day, change):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    data = full_day.processing.read(hour_key(8))
    changed = {
        "same size": data.replace(b"o8,", b"o9,"),
        "appended": data + b"o99,c1,s01,2024-01-01T08:31:00,1,0,1,\n",
        "truncated": data[:-5],
    }[change]
    assert changed != data
    full_day.processing.write(hour_key(8), changed)

    with pytest.raises(ManifestError) as e:
        read_files(full_day.processing, manifest)

    message = str(e.value)
    assert f"{full_day.processing.uri}/{hour_key(8)}: changed since the copy" in message
    assert hashlib.sha256(changed).hexdigest() in message and manifest.files[8].sha256 in message


def test_read_files_returns_exactly_the_manifests_files(full_day):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    # A file that appears in the processing zone after the copy is not part of the day.
    full_day.processing.write(hour_key(9, "stray.csv"), order_file(9, "stray"))

    files = read_files(full_day.processing, manifest)

    assert files == [(hour_key(h), order_file(h, f"o{h}")) for h in range(24)]
    result = sql_validation("orders", DAY, files)
    assert sorted(r[0] for r in result.accepted) == sorted(f"o{h}" for h in range(24))
    assert not result.quarantined


def test_a_big_file_is_streamed_and_checked_as_it_is_read(full_day):
    """Above `stream_above` bytes a file is not held whole: its chunks come as the store
    streams them, hashed on the way, and the end of the stream raises if they differ from
    what the copy wrote (the validator then fails the day, having loaded nothing of it)."""
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    big = min(entry.size for entry in manifest.files) - 1  # every file is above this
    files = read_files(full_day.processing, manifest, stream_above=big)
    assert [k for k, _ in files] == [hour_key(h) for h in range(24)]
    assert all(not isinstance(content, bytes) for _, content in files)
    assert [b"".join(content) for _, content in files] == [
        order_file(h, f"o{h}") for h in range(24)
    ]

    full_day.processing.write(hour_key(8), order_file(8, "o9"))  # the same size, changed
    streamed = dict(read_files(full_day.processing, manifest, stream_above=big))[hour_key(8)]
    first = next(streamed)  # nothing is known to be wrong until the end
    assert first == order_file(8, "o9")
    with pytest.raises(ManifestError, match=r"hour=08/part.csv: changed since the copy"):
        list(streamed)
    full_day.processing.delete(hour_key(9))
    streamed = dict(read_files(full_day.processing, manifest, stream_above=big))[hour_key(9)]
    with pytest.raises(ManifestError, match=r"hour=09/part.csv: .*missing from the processing"):
        next(streamed)


class WaitingStore(LocalStore):
    """A processing zone whose reads each wait until `workers` of them are in flight:
    read one at a time, the first read would wait forever (the barrier's timeout fails it)."""

    workers = 4

    def __init__(self, root: Path):
        super().__init__(root)
        self.barrier = threading.Barrier(self.workers, timeout=30)

    def read_chunks(self, key: str, size: int = 1 << 20):
        if hour_key(4) <= key < hour_key(8):  # later files may come first: order is kept
            self.barrier.wait()
        yield from super().read_chunks(key, size)


def test_small_files_are_read_as_many_at_a_time_as_the_store_allows_in_the_manifests_order(
    full_day,
):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    store = WaitingStore(full_day.processing.root)
    assert read_files(store, manifest) == [(hour_key(h), order_file(h, f"o{h}")) for h in range(24)]


@pytest.mark.parametrize("dataset", ["orders", "customers"])
def test_read_manifest_fails_naming_the_manifest_key_when_missing(zones, dataset):
    # Files in the processing zone are no substitute for the manifest.
    zones.processing.write(f"{dataset}/date={DAY}/hour=01/x.csv", b"x")
    with pytest.raises(ManifestError) as e:
        read_manifest(zones.processing, dataset, DAY)
    assert f"{zones.processing.uri}/_manifests/{dataset}/date={DAY}.json: " in str(e.value)
    assert f"no manifest for {dataset} {DAY}" in str(e.value)


def test_an_empty_day_gives_a_valid_empty_manifest(zones):
    zones.land(hour_key(0, day="2024-01-02"), order_file(0, "next-day"))  # not this day
    zones.land("orders/date=2024-01-01/hour=02/readme.txt", b"no csv here")  # ignored only

    manifest, removed = snapshot(zones.landing, zones.processing, ORDERS, DAY, AFTER_THE_DAY)

    assert manifest.files == () and removed == []
    assert manifest.ignored == ("orders/date=2024-01-01/hour=02/readme.txt",)
    assert manifest.complete is True
    stored = read_manifest(zones.processing, "orders", DAY)
    assert stored == manifest and stored.files == ()
    assert read_files(zones.processing, stored) == []
    assert zones.processing_files() == {}
    # A day without even a folder is just as valid.
    quiet, _ = snapshot(zones.landing, zones.processing, CUSTOMERS, DAY, DURING_THE_DAY)
    assert quiet.files == () and quiet.ignored == () and quiet.complete is False
    assert read_files(zones.processing, read_manifest(zones.processing, "customers", DAY)) == []


def test_customers_snapshot_takes_only_the_days_customers_files(zones):
    zones.land("customers/date=2024-01-01/a.csv", b"customer_id,name\nc1,Ann\n")
    zones.land("customers/date=2024-01-01/b.csv", b"customer_id,name\nc2,Bo\n")
    zones.land("customers/date=2024-01-01/hour=01/c.csv", b"customer_id\nc3\n")  # no hours
    zones.land("customers/date=2024-01-02/d.csv", b"customer_id\nc4\n")
    zones.land(hour_key(1), order_file(1, "o1"))

    manifest, _ = snapshot(zones.landing, zones.processing, CUSTOMERS, DAY, AFTER_THE_DAY)

    keys = ["customers/date=2024-01-01/a.csv", "customers/date=2024-01-01/b.csv"]
    assert [f.key for f in manifest.files] == keys
    assert manifest.ignored == ("customers/date=2024-01-01/hour=01/c.csv",)
    assert sorted(zones.processing_files()) == keys
    assert manifest_key("customers", DAY) == "_manifests/customers/date=2024-01-01.json"


def test_landing_files_are_never_modified(full_day):
    before = full_day.landing_state()
    for now in (DURING_THE_DAY, AFTER_THE_DAY):
        manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, now)
        read_files(full_day.processing, manifest)
    # Processing files changed or deleted, then the copy again: still only reads the landing.
    full_day.processing.write(hour_key(1), b"garbage")
    full_day.processing.delete(hour_key(2))
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    assert dict(read_files(full_day.processing, manifest))[hour_key(1)] == order_file(1, "o1")
    assert full_day.landing_state() == before


class VanishingStore(LocalStore):
    """A landing zone where one listed file is deleted before it is read."""

    def __init__(self, root: Path, vanishing: str):
        super().__init__(root)
        self.vanishing = vanishing

    def fetch(self, key: str) -> tuple[bytes, str]:
        if key == self.vanishing:
            (self.root / key).unlink(missing_ok=True)
        return super().fetch(key)


def test_a_copy_that_fails_midway_leaves_no_manifest_that_matches_a_mix(full_day):
    old, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, DURING_THE_DAY)
    full_day.land(hour_key(3), order_file(3, "o3-fixed"))  # copied before the failure
    flaky = VanishingStore(full_day.landing_root, hour_key(20))

    with pytest.raises(MissingSourceError, match="hour=20/part.csv"):
        snapshot(flaky, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)

    # The manifest is written last: the old one is still there, and a load refuses the
    # half-new processing zone, naming the file that changed, instead of loading a mix.
    assert read_manifest(full_day.processing, "orders", DAY) == old
    with pytest.raises(ManifestError, match=r"hour=03/part.csv: changed since the copy"):
        read_files(full_day.processing, old)
    # The retry (the file is really gone now) converges: hour 20 is retracted.
    manifest, removed = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    assert removed == [hour_key(20)] and len(manifest.files) == 23
    assert dict(read_files(full_day.processing, manifest))[hour_key(3)] == order_file(3, "o3-fixed")


def test_snapshot_retraction_and_checksums_on_s3(s3_env):
    client = s3_env()
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    landing = S3Store(f"s3://{bucket}/landing", client)
    processing = S3Store(f"s3://{bucket}/processing/zone", client)
    files = {hour_key(h): order_file(h, f"o{h}") for h in (0, 11, 23)}
    for key, data in {**files, IGNORED[0]: b"x", ELSEWHERE[0]: b"y"}.items():
        landing.write(key, data)
    landing_before = {o.key: landing.read(o.key) for o in landing.list("")}

    manifest, removed = snapshot(landing, processing, ORDERS, DAY, AFTER_THE_DAY)

    assert [f.key for f in manifest.files] == sorted(files) and removed == []
    assert manifest.ignored == (IGNORED[0],) and manifest.complete
    assert [(f.size, f.sha256) for f in manifest.files] == [
        (len(d), hashlib.sha256(d).hexdigest()) for _, d in sorted(files.items())
    ]
    listed = client.list_objects_v2(Bucket=bucket, Prefix="processing/zone/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(
        [*(f"processing/zone/{k}" for k in files), "processing/zone/" + manifest_key("orders", DAY)]
    )
    assert read_files(processing, read_manifest(processing, "orders", DAY)) == sorted(files.items())
    streamed = read_files(processing, read_manifest(processing, "orders", DAY), stream_above=0)
    assert [(key, b"".join(chunks)) for key, chunks in streamed] == sorted(files.items())

    landing.delete(hour_key(11))  # retracted
    manifest, removed = snapshot(landing, processing, ORDERS, DAY, AFTER_THE_DAY)
    assert removed == [hour_key(11)] and not processing.exists(hour_key(11))
    assert [f.key for f in manifest.files] == [hour_key(0), hour_key(23)]

    processing.write(hour_key(23), b"tampered")
    with pytest.raises(ManifestError, match=rf"s3://{bucket}/processing/zone/{hour_key(23)}: "):
        read_files(processing, manifest)
    processing.delete(hour_key(0))
    with pytest.raises(ManifestError, match=rf"/{hour_key(0)}: .*missing from the processing"):
        read_files(processing, manifest)
    with pytest.raises(ManifestError, match=r"_manifests/customers/date=2024-01-01.json"):
        read_manifest(processing, "customers", DAY)
    del landing_before[hour_key(11)]  # the only landing change is the producer's own delete
    assert {o.key: landing.read(o.key) for o in landing.list("")} == landing_before


class ListingSpy(LocalStore):
    """A processing zone that records the prefixes it is asked to list."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.listed: list[str] = []

    def list(self, prefix: str):
        self.listed.append(prefix)
        return super().list(prefix)


def test_retractions_come_from_the_previous_manifest_not_a_listing(full_day, tmp_path):
    processing = ListingSpy(tmp_path / "processing")
    snapshot(full_day.landing, processing, ORDERS, DAY, DURING_THE_DAY)
    assert processing.listed == [f"orders/date={DAY}/"]  # no manifest yet: what is there says
    processing.listed.clear()
    for hour in (4, 9):
        (full_day.landing_root / hour_key(hour)).unlink()

    manifest, removed = snapshot(full_day.landing, processing, ORDERS, DAY, AFTER_THE_DAY)

    assert processing.listed == []  # the previous manifest said what was there
    assert removed == [hour_key(4), hour_key(9)] == list(manifest.retracted)
    assert read_manifest(processing, "orders", DAY).retracted == (hour_key(4), hour_key(9))
    assert sorted(full_day.processing_files(f"orders/date={DAY}/")) == [
        f.key for f in manifest.files
    ]
    assert not processing.exists(copying_key("orders", DAY))  # deleted after the manifest


def test_a_copy_that_did_not_finish_leaves_no_file_behind_for_ever(full_day):
    """A failed copy may leave files no manifest names; if their landing file goes before
    the retry, the retry still removes them: the unfinished copy's marker makes it list."""
    snapshot(full_day.landing, full_day.processing, ORDERS, DAY, DURING_THE_DAY)
    late = hour_key(2, "late.csv")
    full_day.land(late, order_file(2, "late"))  # copied by the attempt that fails
    flaky = VanishingStore(full_day.landing_root, hour_key(20))
    with pytest.raises(MissingSourceError):
        snapshot(flaky, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    assert full_day.processing.exists(late) and full_day.processing.exists(
        copying_key("orders", DAY)
    )
    (full_day.landing_root / late).unlink()  # the producer takes it back before the retry

    manifest, removed = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)

    assert removed == [hour_key(2, "late.csv"), hour_key(20)]
    assert sorted(full_day.processing_files(f"orders/date={DAY}/")) == [
        f.key for f in manifest.files
    ]
    assert not full_day.processing.exists(copying_key("orders", DAY))


def test_a_manifest_written_before_retractions_were_recorded_still_reads(full_day):
    manifest, _ = snapshot(full_day.landing, full_day.processing, ORDERS, DAY, AFTER_THE_DAY)
    old = json.loads(manifest.to_bytes())
    del old["retracted"]
    assert Manifest.from_bytes(json.dumps(old).encode()) == manifest
