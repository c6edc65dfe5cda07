"""Ingestion assets end to end on a real DuckDB file, one UTC day per partition.

Idempotency, corrections, quarantine and its accounting, the run manifest that ties the copy
to the load, retractions, per-day metadata and check results, failures, and the S3 path.
"""

import hashlib
import json
import shutil
import uuid
from datetime import UTC, date, datetime

import dagster as dg
import pytest
from helpers import (
    dataset,
    day_checks,
    day_metadata,
    failure_message,
    fingerprints,
    ingest,
    query,
    restarts,
)

from pipeline_assets.defs.ingest.checks import (
    QUARANTINE_RATE,
    REQUIRED_COLUMNS,
    ROW_ACCOUNTING,
    evaluate_day,
    rate_summary,
)
from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.defs.resources import ValidationResource
from pipeline_assets.lib.failing_rows import FailingRows
from pipeline_assets.lib.manifest import manifest_key
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
DAY = "2024-01-01"
H10 = "orders/date=2024-01-01/hour=10/"
H11 = "orders/date=2024-01-01/hour=11/"
CHECKS = (ROW_ACCOUNTING, REQUIRED_COLUMNS, QUARANTINE_RATE)


def order(order_id, at, subtotal=100, customer="c1", total=None, updated=""):
    """One CSV line of an order; tax is 8 %, the total adds up unless `total` says otherwise."""
    tax = subtotal * 8 // 100
    total = subtotal + tax if total is None else total
    return f"{order_id},{customer},s01,{at},{subtotal},{tax},{total},{updated}\n"


def csv(*lines: str) -> str:
    return HEADER + "".join(lines)


def orders_rows(env, day=None):
    sql = "select order_id, customer_id, order_total, _source_key, _partition from raw.orders"
    if day:
        return query(env.duckdb, sql + " where _partition = ? order by 1", [day])
    return query(env.duckdb, sql + " order by 1")


def quarantine_rows(env):
    return query(
        env.duckdb,
        "select _partition, source_key, line_number, reason_code from raw.quarantine "
        "where dataset = 'orders' order by 1, 2, 3",
    )


# 1. Idempotency ---------------------------------------------------------------------------


def test_any_day_any_number_of_times_in_any_order_gives_the_same_warehouse(pipeline_env):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 3), 60)
    # a contract violation and a correction re-landed in a later hour folder of day 2
    pipeline_env.write(
        "orders/date=2024-01-02/hour=23/late.csv",
        csv(
            order("bad1", "2024-01-02T23:10:00", total=1),
            order("o202401020800", "2024-01-02T23:20:00", subtotal=5000),
        ),
    )
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]

    ingest("orders", days[0], days[-1])
    ingest("customers", days[0], days[-1])
    first = fingerprints(pipeline_env.duckdb)
    assert first["orders"][0][1] > 150 and first["customers"][0][1] > 20
    reasons = {r[3] for r in quarantine_rows(pipeline_env)}
    assert {"superseded_duplicate", "total_mismatch"} <= reasons
    assert {r[4] for r in orders_rows(pipeline_env)} == set(days)  # day keys in _partition

    # again: single days out of order and repeated, and an overlapping range
    for day in ["2024-01-03", "2024-01-01", "2024-01-03"]:
        ingest("orders", day)
    ingest("orders", "2024-01-02", "2024-01-03")
    ingest("customers", "2024-01-02")
    assert fingerprints(pipeline_env.duckdb) == first

    # a fresh warehouse and processing zone, built backwards in pieces, is identical too
    pipeline_env.duckdb.unlink()
    shutil.rmtree(pipeline_env.processing)
    ingest("customers", "2024-01-03")
    ingest("customers", "2024-01-01", "2024-01-02")
    ingest("orders", "2024-01-02", "2024-01-03")
    ingest("orders", "2024-01-01")
    assert fingerprints(pipeline_env.duckdb) == first


# 2. Corrections ---------------------------------------------------------------------------


