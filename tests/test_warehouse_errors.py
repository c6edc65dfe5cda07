"""Warehouse failures: a file that cannot be written fails at once and clearly; a lock held
by another process is waited out (retried)."""

import subprocess
import sys
import time

import duckdb
import pytest
from helpers import ingest, query

from pipeline_assets.lib.connect import exclusive_writer

DAY = "2024-01-01"
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"


def land(env) -> None:
    env.write(f"orders/date={DAY}/hour=10/a.csv", HEADER + f"o1,c1,s01,{DAY}T10:00:00,1,0,1,\n")


def restarts(result) -> int:
    return sum(e.event_type_value == "STEP_RESTARTED" for e in result.all_events)


def failure(result) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


@pytest.fixture
def immutable_warehouse(pipeline_env):
    """The warehouse file with the immutable flag: even root cannot write it."""
    duckdb.connect(str(pipeline_env.duckdb)).close()
    if subprocess.run(["chattr", "+i", str(pipeline_env.duckdb)], capture_output=True).returncode:
        pytest.skip("chattr +i is not supported on this filesystem")
    yield pipeline_env.duckdb
    subprocess.run(["chattr", "-i", str(pipeline_env.duckdb)], check=True)


def test_an_immutable_warehouse_fails_fast_naming_the_path(pipeline_env, immutable_warehouse):
    land(pipeline_env)
    started = time.monotonic()
    result = ingest("orders", DAY, raise_on_error=False)
    assert time.monotonic() - started < 30
    assert not result.success and restarts(result) == 0
    message = failure(result)
    assert str(immutable_warehouse) in message and "Operation not permitted" in message
    with exclusive_writer(str(immutable_warehouse), timeout=1):  # the lock was released
        pass


def test_a_missing_warehouse_directory_that_cannot_be_created_fails_fast(pipeline_env, monkeypatch):
    land(pipeline_env)
    blocker = pipeline_env.root / "not-a-dir"
    blocker.write_text("a file where the warehouse's folder should be")
    monkeypatch.setenv("PIPELINE_DUCKDB_PATH", str(blocker / "warehouse.duckdb"))
    result = ingest("orders", DAY, raise_on_error=False)
    assert not result.success and restarts(result) == 0
    assert str(blocker) in failure(result)


def test_a_lock_held_by_another_process_is_retried(pipeline_env):
    land(pipeline_env)
    duckdb.connect(str(pipeline_env.duckdb)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(2); c.close()",
            str(pipeline_env.duckdb),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    result = ingest("orders", DAY)
    holder.wait(timeout=30)
    assert result.success and restarts(result) >= 1


def test_a_missing_landing_zone_fails_fast_and_keeps_the_day(pipeline_env, monkeypatch):
    """An unmounted or mistyped landing folder is not a quiet day: listing it as empty would
    retract every file of the day and load it empty."""
    land(pipeline_env)
    assert ingest("orders", DAY).success
    before = query(pipeline_env.duckdb, "select count(*) from raw.orders")
    monkeypatch.setenv("PIPELINE_LANDING_URI", str(pipeline_env.root / "not-mounted"))
    started = time.monotonic()
    result = ingest("orders", DAY, raise_on_error=False)
    assert time.monotonic() - started < 30
    assert not result.success and restarts(result) == 0
    assert str(pipeline_env.root / "not-mounted") in failure(result)
    assert "no such zone folder" in failure(result)
    assert query(pipeline_env.duckdb, "select count(*) from raw.orders") == before == [(1,)]
    assert (pipeline_env.processing / f"orders/date={DAY}/hour=10/a.csv").exists()


def test_an_immutable_processing_folder_fails_fast_naming_it(pipeline_env):
    land(pipeline_env)
    folder = pipeline_env.processing / f"orders/date={DAY}/hour=10"
    folder.mkdir(parents=True)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        started = time.monotonic()
        result = ingest("orders", DAY, raise_on_error=False)
        assert time.monotonic() - started < 30
        assert not result.success and restarts(result) == 0
        message = failure(result)
        assert str(folder) in message and "Operation not permitted" in message
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
