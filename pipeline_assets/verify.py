"""`pipeline verify`: prove that re-running a range changes nothing.

Fingerprint every warehouse table of the code location per partition (each declared
dataset's raw table, the quarantine, every dbt model that is a table), and each day's
published features;
re-materialize the range the hard way (one single-run backfill, then shuffled per-day runs
with some days twice); fingerprint again and compare. A difference names the table and the partition.
"""

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import dagster as dg

from pipeline_assets.console import CommandLog
from pipeline_assets.lib.contract import days_between
from pipeline_assets.lib.features import latest
from pipeline_assets.lib.objectstore import ObjectStore
from pipeline_assets.lib.warehouse import DAY_COLUMN, Db, table_columns
from pipeline_assets.runner import Code, backfill, days_tag, repository

# (schema, table, the column that names a row's day, or None for a whole-table fingerprint)
Table = tuple[str, str, str | None]
QUARANTINE: Table = ("raw", "quarantine", "_partition")


def warehouse_tables(defs: Code) -> list[Table]:
    """The tables the code location writes: every asset with a table name that is not a
    view, per day where it says its day column (`DAY_COLUMN`), plus the quarantine."""
    tables = [QUARANTINE]
    for assets_def in set(repository(defs).assets_defs_by_key.values()):
        for spec in assets_def.specs:
            name = spec.metadata.get("dagster/table_name")
            if not name or spec.metadata.get("dagster-dbt/materialization_type") == "view":
                continue
            schema, table = str(name).split(".")[-2:]
            tables.append((schema, table, spec.metadata.get(DAY_COLUMN)))
    return sorted(tables)


class Warehouse(Protocol):
    """What verify needs of the warehouse resource: short-lived connections."""

    def db(self) -> AbstractContextManager[Db]: ...


Fingerprints = dict[tuple[str, str], tuple[int, str]]  # (table, partition) -> (rows, hash)


def fingerprint_warehouse(db: Db, tables: list[Table]) -> Fingerprints:
    """Every table's fingerprint per partition; a table not built yet has none."""
    out: Fingerprints = {}
    present = table_columns(db, [(schema, table) for schema, table, _ in tables])
    for schema, table, column in tables:
        if (schema, table) not in present:
            continue
        for group, rows, digest in db.fingerprint(db.table(schema, table), column):
            out[(f"{schema}.{table}", "*" if group is None else str(group))] = (rows, digest)
    return out


def fingerprint_features(store: ObjectStore, days: list[str]) -> Fingerprints:
    """The published customer_features of each day: rows and the Parquet bytes' checksum."""
    out: Fingerprints = {}
    for day in days:
        found = latest(store, day)
        if found is not None:
            out[("features.customer_features", day)] = (found.rows, found.sha256)
    return out


@dataclass(frozen=True)
class Row:
    table: str
    partition: str
    before: tuple[int, str] | None
    after: tuple[int, str] | None

    @property
    def equal(self) -> bool:
        return self.before == self.after


def compare(before: Fingerprints, after: Fingerprints) -> list[Row]:
    keys = sorted(set(before) | set(after))
    return [Row(t, p, before.get((t, p)), after.get((t, p))) for t, p in keys]


def rerun_plan(days: list[str], seed: int) -> list[tuple[str, str]]:
    """The whole range as one run, then every day alone in shuffled order, two days twice.
    One day is its own range: it runs alone, then again."""
    if len(days) == 1:
        return [(days[0], days[0])] * 2
    rng = random.Random(seed)
    singles = days[:]
    rng.shuffle(singles)
    singles += rng.sample(days, min(2, len(days)))
    return [(days[0], days[-1]), *((d, d) for d in singles)]


@dataclass
class Outcome:
    """What verify found: one row per table partition, or the re-run that failed."""

    rows: list[Row]
    runs: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.equal for r in self.rows)


def verify(
    start: date,
    end: date,
    *,
    defs: Code,
    warehouse: Warehouse,
    features: ObjectStore,
    seed: int = 0,
    echo: Callable[[str], None] = print,
    instance: dg.DagsterInstance | None = None,
    log: CommandLog | None = None,
) -> Outcome:
    """Fingerprint, re-run `rerun_plan` through `defs`, fingerprint again; one row per table
    partition. `warehouse` and `features` must be the ones `defs` writes to. The re-runs are
    tagged `pipeline/command: verify`; a failed one ends the verification, its cause said."""
    instance = instance or dg.DagsterInstance.get()
    days = days_between(start, end)
    tables = warehouse_tables(defs)
    with warehouse.db() as db:
        before = fingerprint_warehouse(db, tables) | fingerprint_features(features, days)
    echo(f"fingerprinted {len(before)} table partitions")
    runs = 0
    for first, last in rerun_plan(days, seed):
        report = backfill(
            date.fromisoformat(first),
            date.fromisoformat(last),
            defs=defs,
            instance=instance,
            echo=lambda _: None,
            log=log,
            command="verify",
        )
        runs += len(report.runs)
        what = f"re-ran {days_tag(first, last)}"
        if not report.ok:
            echo(f"{what}: FAILED  ({report.seconds:.1f}s)")
            return Outcome([], runs, f"{what}: " + "; ".join(report.errors))
        echo(f"{what}: ok  ({report.seconds:.1f}s)")
    with warehouse.db() as db:
        after = fingerprint_warehouse(db, tables) | fingerprint_features(features, days)
    return Outcome(compare(before, after), runs)


def summarize(rows: list[Row]) -> list[str]:
    """One line per table (its partitions compared, and any that changed), then the total."""
    tables: dict[str, list[Row]] = {}
    for row in rows:
        tables.setdefault(row.table, []).append(row)
    lines = []
    for table, group in tables.items():
        changed = [r.partition for r in group if not r.equal]
        verdict = f"CHANGED: {', '.join(changed)}" if changed else "equal"
        lines.append(f"  {table:<38}{len(group):>5} partitions  {verdict}")
    bad = sum(not r.equal for r in rows)
    lines.append(f"  {len(rows)} table partitions compared, {bad} different")
    return lines


def render(rows: list[Row]) -> str:
    def fmt(fp: tuple[int, str] | None) -> str:
        return "missing" if fp is None else f"{fp[0]} rows #{fp[1][-8:]}"

    lines = [f"{'table':<36} {'partition':<18} {'before':<24} {'after':<24} equal"]
    lines += [
        f"{r.table:<36} {r.partition:<18} {fmt(r.before):<24} {fmt(r.after):<24} "
        f"{'yes' if r.equal else 'NO'}"
        for r in rows
    ]
    bad = sum(not r.equal for r in rows)
    lines.append(f"{len(rows)} table partitions compared, {bad} different")
    return "\n".join(lines)
