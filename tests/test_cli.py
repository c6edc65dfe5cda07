"""The `pipeline` console script, run as a user runs it: a subprocess with env settings."""

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import fingerprints, query
from services import pipeline

WAREHOUSE_ASSETS = {
    "staging/stg_shop__orders",
    "staging/stg_shop__customers",
    "intermediate/int_orders_deduplicated",
    "marts/fct_orders",
    "marts/orders_daily_summary",
    "marts/dim_customers",
    "features/customer_features",
}


@pytest.mark.slow
def test_seed_then_backfill_is_idempotent_and_recorded(pipeline_env):
    env = {}
    seed = pipeline("seed", "--start", "2024-01-01", "--end", "2024-01-02", env=env)
    assert seed.returncode == 0, seed.stderr
    assert "seed 2024-01-02  [2/2 days]" in seed.stdout
    again = pipeline("seed", "--start", "2024-01-01", "--end", "2024-01-02", env=env)
    assert "0 files written" in again.stdout
    landing = {p: p.read_bytes() for p in pipeline_env.landing.rglob("*.csv")}

    first = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-02", env=env)
    assert first.returncode == 0, first.stderr + first.stdout
    out = first.stdout
    assert "backfill 2024-01-01..2024-01-02: OK" in out
    assert "  days ingested     2/2" in out
    # one ingest run (both datasets, 3 checks per raw asset and day), then one warehouse run
    assert re.search(
        r"^ingest 2024-01-01\.\.2024-01-02 \(2 days\): loaded \d+, "
        r"quarantined \d+, checks passed 12/12  \(\d+\.\ds\)$",
        out,
        re.M,
    ), out
    assert re.search(
        r"^warehouse 2024-01-01\.\.2024-01-02 \(2 days\): dbt built 6 models, tests passed "
        r"(\d+)/\1, features for 2 days  \(",
        out,
        re.M,
    ), out
    assert "  dagster runs      2" in out and "  checks failed     0" in out
    assert "\x1b[" not in out + first.stderr  # no colour codes when stdout is not a terminal
    # dbt's own output went to the log file, whose path is printed, not to stdout
    (log,) = re.findall(r"^  full log          (\S+)$", out, re.M)
    assert "Completed successfully" in Path(log).read_text()
    assert "Completed successfully" not in out
    assert len(out.splitlines()) < 25
    # the summary's counts are the warehouse's, for the days backfilled
    (raw_rows,) = query(
        pipeline_env.duckdb,
        "select (select count(*) from raw.orders) + (select count(*) from raw.customers)",
    )[0]
    (quarantined,) = query(pipeline_env.duckdb, "select count(*) from raw.quarantine")[0]
    assert raw_rows > 1900 and f"  rows loaded       {raw_rows}\n" in out
    assert f"  rows quarantined  {quarantined}\n" in out
    summary = "select count(*) from marts.orders_daily_summary"
    (summary_rows,) = query(pipeline_env.duckdb, summary)[0]
    assert re.search(
        rf"^  marts.orders_daily_summary: +{summary_rows} rows \(these days\)$", out, re.M
    )
    assert re.search(r"^  marts.dim_customers: +\d+ rows \(whole table\)$", out, re.M)
    days = query(pipeline_env.duckdb, "select distinct _partition from raw.orders order by 1")
    assert days == [("2024-01-01",), ("2024-01-02",)]

    prints = fingerprints(pipeline_env.duckdb)
    second = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-02", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "  days ingested     2/2" in second.stdout
    assert fingerprints(pipeline_env.duckdb) == prints
    assert {p: p.read_bytes() for p in pipeline_env.landing.rglob("*.csv")} == landing

    with dg.DagsterInstance.from_config(str(pipeline_env.dagster_home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"pipeline/command": "backfill"}))
        assert len(runs) == 4 and all(r.is_success for r in runs)  # 2 backfills x 2 runs
        # each run records what it materializes: the UI's run list shows it as the target
        assert {frozenset(k.to_user_string() for k in r.asset_selection) for r in runs} == {
            frozenset(
                {
                    "processing/order_files",
                    "raw/orders",
                    "processing/customer_files",
                    "raw/customers",
                }
            ),
            frozenset(WAREHOUSE_ASSETS),
        }
        for key in (dg.AssetKey(["raw", "orders"]), dg.AssetKey(["marts", "fct_orders"])):
            assert instance.get_materialized_partitions(key) == {"2024-01-01", "2024-01-02"}