def test_corrected_order_relanded_in_the_same_hour_wins(pipeline_env):
    pipeline_env.write(H10 + "part-000.csv", csv(order("o1", "2024-01-01T10:15:00")))
    ingest("orders", DAY)
    pipeline_env.write(
        H10 + "part-001.csv",
        csv(order("o1", "2024-01-01T10:15:00", 200, "c2", updated="2024-01-01T12:00:00Z")),
    )
    result = ingest("orders", DAY)
    assert orders_rows(pipeline_env) == [("o1", "c2", 216, H10 + "part-001.csv", DAY)]
    assert quarantine_rows(pipeline_env) == [(DAY, H10 + "part-000.csv", 2, "superseded_duplicate")]
    meta = day_metadata(result, "raw__orders")[DAY]
    assert (meta["rows_read"], meta["rows_loaded"], meta["rows_quarantined"]) == (2, 1, 1)
    assert meta["quarantine_reasons"] == {"superseded_duplicate": 1}
    checks = day_checks(result)
    assert checks[(ROW_ACCOUNTING, DAY)].passed
    assert checks[(QUARANTINE_RATE, DAY)].passed  # a superseded row is not an invalid one


@pytest.mark.parametrize("updated", ["", "2024-01-01T11:30:00Z"], ids=["tie", "newer"])
def test_corrected_order_relanded_in_a_later_hour_of_the_day_wins(pipeline_env, updated):
    """The dedup rule spans the day: without updated_at the later hour folder wins the tie."""
    pipeline_env.write(
        H10 + "a.csv", csv(order("o1", "2024-01-01T10:15:00"), order("o2", "2024-01-01T10:20:00"))
    )
    pipeline_env.write(
        H11 + "a.csv", csv(order("o1", "2024-01-01T11:05:00", 300, "c3", updated=updated))
    )
    result = ingest("orders", DAY)
    assert orders_rows(pipeline_env) == [
        ("o1", "c3", 324, H11 + "a.csv", DAY),
        ("o2", "c1", 108, H10 + "a.csv", DAY),
    ]
    assert quarantine_rows(pipeline_env) == [(DAY, H10 + "a.csv", 2, "superseded_duplicate")]
    meta = day_metadata(result, "raw__orders")[DAY]
    assert meta["rows_read"] == meta["rows_loaded"] + meta["rows_quarantined"] == 3
    assert day_checks(result)[(ROW_ACCOUNTING, DAY)].passed


def test_later_hour_correction_still_obeys_its_hour_folder(pipeline_env):
    """A re-landed order whose ordered_at is outside its new file's hour is quarantined; the
    original stays."""
    pipeline_env.write(H10 + "a.csv", csv(order("o1", "2024-01-01T10:15:00")))
    pipeline_env.write(H11 + "a.csv", csv(order("o1", "2024-01-01T10:15:00", 300)))
    ingest("orders", DAY)
    assert orders_rows(pipeline_env) == [("o1", "c1", 108, H10 + "a.csv", DAY)]
    assert quarantine_rows(pipeline_env) == [(DAY, H11 + "a.csv", 2, "outside_partition_hour")]


# 3. Quarantine and accounting -------------------------------------------------------------


