"""The bad-input corpus (tests/data/bad/): each file ends in exactly its expected outcome.

Every case runs through the real ingestion assets on a real DuckDB file. Each case file lands
in hour 10 of a day that was already loaded with one good row in hour 09, and the day is
re-materialized. After each case the accounting holds (rows read = loaded + quarantined), the
quarantined rows are exactly the case's reason codes from the case file, a failed day kept
its earlier rows untouched (nothing written), and the landing file is byte-for-byte unchanged.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from helpers import dataset, fingerprints, ingest, query

from pipeline_assets.lib.contract import ContractError

CORPUS = Path(__file__).parent / "data" / "bad"
CASES = {k: v for k, v in json.loads((CORPUS / "cases.json").read_text()).items() if k[0] != "_"}
HOUR = "orders/date=2024-01-01/hour=10/"
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
PK = "2024-01-01"
GOOD = "orders/date=2024-01-01/hour=09/good.csv"


def test_the_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.glob("*.csv")}
    assert on_disk == set(CASES) and len(on_disk) >= 28
    outcomes = {"quarantined", "failed", "accepted", "empty"}
    assert all(c["outcome"] in outcomes for c in CASES.values())
    assert all("reason" in c for c in CASES.values() if c["outcome"] == "quarantined")
    assert all("message" in c for c in CASES.values() if c["outcome"] == "failed")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_case(pipeline_env, monkeypatch, name):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "1.0")  # judge rows, not the batch
    case = CASES[name]
    # An earlier, good hour of the same day, loaded first: the day is not empty when a case
    # fails, and a failed re-load must leave it exactly as it was.
    pipeline_env.write(GOOD, HEADER + "g1,c1,s01,2024-01-01T09:00:00,1,0,1,\n")
    ingest("orders", PK)
    warehouse_before = fingerprints(pipeline_env.duckdb)
    assert query(pipeline_env.duckdb, "select order_id from raw.orders") == [("g1",)]
    landed = pipeline_env.landing / HOUR / name
    landed.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / name, landed)
    before = landed.read_bytes()

    result = ingest("orders", PK, raise_on_error=False)

    assert landed.read_bytes() == before  # the landing file is never changed
    if case["outcome"] == "failed":
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert f"{HOUR}{name}: " in failure.step_failure_data.error.message
        assert case["message"] in failure.step_failure_data.error.message
        assert fingerprints(pipeline_env.duckdb) == warehouse_before  # nothing written
        return
    assert result.success
    meta = result.asset_materializations_for_node("raw__orders")[0].metadata
    read, loaded, quarantined = (
        meta[k].value for k in ("rows_read", "rows_loaded", "rows_quarantined")
    )
    assert read == loaded + quarantined  # nothing lost
    assert loaded == case.get("loaded", 0) + 1  # the case's rows and the good hour's row
    quarantine = query(
        pipeline_env.duckdb,
        "select source_key, line_number, reason_code, reason_detail from raw.quarantine "
        "where _partition = ?",
        [PK],
    )
    if case["outcome"] == "quarantined":
        assert [(k, r) for k, _, r, _ in quarantine] == [(HOUR + name, case["reason"])]
        assert meta["quarantine_reasons"].value == {case["reason"]: 1}
        assert quarantine[0][1] == case.get("line", quarantine[0][1])
        assert case.get("detail", "") in quarantine[0][3]
    else:
        assert quarantine == [] and meta["quarantine_reasons"].value == {}
    from_case = query(
        pipeline_env.duckdb,
        "select order_id, customer_id from raw.orders where _partition = ? and _source_key = ?",
        [PK, HOUR + name],
    )
    assert len(from_case) == case.get("loaded", 0)
    if "winner" in case:
        assert from_case == [tuple(case["winner"])]
    good = query(pipeline_env.duckdb, "select _source_key from raw.orders where order_id = 'g1'")
    assert good == [(GOOD,)]  # the day's other hour is still loaded


@pytest.mark.parametrize(
    "partition_key",
    [
        "2024-01-01'; drop table raw.orders; --",
        "../../etc/passwd",
        "２０２４-０１-０１",
    ],
)
def test_hostile_partition_keys_are_rejected_before_any_io(pipeline_env, partition_key):
    with pytest.raises(ContractError):
        dataset("orders").partition_prefix(partition_key)
    with pytest.raises((ValueError, dg.DagsterError)):  # refused before any asset code runs
        ingest("orders", partition_key)
    assert not pipeline_env.processing.exists() and not pipeline_env.duckdb.exists()


@pytest.mark.slow
def test_a_million_rows_are_all_accounted_for(pipeline_env):
    lines = [
        f"o{i},c{i % 5000},s01,2024-01-01T10:{i % 60:02d}:00,{i % 900},0,{i % 900 + (i % 97 == 0)},"
        for i in range(1_000_000)
    ]
    pipeline_env.write(HOUR + "million.csv", HEADER + "\n".join(lines) + "\n")
    result = ingest("orders", PK)
    meta = result.asset_materializations_for_node("raw__orders")[0].metadata
    bad = sum(1 for i in range(1_000_000) if i % 97 == 0)
    assert meta["rows_read"].value == 1_000_000
    assert meta["rows_quarantined"].value == bad
    assert meta["rows_loaded"].value == 1_000_000 - bad
    assert query(pipeline_env.duckdb, "select count(*) from raw.orders") == [(1_000_000 - bad,)]