def test_bad_arguments_are_rejected_before_any_io(pipeline_env):
    bad = pipeline("backfill", "--start", "2024-01-05", "--end", "2024-01-01", env={})
    assert bad.returncode == 2 and "before --start" in bad.stderr
    hostile = pipeline(
        "seed", "--start", "2024-01-01'; drop table x; --", "--end", "2024-01-01", env={}
    )
    assert hostile.returncode == 2 and "is not a date" in hostile.stderr
    assert not any(pipeline_env.landing.iterdir()) and not pipeline_env.duckdb.exists()


@pytest.mark.slow
def test_overlapping_backfills_equal_a_sequential_run(pipeline_env):
    """Two `pipeline backfill` processes at once, sharing one DuckDB file and instance."""
    assert pipeline("seed", "--start", "2024-01-01", "--end", "2024-01-02", env={}).returncode == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline_assets.cli", "backfill", "--start", s, "--end", e],
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for s, e in (("2024-01-01", "2024-01-02"), ("2024-01-02", "2024-01-02"))
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    overlapped = raw_and_marts(pipeline_env.duckdb)

    ref = {
        "PIPELINE_DUCKDB_PATH": str(pipeline_env.root / "sequential.duckdb"),
        "PIPELINE_PROCESSING_URI": str(pipeline_env.root / "sequential-processing"),
        "PIPELINE_FEATURES_URI": str(pipeline_env.root / "sequential-features"),
    }
    done = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-02", env=ref)
    assert done.returncode == 0, done.stdout
    assert overlapped == raw_and_marts(ref["PIPELINE_DUCKDB_PATH"])


def raw_and_marts(path) -> dict:
    marts = ("fct_orders", "orders_daily_summary", "dim_customers")
    return {**fingerprints(path), **fingerprints(path, marts, schema="marts")}


def test_concurrent_commands_on_a_fresh_instance_initialize_it_once(tmp_path):
    """Dagster's SQLite storage races on first use; the CLI creates it under a lock."""
    home = tmp_path / "fresh_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    init = "import pathlib, sys; from pipeline_assets.instance import ensure_instance; "
    init += "ensure_instance(pathlib.Path(sys.argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", init, str(home)], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4, [p.stderr.read() for p in procs]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs(limit=1) == []


@pytest.mark.slow
def test_a_failure_is_said_once_cause_first_and_the_summary_agrees(pipeline_env):
    """An unreadable file on the second day: the first day of both datasets is loaded (one
    transaction per day), the summary says so, the marts did not run, and the cause is
    printed once, without a traceback or advice meant for another place."""
    assert pipeline("seed", "--start", "2024-01-01", "--end", "2024-01-03", env={}).returncode == 0
    bad = "orders/date=2024-01-02/hour=10/bad.csv"
    pipeline_env.write(bad, b"\xff\xfe not utf-8")
    done = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-03", env={})
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    cause = f"raw/orders: {bad}: line 1: not valid UTF-8 (byte 0xff at offset 0)"
    assert out.count(cause) == 2, out  # the run's line and the summary's error, nothing else
    assert "Traceback" not in out and "compute logs" not in out and "caused by" not in out
    assert "  days ingested     1/3 (customers 3/3, orders 1/3)" in out
    assert "  marts built       0/3 days (not run: ingestion failed)" in out
    assert "marts wait for" not in out
    (loaded,) = query(pipeline_env.duckdb, "select count(distinct _partition) from raw.orders")[0]
    assert loaded == 1
    rows = query(pipeline_env.duckdb, "select count(*) from raw.orders")[0][0]
    rows += query(pipeline_env.duckdb, "select count(*) from raw.customers")[0][0]
    assert f"  rows loaded       {rows}\n" in out  # what was committed, failure or not

    verify = pipeline("verify", "--start", "2024-01-02", "--end", "2024-01-02", env={})
    out = verify.stdout + verify.stderr
    assert verify.returncode == 1, out
    assert "Traceback" not in out and out.count(cause) == 1, out
    assert "verify 2024-01-02..2024-01-02: FAILED" in out
    assert len(out.splitlines()) < 15, out
    with dg.DagsterInstance.from_config(str(pipeline_env.dagster_home)) as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(tags={"pipeline/command": "verify"}))
        assert run.tags["pipeline/days"] == "2024-01-02"