def test_bad_rows_quarantined_with_reasons_and_accounted_per_day(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "0.9")  # warn, don't block
    pipeline_env.write(
        H10 + "mixed.csv",
        csv(
            order("o1", "2024-01-01T10:00:00"),
            order("o2", "2024-01-01T10:00:00", -100),
            order("o3", "2024-01-01T11:00:00"),
            order("o4", "2024-01-01T10:00:00", total=2),
            "o5,c1,s01,2024-01-01T10:00:00,１０００,0,１０００,\n",
            order("o6", "2024-01-01T10:00:00", customer=""),
        ),
    )
    pipeline_env.write(
        "orders/date=2024-01-02/hour=00/x.csv",
        csv(order("p1", "2024-01-02T00:01:00"), order("p2", "not-a-time")),
    )
    result = ingest("orders", DAY, "2024-01-02")

    assert quarantine_rows(pipeline_env) == [
        (DAY, H10 + "mixed.csv", 3, "negative_amount"),
        (DAY, H10 + "mixed.csv", 4, "outside_partition_hour"),
        (DAY, H10 + "mixed.csv", 5, "total_mismatch"),
        (DAY, H10 + "mixed.csv", 6, "invalid_amount"),
        (DAY, H10 + "mixed.csv", 7, "missing_required_value"),
        ("2024-01-02", "orders/date=2024-01-02/hour=00/x.csv", 3, "invalid_timestamp"),
    ]
    raw_line = query(
        pipeline_env.duckdb,
        "select raw_line from raw.quarantine where line_number = 3 and _partition = ?",
        [DAY],
    )
    assert raw_line == [("o2,c1,s01,2024-01-01T10:00:00,-100,-8,-108,",)]

    meta = day_metadata(result, "raw__orders")
    expected = {DAY: (6, 1, 5), "2024-01-02": (2, 1, 1)}
    for day, (_, loaded, quarantined) in expected.items():
        m = meta[day]
        assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == expected[day]
        assert m["dagster/row_count"] == loaded
        assert sum(m["quarantine_reasons"].values()) == quarantined
    assert meta[DAY]["quarantine_reasons"] == {
        "invalid_amount": 1,
        "missing_required_value": 1,
        "negative_amount": 1,
        "outside_partition_hour": 1,
        "total_mismatch": 1,
    }

    checks = day_checks(result)
    assert set(checks) == {(c, d) for c in CHECKS for d in expected}
    for day, (read, loaded, quarantined) in expected.items():
        accounting = checks[(ROW_ACCOUNTING, day)]
        assert accounting.passed
        assert {
            k: accounting.metadata[k].value
            for k in ("rows_read", "rows_loaded", "rows_quarantined")
        } == {
            "rows_read": read,
            "rows_loaded": loaded,
            "rows_quarantined": quarantined,
        }
        assert checks[(REQUIRED_COLUMNS, day)].passed
        assert not checks[(QUARANTINE_RATE, day)].passed  # above the warn rate: a warning
        assert checks[(QUARANTINE_RATE, day)].severity.value == "WARN"
    assert result.success


def test_accounting_check_fails_when_the_warehouse_disagrees():
    """The checks judge the warehouse's counts against what the load read."""
    metadata = {"rows_read": 3, "files": 1, "quarantine_reasons": {"total_mismatch": 1}}
    thresholds = ValidationResource(quarantine_warn_rate=0.05, quarantine_fail_rate=0.5)
    invalid = FailingRows(1, [], [])

    def verdicts(counts, nulls):
        got = evaluate_day(dataset("orders"), metadata, counts, nulls, invalid, None, thresholds)
        return {name: passed for name, (passed, *_) in got.items()}

    assert verdicts((2, 0), 0) == {
        ROW_ACCOUNTING: False,  # a row went missing between the load and the count
        REQUIRED_COLUMNS: True,
        QUARANTINE_RATE: False,  # 1 of 3 invalid: above the warn rate
    }
    assert verdicts((2, 1), 1)[ROW_ACCOUNTING] and not verdicts((2, 1), 1)[REQUIRED_COLUMNS]


def test_the_quarantine_rate_says_its_rate_counts_and_threshold():
    """300 of 310 and 300 of 300,000 read differently: the rate, both counts, the threshold."""
    assert rate_summary(300, 468, 0.05, 0.5) == (
        "rate 64.1 % (300 of 468 rows) > fail threshold 50 %"
    )
    assert rate_summary(300, 4680, 0.05, 0.5) == (
        "rate 6.41 % (300 of 4680 rows) > warn threshold 5 % (fails above 50 %)"
    )
    assert rate_summary(1, 300_000, 0.05, 0.5) == (
        "rate 0.0003333 % (1 of 300000 rows) <= warn threshold 5 %"
    )
    assert rate_summary(0, 0, 0.05, 0.5) == "rate 0 % (0 of 0 rows) <= warn threshold 5 %"


# 4. Run manifests tie the copy to the load -------------------------------------------------


def _delete_processing_file(env):
    key = H11 + "b.csv"
    (env.processing / key).unlink()
    return [f"{env.processing}/{key}", "missing from the processing zone"]


def _change_processing_file(env):
    key = H10 + "a.csv"
    (env.processing / key).write_text(csv(order("forged", "2024-01-01T10:00:00")))
    return [f"{env.processing}/{key}", "changed since the copy"]


