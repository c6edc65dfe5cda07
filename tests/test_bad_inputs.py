"""The bad-input corpus (tests/data/bad/): each file ends in exactly its expected outcome.

Every case runs through the real ingestion assets on a real DuckDB file. After each one the
accounting holds (rows read = loaded + quarantined), a failed partition wrote nothing, and
the landing file is byte-for-byte unchanged.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from helpers import fingerprints, ingest, query

from pipeline_assets.lib.contract import ContractError, partition_prefix

CORPUS = Path(__file__).parent / "data" / "bad"
CASES = {k: v for k, v in json.loads((CORPUS / "cases.json").read_text()).items() if k[0] != "_"}
HOUR = "orders/date=2024-01-01/hour=10/"
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
PK = "2024-01-01-10:00"


def test_the_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.glob("*.csv")}
    assert on_disk == set(CASES) and len(on_disk) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_case(pipeline_env, monkeypatch, name):
    monkeypatch.setenv("PIPELINE_QUARANTINE_FAIL_RATE", "1.0")  # judge rows, not the batch
    case = CASES[name]
    landed = pipeline_env.landing / HOUR / name
    landed.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / name, landed)
    before = landed.read_bytes()
    pipeline_env.write(  # an earlier, good hour: the warehouse is not empty when a case fails
        "orders/date=2024-01-01/hour=09/good.csv", HEADER + "g1,c1,s01,2024-01-01T09:00:00,1,0,1,\n"
    )
    ingest("orders", "2024-01-01-09:00")
    warehouse_before = fingerprints(pipeline_env.duckdb)

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
    assert loaded == case.get("loaded", 0)
    reasons = query(
        pipeline_env.duckdb, "select reason_code from raw.quarantine where _partition = ?", [PK]
    )
    if case["outcome"] == "quarantined":
        assert reasons == [(case["reason"],)]
    else:
        assert reasons == []
    if "winner" in case:
        winner = query(
            pipeline_env.duckdb,
            "select order_id, customer_id from raw.orders where _partition = ?",
            [PK],
        )
        assert winner == [tuple(case["winner"])]


@pytest.mark.parametrize(
    "partition_key", ["2024-01-01-10:00'; drop table raw.orders; --", "../../etc/passwd"]
)
def test_hostile_partition_keys_are_rejected_before_any_io(pipeline_env, partition_key):
    with pytest.raises(ContractError):
        partition_prefix("orders", partition_key)
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
