"""One benchmark case in its own process: `python -m bench.worker CASE ...`.

The harness sets the pipeline's environment (landing, processing, warehouse, DAGSTER_HOME,
DBT_TARGET_PATH) and measures this process tree from outside. The last output line is
`BENCH_RESULT {json}` with what the case measured inside (loop times, latency stages, and for
A its split into events, work and overhead).
"""

import argparse
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REFERENCE_SQL = Path(__file__).resolve().with_name("reference_summary.sql")
RESULT_PREFIX = "BENCH_RESULT "


def case_c(landing: Path, out: Path) -> dict[str, Any]:
    """The lower bound: one DuckDB statement from the landing CSVs to the summary table."""
    import duckdb

    sql = REFERENCE_SQL.read_text()
    with duckdb.connect(str(out)) as conn:
        # The oracle's own text, no values pasted: the glob is a bind parameter.
        conn.execute(
            "create or replace table orders_daily_summary as " + sql,  # noqa: S608
            [str(landing / "orders" / "*" / "*" / "*.csv")],
        )
        (rows,) = conn.execute("select count(*) from orders_daily_summary").fetchone()
    return {"rows": rows}


def case_a(start: date, days: int, days_per_run: int | None) -> dict[str, Any] | None:
    """`pipeline backfill` itself (the CLI's entry point, in this process), its time split
    into events, work and overhead (`bench/cost.py`); None if the backfill failed."""
    from bench.cost import run_backfill

    argv = ["--start", str(start), "--end", str(start + timedelta(days=days - 1))]
    argv += ["--days-per-run", str(days_per_run)] if days_per_run else []
    code, measured = run_backfill(argv)
    return measured if code == 0 else None


def prepare(target_path: Path) -> dict[str, Any]:
    """Parse dbt once for the benchmark's warehouse path, so every case gets partial parsing."""
    from pipeline_assets.defs.transform.project import dbt_project, prepare_dbt
    from pipeline_assets.defs.warehouse import build_warehouse
    from pipeline_assets.lib.settings import Settings

    settings = Settings(os.environ)
    prepare_dbt(dbt_project(settings), build_warehouse(settings).dbt_env(), target_path)
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.worker")
    parser.add_argument(
        "case", choices=["prepare", "a", "b1", "b2", "c", "latency", "ui", "daemon", "sensor"]
    )
    parser.add_argument("--start", type=date.fromisoformat)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--days-per-run", type=int)
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    args = parser.parse_args(argv)

    if args.case == "prepare":
        result = prepare(args.out)
    elif args.case == "a":
        result = case_a(args.start, args.days, args.days_per_run)
        if result is None:
            return 1
    elif args.case == "c":
        result = case_c(args.landing, args.out)
    elif args.case == "sensor":  # after A, on its instance: the small-files axis
        from bench.files import sensor_ticks

        result = sensor_ticks()
    elif args.case == "latency":
        from bench.latency import latency_and_noop

        result = latency_and_noop(args.landing, args.orders_per_day)
    elif args.case == "ui":
        from bench.ui_run import ui_one_day_run

        result = ui_one_day_run(args.landing, args.orders_per_day, args.out)
    elif args.case == "daemon":
        from bench.ui_run import daemon_latency

        result = daemon_latency(args.landing, args.orders_per_day, args.out)
    else:
        from bench.airflow_style import b1_dagster_per_day, b2_plain_dbt_loop
        from pipeline_assets.lib.contract import days_between

        days = days_between(args.start, args.start + timedelta(days=args.days - 1))
        case = b1_dagster_per_day if args.case == "b1" else b2_plain_dbt_loop
        result = case(days)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