def _delete_manifest(env):
    key = manifest_key("orders", DAY)
    assert key == "_manifests/orders/date=2024-01-01.json"
    (env.processing / key).unlink()
    return [f"{env.processing}/{key}", "no manifest"]


@pytest.mark.parametrize(
    "tamper", [_delete_processing_file, _change_processing_file, _delete_manifest]
)
def test_load_reads_exactly_the_manifest_or_fails_naming_the_key(pipeline_env, tamper):
    pipeline_env.write(
        H10 + "a.csv",
        csv(order("o1", "2024-01-01T10:00:00"), order("o2", "2024-01-01T10:30:00")),
    )
    pipeline_env.write(H11 + "b.csv", csv(order("o3", "2024-01-01T11:00:00")))
    ingest("orders", DAY)
    before = fingerprints(pipeline_env.duckdb)
    assert len(orders_rows(pipeline_env)) == 3

    expected = tamper(pipeline_env)
    result = ingest("orders", DAY, raise_on_error=False, selection=[raw_key(dataset("orders"))])

    assert not result.success
    assert not result.asset_materializations_for_node("processing__order_files")  # not re-copied
    assert not result.asset_materializations_for_node("raw__orders")
    message = failure_message(result)
    for part in expected:
        assert part in message
    assert restarts(result) == 0  # never retried: re-reading cannot fix it
    assert fingerprints(pipeline_env.duckdb) == before  # no empty or forged day loaded

    # re-running the copy heals it
    ingest("orders", DAY)
    assert fingerprints(pipeline_env.duckdb) == before


def test_quiet_day_is_an_empty_partition_with_an_empty_manifest(pipeline_env):
    pipeline_env.write(H10 + "a.csv", csv(order("o1", "2024-01-01T10:00:00")))
    ingest("orders", DAY)
    before = fingerprints(pipeline_env.duckdb)

    result = ingest("orders", "2024-01-02")  # nothing landed at all that day
    assert result.success
    manifest = json.loads(
        (pipeline_env.processing / manifest_key("orders", "2024-01-02")).read_text()
    )
    assert (manifest["partition"], manifest["files"], manifest["complete"]) == (
        "2024-01-02",
        [],
        True,
    )
    copy = day_metadata(result, "processing__order_files")["2024-01-02"]
    assert (copy["files"], copy["keys_sample"], copy["retracted"]) == (0, [], 0)
    meta = day_metadata(result, "raw__orders")["2024-01-02"]
    assert (meta["files"], meta["rows_read"], meta["rows_loaded"], meta["dagster/row_count"]) == (
        0,
        0,
        0,
        0,
    )
    assert all(day_checks(result)[(c, "2024-01-02")].passed for c in CHECKS)
    assert orders_rows(pipeline_env, "2024-01-02") == []
    assert fingerprints(pipeline_env.duckdb) == before  # the other day is untouched


def test_today_is_a_partition_that_is_not_complete(pipeline_env):
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    result = ingest("orders", today)
    assert day_metadata(result, "processing__order_files")[today]["landing_complete"] is False
    assert day_metadata(result, "raw__orders")[today]["landing_complete"] is False
    done = ingest("orders", DAY)
    assert day_metadata(done, "raw__orders")[DAY]["landing_complete"] is True


# 5. Retractions ---------------------------------------------------------------------------


