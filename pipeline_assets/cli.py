"""`pipeline` command: seed sample data and backfill date ranges through Dagster.

Runs go through the real Dagster instance (`DAGSTER_HOME`, default `./data/dagster_home`),
so everything the CLI does shows in the UI's run history.
"""

import argparse
import sys
import time
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


def _instance() -> None:
    """Install the project's instance settings and say what changed (once per home)."""
    from pipeline_assets.instance import ensure_instance

    for note in ensure_instance():
        print(f"instance: {note}", file=sys.stderr)


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
    from pipeline_assets.console import CommandLog, new_log_path
    from pipeline_assets.definitions import build_defs
    from pipeline_assets.runner import DAYS_PER_RUN, backfill

    _instance()
    with CommandLog(new_log_path("backfill")) as log:
        print(f"backfill {args.start}..{args.end}; Dagster's and dbt's own output: {log.path}")
        with log.captured():
            defs = build_defs()
        report = backfill(
            args.start,
            args.end,
            defs=defs,
            days_per_run=args.days_per_run or DAYS_PER_RUN,
            log=log,
        )
    for line in [*report.warnings(), *report.lines()]:
        print(line)
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from pipeline_assets.console import CommandLog, new_log_path
    from pipeline_assets.definitions import build_defs
    from pipeline_assets.verify import summarize, verify

    _instance()
    t0 = time.perf_counter()
    with CommandLog(new_log_path("verify")) as log:
        print(f"verify {args.start}..{args.end}; Dagster's and dbt's own output: {log.path}")
        with log.captured():
            defs = build_defs()
        outcome = verify(
            args.start,
            args.end,
            defs=defs,
            warehouse=defs.resources["warehouse"],
            features=defs.resources["features"].store(),
            seed=args.seed,
            echo=lambda line: print(line, flush=True),
            log=log,
        )
    print(f"verify {args.start}..{args.end}: {'OK' if outcome.ok else 'FAILED'}")
    for line in summarize(outcome.rows) if outcome.rows else []:
        print(line)
    print(f"  dagster runs      {outcome.runs}")
    print(f"  time taken        {time.perf_counter() - t0:.1f}s")
    print(f"  full log          {log.path}")
    if outcome.error:
        for line in outcome.error.splitlines():
            print(f"  error: {line}")
    return 0 if outcome.ok else 1


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pipeline_assets.definitions import build_defs
    from pipeline_assets.lib.failing_rows import quarantined_rows

    defs = build_defs()
    with defs.resources["warehouse"].db() as db:
        columns, rows = quarantined_rows(
            db, str(args.day), args.dataset, args.reason, args.all, args.limit
        )
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if v is None else str(v).replace("\t", " ") for v in row))
    shown = f"{len(rows)} quarantined row(s) of {args.day}"
    print(
        shown
        + (f" (the first {args.limit}; --limit N for more)" if len(rows) == args.limit else ""),
        file=sys.stderr,
    )
    return 0


