"""`pipeline bench`: the quick run end to end, and the harness's arithmetic and report."""

import os
import subprocess
import sys
from datetime import date

import dagster as dg
import pytest
from helpers import resources, settings

import pipeline_assets.defs.ingest.raw as ingest_raw
import pipeline_assets.runner as runner
from bench.cost import WORK_SITES, Clock, Run, summarize
from bench.report import (
    cost_table,
    headline,
    results_table,
    write_outputs,
)
from bench.run import CaseResult, Size, describe, extrapolate, parse_size
from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

RAW_WORK = WORK_SITES["pipeline_assets.defs.ingest.raw"]


def measured_a(days: int, wall: float, events_s: float, work: float, runs: int = 1) -> dict:
    """What case A's worker reports: `runs` equal ingest runs over `days` days, 30 events a
    day, and a warehouse run of 10 s (half of it work); the CPU split is half the wall one."""
    per = [
        Run(
            "ingest",
            "d",
            "d",
            days // runs,
            wall / runs,
            30 * days // runs,
            events_s / runs,
            work / runs,
            wall / runs / 2,
            work / runs / 2,
            events_s / runs / 2,
        )
        for _ in range(runs)
    ]
    per.append(Run("warehouse", "d", "d", days, 10.0, 0, 0.0, 5.0, 5.0, 2.5, 0.0))
    measured = summarize(per, {"validate_and_load": work})
    measured["command_seconds"] = wall + 10.0 + 4.0
    return measured


def test_b_is_extrapolated_from_its_day_loop_and_labeled():
    measured = CaseResult(Size(7, 1000), "B1", seconds=80.0, rows=2000)
    measured.inside = {"loop_seconds": 70.0}
    at_30 = extrapolate(measured, Size(30, 1000), 7, reused=True)
    assert at_30.seconds == pytest.approx(10.0 + 70.0 * 30 / 7)  # start-up once, days scale
    assert at_30.extrapolated and at_30.measured_days == 7
    assert at_30.note == "extrapolated from 7 measured days at 7 d × 1k; rows = those days"
    same = extrapolate(measured, Size(7, 1000), 7, reused=False)
    assert same.seconds == 80.0 and not same.extrapolated and same.note == ""
    (row,) = results_table([at_30])[2:]
    assert "*(extrapolated)*" in row and "extrapolated from 7 measured days" in row


def test_sizes_parse_as_days_by_orders():
    assert parse_size("365x20000") == Size(365, 20000)
    assert Size(365, 20000).label == "365 d × 20k"


def test_the_clock_splits_real_runs_into_events_work_and_overhead(pipeline_env):
    """The clock wraps exactly what the definitions call and the event log's store: every
    ingest work function gets time, each run's events and work are inside its wall time, the
    events are counted, and the originals are back afterwards."""
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 50)
    defs = dg.Definitions.merge(
        *(d.build_dataset_defs(settings()) for d in declared_datasets()),
        dg.Definitions(resources=resources()),
    )
    raw_work = WORK_SITES["pipeline_assets.defs.ingest.raw"]
    originals = {name: getattr(ingest_raw, name) for name in raw_work}
    run_range = runner.run_range
    clock = Clock()
    with (
        dg.instance_for_test() as instance,  # SQLite storage, as the CLI's
        clock.installed(),
    ):
        report = runner.backfill(
            date(2024, 1, 1),
            date(2024, 1, 2),
            defs=defs,
            instance=instance,
            days_per_run=1,
            echo=lambda _: None,
        )
    assert report.ok and len(report.days_ingested()) == 2, report.lines()
    got = clock.result()
    assert got["days"] == 2 and got["ingest"]["runs"] == 2 and got["warehouse"]["runs"] == 0
    assert [(r["first"], r["days"]) for r in got["per_run"]] == [
        ("2024-01-01", 1),
        ("2024-01-02", 1),
    ]
    assert set(got["work_by_function"]) == {"snapshot", *raw_work}
    assert all(seconds > 0 for seconds in got["work_by_function"].values())
    for r in got["per_run"]:  # a day: planned events and materializations of 4 assets, checks
        assert r["events"] >= 14 and 0 < r["events_seconds"] + r["work"] < r["wall"]
    total = got["all"]
    assert total["work_seconds"] == pytest.approx(sum(got["work_by_function"].values()))
    assert total["per_day"]["overhead"] == pytest.approx(
        (total["wall_seconds"] - total["events_seconds"] - total["work_seconds"]) / 2
    )
    assert {n: getattr(ingest_raw, n) for n in raw_work} == originals
    assert runner.run_range is run_range