def test_retracted_landing_file_disappears_from_the_day(pipeline_env):
    pipeline_env.write(
        H10 + "part-000.csv",
        csv(order("o1", "2024-01-01T10:15:00"), order("o2", "2024-01-01T10:20:00", total=1)),
    )
    retracted = H10 + "part-001.csv"
    pipeline_env.write(
        retracted,
        csv(
            order("o1", "2024-01-01T10:15:00", 200, "c2", updated="2024-01-01T12:00:00Z"),
            order("o3", "2024-01-01T10:30:00", -5),
        ),
    )
    other_day = "orders/date=2024-01-02/hour=08/a.csv"
    pipeline_env.write(other_day, csv(order("p1", "2024-01-02T08:00:00")))
    ingest("orders", DAY, "2024-01-02")
    assert [r[:3] for r in orders_rows(pipeline_env, DAY)] == [("o1", "c2", 216)]
    assert quarantine_rows(pipeline_env) == [
        (DAY, H10 + "part-000.csv", 2, "superseded_duplicate"),
        (DAY, H10 + "part-000.csv", 3, "total_mismatch"),
        (DAY, retracted, 3, "negative_amount"),
    ]
    day_two = orders_rows(pipeline_env, "2024-01-02")

    (pipeline_env.landing / retracted).unlink()
    result = ingest("orders", DAY)

    # the original o1 is back; nothing of the retracted file is left anywhere
    assert orders_rows(pipeline_env, DAY) == [("o1", "c1", 108, H10 + "part-000.csv", DAY)]
    assert quarantine_rows(pipeline_env) == [(DAY, H10 + "part-000.csv", 3, "total_mismatch")]
    assert not (pipeline_env.processing / retracted).exists()
    copy = day_metadata(result, "processing__order_files")[DAY]
    assert (copy["retracted"], copy["retracted_sample"]) == (1, [retracted])
    assert copy["keys_sample"] == [H10 + "part-000.csv"]
    manifest = json.loads((pipeline_env.processing / manifest_key("orders", DAY)).read_text())
    assert [f["key"] for f in manifest["files"]] == [H10 + "part-000.csv"]
    assert orders_rows(pipeline_env, "2024-01-02") == day_two

    # retracting the last file leaves an empty day, not the old rows
    (pipeline_env.landing / H10 / "part-000.csv").unlink()
    result = ingest("orders", DAY)
    assert day_metadata(result, "processing__order_files")[DAY]["retracted_sample"] == [
        H10 + "part-000.csv"
    ]
    assert orders_rows(pipeline_env, DAY) == [] and quarantine_rows(pipeline_env) == []
    assert day_metadata(result, "raw__orders")[DAY]["rows_read"] == 0
    assert orders_rows(pipeline_env, "2024-01-02") == day_two


# 6. Per-partition truth -------------------------------------------------------------------


def test_range_run_records_each_days_own_metadata_and_checks(pipeline_env, monkeypatch):
    d2 = "2024-01-02"
    day1 = {
        H10 + "a.csv": csv(order("a1", "2024-01-01T10:00:00"), order("a2", "2024-01-01T10:01:00")),
        H11 + "b.csv": csv(order("a3", "2024-01-01T11:00:00")),
    }
    day2 = {
        "orders/date=2024-01-02/hour=09/a.csv": csv(
            *(order(f"b{i}", f"2024-01-02T09:0{i}:00") for i in range(3))
        ),
        "orders/date=2024-01-02/hour=20/a.csv": csv(
            order("b3", "2024-01-02T20:00:00"), order("b4", "2024-01-02T20:01:00")
        ),
    }
    for key, body in {**day1, **day2}.items():
        pipeline_env.write(key, body)
    instance = dg.DagsterInstance.ephemeral()
    result = ingest("orders", DAY, d2, instance=instance)

    raw = day_metadata(result, "raw__orders")
    assert set(raw) == {DAY, d2}
    for day, n in ((DAY, 3), (d2, 5)):
        assert (raw[day]["files"], raw[day]["rows_read"], raw[day]["rows_loaded"]) == (2, n, n)
        assert raw[day]["dagster/row_count"] == n
    copy = day_metadata(result, "processing__order_files")
    assert set(copy) == {DAY, d2}
    for day, files in ((DAY, day1), (d2, day2)):
        assert copy[day]["files"] == 2
        assert copy[day]["keys_sample"] == sorted(files)
        assert copy[day]["bytes"] == sum(len(b) for b in files.values())
        where = pipeline_env.processing / manifest_key("orders", day)
        assert copy[day]["manifest"] == str(where)  # every key and sha256 is in there
        assert copy[day]["manifest_sha256"] == hashlib.sha256(where.read_bytes()).hexdigest()
        assert [f["key"] for f in json.loads(where.read_bytes())["files"]] == sorted(files)
    assert copy[DAY]["inputs_sha256"] != copy[d2]["inputs_sha256"]
    checks = day_checks(result)
    assert checks[(ROW_ACCOUNTING, DAY)].metadata["rows_read"].value == 3
    assert checks[(ROW_ACCOUNTING, d2)].metadata["rows_read"].value == 5
    for day in (DAY, d2):  # each day's results are about that day's own materialization
        (mat,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=raw_key(dataset("orders")), asset_partitions=[day]),
            limit=5,
        ).records
        for name in CHECKS:
            target = checks[(name, day)].target_materialization_data
            assert (target.storage_id, target.run_id) == (mat.storage_id, result.run_id)

    # day 2 turns bad: only its quarantine-rate evaluation fails, and it blocks the run
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "0.2")
    pipeline_env.write(
        "orders/date=2024-01-02/hour=20/a.csv",
        csv(order("b3", "2024-01-02T20:00:00", -1), order("b4", "2024-01-02T21:01:00")),
    )
    result = ingest("orders", DAY, d2, raise_on_error=False)
    assert not result.success
    assert (
        f"{d2} quarantine_rate_below_threshold: rate 40 % (2 of 5 rows) > fail threshold 20 %; "
        "2 failing rows: source_key=orders/date=2024-01-02/hour=20/a.csv line_number=2 "
    ) in failure_message(result)
    checks = day_checks(result)
    assert set(checks) == {(c, d) for c in CHECKS for d in (DAY, d2)}
    failed = {k for k, e in checks.items() if not e.passed}
    assert failed == {(QUARANTINE_RATE, d2)}
    assert checks[(QUARANTINE_RATE, d2)].severity.value == "ERROR"
    assert checks[(QUARANTINE_RATE, d2)].metadata["invalid_rows"].value == 2
    assert checks[(QUARANTINE_RATE, d2)].metadata["verdict"].value == (
        "rate 40 % (2 of 5 rows) > fail threshold 20 %"
    )
    assert checks[(QUARANTINE_RATE, DAY)].description == (
        "rate 0 % (0 of 3 rows) <= warn threshold 5 %"
    )
    assert checks[(QUARANTINE_RATE, DAY)].metadata["invalid_rows"].value == 0
    raw = day_metadata(result, "raw__orders")
    assert (raw[d2]["rows_read"], raw[d2]["rows_loaded"], raw[d2]["rows_quarantined"]) == (5, 3, 2)
    assert (raw[DAY]["rows_read"], raw[DAY]["rows_loaded"]) == (3, 3)


