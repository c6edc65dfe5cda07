from datetime import date, datetime

import pytest
from helpers import dataset
from pydantic import ValidationError

from pipeline_assets.lib.contract import (
    ContractError,
    check_key_is_safe,
    day_window,
    days_between,
    parse_daily_key,
)
from pipeline_assets.lib.dataset import Dataset, DeclarationError, dataset_of_key

ORDERS, CUSTOMERS = dataset("orders"), dataset("customers")


def test_keys_map_to_daily_partitions():
    assert ORDERS.partition_of_key("orders/date=2024-01-02/hour=05/part-000.csv") == "2024-01-02"
    assert ORDERS.partition_of_key("orders/date=2024-01-02/hour=23/p.csv") == "2024-01-02"
    assert CUSTOMERS.partition_of_key("customers/date=2024-01-02/c.csv") == "2024-01-02"
    assert dataset_of_key([ORDERS, CUSTOMERS], "customers/date=2024-01-02/c.csv") == (
        CUSTOMERS,
        "2024-01-02",
    )
    # A day's orders partition is the folder that holds all 24 hour folders.
    assert ORDERS.partition_prefix("2024-01-02") == "orders/date=2024-01-02/"
    assert CUSTOMERS.partition_prefix("2024-01-02") == "customers/date=2024-01-02/"


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
        "payments/date=2024-01-02/a.csv",  # no such dataset declared
    ],
)
def test_keys_outside_the_contract_are_rejected(key):
    assert ORDERS.partition_of_key(key) is None and CUSTOMERS.partition_of_key(key) is None
    with pytest.raises(ContractError):
        dataset_of_key([ORDERS, CUSTOMERS], key)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("orders/date=2024-01-02/hour=01/UPPER.CSV", "the extension must be lower-case .csv"),
        ("orders/date=2024-01-02/hour=01/a.csv.tmp", "a temporary file"),
        ("orders/date=2024-01-02/a.csv", "not directly in an hour folder"),
        ("orders/date=2024-01-02/hour=24/a.csv", "hour=24 is not an hour 00..23"),
        ("orders/date=2024-02-30/hour=01/a.csv", "invalid daily partition key"),
        ("customers/date=2024-01-02/x/a.csv", "not directly in the day's folder"),
    ],
)
def test_an_ignored_key_says_why(key, why):
    declared = ORDERS if key.startswith("orders/") else CUSTOMERS
    assert why in declared.why_outside_contract(key)


@pytest.mark.parametrize("key", ["a/../b.csv", "./a.csv", "a//b.csv", "..", "a\\b.csv", ""])
def test_unsafe_keys_rejected(key):
    with pytest.raises(ContractError, match="unsafe object key"):
        check_key_is_safe(key)
    with pytest.raises(ContractError, match="unsafe object key"):
        dataset_of_key([ORDERS, CUSTOMERS], key)


def test_quote_in_file_name_is_a_valid_key():
    assert CUSTOMERS.partition_of_key("customers/date=2024-01-02/o'brien.csv") == "2024-01-02"


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
    for declared in (ORDERS, CUSTOMERS):
        with pytest.raises(ContractError, match="invalid daily partition key"):
            declared.partition_prefix(pk)
    with pytest.raises(ContractError, match="invalid daily partition key"):
        day_window(pk)


def test_parse_daily_key():
    assert parse_daily_key("2024-02-29") == date(2024, 2, 29)
    with pytest.raises(ContractError, match="2023-02-29"):
        parse_daily_key("2023-02-29")


def test_windows_are_half_open():
    assert day_window("2024-01-31") == (datetime(2024, 1, 31), datetime(2024, 2, 1))
    assert ORDERS.folder_window("orders/date=2024-01-01/hour=23/a.csv") == (
        datetime(2024, 1, 1, 23),
        datetime(2024, 1, 2, 0),
    )
    assert ORDERS.folder_window("orders/date=2024-01-01/hour=00/a.csv") == (
        datetime(2024, 1, 1, 0),
        datetime(2024, 1, 1, 1),
    )
    # a daily dataset's folder is its day
    assert CUSTOMERS.folder_window("customers/date=2024-01-01/c.csv") == (
        datetime(2024, 1, 1),
        datetime(2024, 1, 2),
    )
    for key in ("orders/date=2024-01-01/hour=01/a.csv\n", "orders/date=2024-01-01/hour=24/a.csv"):
        with pytest.raises(ContractError, match="not a orders file"):
            ORDERS.folder_window(key)


def test_days_between_is_inclusive():
    assert days_between(date(2024, 1, 30), date(2024, 2, 1)) == [
        "2024-01-30",
        "2024-01-31",
        "2024-02-01",
    ]
    assert days_between(date(2024, 1, 1), date(2024, 1, 1)) == ["2024-01-01"]
    with pytest.raises(ContractError, match="before start"):
        days_between(date(2024, 1, 2), date(2024, 1, 1))


PAYMENTS = {
    "name": "payments",
    "layout": "daily",
    "key": "payment_id",
    "time_column": "paid_at",
    "columns": [
        {"name": "payment_id", "type": "string", "required": True},
        {"name": "amount", "type": "cents", "required": True},
        {"name": "paid_at", "type": "timestamp", "required": True},
    ],
}


def test_a_declaration_derives_its_names_and_keys():
    payments = Dataset(**PAYMENTS)
    assert payments.processing_name == "payment_files"
    assert payments.layout_pattern == "payments/date=YYYY-MM-DD/<name>.csv"
    assert payments.time_rule_code == "outside_partition_day"
    assert payments.version_column is None  # no updated_at: duplicates by file and line
    assert payments.required_columns == ["payment_id", "amount", "paid_at"]
    assert Dataset(**{**PAYMENTS, "name": "address"}).processing_name == "address_files"
    assert Dataset(**{**PAYMENTS, "files_asset": "pay"}).processing_name == "pay"
    assert ORDERS.processing_name == "order_files"
    assert CUSTOMERS.processing_name == "customer_files"


@pytest.mark.parametrize(
    ("change", "attribute", "says"),
    [
        ({"key": "id"}, "key", "'id' is not one of the columns"),
        ({"time_column": "payment_id"}, "time_column", "not a timestamp column"),
        ({"name": "Payments"}, "name", "lower-case identifier"),
        ({"name": "quarantine"}, "name", "other than 'quarantine'"),
        ({"columns": []}, "columns", "at least one column"),
        (
            {"columns": [*PAYMENTS["columns"], {"name": "amount"}]},
            "columns[3].name",
            "duplicate column 'amount'",
        ),
        (
            {"columns": [{"name": "payment_id"}, *PAYMENTS["columns"][1:]]},
            "key",
            "must be required",
        ),
        (
            {"columns": [*PAYMENTS["columns"], {"name": "updated_at"}]},
            "columns[3].type",
            "must be a timestamp",
        ),
        (
            {"rules": [{"rule": "sum", "column": "amount", "of": ["paid_at"], "code": "x"}]},
            "rules[0]",
            "'paid_at' is not a cents column",
        ),
        ({"columns": [{"name": "_source_key"}]}, "columns[0].name", "lower-case identifier"),
    ],
)
def test_a_bad_declaration_names_its_attribute(change, attribute, says):
    with pytest.raises(ValidationError) as raised:
        Dataset(**{**PAYMENTS, **change})
    cause = raised.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, DeclarationError)
    assert cause.attribute == attribute and says in cause.message