def test_the_split_is_reported_per_day():
    a7 = CaseResult(Size(7, 1000), "A", seconds=40.0, peak_rss_mb=500.0, rows=2207)
    a7.inside = measured_a(7, wall=10.0, events_s=3.5, work=3.0)
    a365 = CaseResult(Size(365, 1000), "A", seconds=400.0, peak_rss_mb=600.0, rows=115431)
    a365.inside = measured_a(365, wall=219.0, events_s=109.5, work=73.0, runs=5)
    c = CaseResult(Size(365, 1000), "C", seconds=20.0, peak_rss_mb=400.0, rows=115431)
    b = CaseResult(Size(7, 1000), "B1", seconds=100.0, peak_rss_mb=600.0, rows=2207)
    b.inside = {"loop_seconds": 90.0}
    lines = "\n".join(headline([a7, a365, c, b], None))
    # (219 + 10 wall − 109.5 events − (73 + 5) work) / 365 days
    assert (
        "| project overhead per day above events and work, at 365 d × 1k | ≤ 0.1 s "
        "| **0.114 s per day** (wall 0.627 − events 0.300 (30.0 events) − work 0.214; "
        "CPU 0.057) |"
    ) in lines
    table = cost_table([a7, b, a365])  # rows for each A that measured it
    assert "| 365 d × 1k | all | 6 | 0.627 | 30.0 | 0.300 | 0.214 | **0.114** | 0.057 |" in table
    assert "| 365 d × 1k | ingest | 5 | 0.600 | 30.0 | 0.300 | 0.200 | 0.100 | 0.050 |" in table
    assert describe(a365).endswith("; per day: 30.0 events 0.300 s, work 0.214 s, overhead 0.114 s")
    assert cost_table([b]) == ["Not measured in this run (no case A ran)."]


