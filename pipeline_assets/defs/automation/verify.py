"""`pipeline verify` as a Dagster job, so production can prove idempotency on a schedule.

The op fingerprints the warehouse, re-materializes the range the hard way (as nested runs in
the same instance, each recorded in the run history), fingerprints again, and fails naming
every table partition that changed.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipeline_assets.defs.executor import in_process_with_worker_tag
from pipeline_assets.defs.resources import ZoneResource
from pipeline_assets.defs.warehouse import WarehouseResource
from pipeline_assets.verify import render, verify


class VerifyConfig(dg.Config):
    """The range to verify: `end` (default yesterday, UTC) and the `days` before it."""

    days: int = 3
    end: str = ""
    seed: int = 0


def verify_range(config: VerifyConfig, today: date) -> tuple[date, date]:
    end = date.fromisoformat(config.end) if config.end else today - timedelta(days=1)
    if config.days < 1:
        raise ValueError(f"days must be at least 1, not {config.days}")
    return end - timedelta(days=config.days - 1), end


@dg.op(description="Fingerprint, re-run the range in shuffled order, fingerprint, compare.")
def verify_idempotency(
    context: dg.OpExecutionContext,
    config: VerifyConfig,
    warehouse: WarehouseResource,
    features: ZoneResource,
) -> dg.Output[int]:
    start, end = verify_range(config, datetime.now(UTC).date())
    outcome = verify(
        start,
        end,
        defs=context.repository_def,  # the code location this job runs in: re-run it
        warehouse=warehouse,
        features=features.store(),
        seed=config.seed,
        echo=context.log.info,
        instance=context.instance,
    )
    if outcome.error:
        raise dg.Failure(description=outcome.error, allow_retries=False)
    rows = outcome.rows
    different = [r for r in rows if not r.equal]
    metadata = {
        "range": f"{start}..{end}",
        "table_partitions_compared": len(rows),
        "different": len(different),
        "report": dg.MetadataValue.md(f"```\n{render(rows)}\n```"),
    }
    if different:
        raise dg.Failure(
            description=f"{len(different)} table partitions changed on re-run: "
            + ", ".join(f"{r.table} {r.partition}" for r in different[:20]),
            metadata=metadata,
            allow_retries=False,
        )
    return dg.Output(len(rows), metadata=metadata)


@dg.job(
    description="Prove that re-running recent days changes nothing (see `pipeline verify`).",
    executor_def=in_process_with_worker_tag,
)
def verify_job() -> None:
    verify_idempotency()


# Stopped by default: it re-runs production partitions (warehouse cost); switch it on in the
# UI where that is wanted.
verify_schedule = dg.ScheduleDefinition(
    name="verify_schedule",
    job=verify_job,
    cron_schedule="0 7 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
