"""What a backfill did, folded from its runs' events into one summary that agrees with itself.

Counts come from what was committed, never from whether a run succeeded: a range run loads
each day in its own transaction, so a run that fails on its fifth day has still loaded four,
and the summary says so. A failure is said once, cause first: the failing step's own message
(a `dg.Failure`'s description), not Dagster's wrapper or the chain of exceptions behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from pipeline_assets.lib.warehouse import ROW_COUNT_OF

INGEST, WAREHOUSE = "ingest", "warehouse"
DBT_LAYERS = ("staging", "intermediate", "marts")


def error_text(error: dg.SerializableErrorInfo | None) -> str:
    """The root cause of an error, as `Class: message` without the module path."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    head, sep, tail = message.partition(": ")
    if sep and head.split(".")[-1] == error.cls_name:
        message = f"{error.cls_name}: {tail}"
    return message


def step_error(event: dg.DagsterEvent) -> str:
    """A failed step's cause: the description it raised (`dg.Failure`), else the root error."""
    data = event.step_failure_data
    if data is None:
        return event.message or "unknown error"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip()
    return error_text(data.error)


def run_error(events: Iterable[dg.DagsterEvent], label: dict[str, str] | None = None) -> str:
    """Each failed step of a run, `<what it builds>: <cause>`, one per line; else the run's."""
    label = label or {}
    lines = [
        f"{label.get(e.step_key or '', e.step_key)}: {step_error(e)}"
        for e in events
        if e.is_step_failure
    ]
    if lines:
        return "\n".join(lines)
    failure = next((e for e in events if e.event_type_value == "PIPELINE_FAILURE"), None)
    return failure.message if failure and failure.message else "the run failed"


