"""`pipeline` command: seed sample data and backfill date ranges through Dagster.

Runs go through the real Dagster instance (`DAGSTER_HOME`, default `./data/dagster_home`),
so everything the CLI does shows in the UI's run history.
"""

import argparse
import fcntl
import os
import sys
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (want YYYY-MM-DD)") from None


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least `minimum` (a negative chunk size is a typo)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{value!r} is less than {minimum}")
        return number

    return parse


def _outside_partitions(start: date, end: date) -> str | None:
    """Why [start, end] is not a range of existing daily partitions, or None if it is.

    Checked before any I/O: otherwise Dagster refuses the keys only inside the first step,
    after the run was recorded and its retries were spent.
    """
    from pipeline_assets.defs.partitions import daily_partitions

    first, last = (
        daily_partitions.get_first_partition_key(),
        daily_partitions.get_last_partition_key(),
    )
    if last is None or first is None or str(start) < first or str(end) > last:
        return (
            f"{start}..{end} is outside the partitions {first}..{last} "
            "(PIPELINE_PARTITIONS_START to today, UTC)"
        )
    return None


def _ensure_dagster_home() -> None:
    """Create the instance's storage once, under a lock.

    Dagster's SQLite storage initializes itself lazily and without a lock: two commands started
    at once on a fresh `DAGSTER_HOME` both stamp its schema version, and every later command
    then fails with "alembic_version has more than one head".
    """
    import dagster as dg

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path("data/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".init.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = home / "dagster.yaml"
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\n")
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
            instance.get_latest_materialization_event(dg.AssetKey("_init"))


def cmd_seed(args: argparse.Namespace) -> int:
    from pipeline_assets.defs.resources import build_resources
    from pipeline_assets.lib.sample import seed_landing

    store = build_resources()["landing"].store()
    t0 = time.perf_counter()
    days = (args.end - args.start).days + 1

    def progress(day: date, done: int) -> None:
        print(f"seed {day}  [{done}/{days} days]", flush=True)

    total = seed_landing(store, args.start, args.end, args.orders_per_day, args.seed, progress)
    print(
        f"seeded {store.uri}: {total.order_rows} order rows, {total.customer_rows} customer rows, "
        f"{total.files_written} files written, {total.files_unchanged} unchanged "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from pipeline_assets.runner import DAYS_PER_RUN, backfill

    _ensure_dagster_home()
    days_per_run = args.days_per_run or DAYS_PER_RUN
    report = backfill(args.start, args.end, days_per_run=days_per_run, echo=print)
    print(report.summary())
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from pipeline_assets.verify import render, verify

    _ensure_dagster_home()
    rows = verify(args.start, args.end, seed=args.seed, echo=print)
    print(render(rows))
    return 0 if all(r.equal for r in rows) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from pipeline_assets.bench.run import main as bench

    return bench(args)


def cmd_prepare(args: argparse.Namespace) -> int:
    from pipeline_assets.defs.transform.project import prepare_dbt

    prepare_dbt()
    print("dbt manifest prepared")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    seed = sub.add_parser("seed", help="write deterministic sample files into the landing zone")
    seed.add_argument("--start", type=_date, required=True)
    seed.add_argument("--end", type=_date, required=True)
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--orders-per-day", type=_count(0), default=1000)
    seed.set_defaults(func=cmd_seed)

    bf = sub.add_parser("backfill", help="materialize every asset for an inclusive date range")
    bf.add_argument("--start", type=_date, required=True)
    bf.add_argument("--end", type=_date, required=True)
    bf.add_argument(
        "--days-per-run",
        type=_count(1),
        help="ingestion days per Dagster run (default 31: a month)",
    )
    bf.set_defaults(func=cmd_backfill)

    ver = sub.add_parser(
        "verify", help="fingerprint, re-run the range every which way, fingerprint, compare"
    )
    ver.add_argument("--start", type=_date, required=True)
    ver.add_argument("--end", type=_date, required=True)
    ver.add_argument("--seed", type=int, default=0, help="shuffles the re-run order")
    ver.set_defaults(func=cmd_verify)

    prep = sub.add_parser("prepare", help="parse the dbt project into dbt/target/manifest.json")
    prep.set_defaults(func=cmd_prepare)

    bench = sub.add_parser(
        "bench", help="benchmark: this project vs an Airflow-style backfill vs plain DuckDB"
    )
    bench.add_argument(
        "--quick", action="store_true", help="one small size (2 days x 1k orders), for CI"
    )
    bench.add_argument(
        "--sizes",
        nargs="+",
        default=[f"{d}x{n}" for n in (1000, 20000) for d in (7, 30, 90, 365)],
        metavar="DAYSxORDERS",
        help="sizes as days x orders per day (default: 7 30 90 365 days x 1000 20000)",
    )
    bench.add_argument(
        "--cases",
        nargs="+",
        choices=["A", "B1", "B2", "C"],
        help="cases to run (default: all; quick: A B1 C)",
    )
    bench.add_argument(
        "--b-days", type=int, help="days B measures before extrapolating (default 7; quick 1)"
    )
    bench.add_argument(
        "--max-minutes",
        type=float,
        help="budget: A is extrapolated where it is predicted not to fit, cases that would "
        "start after it are skipped (not C: seconds), a started case is stopped 10 minutes past it",
    )
    bench.add_argument("--days-per-run", type=_count(1), help="A's ingestion chunk")
    bench.add_argument("--start", type=_date, default=date(2024, 1, 1))
    bench.add_argument("--no-latency", action="store_true", help="skip latency and no-op")
    bench.add_argument("--workdir", help="where data and logs go (default: a new temp dir)")
    bench.add_argument("--out", help="where benchmarks.md/png go (default docs/; quick: workdir)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    args = build_parser().parse_args(argv)
    if getattr(args, "end", None) and args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    if args.command in ("backfill", "verify") and (
        problem := _outside_partitions(args.start, args.end)
    ):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
