"""The object-store interface against a local folder and a real S3 endpoint (moto's server).

The copy of a day (landing -> processing, with its manifest) is tested in test_manifest.py;
the many-at-once helpers (lib/transfer.py) in test_transfer.py.
"""

import hashlib
import os
import threading
import uuid

import pytest
from spies import opened_under

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
    if isinstance(store, S3Store):  # S3's ETag of a single-part upload: the content's MD5
        assert listed[0].etag == hashlib.md5(b"hello").hexdigest()
    else:  # a local file's: its size and mtime_ns, from its stat, so listing opens nothing
        stat = os.stat(store.root / KEY)
        assert listed[0].etag == f"5-{stat.st_mtime_ns}"
    assert store.fetch(KEY) == (b"hello", listed[0].etag)  # the ETag of the version read
    assert listed[0].fingerprint == f"{listed[0].etag}/5"
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


def test_a_local_listing_opens_no_file(tmp_path):
    """Size and mtime_ns come from one stat per file: a day of many files costs a listing,
    not a read of each."""
    store = LocalStore(tmp_path)
    keys = [
        f"orders/date=2024-01-01/hour={h:02d}/part-{i:03d}.csv"
        for h in range(24)
        for i in range(50)
    ]
    for key in keys:
        store.write(key, key.encode())
    with opened_under(tmp_path) as opened:
        listed = store.list("orders/date=2024-01-01/")
    assert [o.key for o in listed] == sorted(keys) and opened == []
    with opened_under(tmp_path) as opened:
        store.read(keys[7])
    assert opened == [keys[7]]  # the spy sees a read


def test_a_rewrite_changes_the_local_etag_even_at_the_same_size(tmp_path):
    store = LocalStore(tmp_path)
    store.write(KEY, b"version-1")
    (before,) = store.list("orders/")
    store.write(KEY, b"version-2")  # same size
    (after,) = store.list("orders/")
    assert after.size == before.size and after.etag != before.etag


def test_concurrent_local_writes_are_whole_and_leave_no_temporary_files(tmp_path):
    """Threads writing many keys, some the same key at once: every object is one whole
    write, no `.tmp-` file is left."""
    store = LocalStore(tmp_path / "root")
    keys = [f"orders/date=2024-01-01/hour={i % 24:02d}/part-{i % 40:03d}.csv" for i in range(400)]

    def write_all(n: int) -> None:
        for key in keys:
            store.write(key, f"{key} by {n}\n".encode() * 50)

    threads = [threading.Thread(target=write_all, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for obj in store.list(""):
        data = store.read(obj.key)
        assert data in {f"{obj.key} by {n}\n".encode() * 50 for n in range(4)}
    assert not [p for p in (tmp_path / "root").rglob("*") if p.name.startswith(".tmp-")]


def test_a_local_read_through_a_link_out_of_the_root_is_refused(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"secret")
    root = tmp_path / "root"
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "inside.csv").write_bytes(b"inside")
    (root / "orders" / "out.csv").symlink_to(outside)
    (root / "orders" / "in.csv").symlink_to(root / "orders" / "inside.csv")
    store = LocalStore(root)
    with pytest.raises(ContractError, match="resolves outside"):
        store.read("orders/out.csv")
    with pytest.raises(ContractError, match="resolves outside"):
        store.list("orders/")
    (root / "orders" / "out.csv").unlink()
    assert store.read("orders/in.csv") == b"inside"  # a link that stays inside is a file
    assert [o.key for o in store.list("orders/")] == ["orders/in.csv", "orders/inside.csv"]


def test_a_prefix_of_many_s3_pages_is_listed_whole(s3_env, monkeypatch):
    """Pages of 5 keys here (moto's setting), so a few dozen objects make many pages: loose
    objects, folders, a folder inside a folder, a flat prefix; nothing missed or repeated."""
    monkeypatch.setenv("MOTO_S3_DEFAULT_MAX_KEYS", "5")
    client = s3_env()
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    store = S3Store(f"s3://{bucket}/zone", client)
    day = "orders/date=2024-01-01/"
    keys = [f"{day}hour={h:02d}/part-{i:02d}.csv" for h in range(4) for i in range(h * 4)]
    keys += [f"{day}loose-{i}.csv" for i in range(7)] + [f"{day}hour=02/sub/deep.csv"]
    flat = [f"flat/part-{i:02d}.csv" for i in range(23)]
    for n, key in enumerate([*keys, *flat, "orders/date=2024-01-02/hour=00/x.csv"]):
        store.write(key, b"x" * n)

    def paginated(prefix: str) -> list:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"zone/{prefix}"
        )
        return sorted(
            (o["Key"][5:], o["Size"], o["ETag"].strip('"'))
            for p in pages
            for o in p.get("Contents", [])
        )

    for prefix, expected in ((day, keys), ("flat/", flat), ("orders/date=2024-01-03/", [])):
        listed = store.list(prefix)
        assert [o.key for o in listed] == sorted(expected)
        assert [(o.key, o.size, o.etag) for o in listed] == paginated(prefix)
