"""The landing-zone sensor against moto's S3 server and a local folder."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from pipeline_assets.defs.automation.sensors import landing_zone_sensor
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.lib.landing_scan import date_prefixes

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def test_only_the_lookback_window_is_listed():
    assert date_prefixes(date(2024, 1, 10), 1, date(2024, 1, 1)) == [
        "orders/date=2024-01-09/",
        "customers/date=2024-01-09/",
        "orders/date=2024-01-10/",
        "customers/date=2024-01-10/",
    ]
    assert date_prefixes(date(2024, 1, 1), 3, date(2024, 1, 1)) == [
        "orders/date=2024-01-01/",
        "customers/date=2024-01-01/",
    ]


@pytest.fixture(params=["local", "s3"])
def landing(request, pipeline_env, monkeypatch):
    """A writer for the landing zone the sensor watches: a folder, or a bucket on moto."""
    if request.param == "local":
        return pipeline_env.write
    client = request.getfixturevalue("s3_env")()
    bucket = f"land-{uuid.uuid4().hex[:12]}"  # the moto server lives for the whole session
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("PIPELINE_LANDING_URI", f"s3://{bucket}/zone")

    def put(key: str, text: str) -> None:
        client.put_object(Bucket=bucket, Key=f"zone/{key}", Body=text.encode())

    return put


def tick(cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor, resources={"landing": build_resources()["landing"]}
    ) as context:
        return landing_zone_sensor(context)


def test_new_and_changed_files_request_exactly_their_partitions(landing):
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    old = day - timedelta(days=10)
    hour_key = f"orders/date={day}/hour=05/part-000.csv"
    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,100,8,108,\n")
    landing(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    landing(f"orders/date={old}/hour=05/part-000.csv", HEADER)  # outside the lookback
    landing(f"orders/date={day}/hour=05/_SUCCESS", "")  # not a landing file

    first = tick(None)
    requested = {(r.job_name, r.partition_key) for r in first.run_requests}
    assert requested == {
        ("ingest_orders_job", f"{day}-05:00"),
        ("ingest_customers_job", f"{day}"),
    }
    orders = next(r for r in first.run_requests if r.job_name == "ingest_orders_job")
    assert orders.run_config["ops"]["processing__orders"]["config"]["keys"] == [hour_key]
    assert set(json.loads(first.cursor)) == {hour_key, f"customers/date={day}/c.csv"}

    assert tick(first.cursor).run_requests == []  # a repeated tick launches nothing

    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,200,16,216,\n")  # re-landed
    third = tick(first.cursor)
    assert [(r.partition_key, r.run_key != orders.run_key) for r in third.run_requests] == [
        (f"{day}-05:00", True)
    ]


def test_files_of_an_unfinished_hour_wait_for_it(landing):
    now = datetime.now(UTC)
    landing(f"orders/date={now:%Y-%m-%d}/hour={now:%H}/a.csv", HEADER)
    result = tick(None)
    assert result.run_requests == []
    assert json.loads(result.cursor) == {}  # seen again once the hour is a partition
