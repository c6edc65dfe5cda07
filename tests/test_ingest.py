"""Ingestion assets end to end on a real DuckDB file: idempotency, corrections, failures."""

import hashlib
from datetime import date

import dagster as dg
import pytest
from helpers import fingerprints, ingest, query

from pipeline_assets.defs.ingest.assets import (
    QUARANTINE_RATE,
    ROW_ACCOUNTING,
    _materialization_and_checks,
)
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.validate import PartitionSummary

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
HOUR = "orders/date=2024-01-01/hour=10/"


def checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_any_order_any_number_of_times_gives_the_same_warehouse(pipeline_env):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 300)
    ingest("orders", "2024-01-01-00:00", "2024-01-02-23:00")
    ingest("customers", "2024-01-01", "2024-01-02")
    first = fingerprints(pipeline_env.duckdb)
    assert first["orders"][0][1] > 400 and first["quarantine"][0][1] > 0

    for pk in ["2024-01-02-13:00", "2024-01-01-09:00", "2024-01-02-13:00", "2024-01-01-03:00"]:
        ingest("orders", pk)
    ingest("orders", "2024-01-01-12:00", "2024-01-02-01:00")
    ingest("customers", "2024-01-02")
    ingest("customers", "2024-01-01", "2024-01-02")
    assert fingerprints(pipeline_env.duckdb) == first

    # a fresh warehouse built backwards, in pieces, is identical too
    pipeline_env.duckdb.unlink()
    ingest("customers", "2024-01-02")
    ingest("orders", "2024-01-01-12:00", "2024-01-02-23:00")
    for hour in (11, 10, 9):
        ingest("orders", f"2024-01-01-{hour:02d}:00")
    ingest("orders", "2024-01-01-00:00", "2024-01-01-08:00")
    ingest("customers", "2024-01-01")
    assert fingerprints(pipeline_env.duckdb) == first


def test_corrected_order_relanded_newer_values_win(pipeline_env):
    pipeline_env.write(HOUR + "part-000.csv", HEADER + "o1,c1,s01,2024-01-01T10:15:00,100,8,108,\n")
    ingest("orders", "2024-01-01-10:00")
    pipeline_env.write(
        HOUR + "part-001.csv",
        HEADER + "o1,c2,s01,2024-01-01T10:15:00,200,16,216,2024-01-01T12:00:00Z\n",
    )
    result = ingest("orders", "2024-01-01-10:00")
    rows = query(pipeline_env.duckdb, "select order_id, customer_id, order_total from raw.orders")
    assert rows == [("o1", "c2", 216)]
    q = query(
        pipeline_env.duckdb, "select source_key, line_number, reason_code from raw.quarantine"
    )
    assert q == [(HOUR + "part-000.csv", 2, "superseded_duplicate")]
    assert checks(result)[ROW_ACCOUNTING]


def test_bad_rows_quarantined_and_accounted(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "0.9")  # 3 of 4 bad: warn, don't block
    pipeline_env.write(
        HOUR + "mixed.csv",
        HEADER
        + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n"
        + "o2,c1,s01,2024-01-01T10:00:00,-1,0,-1,\n"
        + "o3,c1,s01,2024-01-01T11:00:00,1,0,1,\n"
        + "o4,c1,s01,2024-01-01T10:00:00,1,0,2,\n",
    )
    result = ingest("orders", "2024-01-01-10:00")
    q = query(
        pipeline_env.duckdb,
        "select _partition, line_number, reason_code, raw_line from raw.quarantine order by 2",
    )
    assert q == [
        ("2024-01-01-10:00", 3, "negative_amount", "o2,c1,s01,2024-01-01T10:00:00,-1,0,-1,"),
        ("2024-01-01-10:00", 4, "outside_partition_hour", "o3,c1,s01,2024-01-01T11:00:00,1,0,1,"),
        ("2024-01-01-10:00", 5, "total_mismatch", "o4,c1,s01,2024-01-01T10:00:00,1,0,2,"),
    ]
    raw = result.asset_materializations_for_node("raw__orders")[0].metadata
    assert (raw["rows_read"].value, raw["rows_loaded"].value, raw["rows_quarantined"].value) == (
        4,
        1,
        3,
    )
    assert checks(result) == {
        ROW_ACCOUNTING: True,
        "required_columns_present": True,
        QUARANTINE_RATE: False,  # 3 of 4 rows invalid: warn
    }


