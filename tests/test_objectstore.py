"""The object-store interface against a local folder and a real S3 endpoint (moto's server).

The copy itself (landing -> processing, with its manifest) is tested in test_manifest.py.
"""

import hashlib
import uuid

import pytest

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.objectstore import (
    LocalStore,
    MissingSourceError,
    MissingZoneError,
    S3Store,
    open_store,
)

KEY = "orders/date=2024-01-01/hour=05/part-000.csv"
OTHER = "orders/date=2024-01-01/hour=06/part-000.csv"


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        (tmp_path / "landing").mkdir()
        return LocalStore(tmp_path / "landing")
    client = request.getfixturevalue("s3_env")()
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(f"s3://{bucket}/proc/x", client)


def test_write_read_list_exists(store):
    store.write(KEY, b"hello")
    store.write(OTHER, b"hi")
    store.write("customers/date=2024-01-01/c.csv", b"c")
    assert store.read(KEY) == b"hello" and store.exists(KEY)
    listed = store.list("orders/date=2024-01-01/")
    assert [(o.key, o.size) for o in listed] == [(KEY, 5), (OTHER, 2)]  # sorted, under prefix
    # The etag is the content's MD5 on both backends (S3's single-part ETag).
    assert listed[0].etag == hashlib.md5(b"hello").hexdigest()
    store.write(KEY, b"replaced")  # a write replaces the whole object
    assert store.read(KEY) == b"replaced"


def test_delete_removes_one_object_and_is_idempotent(store):
    store.write(KEY, b"a")
    store.write(OTHER, b"b")
    store.delete(KEY)
    assert not store.exists(KEY) and store.exists(OTHER)
    assert [o.key for o in store.list("orders/")] == [OTHER]
    store.delete(KEY)  # already gone: a no-op, not an error
    with pytest.raises(MissingSourceError, match="hour=05/part-000.csv"):
        store.read(KEY)


def test_missing_key_fails_naming_the_key(store):
    with pytest.raises(MissingSourceError, match="source key not found: .*hour=05/part-000.csv"):
        store.read(KEY)
    assert not store.exists(KEY)


def test_read_chunks_streams_the_object_in_pieces_of_the_size(store):
    data = bytes(range(256)) * 41  # 10,496 bytes: not a multiple of the chunk size
    store.write(KEY, data)
    chunks = list(store.read_chunks(KEY, 1000))
    assert b"".join(chunks) == data
    assert all(len(c) <= 1000 for c in chunks) and len(chunks) >= 11
    with pytest.raises(MissingSourceError, match="source key not found: .*hour=06/part-000.csv"):
        next(store.read_chunks(OTHER))


def test_reads_in_flight_are_bounded_by_the_clients_connection_pool(s3_env):
    import os

    import boto3
    from botocore.config import Config

    default = s3_env()
    assert S3Store("s3://b/p", default).max_concurrency == 10  # botocore's default pool
    three = boto3.client(
        "s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], config=Config(max_pool_connections=3)
    )
    assert S3Store("s3://b/p", three).max_concurrency == 3


def test_listing_an_absent_prefix_is_empty(store):
    assert store.list("orders/date=2030-01-01/") == []


def test_listing_a_missing_local_zone_fails_naming_it(tmp_path):
    """A wrong path or an unmounted volume is not a quiet day: it would retract every file."""
    missing = tmp_path / "not-mounted"
    with pytest.raises(MissingZoneError) as raised:
        LocalStore(missing).list("orders/date=2024-01-01/")
    assert raised.value.filename == str(missing)


def test_unsafe_keys_are_refused_by_every_operation(store):
    for key in ("../outside.csv", "a/../../outside.csv", "/etc/passwd", "a\\b.csv", ""):
        for op in (
            lambda k: store.write(k, b"x"),
            store.read,
            store.exists,
            store.delete,
        ):
            with pytest.raises(ContractError):
                op(key)


def test_local_keys_cannot_escape_the_root(tmp_path):
    store = LocalStore(tmp_path / "root")
    for key in ("../outside.csv", "a/../../outside.csv", "/etc/passwd"):
        with pytest.raises(ContractError):
            store.write(key, b"x")
        with pytest.raises(ContractError):
            store.delete(key)
    assert not (tmp_path / "outside.csv").exists()


def test_local_delete_cannot_follow_a_symlink_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.csv").write_bytes(b"keep")
    root = tmp_path / "root"
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "link").symlink_to(outside)
    store = LocalStore(root)
    with pytest.raises(ContractError, match="resolves outside"):
        store.delete("orders/link/victim.csv")
    assert (outside / "victim.csv").read_bytes() == b"keep"


def test_local_writes_leave_no_temporary_files(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.write(KEY, b"x")
    store.write(KEY, b"y")
    files = sorted(p.name for p in (tmp_path / "root").rglob("*") if p.is_file())
    assert files == ["part-000.csv"]


def test_open_store_picks_backend(tmp_path, s3_env):
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    s3 = open_store("s3://bucket/prefix/", s3_env)
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("bucket", "prefix/")
    with pytest.raises(ValueError, match="no bucket"):
        open_store("s3:///prefix", s3_env)
