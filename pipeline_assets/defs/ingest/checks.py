"""The checks on each day's raw rows: one result per day, blocking, re-counted from the
warehouse, so they can also be executed on their own for a chosen day from the UI.

Each result targets the day's latest materialization (automation treats a partitioned check
as current only then) and, when it does not pass, names its rows: file, line and reason.
A blocking check that fails ends the step with one message naming the days, checks and
rows, so nothing downstream in the run builds on them.
"""

from collections.abc import Iterator
from typing import NamedTuple

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported by dagster; see below
)

from pipeline_assets.defs.automation.conditions import latest_materializations
from pipeline_assets.defs.ingest.shared import raw_key
from pipeline_assets.defs.resources import ValidationResource
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.failing_rows import (
    FailingRows,
    quarantine_samples,
    sample_failing_rows,
)
from pipeline_assets.lib.raw_load import (
    null_required_counts,
    null_required_rows_query,
    partition_counts,
)

ROW_ACCOUNTING = "row_accounting"
REQUIRED_COLUMNS = "required_columns_present"
QUARANTINE_RATE = "quarantine_rate_below_threshold"
SAMPLE = 20
DESCRIPTIONS = {
    ROW_ACCOUNTING: "Rows read = rows loaded + rows quarantined, per day.",
    REQUIRED_COLUMNS: "Every loaded row has all the contract's required values.",
    QUARANTINE_RATE: "Share of invalid rows: warns above the validation resource's "
    "quarantine_warn_rate, blocks downstream above its quarantine_fail_rate.",
}


def _target(record: dg.EventLogRecord) -> AssetCheckEvaluationTargetMaterializationData:
    # AssetCheckResult would fill this in, but it cannot name a partition inside a range run.
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


class Verdict(NamedTuple):
    """One check's verdict on one day, and what it is about."""

    passed: bool
    severity: dg.AssetCheckSeverity
    metadata: dict
    rows: FailingRows | None  # the rows it names when it does not pass
    summary: str | None = None  # its numbers, said first in its description


def percent(share: float) -> str:
    """`0.641` -> `64.1 %`; four significant digits, so 1 row of 300,000 is not `0 %`."""
    return f"{share * 100:.4g} %"


def rate_summary(invalid: int, rows_read: int, warn: float, fail: float) -> str:
    """`rate 64.1 % (300 of 468 rows) > fail threshold 50 %`: the rate, the counts and the
    threshold it broke (or stayed under), so 300 of 310 is not read as 300 of 300,000."""
    rate = invalid / rows_read if rows_read else 0.0
    said = f"rate {percent(rate)} ({invalid} of {rows_read} row{'' if rows_read == 1 else 's'})"
    if rate > fail:
        return f"{said} > fail threshold {percent(fail)}"
    if rate > warn:
        return f"{said} > warn threshold {percent(warn)} (fails above {percent(fail)})"
    return f"{said} <= warn threshold {percent(warn)}"


def evaluate_day(
    dataset: Dataset,
    metadata: dict,
    counts: tuple[int, int],
    nulls: int,
    invalid: FailingRows,
    null_rows: FailingRows | None,
    thresholds: ValidationResource,
) -> dict[str, Verdict]:
    """The three verdicts of one day."""
    loaded, quarantined = counts
    rows_read = metadata["rows_read"]
    rate = invalid.count / rows_read if rows_read else 0.0
    warn_above, fail_above = thresholds.quarantine_warn_rate, thresholds.quarantine_fail_rate
    summary = rate_summary(invalid.count, rows_read, warn_above, fail_above)
    error, warn = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
    return {
        ROW_ACCOUNTING: Verdict(
            rows_read == loaded + quarantined,
            error,
            {"rows_read": rows_read, "rows_loaded": loaded, "rows_quarantined": quarantined},
            None,
        ),
        # A file missing a required column already failed the load; this re-checks the
        # loaded rows, so a regression in parsing or loading cannot slip through.
        REQUIRED_COLUMNS: Verdict(
            nulls == 0,
            error,
            {
                "required": dg.MetadataValue.json(dataset.required_columns),
                "files_checked": metadata["files"],
                "rows_missing_required_values": nulls,
            },
            null_rows,
        ),
        # Above the fail rate the day is more garbage than data: block everything downstream.
        QUARANTINE_RATE: Verdict(
            rate <= warn_above,
            error if rate > fail_above else warn,
            {
                "verdict": summary,
                "invalid_rows": invalid.count,
                "rows_read": rows_read,
                "rate": round(rate, 6),
                "warn_above": warn_above,
                "fail_above": fail_above,
                "reasons": dg.MetadataValue.json(metadata["quarantine_reasons"]),
            },
            invalid,
            summary,
        ),
    }