@pytest.mark.slow
def test_quick_bench_runs_and_a_equals_c(pipeline_env):
    out = pipeline_env.root / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_assets.cli", "bench", "--quick"]
        + ["--workdir", str(pipeline_env.root / "bench"), "--out", str(out)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (out / "benchmarks.md").read_text()
    assert "| A == C |" in report and "| A == C |" in done.stdout
    assert (
        "= A on its days" in report
    )  # B1, run with --vars (the day's window), built the same mart
    assert "reflects it: yes" in report and "fingerprints equal: yes" in report
    # where A's time goes per day, from inside A's own runs
    assert "| project overhead per day above events and work, at 2 d × 1k | ≤ 0.1 s |" in report
    row = next(line for line in report.splitlines() if line.startswith("| 2 d × 1k | all |"))
    wall, events, events_s, work = (float(x.strip(" *")) for x in row.split("|")[4:8])
    assert events > 20 and 0 < events_s + work < wall
    assert "per day:" in done.stdout and "overhead" in done.stdout
    assert (out / "benchmarks.png").stat().st_size > 0


def test_headline_labels_extrapolated_a_and_keeps_the_largest_measured_size():
    def case(days: int, name: str, seconds: float, extrapolated: bool = False) -> CaseResult:
        r = CaseResult(Size(days, 1000), name, seconds=seconds, peak_rss_mb=500.0)
        r.extrapolated = extrapolated
        return r

    results = [case(7, "A", 60.0), case(7, "C", 1.0), case(30, "A", 200.0), case(30, "C", 2.0)]
    results += [case(365, "A", 2300.0, extrapolated=True), case(365, "C", 10.0)]
    lines = "\n".join(headline(results, None))
    assert "| A / C at 365 d × 1k | ≤ 8 | **230.0** (2,300 s / 10.0 s, A extrapolated) |" in lines
    assert "| A / C at 30 d × 1k | ≤ 8 | **100.0** (200 s / 2.0 s, measured) |" in lines
    assert "(T(30) − T(7)) / 23 at 1k | reported | 6.09 s per day |" in lines  # measured only

    # A bigger volume: its largest size leads with its own target, the longest 1k size stays.
    big = [
        CaseResult(Size(365, 20000), c, seconds=s, peak_rss_mb=900.0)
        for c, s in (("A", 400.0), ("C", 80.0))
    ]
    lines = "\n".join(headline(results + big, None))
    assert lines.index("| A / C at 365 d × 20k | ≤ 2.5 | **5.0**") < lines.index(
        "| A / C at 365 d × 1k | ≤ 8"
    )
    sixty = [
        CaseResult(Size(60, 20000), c, seconds=s, peak_rss_mb=900.0)
        for c, s in (("A", 90.0), ("C", 40.0))
    ]
    lines = "\n".join(headline(results + big + sixty, None))
    assert "| A / C at 60 d × 20k | ≤ 2.0 | **2.2** (90 s / 40.0 s, measured) |" in lines


def test_report_renders_every_kind_of_row(tmp_path):
    """Extrapolated-without-running, failed and skipped rows have no memory or rows to show."""
    measured = CaseResult(Size(7, 1000), "A", seconds=36.0, peak_rss_mb=550.0, rows=2207)
    measured.equal = True
    measured.inside = measured_a(7, wall=8.4, events_s=2.1, work=2.1)
    c = CaseResult(Size(7, 1000), "C", seconds=0.9, peak_rss_mb=90.0, rows=2207)
    b = extrapolate(
        CaseResult(Size(7, 1000), "B1", seconds=130.0, peak_rss_mb=660.0, rows=2207),
        Size(365, 1000),
        7,
        reused=True,
    )
    guessed = CaseResult(Size(365, 1000), "A", seconds=900.0, note="extrapolated linearly")
    guessed.extrapolated = True
    failed = CaseResult(Size(365, 1000), "B2", status="failed (exit 1)")
    skipped = CaseResult(Size(365, 1000), "C", status="skipped (time budget)")
    results = [measured, c, b, guessed, failed, skipped]
    latency = {
        "status": "ok",
        "day": "2024-01-02",
        "latency_seconds": 11.0,
        "stages": {"dbt run": 9.9},
        "ingest_runs": 1,
        "dbt_runs": 1,
        "mart_reflects_file": True,
        "noop": {"explicit re-materialization of the day": 13.0},
        "noop_requests": 0,
        "noop_unchanged": True,
        "run_process_import_seconds": 6.2,
    }
    meta = {"command": "pipeline bench", "started": "now", "cores": 2, "cpu": "", "memory_gb": 1}
    meta |= {"python": "3.11", "load_average_start": (1.0, 1.0, 1.0), "elapsed_minutes": 1.0}
    meta["versions"] = dict.fromkeys(
        ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb"), "x"
    )
    assert [describe(r) for r in results][3:] == [
        "900.0s (extrapolated linearly)",
        "failed (exit 1)",
        "skipped (time budget)",
    ]
    from bench.files import FilesResult

    files = [
        FilesResult("s3", layout, 3, 20000, order_files_per_day=n, seconds=t)
        for layout, n, t in (("default", 42.0, 15.0), ("1440", 1462.0, 45.0))
    ]
    text = write_outputs(tmp_path, results, latency, meta, files)
    assert "| s3 | 1,462 | 45.0 | 3.00 |" in text  # the small-files axis, in the plot too
    assert "| 365 d × 1k | 0 | A | 900.0 *(extrapolated)* | – | – |" in text
    assert "| A == C |" in text and "**Incremental latency: 11.0 s**" in text
    assert "| 7 d × 1k | all | 2 | 2.629 | 30.0 | 0.300 | 1.014 | **1.314** |" in text
    assert (  # the guessed A at 365 days measured nothing
        "| project overhead per day above events and work, at 7 d × 1k | ≤ 0.1 s "
        "| **1.314 s per day**"
    ) in text
    assert "| 7 d × 1k | the command's fixed cost (imports, instance) | | 4.0 s once |" in text
    assert (tmp_path / "benchmarks.png").stat().st_size > 0
    again = write_outputs(tmp_path, results, None, meta)  # only the generated part changes
    assert (tmp_path / "benchmarks.md").read_text().count("<!-- bench:start -->") == 1
    assert "Not measured in this run." in again


def test_the_small_files_axis_reports_ratios_targets_and_the_equal_marts():
    """The axis' rows: each layout against the same store's default one, with its targets."""
    from bench.files import FilesResult
    from bench.files_report import files_table, files_targets

    def result(store: str, layout: str, seconds: float, tick: float, equal: bool | None):
        r = FilesResult(store, layout, 3, 20000, order_files_per_day=42.0, seconds=seconds)
        r.peak_rss_mb, r.equal = 600.0, equal
        r.inside = {"work_by_function": {"snapshot": seconds / 10, "read_files": 1.5}}
        r.sensor = {"first_tick_seconds": tick * 2, "tick_seconds": tick, "copy_event_bytes": 2900}
        r.sensor["instance_mb"] = 2.5
        return r

    results = [
        result("local", "default", 20.0, 0.05, None),
        result("local", "14400", 26.0, 0.5, True),
        result("s3", "default", 15.0, 0.5, None),
        result("s3", "1440", 18.0, 1.2, True),
        result("s3", "14400", 33.0, 9.0, False),
    ]
    table = "\n".join(files_table(results))
    assert (
        "| s3 | 42 | 18.0 | 1.20 | 600 | 1.80 | 1.50 | 2.40 / 1.20 | 2,900 | 2.5 | = default |"
        in table
    )
    assert "| s3 | 42 | 33.0 | 2.20 |" in table and "| DIFFERS |" in table
    targets = "\n".join(files_targets(results))
    assert (
        "| s3: 1,440 files a day vs the default 42, same rows | ≤ 1.3 | **1.20** (18.0 s / 15.0 s) |"
        in targets
    )
    assert "| local: 14,400 files a day vs the default 42, same rows | ≤ 1.5 | **1.30**" in targets
    assert (
        "| a sensor tick at 14,400 files a day × the default lookback (s3) | ≤ 2 s | **9.00 s**"
        in targets
    )
    assert (
        "| one copy event's metadata at 14,400 files a day (local) | ≤ 10,000 B | **2,900 B** |"
        in targets
    )


def test_the_big_file_is_deterministic_and_every_row_valid(tmp_path):
    """The big-file case's data: the same arguments give the same bytes, at least the size
    asked for, every line a valid order of its hour (the oracle accepts all), with or without
    quoted fields holding line ends."""
    import oracle_validator

    from bench.bigfile import write_big_hour

    for quoted_every in (0, 7):
        first = write_big_hour(tmp_path / "a", date(2024, 1, 1), 0.5, quoted_every=quoted_every)
        again = write_big_hour(tmp_path / "b", date(2024, 1, 1), 0.5, quoted_every=quoted_every)
        data = (tmp_path / "a" / first.key).read_bytes()
        assert first == again and data == (tmp_path / "b" / again.key).read_bytes()
        assert first.size == len(data) >= 2**19
        result = oracle_validator.validate_partition("orders", "2024-01-01", [(first.key, data)])
        assert len(result.accepted) == first.rows and not result.quarantined


def test_the_big_file_block_is_replaced_alone(tmp_path):
    from bench.bigfile import END, START, write_section

    md = tmp_path / "benchmarks.md"
    md.write_text(f"# Benchmarks\n\nhand-written\n\n{START}\nold\n{END}\n\nmore by hand\n")
    meta = {"command": "python -m bench --sizes --big-file-mb 1", "started": "now", "cores": 2}
    result = {"megabytes": 1.0, "bytes": 2**20, "rows": 15000, "status": "ok", "seconds": 9.5}
    result.update(peak_rss_mb=600.0, loaded=14990, quarantined=10, accounted=True)
    write_section(md, [result], meta)
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written\n\n" + START)
    assert text.endswith(END + "\n\nmore by hand\n") and "old" not in text
    assert "| 1 MiB | 15,000 | ok | 9.5 | 600 | 14,990 | 10 | yes |" in text