def test_quarantine_lists_a_days_rows_with_file_line_and_reason(pipeline_env):
    """`pipeline quarantine --day D`: the rows the day's sample in the UI points to."""
    from helpers import ingest

    pipeline_env.write(
        "orders/date=2024-01-01/hour=10/a.csv",
        "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
        "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n"
        "o2,c1,s01,2024-01-01T10:00:00,100,8,999,\n"
        "o3,,s01,2024-01-01T10:00:00,100,8,108,\n"
        + "".join(f"o{n},c1,s01,2024-01-01T10:00:00,100,8,108,\n" for n in range(4, 9)),
    )  # 2 of 7 rows quarantined: a warning, below the fail rate
    result = ingest("orders", "2024-01-01")
    (mat,) = result.asset_materializations_for_node("raw__orders")
    sample = mat.metadata["quarantine_sample"].value
    assert "`pipeline quarantine --day 2024-01-01 --dataset orders`" in sample
    assert "| orders/date=2024-01-01/hour=10/a.csv | 3 | total_mismatch |" in sample
    listed = pipeline("quarantine", "--day", "2024-01-01", env={})
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "dataset\tsource_key\tline_number\treason_code\treason_detail\traw_line",
        "orders\torders/date=2024-01-01/hour=10/a.csv\t3\ttotal_mismatch\t"
        "order_total 999 != subtotal + tax_paid 108\to2,c1,s01,2024-01-01T10:00:00,100,8,999,",
        "orders\torders/date=2024-01-01/hour=10/a.csv\t4\tmissing_required_value\t"
        "customer_id is required\to3,,s01,2024-01-01T10:00:00,100,8,108,",
    ]
    assert "2 quarantined row(s) of 2024-01-01" in listed.stderr


# Quarantined rows whose raw lines hold what a terminal or a tool would take for something
# else: line breaks inside quoted fields, a NUL, a tab, an escape sequence, a backslash.
HOSTILE_ROWS = {
    2: 'o1,c1,"s\n01",2024-01-01T10:00:00,100,8,999,',
    4: 'o2,c1,"s\r\n02",2024-01-01T10:00:00,100,8,999,',
    6: "o3,c1,s\x0003,2024-01-01T10:00:00,100,8,108,",
    7: 'o4,c1,"s\t04\x1b[31m\\",2024-01-01T10:00:00,100,8,999,',
}


