"""`python -m bench` (or `make bench`, or `pipeline bench` from a checkout): the benchmark.

It is a development tool: it lives beside the package, not in it, and needs the `dev` extra
(psutil, matplotlib). Run it from the repository root.
"""

import argparse
import sys
from datetime import date

from bench.run import CASES, main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="This project's backfill (A) against an Airflow-style backfill, one run "
        "per day passing the day through --vars (B1 through Dagster, B2 as a plain dbt loop), "
        "and one hand-written DuckDB script (C); incremental latency and a no-op re-run. "
        "Writes docs/benchmarks.md and docs/benchmarks.png. Dates are YYYY-MM-DD (UTC).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one small size (2 days x 1k orders), for CI"
    )
    parser.add_argument(
        "--sizes",
        nargs="*",
        default=[f"{d}x{n}" for n in (1000, 20000) for d in (7, 30, 90, 365)],
        metavar="DAYSxORDERS",
        help="sizes as days x orders per day (default: 7 30 90 365 days x 1000 20000; "
        "none: only the other parts)",
    )
    parser.add_argument(
        "--files-per-day",
        nargs="*",
        default=[],
        metavar="N",
        help="the small-files axis: the same rows as `default` (42 order files a day) and as "
        "about N files a day, e.g. default 1440 14400 (default: not run)",
    )
    parser.add_argument(
        "--files-size",
        default="3x20000",
        metavar="DAYSxORDERS",
        help="the small-files axis' rows: days before today x orders per day (default 3x20000)",
    )
    parser.add_argument(
        "--files-stores",
        nargs="+",
        choices=["local", "s3"],
        default=["local", "s3"],
        help="where the small-files axis' zones are: a folder, S3 on moto's server (default both)",
    )
    parser.add_argument(
        "--big-file-mb",
        nargs="+",
        type=float,
        metavar="MIB",
        help="also load one day whose orders are one hour file of this many MiB, for each "
        "size given (e.g. 150 1024): wall time, peak RSS, accounting; its own block in "
        "benchmarks.md",
    )
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, help="cases to run (default: all; quick: A B1 C)"
    )
    parser.add_argument(
        "--b-days", type=int, help="days B measures before extrapolating (default 7; quick 1)"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="budget: A is extrapolated where it is predicted not to fit, cases that would "
        "start after it are skipped (not C: seconds), a started case is stopped 10 minutes past it",
    )
    parser.add_argument("--days-per-run", type=int, help="A's ingestion chunk (days per run)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2024, 1, 1),
        metavar="YYYY-MM-DD",
        help="first day of the generated data (default 2024-01-01)",
    )
    parser.add_argument("--no-latency", action="store_true", help="skip latency and no-op")
    parser.add_argument("--workdir", help="where data and logs go (default: a new temp dir)")
    parser.add_argument("--out", help="where benchmarks.md/png go (default docs/; quick: workdir)")
    return parser


if __name__ == "__main__":
    sys.exit(main(build_parser().parse_args()))
