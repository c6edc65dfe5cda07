"""`pipeline` command: seed sample data and backfill date ranges through Dagster.

Runs go through the real Dagster instance (`DAGSTER_HOME`, default `./data/dagster_home`),
so everything the CLI does shows in the UI's run history.
"""

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from pipeline_assets import commands
from pipeline_assets.console import LISTING_FORMATS
from pipeline_assets.lib.connect import WarehouseEmptyError
from pipeline_assets.lib.settings import Settings


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


class DeclaredDatasets:
    """argparse `choices` for --dataset: the declared datasets' names, read on first use
    (so `pipeline --help` and the other commands never load them)."""

    def _names(self) -> list[str]:
        from pipeline_assets.components.landing_dataset import declared_datasets

        return [dataset.name for dataset in declared_datasets()]

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


def _outside_partitions(start: date, end: date, settings: Settings) -> str | None:
    """Why [start, end] is not a range of existing daily partitions, or None if it is.

    Checked before any I/O: otherwise Dagster refuses the keys only inside the first step,
    after the run was recorded and its retries were spent.
    """
    from pipeline_assets.defs.partitions import daily_partitions

    partitions = daily_partitions(settings)
    first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
    if last is None or first is None or str(start) < first or str(end) > last:
        return (
            f"{start}..{end} is outside the partitions {first}..{last} "
            "(PIPELINE_PARTITIONS_START to today, UTC)"
        )
    return None


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
    seed.set_defaults(func=commands.cmd_seed)

    bf = command(
        "backfill",
        "materialize every asset for an inclusive date range",
        "Materialize every asset for the days --start..--end (YYYY-MM-DD, UTC, inclusive) "
        "as Dagster runs recorded in DAGSTER_HOME: the ingestion of every dataset per chunk "
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
    bf.set_defaults(func=commands.cmd_backfill)

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
    ver.set_defaults(func=commands.cmd_verify)

    quar = command(
        "quarantine",
        "list a day's quarantined rows: file, line, reason and the raw line",
        "Print the rows of raw.quarantine for one day (dataset, file, line, reason, detail, "
        "raw line), in file and line order. Superseded duplicates (older versions of a key, "
        "kept for the accounting) are left out unless --all. The default format is one "
        "tab-separated line per row, control characters escaped (\\n, \\r, \\t, \\0, "
        "\\x1b; a backslash doubled); csv and jsonl carry the values as stored. Reads only: "
        "before any load it says so and exits 1.",
    )
    quar.add_argument("--day", type=_date, required=True, metavar="YYYY-MM-DD")
    quar.add_argument(
        "--dataset",
        choices=DeclaredDatasets(),
        metavar="NAME",  # not the choices: help would load every declaration to list them
        help="one declared dataset only (pipeline_assets/defs/datasets/<NAME>)",
    )
    quar.add_argument("--reason", metavar="CODE", help="one reason code only")
    quar.add_argument("--all", action="store_true", help="include superseded duplicates")
    quar.add_argument("--limit", type=_count(1), default=1000, help="at most N rows (1000)")
    quar.add_argument(
        "--format",
        choices=LISTING_FORMATS,
        default="tsv",
        help="tsv: one escaped line per row (default); csv or jsonl: for other tools",
    )
    quar.set_defaults(func=commands.cmd_quarantine)

    inst = command(
        "instance",
        "install the project's Dagster instance settings and print them",
        "Create DAGSTER_HOME if needed and merge the project's instance settings (run queue "
        "limits, the warehouse-writer pool, run retries, run monitoring) into its "
        "dagster.yaml: keys it lacks are added, keys it sets are kept. `make dev` runs this "
        "before starting the UI; every other command does it too.",
    )
    inst.set_defaults(func=commands.cmd_instance)

    prep = command(
        "prepare",
        "parse the dbt project into dbt/target/manifest.json",
        "Parse the dbt project (dbt parse) into dbt/target/manifest.json, with the same "
        "target and warehouse path the runs use, so partial parsing is reused.",
    )
    prep.set_defaults(func=commands.cmd_prepare)

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
    # The one place the CLI reads the environment. Dagster finds its instance through
    # DAGSTER_HOME, so the CLI's default (./data/dagster_home) is exported for it.
    args.env = dict(os.environ)
    args.settings = Settings(args.env)
    os.environ["DAGSTER_HOME"] = str(args.settings.dagster_home)
    if getattr(args, "end", None) and args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    if args.command in ("backfill", "verify") and (
        problem := _outside_partitions(args.start, args.end, args.settings)
    ):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except WarehouseEmptyError as e:  # a read before any load: no traceback, nothing written
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # said once, readably; the traceback goes to a file
        return _crashed(args.settings, args.command, e)


def _crashed(settings: Settings, command: str, error: Exception) -> int:
    import traceback

    path = commands.log_path(settings, f"{command}-error")
    path.write_text("".join(traceback.format_exception(error)))
    print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
    print(f"  the traceback: {path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
