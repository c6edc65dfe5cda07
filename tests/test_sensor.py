"""The landing-zone sensor against moto's S3 server and a local folder."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from helpers import dataset, ingest, resources, settings
from spies import opened_under, record_s3_requests

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.automation.definitions import landing_sensor
from pipeline_assets.lib.landing_scan import scan, window_days

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def prefixes(today: date, lookback: int, first: date) -> list[str]:
    days = window_days(declared_datasets(), today, lookback, first)
    return [dataset.partition_prefix(day) for dataset, day in days]


def test_only_the_lookback_window_is_listed():
    assert prefixes(date(2024, 1, 10), 1, date(2024, 1, 1)) == [
        "customers/date=2024-01-09/",
        "orders/date=2024-01-09/",
        "customers/date=2024-01-10/",
        "orders/date=2024-01-10/",
    ]
    assert prefixes(date(2024, 1, 1), 3, date(2024, 1, 1)) == [
        "customers/date=2024-01-01/",
        "orders/date=2024-01-01/",
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

    put.delete = lambda key: client.delete_object(Bucket=bucket, Key=f"zone/{key}")
    return put


@pytest.fixture
def delete(landing, pipeline_env):
    """Deletes a landing object from whichever zone `landing` writes to."""
    return getattr(landing, "delete", lambda key: (pipeline_env.landing / key).unlink())


def tick(cursor: str | None) -> dg.SensorResult:
    zones = {k: v for k, v in resources().items() if k in ("landing", "processing")}
    with dg.build_sensor_context(cursor=cursor, resources=zones) as context:
        ingests = [(d, d.ingest_job) for d in declared_datasets()]
        return landing_sensor(settings(), ingests)(context)


def requested(result: dg.SensorResult) -> set[tuple[str, str]]:
    return {(r.job_name, r.partition_key) for r in result.run_requests}


def test_new_changed_and_deleted_files_request_exactly_their_day(landing, delete):
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    old = day - timedelta(days=10)
    hour_key = f"orders/date={day}/hour=05/part-000.csv"
    late_key = f"orders/date={day}/hour=23/part-000.csv"
    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,100,8,108,\n")
    landing(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    landing(f"orders/date={old}/hour=05/part-000.csv", HEADER)  # outside the lookback
    landing(f"orders/date={day}/hour=05/_SUCCESS", "")  # not a landing file

    first = tick(None)
    assert requested(first) == {("ingest_orders_job", f"{day}"), ("ingest_customers_job", f"{day}")}
    orders = next(r for r in first.run_requests if r.job_name == "ingest_orders_job")
    assert orders.tags["pipeline/change"] == "1 new, 0 changed, 0 removed"
    assert orders.tags["pipeline/days"] == f"{day}"
    # one digest per day in the window, whatever the number of files: a small cursor
    assert set(json.loads(first.cursor)["days"]) == {f"orders/{day}", f"customers/{day}"}
    assert len(first.cursor) < 200

    assert tick(first.cursor).run_requests == []  # a repeated tick launches nothing

    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,200,16,216,\n")  # re-landed
    landing(late_key, HEADER + f"o2,c1,s01,{day}T23:10:00,100,8,108,\n")  # another hour
    second = tick(first.cursor)
    assert requested(second) == {("ingest_orders_job", f"{day}")}
    # nothing was ingested yet: the change is told against no copy at all
    assert second.run_requests[0].tags["pipeline/change"] == "2 new, 0 changed, 0 removed"
    ingest("orders", f"{day}")  # the run the sensor asked for

    delete(late_key)  # a retraction: the day must run again so its rows leave the warehouse
    third = tick(second.cursor)
    assert requested(third) == {("ingest_orders_job", f"{day}")}
    assert third.run_requests[0].tags["pipeline/change"] == "0 new, 0 changed, 1 removed"
    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,300,24,324,\n")  # re-landed again
    assert tick(third.cursor).run_requests[0].tags["pipeline/change"] == (
        "0 new, 1 changed, 1 removed"  # against what was ingested: the day's manifest
    )

    # Back to an earlier state: still a new run (its run key must not collide).
    landing(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,200,16,216,\n")
    landing(late_key, HEADER + f"o2,c1,s01,{day}T23:10:00,100,8,108,\n")
    fourth = tick(third.cursor)
    keys = [r.run_key for r in (*second.run_requests, *third.run_requests, *fourth.run_requests)]
    assert len(keys) == len(set(keys)) == 3
    assert tick(fourth.cursor).run_requests == []


def test_todays_files_run_today_and_a_future_day_waits(landing):
    today = datetime.now(UTC).date()
    landing(f"orders/date={today}/hour=00/a.csv", HEADER)
    result = tick(None)
    assert requested(result) == {("ingest_orders_job", f"{today}")}  # today is a partition

    tomorrow = today + timedelta(days=1)  # a producer whose clock runs ahead
    landing(f"orders/date={tomorrow}/hour=00/a.csv", HEADER)
    changes, cursor = scan(
        resources()["landing"].store(),
        [(dataset("orders"), f"{tomorrow}")],
        None,
        exists=lambda day: day <= f"{today}",
    )
    assert changes == [] and json.loads(cursor)["days"] == {}  # seen once the day exists


def test_a_first_tick_after_a_backfill_requests_nothing(pipeline_env):
    """The sensor starts from the manifests: days already ingested are not re-run, and a
    file changed or added since still is."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    hour_key = f"orders/date={day}/hour=05/part-000.csv"
    pipeline_env.write(hour_key, HEADER + f"o1,c1,s01,{day}T05:00:00,100,8,108,\n")
    pipeline_env.write(f"customers/date={day}/c.csv", "customer_id,name\nc1,Ann\n")
    for name in ("orders", "customers"):
        ingest(name, f"{day}")
    assert requested(tick(None)) == set()

    pipeline_env.write(hour_key, HEADER + f"o1,c2,s01,{day}T05:00:00,100,8,108,\n")
    assert requested(tick(None)) == {("ingest_orders_job", f"{day}")}


def test_a_tick_reads_no_landing_file_only_the_listing(landing, pipeline_env, monkeypatch):
    """A day of many files: the tick's cost is a listing. Locally no landing file is opened
    (size and mtime_ns from one stat each); on S3 only ListObjectsV2 reaches the landing
    zone. A file changed at the same size is still seen (S3: its ETag; locally: its mtime)."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    keys = [f"orders/date={day}/hour={i % 24:02d}/part-{i:04d}.csv" for i in range(300)]
    for i, key in enumerate(keys):
        landing(key, HEADER + f"o{i:04d},c1,s01,{day}T{i % 24:02d}:30:00,100,8,108,\n")
    sent = record_s3_requests(monkeypatch)
    cursor = tick(None).cursor

    with opened_under(pipeline_env.landing) as opened:
        assert tick(cursor).run_requests == []
        same_size = HEADER + f"o9999,c1,s01,{day}T07:30:00,100,8,108,\n"
        landing(keys[7], same_size)  # re-landed, same size, other content
        changed = tick(cursor)

    on_s3 = hasattr(landing, "delete")
    assert opened == ([] if on_s3 else [keys[7]])  # locally: only the test's own write
    assert requested(changed) == {("ingest_orders_job", f"{day}")}
    assert changed.run_requests[0].tags["pipeline/change"] == "300 new, 0 changed, 0 removed"
    landing_ops = {op for op, _, where in sent if where.startswith("zone/")}
    assert landing_ops == ({"ListObjectsV2"} if on_s3 else set())