# 7. Failures ------------------------------------------------------------------------------


def test_unreadable_file_fails_naming_file_and_line_and_changes_nothing(pipeline_env):
    pipeline_env.write(H10 + "a.csv", csv(order("o1", "2024-01-01T10:00:00")))
    ingest("orders", DAY)
    before = fingerprints(pipeline_env.duckdb)
    bad = HEADER.encode() + b"o2,Jos\xe9,,x,1,0,1,\n"
    pipeline_env.write(H11 + "b.csv", bad)
    pipeline_env.write(H11 + "c.csv", csv(order("o3", "2024-01-01T11:00:00")))

    result = ingest("orders", DAY, raise_on_error=False)

    assert not result.success
    assert f"{H11}b.csv: line 2: not valid UTF-8" in failure_message(result)
    assert restarts(result) == 0
    assert fingerprints(pipeline_env.duckdb) == before
    assert (pipeline_env.landing / H11 / "b.csv").read_bytes() == bad


def test_hostile_file_names_are_loaded_as_data(pipeline_env):
    names = [
        H10 + "o'brien; drop table raw.orders; --.csv",
        H10 + "$(touch pwned) ünï 名前 %s.csv",
    ]
    for i, name in enumerate(names):
        pipeline_env.write(name, csv(order(f"o'{i}", "2024-01-01T10:00:00")))
    result = ingest("orders", DAY)
    assert query(
        pipeline_env.duckdb, "select order_id, _source_key from raw.orders order by 1"
    ) == [
        ("o'0", names[0]),
        ("o'1", names[1]),
    ]
    assert day_metadata(result, "processing__order_files")[DAY]["keys_sample"] == sorted(names)
    assert not (pipeline_env.root / "pwned").exists()


