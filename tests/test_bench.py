"""`pipeline bench`: the quick run end to end, and the harness's arithmetic and report."""

import os
import subprocess
import sys

import pytest

from pipeline_assets.bench.report import headline, results_table, write_outputs
from pipeline_assets.bench.run import CaseResult, Size, describe, extrapolate, parse_size


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
    assert "= A on its days" in report  # B1, run with --vars run_date, built the same mart
    assert "reflects it: yes" in report and "fingerprints equal: yes" in report
    assert (out / "benchmarks.png").stat().st_size > 0


def test_headline_labels_extrapolated_a_and_keeps_the_largest_measured_size():
    def case(days: int, name: str, seconds: float, extrapolated: bool = False) -> CaseResult:
        r = CaseResult(Size(days, 1000), name, seconds=seconds, peak_rss_mb=500.0)
        r.extrapolated = extrapolated
        return r

    results = [case(7, "A", 60.0), case(7, "C", 1.0), case(30, "A", 200.0), case(30, "C", 2.0)]
    results += [case(365, "A", 2300.0, extrapolated=True), case(365, "C", 10.0)]
    lines = "\n".join(headline(results, None))
    assert "| A / C at 365 d × 1k | ≤ 2.0 | **230.0** (2,300 s / 10.0 s, A extrapolated) |" in lines
    assert "| A / C at 30 d × 1k | ≤ 2.0 | **100.0** (200 s / 2.0 s, measured) |" in lines
    assert "(T(30) − T(7)) / 23 at 1k | reported | 6.09 s per day |" in lines  # measured only


def test_report_renders_every_kind_of_row(tmp_path):
    """Extrapolated-without-running, failed and skipped rows have no memory or rows to show."""
    measured = CaseResult(Size(7, 1000), "A", seconds=36.0, peak_rss_mb=550.0, rows=2207)
    measured.equal = True
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
    text = write_outputs(tmp_path, results, latency, meta)
    assert "| 365 d × 1k | 0 | A | 900.0 *(extrapolated)* | – | – |" in text
    assert "| A == C |" in text and "**Incremental latency: 11.0 s**" in text
    assert (tmp_path / "benchmarks.png").stat().st_size > 0
    again = write_outputs(tmp_path, results, None, meta)  # only the generated part changes
    assert (tmp_path / "benchmarks.md").read_text().count("<!-- bench:start -->") == 1
    assert "Not measured in this run." in again
