"""The prod (Snowflake) dbt target: parse, compile and build as far as fakesnow serves.

fakesnow 0.12 cannot create dbt-snowflake's temporary relations, so the copy of the project
used here sets `tmp_relation_type: transient` (a real Snowflake account needs no change).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import fakesnow
import pytest
import snowflake.connector

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.transform.assets import NO_UNIT_TESTS
from pipeline_assets.defs.transform.project import DBT_PROJECT_DIR, dbt_executable
from pipeline_assets.lib.dataset import dataset_of_key
from pipeline_assets.lib.raw_load import validate_and_load
from pipeline_assets.lib.warehouse import SnowflakeDb

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
RUNNER = Path(__file__).with_name("fakesnow_dbt.py")
DUMMY_ENV = {
    "PIPELINE_TARGET": "prod",
    "SNOWFLAKE_ACCOUNT": "x",
    "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "x",
}


@pytest.mark.slow
def test_prod_target_parses_without_a_connection(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    result = subprocess.run(
        [dbt_executable(), "parse", "--target", "prod", "--profiles-dir", "."],
        cwd=project,
        env={**os.environ, **DUMMY_ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "target" / "manifest.json").exists()


def _load(db_dir: Path, files: dict[str, str]) -> None:
    """Raw tables through the project's own Snowflake-dialect load code."""
    with fakesnow.patch(db_path=str(db_dir)):
        conn = snowflake.connector.connect(database="SHOP", paramstyle="qmark")
        conn.cursor().execute("create database if not exists SHOP")
        conn.cursor().execute("use database SHOP")
        db = SnowflakeDb(conn)
        for key, text in files.items():
            dataset, pk = dataset_of_key(declared_datasets(), key)
            validate_and_load(db, dataset, pk, [(key, text.encode())])
        conn.close()


def _dbt(project: Path, db_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt ARGS` on fakesnow, without unit tests, as the pipeline runs it (fakesnow cannot
    create the temporary tables of dbt-snowflake's unit-test materialization either)."""
    return subprocess.run(
        [sys.executable, str(RUNNER), str(project), str(db_dir), *args, *NO_UNIT_TESTS],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_prod_target_builds_on_fakesnow(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    text = (project / "dbt_project.yml").read_text()
    text = text.replace(
        "models:\n  shop:\n", "models:\n  shop:\n    +tmp_relation_type: transient\n"
    )
    (project / "dbt_project.yml").write_text(text)
    db_dir = tmp_path / "fakesnow"
    db_dir.mkdir()
    _load(
        db_dir,
        {
            "orders/date=2024-01-01/hour=10/a.csv": HEADER
            + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\no2,c2,,2024-01-01T10:30:00,50,4,54,\n",
            "orders/date=2024-01-02/hour=09/a.csv": HEADER
            + "o3,c1,s02,2024-01-02T09:00:00,200,16,216,\n",
            "customers/date=2024-01-01/c.csv": "customer_id,name\nc1,Ann\nc2,Bob\n",
            "customers/date=2024-01-02/c.csv": "customer_id,name\nc1,Ann\n",
        },
    )
    first = _dbt(project, db_dir, "build")
    assert "DBT_SUCCESS" in first.stdout, first.stdout[-3000:]
    window = _dbt(
        project,
        db_dir,
        "build",
        "--event-time-start",
        "2024-01-02",
        "--event-time-end",
        "2024-01-03",
    )
    assert "DBT_SUCCESS" in window.stdout, window.stdout[-3000:]
    with fakesnow.patch(db_path=str(db_dir)):
        conn = snowflake.connector.connect(database="SHOP", schema="MARTS")
        rows = (
            conn.cursor()
            .execute(
                "select order_date, customer_id, total_orders, total_revenue "
                "from orders_daily_summary order by 1, 2"
            )
            .fetchall()
        )
        conn.close()
    assert [(str(d), c, n, float(r)) for d, c, n, r in rows] == [
        ("2024-01-01", "c1", 1, 1.08),
        ("2024-01-01", "c2", 1, 0.54),
        ("2024-01-02", "c1", 1, 2.16),
    ]
