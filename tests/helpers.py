"""Test helpers: run ingestion day ranges in-process, fingerprint the DuckDB warehouse, and read
the SQL validation's outputs back for comparison with the oracle."""

import functools
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import duckdb
import yaml
from oracle_validator import QuarantineRow, ValidationResult

from pipeline_assets.components.landing_dataset import LandingDataset, declared_datasets
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.settings import Settings
from pipeline_assets.lib.validate import PIECE_CHARS, Validator
from pipeline_assets.lib.warehouse import Db, table_columns

# A deployment's environment with dummy credentials (nothing connects): Snowflake, and steps
# as Kubernetes pods.
SNOWFLAKE_DUMMY = {
    "SNOWFLAKE_ACCOUNT": "dummy-account",
    "SNOWFLAKE_USER": "dummy-user",
    "SNOWFLAKE_DATABASE": "SHOP",
    "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "dummy",
}
DEPLOYED = {"PIPELINE_TARGET": "prod", "PIPELINE_RUNS_ON": "kubernetes", **SNOWFLAKE_DUMMY}


# A third dataset as a team would add it (tests/data/payments): its declaration, its dbt
# source entry, its staging view, a table mart and a window mart joining it to the orders.
PAYMENTS = Path(__file__).parent / "data" / "payments"


def add_payments_to_dbt(dbt_dir: Path, marts: Sequence[str] = ("fct_order_payments",)) -> None:
    """The payments dataset's dbt files, written into a copy of the dbt project."""
    sources = dbt_dir / "models" / "staging" / "_sources.yml"
    text = sources.read_text()
    anchor = "      - name: quarantine\n"
    assert anchor in text, "the quarantine source entry moved"
    sources.write_text(text.replace(anchor, (PAYMENTS / "source.yml").read_text() + anchor))
    staging = dbt_dir / "models" / "staging" / "stg_shop__payments.sql"
    staging.write_text((PAYMENTS / "stg_shop__payments.sql").read_text())
    for mart in marts:
        (dbt_dir / "models" / "marts" / f"{mart}.sql").write_text(
            (PAYMENTS / f"{mart}.sql").read_text()
        )


def payments_dataset() -> Dataset:
    """The payments declaration (the issue's YAML), read as the component reads it."""
    attributes = yaml.safe_load((PAYMENTS / "defs.yaml").read_text())["attributes"]
    return Dataset(**attributes)


@functools.cache
def _declared() -> dict[str, LandingDataset]:
    return {d.name: d for d in declared_datasets()}


def dataset(name: str) -> LandingDataset:
    """A declared landing dataset (`pipeline_assets/defs/datasets/<name>/defs.yaml`)."""
    return _declared()[name]


def raw_tables() -> list[str]:
    """Every declared dataset's raw table, and the quarantine they share."""
    return [*_declared(), "quarantine"]


def settings() -> Settings:
    """The settings of this test's environment (`pipeline_env` sets it), as of now."""
    return Settings(os.environ)


def resources() -> dict[str, object]:
    return build_resources(settings())


def ingest(
    name: str,
    first: str,
    last: str | None = None,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
    *,
    selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize a dataset's copy + raw load for the day range `first`..`last` (YYYY-MM-DD,
    inclusive) in one run; `selection` runs only some of the two assets (e.g. the raw load)."""
    built = dataset(name).build_dataset_defs(settings())
    return dg.materialize(
        [*built.assets, *built.asset_checks],
        selection=list(selection) if selection is not None else None,
        resources=resources(),
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last or first,
        },
        raise_on_error=raise_on_error,
    )


def day_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, dict]:
    """{day: {metadata key: plain value}} of one step's materializations, e.g. `raw__orders`."""
    return {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node(node)
    }


def day_checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """{(check name, day): evaluation}; a day evaluated twice would be a bug, so it fails."""
    out: dict[tuple[str, str], dg.AssetCheckEvaluation] = {}
    for e in result.get_asset_check_evaluations():
        assert (e.check_name, e.partition) not in out, f"{e.check_name} {e.partition} twice"
        out[(e.check_name, e.partition)] = e
    return out


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The message of the run's (single) step failure."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1, [e.step_key for e in failures]
    return failures[0].step_failure_data.error.message


def restarts(result: dg.ExecuteInProcessResult) -> int:
    """How many times a step was retried in this run."""
    return sum(e.event_type_value == "STEP_RESTARTED" for e in result.all_events)


def fingerprints(path, tables=None, schema: str = "raw") -> dict[str, list[tuple] | None]:
    """Each table's fingerprint (None: the table does not exist)."""
    tables = raw_tables() if tables is None else tables
    with duckdb.connect(str(path), read_only=True) as conn:
        db = Db(conn)
        present = table_columns(db, [(schema, t) for t in tables])
        return {
            t: db.fingerprint(db.table(schema, t)) if (schema, t) in present else None
            for t in tables
        }


def warehouse_state(path: Path) -> dict[str, list[tuple]]:
    """Fingerprint of every table in the file (none if there is no file): names and content."""
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as conn:
        db = Db(conn)
        tables = db.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        )
        return {f"{s}.{t}": db.fingerprint(db.table(s, t), None) for s, t in tables}


def query(path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


@functools.cache
def validator(piece_chars: int = PIECE_CHARS) -> Validator:
    """One validation session (per piece size) for the whole test process, as a run uses one
    for its days: each day validated replaces the session's tables, so leftovers would show."""
    return Validator(piece_chars=piece_chars)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """`data` as a stream of `size`-byte chunks, as a store's `read_chunks` gives it."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def sql_validation(
    name: str,
    partition_key: str,
    files: list[tuple[str, bytes]],
    piece_chars: int = PIECE_CHARS,
    chunk_bytes: int | None = None,
):
    """The shipped validation (DuckDB SQL) of one day, its Parquet outputs read back in the
    oracle's shape (`tests/oracle_validator.py`), so that tests judge both the same way.
    `piece_chars` and `chunk_bytes` cut the files into that many characters per validated
    piece and bytes per chunk read (the default: each file whole, in one piece)."""
    if chunk_bytes is not None:
        files = [(key, chunked(data, chunk_bytes)) for key, data in files]
    with tempfile.TemporaryDirectory() as workdir:
        validated = validator(piece_chars).validate(
            dataset(name), partition_key, files, Path(workdir)
        )
        with duckdb.connect() as conn:
            names = ", ".join(f'"{c}"' for c in dataset(name).column_names)
            accepted = conn.execute(
                f"select {names}, _source_key, _source_line from read_parquet(?) "  # noqa: S608
                "order by _source_key, _source_line",
                [str(validated.accepted)],
            ).fetchall()
            quarantined = conn.execute(
                "select source_key, line_number, raw_line, reason_code, reason_detail "
                "from read_parquet(?) order by source_key, line_number",
                [str(validated.quarantined)],
            ).fetchall()
    return ValidationResult(
        name,
        partition_key,
        accepted,
        [QuarantineRow(*q) for q in quarantined],
        validated.summary.files,
    )