def test_unreadable_file_fails_naming_it_and_leaves_warehouse_unchanged(pipeline_env):
    pipeline_env.write(HOUR + "a.csv", HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n")
    ingest("orders", "2024-01-01-10:00")
    before = fingerprints(pipeline_env.duckdb)
    pipeline_env.write(HOUR + "b.csv", HEADER.encode() + "o2,Jos\xe9,,x,1,0,1,\n".encode("latin-1"))
    pipeline_env.write(HOUR + "c.csv", HEADER + "o3,c1,s01,2024-01-01T10:00:00,100,8,108,\n")
    result = ingest("orders", "2024-01-01-10:00", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"{HOUR}b.csv: line 2: not valid UTF-8" in failure.step_failure_data.error.message
    assert fingerprints(pipeline_env.duckdb) == before
    assert (pipeline_env.landing / HOUR / "b.csv").read_bytes().endswith(b"\xe9,,x,1,0,1,\n")


def test_quiet_hour_is_an_empty_partition(pipeline_env):
    result = ingest("orders", "2024-01-01-03:00")
    assert result.success
    meta = result.asset_materializations_for_node("raw__orders")[0].metadata
    assert meta["rows_read"].value == 0
    assert checks(result)[ROW_ACCOUNTING]


def test_missing_source_key_fails_loudly(pipeline_env):
    key = HOUR + "gone.csv"
    result = ingest(
        "orders",
        "2024-01-01-10:00",
        run_config={"ops": {"processing__orders": {"config": {"keys": [key]}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"source key not found: {pipeline_env.landing}/{key}" in (
        failure.step_failure_data.error.message
    )


@pytest.mark.parametrize(
    "key", [HOUR + "../../../../x.csv", "orders/date=2024-01-02/hour=10/a.csv", "x'; drop--.csv"]
)
def test_keys_outside_the_run_are_rejected(pipeline_env, key):
    result = ingest(
        "orders",
        "2024-01-01-10:00",
        run_config={"ops": {"processing__orders": {"config": {"keys": [key]}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert not pipeline_env.processing.exists()


def test_no_overwrite_mode_skips_and_reports(pipeline_env):
    pipeline_env.write(HOUR + "a.csv", HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n")
    config = {"ops": {"processing__orders": {"config": {"replace": False}}}}
    first = ingest("orders", "2024-01-01-10:00", run_config=config)
    second = ingest("orders", "2024-01-01-10:00", run_config=config)
    meta = [
        r.asset_materializations_for_node("processing__orders")[0].metadata for r in (first, second)
    ]
    assert [(m["copied"].value, m["skipped"].value) for m in meta] == [(1, 0), (0, 1)]


def test_copy_metadata_lists_files_only_for_one_partition(pipeline_env):
    """A range run's metadata is copied into every partition: counts and a digest, no lists."""
    body = HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n"
    pipeline_env.write(HOUR + "a.csv", body)
    pipeline_env.write("orders/date=2024-01-01/hour=11/b.csv", body.replace("T10", "T11"))
    one = ingest("orders", "2024-01-01-10:00").asset_materializations_for_node("processing__orders")
    sha = hashlib.sha256(body.encode()).hexdigest()
    assert one[0].metadata["keys"].value == [HOUR + "a.csv"]
    assert one[0].metadata["sha256"].value == {HOUR + "a.csv": sha}
    digest = hashlib.sha256(f"{HOUR}a.csv\t{sha}\n".encode()).hexdigest()
    assert one[0].metadata["inputs_sha256"].value == digest

    both = ingest("orders", "2024-01-01-10:00", "2024-01-01-11:00")
    mats = both.asset_materializations_for_node("processing__orders")
    assert [m.partition for m in mats] == ["2024-01-01-10:00", "2024-01-01-11:00"]
    for m in mats:
        assert "keys" not in m.metadata and "sha256" not in m.metadata
        assert (m.metadata["partitions"].value, m.metadata["copied"].value) == (2, 2)
    digests = {m.metadata["inputs_sha256"].value for m in mats}
    assert len(digests) == 1 and digests != {one[0].metadata["inputs_sha256"].value}


def test_hostile_file_names_are_loaded_as_data(pipeline_env):
    name = HOUR + "o'brien; drop table raw.orders; --.csv"
    pipeline_env.write(name, HEADER + "o'1,c1,s01,2024-01-01T10:00:00,100,8,108,\n")
    ingest("orders", "2024-01-01-10:00")
    assert query(pipeline_env.duckdb, "select order_id, _source_key from raw.orders") == [
        ("o'1", name)
    ]


def test_accounting_check_fails_when_warehouse_disagrees():
    summary = PartitionSummary("2024-01-01-10:00", 3, 2, {"total_mismatch": 1}, [])
    results = list(
        _materialization_and_checks("orders", [summary], {"2024-01-01-10:00": (2, 0)}, {})
    )
    accounting = next(r for r in results if isinstance(r, dg.AssetCheckResult))
    assert accounting.check_name == ROW_ACCOUNTING and not accounting.passed


def test_s3_landing_and_processing(pipeline_env, s3_env, monkeypatch):
    client = s3_env()
    client.create_bucket(Bucket="shop")
    client.put_object(
        Bucket="shop",
        Key="landing/" + HOUR + "a.csv",
        Body=(HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n").encode(),
    )
    monkeypatch.setenv("PIPELINE_LANDING_URI", "s3://shop/landing")
    monkeypatch.setenv("PIPELINE_PROCESSING_URI", "s3://shop/processing")
    result = ingest("orders", "2024-01-01-10:00")
    meta = result.asset_materializations_for_node("processing__orders")[0].metadata
    assert meta["copied"].value == 1
    copied = client.get_object(Bucket="shop", Key="processing/" + HOUR + "a.csv")["Body"].read()
    assert copied.startswith(b"order_id,")
    assert query(pipeline_env.duckdb, "select order_id, order_total from raw.orders") == [
        ("o1", 108)
    ]


def test_transient_read_failures_are_retried_to_the_same_result(pipeline_env, monkeypatch):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 1), 100)
    ingest("orders", "2024-01-01-09:00", "2024-01-01-12:00")
    clean = fingerprints(pipeline_env.duckdb)
    pipeline_env.duckdb.unlink()

    real_read, failures = LocalStore.read, []

    def flaky_read(self, key):
        if len(failures) < 2:  # the object store hiccups twice, then recovers
            failures.append(key)
            raise ConnectionResetError(f"injected transient failure reading {key}")
        return real_read(self, key)

    monkeypatch.setattr(LocalStore, "read", flaky_read)
    result = ingest("orders", "2024-01-01-09:00", "2024-01-01-12:00")
    retries = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert len(failures) == 2 and len(retries) == 2
    assert fingerprints(pipeline_env.duckdb) == clean
