"""The transactional load of raw.<dataset> and raw.quarantine, and the counts its checks read.

The load is the same on both engines: the validated day arrives as two Parquet files
(`lib/validate.py`); the engine stages them, then one transaction deletes the partition's
rows and inserts the staged ones, data and quarantine together.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.dataset import LINEAGE_COLUMNS, Dataset
from pipeline_assets.lib.sqlfiles import sql_statements
from pipeline_assets.lib.validate import Files, PartitionSummary, ValidatedPartition, Validator
from pipeline_assets.lib.warehouse import Db, table_columns, transaction

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


SQL_TYPES = {"string": "varchar", "cents": "bigint", "timestamp": "timestamp"}


def ensure_raw_tables(db: Db, dataset: Dataset) -> None:
    """The raw schema, the quarantine table and raw.<dataset>, from its declaration. A column
    declared after the table was made is added (nullable: the rows already loaded lack it)."""
    for statement in sql_statements("create_raw_tables.sql"):
        db.execute(statement)
    columns = [
        f"{db.ident(c.name)} {SQL_TYPES[c.type]}{' not null' if c.required else ''}"
        for c in dataset.columns
    ]
    lineage = ["varchar not null", "integer not null", "varchar not null"]
    columns += [f"{db.ident(c)} {t}" for c, t in zip(LINEAGE_COLUMNS, lineage, strict=True)]
    target = db.table(RAW_SCHEMA, dataset.name)
    db.execute(f"create table if not exists {target} ({', '.join(columns)})")
    present = {
        name
        for name, _ in table_columns(db, [(RAW_SCHEMA, dataset.name)]).get(
            (RAW_SCHEMA, dataset.name), []
        )
    }
    for column in dataset.columns:
        if column.name not in present:
            sql_type = SQL_TYPES[column.type]
            db.execute(f"alter table {target} add column {db.ident(column.name)} {sql_type}")


def load_partition(db: Db, validated: ValidatedPartition) -> None:
    """Replace exactly one partition's rows (data and quarantine) in one transaction."""
    dataset, key = validated.dataset, validated.partition_key
    target = db.table(RAW_SCHEMA, dataset.name)
    quarantine = db.table(RAW_SCHEMA, QUARANTINE_TABLE)
    data_cols = [*dataset.column_names, *LINEAGE_COLUMNS]

    ensure_raw_tables(db, dataset)
    # Staging first: on Snowflake it is DDL and a PUT, which must not run in the transaction.
    data = db.stage_parquet(validated.accepted)
    rejected = db.stage_parquet(validated.quarantined)
    with transaction(db):
        db.execute(f"delete from {target} where _partition = ?", [key])  # noqa: S608
        db.insert_parquet(target, data_cols, data)
        db.execute(
            f"delete from {quarantine} where dataset = ? and _partition = ?",  # noqa: S608
            [dataset.name, key],
        )
        db.insert_parquet(quarantine, QUARANTINE_COLUMNS, rejected)


def validate_and_load(
    db: Db,
    dataset: Dataset,
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
    db: Db, dataset: Dataset, days: list[tuple[str, Files]], validator: Validator
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


def partition_counts(db: Db, dataset: Dataset, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Rows in the warehouse per partition: (loaded, quarantined); the accounting check."""
    marks = ", ".join("?" for _ in keys)
    target = db.table(RAW_SCHEMA, dataset.name)
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
            [dataset.name, *keys],
        )
    )
    return {k: (loaded.get(k, 0), quarantined.get(k, 0)) for k in keys}


def null_required_counts(db: Db, dataset: Dataset, keys: Sequence[str]) -> dict[str, int]:
    """Loaded rows per partition with a required value missing (must be 0)."""
    marks = ", ".join("?" for _ in keys)
    missing = " or ".join(f"{db.ident(c)} is null" for c in dataset.required_columns)
    rows = db.execute(
        f"select _partition, count(*) from {db.table(RAW_SCHEMA, dataset.name)} "  # noqa: S608
        f"where _partition in ({marks}) and ({missing}) group by 1",
        list(keys),
    )
    return {k: dict(rows).get(k, 0) for k in keys}


def null_required_rows_query(db: Db, dataset: Dataset, key: str) -> tuple[str, list[str]]:
    """The day's loaded rows with a required value missing, with their file and line."""
    missing = " or ".join(f"{db.ident(c)} is null" for c in dataset.required_columns)
    columns = ", ".join(db.ident(c) for c in ["_source_key", "_source_line", *dataset.column_names])
    sql = (
        f"select {columns} from {db.table(RAW_SCHEMA, dataset.name)} "  # noqa: S608
        f"where _partition = ? and ({missing}) order by _source_key, _source_line"
    )
    return sql, [key]
