from datetime import date

import pytest

from pipeline_assets.lib.contract import (
    ContractError,
    check_key_is_safe,
    days_between,
    partition_of_key,
    partition_prefix,
    partition_window,
)


def test_keys_map_to_partitions():
    assert partition_of_key("orders/date=2024-01-02/hour=05/part-000.csv") == (
        "orders",
        "2024-01-02-05:00",
    )
    assert partition_of_key("customers/date=2024-01-02/c.csv") == ("customers", "2024-01-02")
    assert partition_prefix("orders", "2024-01-02-05:00") == "orders/date=2024-01-02/hour=05/"


@pytest.mark.parametrize(
    "key",
    [
        "orders/date=2024-01-02/hour=25/a.csv",  # no such hour
        "orders/date=2024-02-30/hour=01/a.csv",  # no such day
        "orders/date=2024-01-02/a.csv",  # orders need an hour folder
        "orders/date=2024-01-02/hour=01/a.txt",  # not csv
        "orders/date=2024-01-02/hour=01/../../../etc/a.csv",
        "/orders/date=2024-01-02/hour=01/a.csv",
        "orders/date=2024-01-02/hour=01/a\nb.csv",
    ],
)
def test_keys_outside_the_contract_are_rejected(key):
    with pytest.raises(ContractError):
        partition_of_key(key)


@pytest.mark.parametrize("key", ["a/../b.csv", "./a.csv", "a//b.csv", "..", "a\\b.csv", ""])
def test_unsafe_keys_rejected(key):
    with pytest.raises(ContractError, match="unsafe object key"):
        check_key_is_safe(key)


def test_quote_in_file_name_is_a_valid_key():
    assert partition_of_key("customers/date=2024-01-02/o'brien.csv")[1] == "2024-01-02"


@pytest.mark.parametrize(
    "pk", ["2024-01-01'; drop table raw.orders; --", "2024-01-01-24:00", "2024-13-01", "x"]
)
def test_hostile_partition_keys_rejected_before_io(pk):
    with pytest.raises(ContractError, match="invalid"):
        partition_prefix("customers" if len(pk) < 11 else "orders", pk)


def test_windows_are_half_open():
    start, end = partition_window("orders", "2024-01-01-23:00")
    assert (str(start), str(end)) == ("2024-01-01 23:00:00", "2024-01-02 00:00:00")
    assert days_between(date(2024, 1, 30), date(2024, 2, 1)) == [
        "2024-01-30",
        "2024-01-31",
        "2024-02-01",
    ]