def test_transient_read_failures_are_retried_to_the_same_result(pipeline_env, monkeypatch):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 1), 60)
    ingest("orders", DAY)
    clean = fingerprints(pipeline_env.duckdb)
    pipeline_env.duckdb.unlink()
    shutil.rmtree(pipeline_env.processing)

    real_fetch, failures = LocalStore.fetch, []

    def flaky_fetch(self, key):  # every local read goes through fetch
        if len(failures) < 2:  # the object store hiccups twice, then recovers
            failures.append(key)
            raise ConnectionResetError(f"injected transient failure reading {key}")
        return real_fetch(self, key)

    monkeypatch.setattr(LocalStore, "fetch", flaky_fetch)
    result = ingest("orders", DAY)
    assert len(failures) == 2 and restarts(result) == 2
    assert fingerprints(pipeline_env.duckdb) == clean


def test_permission_error_fails_at_once_naming_the_path(pipeline_env, monkeypatch):
    pipeline_env.write(H10 + "a.csv", csv(order("o1", "2024-01-01T10:00:00")))
    ingest("orders", DAY)
    before = fingerprints(pipeline_env.duckdb)
    pipeline_env.write(H11 + "locked.csv", csv(order("o2", "2024-01-01T11:00:00")))
    real_fetch, calls = LocalStore.fetch, []

    def denied(self, key):  # every local read goes through fetch
        if key.endswith("locked.csv"):
            calls.append(key)
            raise PermissionError(13, "Permission denied", str(self.root / key))
        return real_fetch(self, key)

    monkeypatch.setattr(LocalStore, "fetch", denied)
    result = ingest("orders", DAY, raise_on_error=False)

    assert not result.success
    assert restarts(result) == 0 and len(calls) == 1
    assert f"{pipeline_env.landing}/{H11}locked.csv: Permission denied" in failure_message(result)
    assert fingerprints(pipeline_env.duckdb) == before


# 8. S3 ------------------------------------------------------------------------------------


def test_s3_landing_and_processing_load_the_same_rows_and_honour_retractions(
    pipeline_env, s3_env, monkeypatch
):
    files = {
        H10 + "a.csv": csv(
            order("o1", "2024-01-01T10:00:00"), order("o2", "2024-01-01T10:05:00", total=7)
        ),
        H11 + "b.csv": csv(order("o1", "2024-01-01T11:00:00", 300, "c9")),
    }
    for key, body in files.items():
        pipeline_env.write(key, body)
    ingest("orders", DAY)
    local = fingerprints(pipeline_env.duckdb)
    pipeline_env.duckdb.unlink()

    client = s3_env()
    suffix = uuid.uuid4().hex[:12]
    landing, processing = f"landing-{suffix}", f"processing-{suffix}"
    for bucket in (landing, processing):
        client.create_bucket(Bucket=bucket)
    for key, body in files.items():
        client.put_object(Bucket=landing, Key=f"in/{key}", Body=body.encode())
    monkeypatch.setenv("PIPELINE_LANDING_URI", f"s3://{landing}/in")
    monkeypatch.setenv("PIPELINE_PROCESSING_URI", f"s3://{processing}")

    result = ingest("orders", DAY)
    assert fingerprints(pipeline_env.duckdb) == local
    mkey = "_manifests/orders/date=2024-01-01.json"
    manifest = json.loads(client.get_object(Bucket=processing, Key=mkey)["Body"].read())
    assert [f["key"] for f in manifest["files"]] == [H10 + "a.csv", H11 + "b.csv"]
    assert manifest["files"] == [
        # S3's ETag of a single-part upload is the MD5 of its bytes
        {
            "key": k,
            "size": len(files[k]),
            "sha256": v,
            "etag": hashlib.md5(files[k].encode()).hexdigest(),
        }
        for k, v in sorted((k, hashlib.sha256(b.encode()).hexdigest()) for k, b in files.items())
    ]
    copy = day_metadata(result, "processing__order_files")[DAY]
    assert copy["manifest"] == f"s3://{processing}/{mkey}"
    stored = {o["Key"] for o in client.list_objects_v2(Bucket=processing)["Contents"]}
    assert {H10 + "a.csv", H11 + "b.csv", mkey} <= stored

    client.delete_object(Bucket=landing, Key=f"in/{H11}b.csv")
    result = ingest("orders", DAY)
    assert day_metadata(result, "processing__order_files")[DAY]["retracted_sample"] == [
        H11 + "b.csv"
    ]
    stored = {o["Key"] for o in client.list_objects_v2(Bucket=processing)["Contents"]}
    assert H11 + "b.csv" not in stored and H10 + "a.csv" in stored
    assert orders_rows(pipeline_env) == [("o1", "c1", 108, H10 + "a.csv", DAY)]
    assert quarantine_rows(pipeline_env) == [(DAY, H10 + "a.csv", 3, "total_mismatch")]


