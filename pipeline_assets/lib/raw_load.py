"""The transactional load of raw.<dataset> and raw.quarantine, and the counts its checks read.

The load is the same on both engines: the validated day arrives as two Parquet files
(`lib/validate.py`); the engine stages them, then one transaction deletes the partition's
rows and inserts the staged ones, data and quarantine together.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline_assets.lib.contract import ContractError, column_names, required_columns
from pipeline_assets.lib.sqlfiles import sql_statements
from pipeline_assets.lib.validate import Files, PartitionSummary, ValidatedPartition, Validator
from pipeline_assets.lib.warehouse import Db, transaction

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS = (
    "dataset",
    "_partition",
    "source_key",
    "line_number",
    "raw_line",
    "reason_code",
    "reason_detail",
)


def ensure_raw_tables(db: Db) -> None:
    for statement in sql_statements("create_raw_tables.sql"):
        db.execute(statement)


def load_partition(db: Db, validated: ValidatedPartition) -> None:
    """Replace exactly one partition's rows (data and quarantine) in one transaction."""
    dataset, key = validated.dataset, validated.partition_key
    target = db.table(RAW_SCHEMA, dataset)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    data_cols = [*column_names(dataset), "_source_key", "_source_line", "_partition"]

    ensure_raw_tables(db)
    # Staging first: on Snowflake it is DDL and a PUT, which must not run in the transaction.
    data = db.stage_parquet(validated.accepted)
    rejected = db.stage_parquet(validated.quarantined)
    with transaction(db):
        db.execute(f"delete from {target} where _partition = ?", [key])  # noqa: S608
        db.insert_parquet(target, data_cols, data)
        db.execute(
            f"delete from {quarantine} where dataset = ? and _partition = ?",  # noqa: S608
            [dataset, key],
        )
        db.insert_parquet(quarantine, QUARANTINE_COLUMNS, rejected)


def validate_and_load(
    db: Db,
    dataset: str,
    partition_key: str,
    files: Files,
    validator: Validator | None = None,
) -> PartitionSummary:
    """Validate one day's `(key, bytes)` files and replace its rows in the warehouse."""
    if validator is None:
        with Validator() as own:
            return validate_and_load(db, dataset, partition_key, files, own)
    summaries, error = validate_and_load_days(db, dataset, [(partition_key, files)], validator)
    if error is not None:
        raise error
    return summaries[0]


def validate_and_load_days(
    db: Db, dataset: str, days: list[tuple[str, Files]], validator: Validator
) -> tuple[list[PartitionSummary], ContractError | None]:
    """Validate days in one pass, then replace each day's rows in its own transaction, in
    order; the Parquet files in between live in a temporary directory for as long as the
    loads. Returns the days loaded, and the error of the first day whose files cannot be
    read (the days before it are loaded and committed)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-validate-") as workdir:
        validated, error = validator.validate_days(dataset, days, Path(workdir))
        summaries = []
        for day in validated:
            load_partition(db, day)
            summaries.append(day.summary)
    return summaries, error


def partition_counts(db: Db, dataset: str, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Rows in the warehouse per partition: (loaded, quarantined); the accounting check."""
    marks = ", ".join("?" for _ in keys)
    target = db.table(RAW_SCHEMA, dataset)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    loaded = dict(
        db.execute(
            f"select _partition, count(*) from {target} "  # noqa: S608
            f"where _partition in ({marks}) group by 1",
            list(keys),
        )
    )
    quarantined = dict(
        db.execute(
            f"select _partition, count(*) from {quarantine} "  # noqa: S608
            f"where dataset = ? and _partition in ({marks}) group by 1",
            [dataset, *keys],
        )
    )
    return {k: (loaded.get(k, 0), quarantined.get(k, 0)) for k in keys}


def null_required_counts(db: Db, dataset: str, keys: Sequence[str]) -> dict[str, int]:
    """Loaded rows per partition with a required value missing (must be 0)."""
    marks = ", ".join("?" for _ in keys)
    missing = " or ".join(f"{db.ident(c)} is null" for c in required_columns(dataset))
    rows = db.execute(
        f"select _partition, count(*) from {db.table(RAW_SCHEMA, dataset)} "  # noqa: S608
        f"where _partition in ({marks}) and ({missing}) group by 1",
        list(keys),
    )
    return {k: dict(rows).get(k, 0) for k in keys}


def invalid_rows_query(db: Db, dataset: str, key: str) -> tuple[str, list[str]]:
    """The day's quarantined lines that broke a rule (not superseded duplicates): the file,
    the line and why, for a failed quarantine-rate check to name."""
    sql = (
        "select source_key, line_number, reason_code, reason_detail "  # noqa: S608
        f"from {db.table(RAW_SCHEMA, QUARANTINE_TABLE)} "
        "where dataset = ? and _partition = ? and reason_code <> 'superseded_duplicate' "
        "order by source_key, line_number"
    )
    return sql, [dataset, key]


def null_required_rows_query(db: Db, dataset: str, key: str) -> tuple[str, list[str]]:
    """The day's loaded rows with a required value missing, with their file and line."""
    missing = " or ".join(f"{db.ident(c)} is null" for c in required_columns(dataset))
    columns = ", ".join(
        db.ident(c) for c in ["_source_key", "_source_line", *column_names(dataset)]
    )
    sql = (
        f"select {columns} from {db.table(RAW_SCHEMA, dataset)} "  # noqa: S608
        f"where _partition = ? and ({missing}) order by _source_key, _source_line"
    )
    return sql, [key]