@dataclass
class BackfillReport:
    """The backfill's record; `lines()` is the summary the CLI prints."""

    command: str
    start: date
    end: date
    days: list[str]
    copy_assets: dict[dg.AssetKey, str] = field(default_factory=dict)  # copy asset -> dataset
    ingested: dict[str, set[str]] = field(default_factory=dict)  # dataset -> days committed
    rows_loaded: int = 0
    rows_quarantined: int = 0
    warehouse_days: list[str] = field(default_factory=list)  # planned: complete days
    warehouse_assets: list[str] = field(default_factory=list)  # planned: what it builds
    built: dict[str, set[str]] = field(default_factory=dict)  # warehouse asset -> days
    mart_rows: dict[str, int] = field(default_factory=dict)
    whole_tables: set[str] = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    empty_days: dict[str, list[str]] = field(default_factory=dict)  # dataset -> days
    ignored_keys: list[tuple[str, str]] = field(default_factory=list)  # (key, why): a sample
    ignored_more: list[str] = field(default_factory=list)  # the rest of a day's, by manifest
    warehouse_ran: bool = False
    seconds: float = 0.0
    runs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def datasets(self) -> list[str]:
        return sorted(self.copy_assets.values())

    @property
    def waiting(self) -> list[str]:
        """Days ingested whose marts wait for the day to end (today)."""
        return [d for d in self.days if d not in self.warehouse_days]

    def days_ingested(self) -> list[str]:
        return [d for d in self.days if all(d in self.ingested.get(ds, ()) for ds in self.datasets)]

    def days_built(self) -> list[str]:
        """The planned days for which every planned warehouse asset materialized."""
        return [
            d
            for d in self.warehouse_days
            if all(d in self.built.get(asset, ()) for asset in self.warehouse_assets)
        ]

    def warnings(self) -> list[str]:
        """Days with no landing files, and landing keys outside the contract (never loaded)."""
        out = [
            f"warning: no landing files for {dataset} on {len(days)} day(s): {', '.join(days)}"
            for dataset, days in sorted(self.empty_days.items())
        ]
        out += [f"warning: ignored landing key {key}: {why}" for key, why in self.ignored_keys]
        return out + self.ignored_more

    def lines(self) -> list[str]:
        per_dataset = ", ".join(
            f"{ds} {len(self.ingested.get(ds, ()))}/{len(self.days)}" for ds in self.datasets
        )
        lines = [
            f"{self.command} {self.start}..{self.end}: {'OK' if self.ok else 'FAILED'}",
            f"  days ingested     {len(self.days_ingested())}/{len(self.days)} ({per_dataset})",
            f"  rows loaded       {self.rows_loaded}",
            f"  rows quarantined  {self.rows_quarantined}",
        ]
        lines += self._warehouse_lines()
        lines += [
            f"  checks passed     {self.checks_passed}",
            f"  checks failed     {len(self.checks_failed)}",
            *(f"    {name}" for name in self.checks_failed),
            f"  dagster runs      {len(self.runs)}",
            f"  time taken        {self.seconds:.1f}s",
        ]
        if self.log_path:
            lines.append(f"  full log          {self.log_path}")
        lines += [f"  error: {line}" for e in self.errors for line in e.splitlines()]
        return lines

    def _warehouse_lines(self) -> list[str]:
        planned = len(self.warehouse_days)
        if not planned:
            return [f"  marts wait for    {', '.join(self.waiting)} (not over yet, UTC)"]
        if not self.warehouse_ran:
            return [f"  marts built       0/{planned} days (not run: ingestion failed)"]
        built = len(self.days_built())
        note = "" if built == planned else " (the warehouse run failed)"
        lines = [f"  marts built       {built}/{planned} days{note}"]
        for name, n in sorted(self.mart_rows.items()):
            scope = "whole table" if name in self.whole_tables else "these days"
            lines.append(f"  {name + ':':<30}{n} rows ({scope})")
        if self.waiting:
            lines.append(f"  marts wait for    {', '.join(self.waiting)} (not over yet, UTC)")
        return lines

    def record(self, label: str, result: dg.ExecuteInProcessResult, steps: dict[str, str]) -> str:
        """Fold one run in; return its one-line account (its error when it failed)."""
        self.runs.append(result.run_id)
        checks = result.get_asset_check_evaluations()
        self.checks_passed += sum(c.passed for c in checks)
        self.checks_failed += [
            f"{c.asset_check_key.to_user_string()} {c.partition or ''}".strip()
            for c in checks
            if not c.passed
        ]
        mats = [e.materialization for e in result.get_asset_materialization_events()]
        if label == INGEST:
            line = self._record_ingest(mats, checks)
        else:
            self.warehouse_ran = True
            line = self._record_warehouse(mats, checks)
        if result.success:
            return line
        self.errors.append(run_error(result.all_events, steps))
        return f"FAILED ({line}): {self.errors[-1].splitlines()[0]}"

    def _record_ingest(
        self, mats: list[dg.AssetMaterialization], checks: list[dg.AssetCheckEvaluation]
    ) -> str:
        loaded = quarantined = 0
        for mat in mats:
            meta = {k: v.value for k, v in mat.metadata.items()}
            if mat.asset_key.path[0] == "raw":  # committed: counted whatever the run did next
                self.ingested.setdefault(mat.asset_key.path[-1], set()).add(mat.partition)
                loaded += meta["rows_loaded"]
                quarantined += meta["rows_quarantined"]
            elif mat.asset_key in self.copy_assets:  # how many landing files the day had
                dataset = self.copy_assets[mat.asset_key]
                if meta["files"] == 0:
                    self.empty_days.setdefault(dataset, []).append(mat.partition)
                sample = meta.get("ignored_keys") or {}  # the copy shows a few; all: manifest
                self.ignored_keys += list(sample.items())
                if (more := meta.get("ignored", len(sample)) - len(sample)) > 0:
                    self.ignored_more.append(
                        f"warning: {more} more ignored landing keys of {dataset} on "
                        f"{mat.partition}, every one in {meta.get('manifest')}"
                    )
        self.rows_loaded += loaded
        self.rows_quarantined += quarantined
        passed = sum(c.passed for c in checks)
        return f"loaded {loaded}, quarantined {quarantined}, checks passed {passed}/{len(checks)}"

    def _record_warehouse(
        self, mats: list[dg.AssetMaterialization], checks: list[dg.AssetCheckEvaluation]
    ) -> str:
        """dbt's part summarized: models built, tests passed, the failed ones by name."""
        for mat in mats:
            name = "/".join(mat.asset_key.path)
            self.built.setdefault(name, set()).add(mat.partition)
            if mat.asset_key.path[0] != "marts" or "dagster/row_count" not in mat.metadata:
                continue
            name, rows = ".".join(mat.asset_key.path), mat.metadata["dagster/row_count"].value
            if mat.metadata[ROW_COUNT_OF].value == "day":
                self.mart_rows[name] = self.mart_rows.get(name, 0) + rows
            else:
                self.mart_rows[name] = rows
                self.whole_tables.add(name)
        models = {m.asset_key for m in mats if m.asset_key.path[0] in DBT_LAYERS}
        tests = [c for c in checks if c.asset_key.path[0] in DBT_LAYERS]
        failed = sorted({c.check_name for c in tests if not c.passed})
        passed = sum(c.passed for c in tests)
        line = f"dbt built {len(models)} models, tests passed {passed}/{len(tests)}"
        features = {m.partition for m in mats if m.asset_key.path[0] == "features"}
        if features:
            line += f", features for {len(features)} days"
        return line + (f", failed: {', '.join(failed)}" if failed else "")
