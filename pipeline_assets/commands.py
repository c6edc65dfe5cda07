"""What each `pipeline` command does, once `cli.py` has parsed its arguments.

Each gets the parsed arguments plus `settings` (the environment's, read once by `cli.main`)
and `env` (the environment itself, for `build_defs`); imports are local so that `pipeline
--help` and argument errors stay instant.
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pipeline_assets.lib.settings import Settings


def _instance(settings: Settings) -> None:
    """Install the project's instance settings and say what changed (once per home)."""
    from pipeline_assets.instance import ensure_instance

    for note in ensure_instance(settings.dagster_home):
        print(f"instance: {note}", file=sys.stderr)


def log_path(settings: Settings, command: str) -> Path:
    """A new log file for `command` in PIPELINE_LOG_DIR."""
    from pipeline_assets.console import new_log_path

    return new_log_path(Path(settings.location("PIPELINE_LOG_DIR")), command)


def cmd_seed(args: argparse.Namespace) -> int:
    from pipeline_assets.defs.resources import build_resources
    from pipeline_assets.lib.sample import seed_landing

    store = build_resources(args.settings)["landing"].store()
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
    from pipeline_assets.console import CommandLog
    from pipeline_assets.definitions import build_defs
    from pipeline_assets.runner import DAYS_PER_RUN, backfill

    _instance(args.settings)
    with CommandLog(log_path(args.settings, "backfill")) as log:
        print(f"backfill {args.start}..{args.end}; Dagster's and dbt's own output: {log.path}")
        with log.captured():
            defs = build_defs(args.env)
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
    from pipeline_assets.console import CommandLog
    from pipeline_assets.definitions import build_defs
    from pipeline_assets.defs.warehouse import build_warehouse
    from pipeline_assets.verify import summarize, verify

    # Nothing loaded yet: nothing to prove, and nothing to create (WarehouseEmptyError).
    with build_warehouse(args.settings).reader():
        pass
    _instance(args.settings)
    t0 = time.perf_counter()
    with CommandLog(log_path(args.settings, "verify")) as log:
        print(f"verify {args.start}..{args.end}; Dagster's and dbt's own output: {log.path}")
        with log.captured():
            defs = build_defs(args.env)
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
    """Read-only: before any load it says so (`WarehouseEmptyError`) and creates nothing."""
    from pipeline_assets.console import write_listing
    from pipeline_assets.defs.warehouse import build_warehouse
    from pipeline_assets.lib.failing_rows import quarantined_rows

    with build_warehouse(args.settings).reader() as db:
        columns, rows = quarantined_rows(
            db, str(args.day), args.dataset, args.reason, args.all, args.limit + 1
        )
    more = len(rows) > args.limit  # one row past the limit says whether there are more
    write_listing(columns, rows[: args.limit], args.format, sys.stdout)
    shown = f"{min(len(rows), args.limit)} quarantined row(s) of {args.day}"
    hint = f" (the first {args.limit}; --limit N for more)" if more else ""
    print(shown + hint, file=sys.stderr)
    return 0


def cmd_instance(args: argparse.Namespace) -> int:
    _instance(args.settings)
    print((args.settings.dagster_home / "dagster.yaml").read_text(), end="")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from pipeline_assets.defs.transform.project import dbt_project, prepare_dbt
    from pipeline_assets.defs.warehouse import build_warehouse

    settings = args.settings
    # Snowflake's profile needs nothing but the (placeholder) secret to parse: an image
    # build has no database to name, and parsing never connects.
    env = {} if settings.target == "prod" else build_warehouse(settings).dbt_env()
    prepare_dbt(dbt_project(settings), env)
    print("dbt manifest prepared")
    return 0
