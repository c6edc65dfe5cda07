"""The same load code on Snowflake's dialect, served by fakesnow (no real account here)."""

import fakesnow
import pytest
import snowflake.connector

from pipeline_assets.lib.validate import validate_partition
from pipeline_assets.lib.warehouse import SnowflakeDb, load_partitions, partition_counts

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
KEY = "orders/date=2024-01-01/hour=10/a.csv"
PK = "2024-01-01-10:00"


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
    load_partitions(sf, [validate_partition("orders", PK, [(KEY, text.encode())])])
    fixed = text.replace("5,0,6", "5,0,5").replace("o1,c1", "o1,c9")
    load_partitions(sf, [validate_partition("orders", PK, [(KEY, fixed.encode())])])
    load_partitions(sf, [validate_partition("orders", PK, [(KEY, fixed.encode())])])
    rows = sf.execute("select order_id, customer_id, order_total from raw.orders order by 1")
    assert rows == [("o'2", "c2", 5), ("o1", "c9", 108)]
    assert partition_counts(sf, "orders", [PK]) == {PK: (2, 0)}
    quarantine = sf.execute("select count(*) from raw.quarantine")
    assert quarantine == [(0,)]
