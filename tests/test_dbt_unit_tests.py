"""dbt unit tests (`unit_tests:` in dbt/models/*/_*.yml) run by real dbt on a temp DuckDB.

One `dbt build` of the project on empty raw tables: dbt runs each model's unit tests right
after its parents are built (the tests read their column types from those relations), so
this is also a first build of a fresh warehouse with the unit tests included.
"""

import shutil
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.transform.project import DBT_PROJECT_DIR
from pipeline_assets.lib.raw_load import ensure_raw_tables
from pipeline_assets.lib.warehouse import Db

RANKING = "int_orders_deduplicated__current_version_ranking"


def unit_test_results(project: Path, target: Path, *args: str) -> dict[str, str]:
    """unit test name -> status ('pass', 'fail', ...) of one dbt invocation."""
    flags = ["--quiet", "--project-dir", str(project), "--profiles-dir", str(project)]
    result = dbtRunner().invoke([*args, *flags, "--target-path", str(target)])
    # dbt-duckdb keeps its connection open in this process: release the file.
    DuckDBConnectionManager.close_all_connections()
    assert result.result is not None, result.exception
    return {
        r.node.name: str(r.status)
        for r in result.result.results
        if r.node.resource_type == "unit_test"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A warehouse with empty raw tables, built once; the unit tests' results of that build."""
    root = tmp_path_factory.mktemp("dbt_unit")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_TARGET", "dev")
        mp.setenv("PIPELINE_DUCKDB_PATH", str(root / "warehouse.duckdb"))
        with duckdb.connect(str(root / "warehouse.duckdb")) as conn:
            for dataset in declared_datasets():
                ensure_raw_tables(Db(conn), dataset)
        yield root, unit_test_results(DBT_PROJECT_DIR, root / "target", "build")


def test_every_unit_test_passes_in_a_first_build(built):
    _, results = built
    assert {
        RANKING,
        "int_orders_deduplicated__incremental_affected_orders_only",
        "orders_daily_summary__incremental_window_and_affected_days",
        "stg_shop__orders__cents_to_currency_is_exact",
    } <= results.keys()
    assert set(results.values()) == {"pass"}, results


def test_a_broken_ranking_fails_its_unit_test(built, tmp_path):
    root, _ = built
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "int_orders_deduplicated.sql"
    sql = model.read_text()
    assert "updated_at desc nulls last" in sql
    model.write_text(sql.replace("updated_at desc nulls last", "updated_at desc nulls first"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_TARGET", "dev")
        mp.setenv("PIPELINE_DUCKDB_PATH", str(root / "warehouse.duckdb"))
        results = unit_test_results(project, tmp_path / "target", "test", "-s", "test_type:unit")
    assert results[RANKING] == "fail", results
    assert results["stg_shop__orders__cents_to_currency_is_exact"] == "pass", results
