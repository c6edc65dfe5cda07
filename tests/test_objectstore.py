"""The landing copy against a local folder and a real S3 endpoint (moto's server)."""

import hashlib
import uuid

import pytest

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.objectstore import (
    LocalStore,
    MissingSourceError,
    S3Store,
    copy_objects,
    open_store,
)

KEY = "orders/date=2024-01-01/hour=05/part-000.csv"


@pytest.fixture(params=["local", "s3"])
def stores(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "landing"), LocalStore(tmp_path / "processing")
    client = request.getfixturevalue("s3_env")()
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(f"s3://{bucket}/landing", client), S3Store(f"s3://{bucket}/proc/x", client)


def test_copy_reports_keys_bytes_checksums(stores):
    landing, processing = stores
    landing.write(KEY, b"hello")
    report = copy_objects(landing, processing, [KEY])
    assert report.copied == [KEY] and report.skipped == []
    assert report.bytes == {KEY: 5}
    assert report.sha256 == {KEY: hashlib.sha256(b"hello").hexdigest()}
    assert processing.read(KEY) == b"hello"
    assert [o.key for o in processing.list("orders/")] == [KEY]
    assert landing.read(KEY) == b"hello"  # the source is never modified


def test_missing_source_fails_naming_the_key(stores):
    landing, processing = stores
    with pytest.raises(MissingSourceError, match="source key not found: .*hour=05/part-000.csv"):
        copy_objects(landing, processing, [KEY])


def test_no_overwrite_mode_skips_existing(stores):
    landing, processing = stores
    landing.write(KEY, b"new")
    processing.write(KEY, b"old")
    report = copy_objects(landing, processing, [KEY], replace=False)
    assert report.skipped == [KEY] and report.copied == []
    assert processing.read(KEY) == b"old"
    assert copy_objects(landing, processing, [KEY]).copied == [KEY]
    assert processing.read(KEY) == b"new"


def test_listing_an_absent_prefix_is_empty(stores):
    assert stores[0].list("orders/date=2030-01-01/") == []


def test_keys_cannot_escape_the_root(tmp_path):
    store = LocalStore(tmp_path / "root")
    for key in ("../outside.csv", "a/../../outside.csv", "/etc/passwd"):
        with pytest.raises(ContractError):
            store.write(key, b"x")
    assert not (tmp_path / "outside.csv").exists()


def test_open_store_picks_backend(tmp_path, s3_env):
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store("s3://bucket/prefix", s3_env), S3Store)