def run_bench(argv: list[str]) -> int:
    """`pipeline bench ARGS` is `python -m bench ARGS` in the checkout this package is in."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "__main__.py").exists():
        print(
            f"error: the benchmark is not shipped with the package; run it from a source "
            f"checkout (make bench, or python -m bench there): {root / 'bench'} is missing",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([sys.executable, "-m", "bench", *argv], cwd=root)


def cmd_instance(args: argparse.Namespace) -> int:
    from pipeline_assets.lib.settings import dagster_home

    _instance()
    print((dagster_home() / "dagster.yaml").read_text(), end="")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from pipeline_assets.defs.transform.project import prepare_dbt

    prepare_dbt()
    print("dbt manifest prepared")
    return 0


def _range(cmd: argparse.ArgumentParser, what: str) -> None:
    cmd.add_argument(
        "--start", type=_date, required=True, metavar="YYYY-MM-DD", help=f"first {what} (UTC)"
    )
    cmd.add_argument(
        "--end",
        type=_date,
        required=True,
        metavar="YYYY-MM-DD",
        help=f"last {what}, inclusive (UTC)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description=__doc__,
        epilog="Dates are UTC days, YYYY-MM-DD; ranges are inclusive.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description)

    seed = command(
        "seed",
        "write deterministic sample files into the landing zone",
        "Write sample order files (one per hour that has orders, plus corrections) and one "
        "customers file per day into the landing zone (PIPELINE_LANDING_URI) for the days "
        "--start..--end (YYYY-MM-DD, UTC, inclusive). Hours that are not over yet are not "
        "written, as a real producer would not have written them. The same --seed gives "
        "the same bytes; files already in place and unchanged are not rewritten.",
    )
    _range(seed, "day to seed")
    seed.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    seed.add_argument(
        "--orders-per-day", type=_count(0), default=1000, help="orders per day (default 1000)"
    )
    seed.set_defaults(func=cmd_seed)

    bf = command(
        "backfill",
        "materialize every asset for an inclusive date range",
        "Materialize every asset for the days --start..--end (YYYY-MM-DD, UTC, inclusive) "
        "as Dagster runs recorded in DAGSTER_HOME: the ingestion of both datasets per chunk "
        "of --days-per-run days, then one run of the dbt models and features over the "
        "range's complete days (today is ingested; its marts wait for the day to end). "
        "Prints one line per run and a summary; Dagster's and dbt's own output go to a log "
        "file whose path is printed. Exits 1 if a run fails.",
    )
    _range(bf, "day to backfill")
    bf.add_argument(
        "--days-per-run",
        type=_count(1),
        metavar="N",
        help="ingestion days per Dagster run (default 31: a failed run redoes at most a month)",
    )
    bf.set_defaults(func=cmd_backfill)

    ver = command(
        "verify",
        "prove that re-running a date range changes nothing",
        "Fingerprint every warehouse table per partition and each day's published features, "
        "re-run the days --start..--end (YYYY-MM-DD, UTC, inclusive) as one run and then "
        "each day alone in shuffled order (two days twice), fingerprint again and compare. "
        "Exits 0 only if every table partition is unchanged.",
    )
    _range(ver, "day to re-run")
    ver.add_argument("--seed", type=int, default=0, help="shuffles the re-run order (default 0)")
    ver.set_defaults(func=cmd_verify)

    quar = command(
        "quarantine",
        "list a day's quarantined rows: file, line, reason and the raw line",
        "Print the rows of raw.quarantine for one day (tab-separated: dataset, file, line, "
        "reason, detail, raw line), in file and line order. Superseded duplicates (older "
        "versions of a key, kept for the accounting) are left out unless --all.",
    )
    quar.add_argument("--day", type=_date, required=True, metavar="YYYY-MM-DD")
    quar.add_argument("--dataset", choices=("orders", "customers"), help="one dataset only")
    quar.add_argument("--reason", metavar="CODE", help="one reason code only")
    quar.add_argument("--all", action="store_true", help="include superseded duplicates")
    quar.add_argument("--limit", type=_count(1), default=1000, help="at most N rows (1000)")
    quar.set_defaults(func=cmd_quarantine)

    inst = command(
        "instance",
        "install the project's Dagster instance settings and print them",
        "Create DAGSTER_HOME if needed and merge the project's instance settings (run queue "
        "limits, the warehouse-writer pool, run retries, run monitoring) into its "
        "dagster.yaml: keys it lacks are added, keys it sets are kept. `make dev` runs this "
        "before starting the UI; every other command does it too.",
    )
    inst.set_defaults(func=cmd_instance)

    prep = command(
        "prepare",
        "parse the dbt project into dbt/target/manifest.json",
        "Parse the dbt project (dbt parse) into dbt/target/manifest.json, with the same "
        "target and warehouse path the runs use, so partial parsing is reused.",
    )
    prep.set_defaults(func=cmd_prepare)

    bench = command(
        "bench",
        "the benchmark (a source checkout only: python -m bench)",
        "Runs `python -m bench` from the repository root with these arguments (see "
        "`python -m bench --help`). The benchmark is a development tool beside the package, "
        "not shipped in it.",
    )
    bench.add_argument("args", nargs="*", help="arguments for python -m bench (see its --help)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its flags are the benchmark's own
        return run_bench(argv[1:])
    args = build_parser().parse_args(argv)
    if getattr(args, "end", None) and args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    if args.command in ("backfill", "verify") and (
        problem := _outside_partitions(args.start, args.end)
    ):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except Exception as e:  # said once, readably; the traceback goes to a file
        return _crashed(args.command, e)


def _crashed(command: str, error: Exception) -> int:
    import traceback

    from pipeline_assets.console import new_log_path

    path = new_log_path(f"{command}-error")
    path.write_text("".join(traceback.format_exception(error)))
    print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
    print(f"  the traceback: {path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