def test_quarantine_prints_one_escaped_line_per_row_and_hints_only_when_there_are_more(
    pipeline_env,
):
    from helpers import ingest

    header = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at"
    valid = "".join(f"o{n},c1,s01,2024-01-01T10:00:00,100,8,108,\n" for n in range(5, 15))
    key = "orders/date=2024-01-01/hour=10/a.csv"
    pipeline_env.write(key, header + "\n" + "\n".join(HOSTILE_ROWS.values()) + "\n" + valid)
    ingest("orders", "2024-01-01")

    listed = pipeline("quarantine", "--day", "2024-01-01", "--limit", "4", env={})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 1 + len(HOSTILE_ROWS)  # the header, then exactly one line per row
    assert [line.split("\t")[2] for line in lines[1:]] == [str(n) for n in HOSTILE_ROWS]
    assert [line.split("\t")[5] for line in lines[1:]] == [
        'o1,c1,"s\\n01",2024-01-01T10:00:00,100,8,999,',
        'o2,c1,"s\\r\\n02",2024-01-01T10:00:00,100,8,999,',
        "o3,c1,s\\003,2024-01-01T10:00:00,100,8,108,",
        'o4,c1,"s\\t04\\x1b[31m\\\\",2024-01-01T10:00:00,100,8,999,',
    ]
    assert listed.stderr == "4 quarantined row(s) of 2024-01-01\n"  # exactly 4: no "more"
    grep = subprocess.run(["grep", "o3,"], input=listed.stdout, capture_output=True, text=True)
    assert grep.stdout.startswith("orders\t") and "binary" not in grep.stdout + grep.stderr

    fewer = pipeline("quarantine", "--day", "2024-01-01", "--limit", "3", env={})
    assert len(fewer.stdout.splitlines()) == 1 + 3
    assert fewer.stderr == "3 quarantined row(s) of 2024-01-01 (the first 3; --limit N for more)\n"

    def machine(fmt: str) -> str:  # the bytes as written (text mode would turn \r\n into \n)
        args = ["quarantine", "--day", "2024-01-01", "--format", fmt]
        done = subprocess.run(
            [sys.executable, "-m", "pipeline_assets.cli", *args], capture_output=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()

    rows = list(csv.DictReader(io.StringIO(machine("csv"), newline="")))
    assert {int(r["line_number"]): r["raw_line"] for r in rows} == HOSTILE_ROWS
    records = [json.loads(line) for line in machine("jsonl").split("\n") if line]
    assert {r["line_number"]: r["raw_line"] for r in records} == HOSTILE_ROWS
    assert {r["reason_code"] for r in records} == {"total_mismatch", "nul_character"}


def test_read_only_commands_before_any_load_say_so_and_create_nothing(pipeline_env):
    """`quarantine`, `verify` and `--help` on a warehouse path nothing was loaded into: a
    plain error naming the path and `pipeline backfill`, exit 1, no folder, file, lock or
    traceback file; the same when the file exists but holds no raw tables."""
    folder = pipeline_env.root / "warehouse"
    env = {"PIPELINE_DUCKDB_PATH": str(folder / "w.duckdb")}
    for args in (
        ("quarantine", "--day", "2024-01-01"),
        ("verify", "--start", "2024-01-01", "--end", "2024-01-02"),
    ):
        done = pipeline(*args, env=env)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert done.stderr == (
            f"error: the warehouse holds no data yet (DuckDB file {folder / 'w.duckdb'} does "
            "not exist): load days into it first with "
            "`pipeline backfill --start YYYY-MM-DD --end YYYY-MM-DD`\n"
        )
    for args in (("--help",), ("quarantine", "--help"), ("verify", "--help")):
        assert pipeline(*args, env=env).returncode == 0
    assert not folder.exists() and not (pipeline_env.root / "logs").exists()

    folder.mkdir()
    duckdb.connect(str(folder / "w.duckdb")).close()  # a file, but nothing ever loaded
    before = sorted(p.name for p in folder.iterdir())
    done = pipeline("quarantine", "--day", "2024-01-01", env=env)
    assert done.returncode == 1
    assert "has no table raw.quarantine): load days into it first with" in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == before


@pytest.mark.slow
def test_big_hour_files_load_with_the_default_settings(pipeline_env):
    """A 40 MB hour file (several of the validator's pieces at their default size), holding
    records with quoted line ends, a bad row and a duplicate at its end, then the next day a
    20 MB file whose unreadable line is in a later piece: `pipeline backfill` of both with
    the default settings loads the first day with read = loaded + quarantined and the exact
    lines, and fails the second naming its file and line, nothing of it loaded."""
    from datetime import date

    from bench.bigfile import write_big_hour

    big = write_big_hour(pipeline_env.landing, date(2024, 1, 1), 40, quoted_every=1000)
    path = pipeline_env.landing / big.key
    lines = path.read_bytes().count(b"\n")  # physical lines: every line end is \n
    first_id = path.read_text().split("\n", 2)[1].split(",", 1)[0]
    with open(path, "a") as f:
        f.write("o-bad,c00001,s01,2024-01-01T12:00:00,100,8,109,\n")  # line lines + 1
        f.write(f"{first_id},c00002,s01,2024-01-01T12:00:00,100,8,108,\n")  # supersedes line 2
    bad_day = write_big_hour(pipeline_env.landing, date(2024, 1, 2), 20)
    bad_path = pipeline_env.landing / bad_day.key
    bad_line = bad_path.read_bytes().count(b"\n") + 1
    with open(bad_path, "a") as f:
        f.write('o-x,"c1"x,s01,2024-01-02T12:00:00,1,0,1,\n')

    result = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-02")

    assert result.returncode == 1, result.stdout + result.stderr
    message = f"{bad_day.key}: line {bad_line}: unreadable CSV (',' expected after '\"')"
    assert message in result.stdout, result.stdout
    (loaded,) = query(
        pipeline_env.duckdb, "select count(*) from raw.orders where _partition = ?", ["2024-01-01"]
    )[0]
    quarantined = query(
        pipeline_env.duckdb,
        "select line_number, reason_code from raw.quarantine where dataset = 'orders' "
        "order by line_number",
    )
    assert quarantined == [(2, "superseded_duplicate"), (lines + 1, "total_mismatch")]
    assert loaded + len(quarantined) == big.rows + 2  # read = loaded + quarantined
    assert query(
        pipeline_env.duckdb, "select count(*) from raw.orders where _partition = '2024-01-02'"
    ) == [(0,)]
