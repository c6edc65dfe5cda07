"""Many objects at once (lib/transfer.py): concurrent, bounded, in input order, errors named,
against a local folder and moto's S3 server."""

import hashlib
import threading
import tracemalloc
import uuid

import pytest
from spies import record_s3_requests

from pipeline_assets.defs.resources import PooledS3Resource
from pipeline_assets.lib import transfer
from pipeline_assets.lib.objectstore import LocalStore, MissingSourceError, S3Store
from pipeline_assets.lib.parallel import map_ordered
from pipeline_assets.lib.transfer import Copied, copy_many


def keys(n: int) -> list[str]:
    return [f"orders/date=2024-01-01/hour={i % 24:02d}/part-{i:05d}.csv" for i in range(n)]


def body(key: str) -> bytes:
    return f"order_id\n{key}\n".encode() * (1 + len(key) % 7)


def test_results_come_in_input_order_with_at_most_the_workers_running():
    running, most, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def slow_for_the_first(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if n == 0:
            release.wait(timeout=30)  # the first finishes after later ones
        elif n == 5:
            release.set()
        with lock:
            running[0] -= 1
        return n * n

    assert list(map_ordered(slow_for_the_first, range(50), workers=4)) == [n * n for n in range(50)]
    assert 2 <= most[0] <= 4  # item 0 waited for item 5: they ran at once


def test_the_first_error_in_input_order_is_raised_and_the_rest_is_not_started():
    started = []

    def work(n: int) -> int:
        started.append(n)
        if n in (5, 7):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 5"):
        list(map_ordered(work, range(10_000), workers=3))
    assert len(started) < 100  # bounded look-ahead: the other 9,900 were never started


@pytest.fixture
def bucket(s3_env):
    client = s3_env()
    name = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


def s3(bucket: str, prefix: str, pool: int = 16) -> S3Store:
    return S3Store(
        f"s3://{bucket}/{prefix}", PooledS3Resource(max_pool_connections=pool).get_client()
    )


def test_the_s3_client_pool_sizes_the_stores_concurrency(bucket):
    store = s3(bucket, "zone", pool=24)
    assert store.client.meta.config.max_pool_connections == 24 and store.workers == 24
    assert PooledS3Resource().get_client().meta.config.max_pool_connections == 16
    assert LocalStore("/tmp").workers == 1  # a local copy is CPU-bound: threads contend


@pytest.mark.slow
def test_a_concurrent_copy_of_600_small_files_on_s3_equals_a_serial_one(bucket, monkeypatch):
    """S3 copies within one endpoint itself (one CopyObject per file, the sha256 computed by
    S3, no byte through this process); the result equals a copy one file after another (a
    pool of one connection), in the same order, and what the processing zone holds."""
    landing = s3(bucket, "landing")
    names = keys(600)
    for key in names:
        landing.write(key, body(key))
    listed = landing.list("orders/")
    expected = [
        Copied(o.key, len(body(o.key)), hashlib.sha256(body(o.key)).hexdigest(), o.etag)
        for o in listed
    ]
    sent = record_s3_requests(monkeypatch)

    concurrent = copy_many(landing, s3(bucket, "processing"), listed)
    serial = copy_many(landing, s3(bucket, "serial", pool=1), listed)

    assert concurrent == serial == expected
    assert {op for op, _, _ in sent} == {"CopyObject"} and len(sent) == 1200
    for zone in ("processing", "serial"):
        store = s3(bucket, zone)
        assert [store.read(k) for k in names] == [body(k) for k in names]


@pytest.mark.parametrize("direction", ["local to local", "local to s3", "s3 to local"])
def test_a_copy_across_backends_reads_each_file_once_and_writes_it_once(
    tmp_path, bucket, direction
):
    stores = {"local": LocalStore(tmp_path / "a"), "s3": s3(bucket, "a")}
    second = {"local": LocalStore(tmp_path / "b"), "s3": s3(bucket, "b")}
    src_kind, _, dst_kind = direction.split()
    source, dest = stores[src_kind], second[dst_kind]
    names = keys(300)
    for key in names:
        source.write(key, body(key))
    listed = source.list("orders/")

    copied = copy_many(source, dest, listed)

    assert [c.key for c in copied] == sorted(names)
    for c, obj in zip(copied, listed, strict=True):
        data = dest.read(c.key)
        assert data == body(c.key) and c.size == len(data) and c.etag == obj.etag
        assert c.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("direction", ["local to local", "local to s3", "s3 to local"])
def test_a_big_file_is_copied_as_a_stream_never_held_whole(
    tmp_path, bucket, direction, monkeypatch
):
    """Above STREAM_ABOVE a file goes through in chunks (on S3 a multipart upload: 10 MB),
    its sha256 taken on the way; locally the copy's Python memory stays a few chunks."""
    monkeypatch.setattr(transfer, "STREAM_ABOVE", 1 << 20)
    src_kind, _, dst_kind = direction.split()
    source = LocalStore(tmp_path / "a") if src_kind == "local" else s3(bucket, "a")
    dest = LocalStore(tmp_path / "b") if dst_kind == "local" else s3(bucket, "b")
    key, data = keys(1)[0], b"".join(b"%09d,a line\n" % i for i in range(600_000))
    source.write(key, data)
    listed = source.list("orders/")

    tracemalloc.start()
    try:
        copied = copy_many(source, dest, listed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    digest = hashlib.sha256(data).hexdigest()
    assert copied == [Copied(key, len(data), digest, listed[0].etag)]
    assert dest.read(key) == data
    if direction == "local to local":
        assert peak < len(data) / 4, f"{peak:,} B held for a {len(data):,} B file"


@pytest.mark.parametrize("big", [False, True], ids=["small", "streamed"])
@pytest.mark.parametrize("direction", ["local to local", "s3 to s3", "local to s3"])
def test_a_file_gone_since_the_listing_fails_the_copy_naming_it(
    tmp_path, bucket, direction, big, monkeypatch
):
    if big:  # streamed: on S3, from inside the managed upload's read
        monkeypatch.setattr(transfer, "STREAM_ABOVE", 10)
    src_kind, _, dst_kind = direction.split()
    source = LocalStore(tmp_path / "a") if src_kind == "local" else s3(bucket, "a")
    dest = LocalStore(tmp_path / "b") if dst_kind == "local" else s3(bucket, "b")
    names = keys(200)
    for key in names:
        source.write(key, body(key))
    listed = source.list("orders/")
    source.delete(names[123])

    with pytest.raises(MissingSourceError, match=f"source key not found: .*{names[123]}"):
        copy_many(source, dest, listed)