def test_asset_keys_and_ops():
    from pipeline_assets.lib.settings import Settings

    assert files_key(dataset("orders")).to_user_string() == "processing/order_files"
    assert raw_key(dataset("customers")).to_user_string() == "raw/customers"
    built = dataset("orders").build_dataset_defs(Settings({}))
    assert [a.op.name for a in [*built.assets, *built.asset_checks]] == [
        "processing__order_files",
        "raw__orders",
        "raw_orders_checks",
    ]
    assert [j.name for j in built.jobs] == ["ingest_orders_job"]
    assert [s.name for s in built.schedules] == ["hourly_orders_schedule"]


def test_days_are_validated_in_batches_bounded_by_bytes(pipeline_env):
    """A run's days go through the validator a few at a time when big, in order, each batch
    at most the budget (a bigger day alone); a day that cannot be read ends the batches."""
    from pipeline_assets.defs.ingest.raw import day_batches
    from pipeline_assets.lib.manifest import read_manifest

    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 4), 50)
    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    ingest("orders", days[0], days[-1], selection=[files_key(dataset("orders"))])
    store = LocalStore(pipeline_env.processing)
    size = {d: sum(e.size for e in read_manifest(store, "orders", d).files) for d in days}

    def batched(budget: int) -> list[tuple[list[str], object]]:
        batches = day_batches(store, dataset("orders"), days, budget)
        return [([d for d, _ in b], e) for b, _, e in batches]

    assert batched(size[days[0]] + size[days[1]]) == [(days[:2], None), (days[2:], None)]
    assert batched(1) == [([d], None) for d in days]  # a day bigger than the budget: alone
    assert batched(1 << 40) == [(days, None)]
    (pipeline_env.processing / manifest_key("orders", days[2])).unlink()
    ((first, error),) = batched(1 << 40)
    assert first == days[:2] and "2024-01-03" in str(error)


def test_a_range_validated_day_by_day_loads_what_one_pass_loads(pipeline_env, monkeypatch):
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 3), 80)
    from pipeline_assets.defs.ingest import raw

    budget = raw.BATCH_BYTES
    monkeypatch.setattr(raw, "BATCH_BYTES", 1)  # a day per pass
    result = ingest("orders", "2024-01-01", "2024-01-03")
    assert set(day_metadata(result, "raw__orders")) == {"2024-01-01", "2024-01-02", "2024-01-03"}
    day_by_day = fingerprints(pipeline_env.duckdb)
    monkeypatch.setattr(raw, "BATCH_BYTES", budget)
    monkeypatch.setenv("PIPELINE_DUCKDB_PATH", str(pipeline_env.root / "one-pass.duckdb"))
    ingest("orders", "2024-01-01", "2024-01-03")
    assert fingerprints(pipeline_env.root / "one-pass.duckdb") == day_by_day
    assert sum(rows for _, rows, _ in day_by_day["orders"]) > 100  # loaded, not empty


def test_the_load_steps_two_duckdbs_share_the_memory_setting(monkeypatch):
    """The validator and the warehouse connection are open together in a load step: each
    gets half of PIPELINE_DUCKDB_MEMORY_LIMIT; dbt, a DuckDB of its own, gets all of it."""
    from helpers import resources

    from pipeline_assets.lib.settings import half_memory

    monkeypatch.setenv("PIPELINE_DUCKDB_MEMORY_LIMIT", "1GB")
    built = resources()
    assert built["validation"].duckdb_memory_limit == "0.5GB"
    assert built["warehouse"].dbt_env()["PIPELINE_DUCKDB_MEMORY_LIMIT"] == "1GB"
    assert half_memory("350MB") == "175MB"
    with pytest.raises(ValueError, match="must look like 600MB"):
        half_memory("plenty")
