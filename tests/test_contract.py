from datetime import date, datetime

import pytest

from pipeline_assets.lib.contract import (
    ContractError,
    check_key_is_safe,
    day_window,
    days_between,
    hour_window,
    parse_daily_key,
    partition_of_key,
    partition_prefix,
)


def test_keys_map_to_daily_partitions():
    assert partition_of_key("orders/date=2024-01-02/hour=05/part-000.csv") == (
        "orders",
        "2024-01-02",
    )
    assert partition_of_key("orders/date=2024-01-02/hour=23/p.csv") == ("orders", "2024-01-02")
    assert partition_of_key("customers/date=2024-01-02/c.csv") == ("customers", "2024-01-02")
    # A day's orders partition is the folder that holds all 24 hour folders.
    assert partition_prefix("orders", "2024-01-02") == "orders/date=2024-01-02/"
    assert partition_prefix("customers", "2024-01-02") == "customers/date=2024-01-02/"


@pytest.mark.parametrize(
    "key",
    [
        "orders/date=2024-01-02/hour=25/a.csv",  # no such hour
        "orders/date=2024-01-02/hour=24/a.csv",  # no such hour either
        "orders/date=2024-02-30/hour=01/a.csv",  # no such day
        "orders/date=2024-01-02/a.csv",  # orders need an hour folder
        "orders/date=2024-01-02/hour=5/a.csv",  # two-digit hours only
        "orders/date=2024-01-02/hour=01/a.txt",  # not csv
        "orders/date=2024-01-02/hour=01/sub/a.csv",  # nothing below the hour folder
        "customers/date=2024-01-02/hour=01/a.csv",  # customers have no hour folder
        "orders/date=2024-01-02/hour=01/../../../etc/a.csv",
        "/orders/date=2024-01-02/hour=01/a.csv",
        "orders/date=2024-01-02/hour=01/a\nb.csv",
        "orders/date=２０２４-01-02/hour=01/a.csv",  # full-width digits: ASCII only
        "orders/date=2024-01-02/hour=٠١/a.csv",  # Arabic-Indic digits: ASCII only
        "customers/date=2024-01-٠٢/a.csv",
        "customers/date=2024-01-02/a.csv\n",  # a trailing newline is not the end of a key
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
    "pk",
    [
        "2024-01-01'; drop table raw.orders; --",
        "2024-01-01-05:00",  # the old hourly keys are gone
        "2024-01-01-24:00",
        "2024-13-01",
        "2024-02-30",
        "２０２４-０１-０１",  # full-width digits
        "٢٠٢٤-٠١-٠١",  # Arabic-Indic digits
        "2024-01-01\n",
        " 2024-01-01",
        "x",
        "",
    ],
)
def test_hostile_partition_keys_rejected_before_io(pk):
    for dataset in ("orders", "customers"):
        with pytest.raises(ContractError, match="invalid daily partition key"):
            partition_prefix(dataset, pk)
    with pytest.raises(ContractError, match="invalid daily partition key"):
        day_window(pk)


def test_unknown_dataset_is_rejected():
    with pytest.raises(ContractError, match="unknown dataset"):
        partition_prefix("payments", "2024-01-01")


def test_parse_daily_key():
    assert parse_daily_key("2024-02-29") == date(2024, 2, 29)
    with pytest.raises(ContractError, match="2023-02-29"):
        parse_daily_key("2023-02-29")


def test_windows_are_half_open():
    assert day_window("2024-01-31") == (datetime(2024, 1, 31), datetime(2024, 2, 1))
    assert hour_window("orders/date=2024-01-01/hour=23/a.csv") == (
        datetime(2024, 1, 1, 23),
        datetime(2024, 1, 2, 0),
    )
    assert hour_window("orders/date=2024-01-01/hour=00/a.csv") == (
        datetime(2024, 1, 1, 0),
        datetime(2024, 1, 1, 1),
    )
    assert hour_window("customers/date=2024-01-01/c.csv") is None  # no hour: whole day
    assert hour_window("orders/date=2024-01-01/hour=01/a.csv\n") is None  # not a key
    with pytest.raises(ContractError, match="hour 24 > 23"):
        hour_window("orders/date=2024-01-01/hour=24/a.csv")


def test_days_between_is_inclusive():
    assert days_between(date(2024, 1, 30), date(2024, 2, 1)) == [
        "2024-01-30",
        "2024-01-31",
        "2024-02-01",
    ]
    assert days_between(date(2024, 1, 1), date(2024, 1, 1)) == ["2024-01-01"]
    with pytest.raises(ContractError, match="before start"):
        days_between(date(2024, 1, 2), date(2024, 1, 1))
