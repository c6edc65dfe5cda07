"""The same load code on Snowflake's dialect, served by fakesnow (no real account here):
the validated day's Parquet files PUT into a temporary stage, then COPY INTO inside the
day's transaction."""

from datetime import datetime
from pathlib import Path

import fakesnow
import pytest
import snowflake.connector
from helpers import dataset

from pipeline_assets.lib.raw_load import partition_counts, validate_and_load
from pipeline_assets.lib.warehouse import SnowflakeDb

ORDERS = dataset("orders")

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
KEY = "orders/date=2024-01-01/hour=10/a.csv"
PK = "2024-01-01"


@pytest.fixture
def sf():
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="shop", paramstyle="qmark")
        conn.cursor().execute("create database if not exists shop")
        conn.cursor().execute("use database shop")
        yield SnowflakeDb(conn)
        conn.close()


def test_partition_replace_is_exact_on_snowflake_dialect(sf):
    text = (
        HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\no'2,c2,,2024-01-01T10:30:00Z,5,0,6,\n"
    )
    validate_and_load(sf, ORDERS, PK, [(KEY, text.encode())])
    fixed = text.replace("5,0,6", "5,0,5").replace("o1,c1", "o1,c9")
    validate_and_load(sf, ORDERS, PK, [(KEY, fixed.encode())])
    validate_and_load(sf, ORDERS, PK, [(KEY, fixed.encode())])
    rows = sf.execute("select order_id, customer_id, order_total from raw.orders order by 1")
    assert rows == [("o'2", "c2", 5), ("o1", "c9", 108)]
    assert partition_counts(sf, ORDERS, [PK]) == {PK: (2, 0)}
    quarantine = sf.execute("select count(*) from raw.quarantine")
    assert quarantine == [(0,)]


def test_a_day_is_replaced_whole_and_other_days_are_untouched_on_snowflake_dialect(sf):
    """A day = all its hour files; reloading it without one hour drops exactly those rows."""
    day1 = {
        "orders/date=2024-01-01/hour=09/a.csv": HEADER
        + "o1,c1,s01,2024-01-01T09:00:00,100,8,108,\n",
        "orders/date=2024-01-01/hour=10/a.csv": HEADER
        + "o2,c2,s01,2024-01-01T10:00:00,5,0,5,\n"
        + "o3,c3,s01,2024-01-01T09:59:59,5,0,5,\n",  # outside its hour folder
        # The same order again an hour later: the later hour wins within the day.
        "orders/date=2024-01-01/hour=11/a.csv": HEADER
        + "o1,c9,s02,2024-01-01T11:00:00,100,8,108,\n",
    }
    day2 = {"orders/date=2024-01-02/hour=00/a.csv": HEADER + "o4,c4,,2024-01-02T00:00:00,1,0,1,\n"}

    def load(day: str, files: dict[str, str]) -> None:
        validate_and_load(sf, ORDERS, day, [(k, v.encode()) for k, v in sorted(files.items())])

    load("2024-01-01", day1)
    load("2024-01-02", day2)
    rows = sf.execute("select order_id, customer_id, _partition from raw.orders order by 1")
    assert rows == [
        ("o1", "c9", "2024-01-01"),
        ("o2", "c2", "2024-01-01"),
        ("o4", "c4", "2024-01-02"),
    ]
    reasons = sf.execute(
        "select _partition, source_key, reason_code from raw.quarantine order by 2, 3"
    )
    assert reasons == [
        ("2024-01-01", "orders/date=2024-01-01/hour=09/a.csv", "superseded_duplicate"),
        ("2024-01-01", "orders/date=2024-01-01/hour=10/a.csv", "outside_partition_hour"),
    ]
    assert partition_counts(sf, ORDERS, ["2024-01-01", "2024-01-02"]) == {
        "2024-01-01": (2, 2),
        "2024-01-02": (1, 0),
    }

    # Hour 10's file is retracted: the reloaded day loses its rows, day 2 keeps its own.
    del day1["orders/date=2024-01-01/hour=10/a.csv"]
    load("2024-01-01", day1)
    rows = sf.execute("select order_id, _partition from raw.orders order by 1")
    assert rows == [("o1", "2024-01-01"), ("o4", "2024-01-02")]
    assert partition_counts(sf, ORDERS, ["2024-01-01", "2024-01-02"]) == {
        "2024-01-01": (1, 1),
        "2024-01-02": (1, 0),
    }


def test_the_parquet_load_is_one_transaction_on_snowflake_dialect(sf, monkeypatch):
    """The COPY INTOs run inside the day's transaction: a failure after the data's COPY
    rolls the deletes and that COPY back."""
    day = HEADER + "o1,c1,s01,2024-01-01T10:00:00.123456,100,8,108,2024-01-01T10:30:00Z\n"
    day += "o2,c2,,2024-01-01T10:05:00,5,0,6,\n"  # quarantined
    validate_and_load(sf, ORDERS, PK, [(KEY, day.encode())])
    before = (
        sf.execute("select * from raw.orders order by 1"),
        sf.execute("select * from raw.quarantine order by 1, 2, 3, 4"),
    )
    assert before[0] == [
        (
            "o1",
            "c1",
            "s01",
            datetime(2024, 1, 1, 10, 0, 0, 123456),
            100,
            8,
            108,
            datetime(2024, 1, 1, 10, 30),
            KEY,
            2,
            PK,
        )
    ]
    assert [row[:6] for row in before[1]] == [
        ("orders", PK, KEY, 3, "o2,c2,,2024-01-01T10:05:00,5,0,6,", "total_mismatch")
    ]

    real = SnowflakeDb.insert_parquet

    def fail_on_quarantine(self, table, columns, staged):
        if "QUARANTINE" in table:
            raise RuntimeError("injected failure inside the transaction")
        real(self, table, columns, staged)

    monkeypatch.setattr(SnowflakeDb, "insert_parquet", fail_on_quarantine)
    other = HEADER + "o9,c9,s01,2024-01-01T10:00:00,1,0,1,\n"
    with pytest.raises(RuntimeError, match="injected"):
        validate_and_load(sf, ORDERS, PK, [(KEY, other.encode())])
    after = (
        sf.execute("select * from raw.orders order by 1"),
        sf.execute("select * from raw.quarantine order by 1, 2, 3, 4"),
    )
    assert after == before


def test_only_this_process_s_own_files_are_staged(sf, tmp_path):
    """A stage path cannot be a bind parameter: the PUT takes only plain local paths."""
    for path in [tmp_path / "it's.parquet", Path("relative.parquet"), tmp_path / "a b.parquet"]:
        with pytest.raises(ValueError, match="refusing to stage"):
            sf.stage_parquet(path)


def test_a_read_before_any_load_says_the_warehouse_holds_no_data_on_snowflake(sf):
    """`pipeline quarantine` on Snowflake: no raw table yet is no data yet; after a load the
    same reader reads."""
    from pipeline_assets.defs.warehouse import SnowflakeWarehouse
    from pipeline_assets.lib.connect import WarehouseEmptyError

    warehouse = SnowflakeWarehouse(account="fake", user="fake", password="fake", database="shop")
    no_data = pytest.raises(WarehouseEmptyError, match=r"Snowflake database shop has no table")
    with no_data, warehouse.reader():
        pass
    validate_and_load(
        sf, ORDERS, PK, [(KEY, (HEADER + "o1,c1,,2024-01-01T10:00:00,1,0,9,\n").encode())]
    )
    with warehouse.reader() as db:
        assert db.execute("select count(*) from raw.quarantine") == [(1,)]