def evaluation(
    key: dg.AssetKey, name: str, day: str, verdict: Verdict, record: dg.EventLogRecord
) -> dg.AssetCheckEvaluation:
    passed, severity, metadata, rows, summary = verdict
    said = [summary] if summary else []
    if not passed and rows is not None and rows.count:
        metadata = {
            **metadata,
            "failing_rows": rows.count,
            "failing_rows_sample": dg.MetadataValue.md(rows.markdown()),
        }
        said.append(rows.describe())
    return dg.AssetCheckEvaluation(
        asset_key=key,
        check_name=name,
        passed=passed,
        severity=severity,
        blocking=True,
        partition=day,
        metadata=metadata,
        description="; ".join(said) or None,
        target_materialization_data=_target(record),
    )


def build_raw_checks(
    dataset: Dataset, partitions: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    key = raw_key(dataset)
    specs = [
        # Partitioned checks (a preview API in 1.13): each day gets its own result, so the
        # UI shows which day failed its gate, not one verdict for a whole range run.
        dg.AssetCheckSpec(
            name, asset=key, blocking=True, partitions_def=partitions, description=text
        )
        for name, text in DESCRIPTIONS.items()
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"raw_{dataset.name}_checks",
        can_subset=True,
        description=f"The per-day checks of raw.{dataset.name}, re-counted from the warehouse.",
    )
    def raw_checks(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        validation: ValidationResource,
    ) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
        days = list(context.partition_keys)
        selected = [k.name for k in context.selected_asset_check_keys]
        mats = latest_materializations(context.instance, key, days)
        missing = [d for d in days if d not in mats]
        if missing:
            raise dg.Failure(
                description=f"raw/{dataset.name} was never loaded for {', '.join(missing)}: "
                "materialize it before checking it",
                allow_retries=False,
            )
        with warehouse.db() as db:
            counts = partition_counts(db, dataset, days)
            nulls = null_required_counts(db, dataset, days)
            invalid = quarantine_samples(db, dataset.name, days, SAMPLE)
            null_rows = {
                d: sample_failing_rows(db, *null_required_rows_query(db, dataset, d))
                for d in days
                if nulls[d]
            }
        blocked = []
        for day in days:
            metadata = {k: v.value for k, v in mats[day].asset_materialization.metadata.items()}
            verdicts = evaluate_day(
                dataset,
                metadata,
                counts[day],
                nulls[day],
                invalid.get(day, FailingRows(0, [], [])),
                null_rows.get(day),
                validation,
            )
            for name in selected:
                result = evaluation(key, name, day, verdicts[name], mats[day])
                yield result
                if not result.passed and result.severity == dg.AssetCheckSeverity.ERROR:
                    blocked.append(f"{day} {name}: {result.description or 'failed'}")
        if blocked:
            raise dg.Failure(
                description=f"raw/{dataset.name} failed its blocking checks, nothing downstream was "
                "built on it: " + "; ".join(blocked),
                allow_retries=False,
            )
        for name in selected:
            check_key = dg.AssetCheckKey(key, name)
            yield dg.Output(
                None,
                context.op_execution_context.assets_def.get_output_name_for_asset_check_key(
                    check_key
                ),
            )

    return raw_checks
