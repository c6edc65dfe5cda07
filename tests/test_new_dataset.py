"""A landing dataset is a declaration: a third one is added to a copy of the project with
YAML and dbt files only, as the README says, and the whole pipeline takes it in.

In a temporary copy of the checkout: `dg scaffold defs` writes the dataset's defs.yaml, which
is then edited to the payments declaration (tests/data/payments, the YAML of issue 26); its
dbt source entry, staging view and a table mart are added. Then the copy's own `pipeline`
and `dg` run it: the definitions list its assets and checks, a 3-day backfill loads every
good row and quarantines the bad ones with their reasons, `pipeline quarantine` lists them,
`verify` covers its tables with no difference, and no Python file changed. A mistake in the
declaration fails `dg check defs` naming the file, the line and the attribute.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import PAYMENTS, add_payments_to_dbt
from services import REPO, VENV_BIN

DAYS = ("2024-03-01", "2024-03-02", "2024-03-03")
HEADER = "payment_id,order_id,method,amount,paid_at,updated_at\n"
# Per day: (good rows, bad rows and the reason each is quarantined with).
PAYMENTS_LANDED = {
    DAYS[0]: ["p1,o1,card,1200,2024-03-01T09:00:00,", "p2,o2,cash,300,2024-03-01T23:59:59Z,"],
    DAYS[1]: ["p3,o3,card,500,2024-03-02T00:00:00,", "p4,o4,card,-25,2024-03-02T10:00:00,"],
    DAYS[2]: ["p5,o5,,700,2024-03-03T12:00:00,", "p6,o6,card,100,2024-03-04T00:00:00,"],
}
QUARANTINED = {
    (DAYS[1], "p4", "negative_amount", "amount=-25 is negative"),
    (
        DAYS[2],
        "p6",
        "outside_partition_day",
        "paid_at 2024-03-04 00:00:00 is outside the folder's day "
        "[2024-03-03 00:00:00, 2024-03-04 00:00:00)",
    ),
}


def python_files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*.py")
        if ".venv" not in p.parts
    }


@pytest.mark.slow
def test_a_dataset_added_by_declaration_runs_end_to_end(tmp_path):
    project = tmp_path / "project"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if (REPO / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, project / name)
    (project / ".venv").symlink_to(VENV_BIN.parent)
    before = python_files(project)
    env = {
        **os.environ,
        "PYTHONPATH": str(project),  # this copy's package, not the checkout's
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "PIPELINE_LANDING_URI": str(tmp_path / "landing"),
        "PIPELINE_PROCESSING_URI": str(tmp_path / "processing"),
        "PIPELINE_FEATURES_URI": str(tmp_path / "features"),
        "PIPELINE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "PIPELINE_LOG_DIR": str(tmp_path / "logs"),
        "PIPELINE_PARTITIONS_START": DAYS[0],
        "PIPELINE_AUTOMATION": "off",
    }
    env.pop("PIPELINE_DBT_PROJECT_DIR", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            args, cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def pipeline(*args: str) -> subprocess.CompletedProcess:
        return run(sys.executable, "-m", "pipeline_assets.cli", *args)

    # The declaration, as a team writes it: scaffolded, then edited; then its dbt files.
    run("dg", "scaffold", "defs", "pipeline_assets.components.LandingDataset", "datasets/payments")
    declared = project / "pipeline_assets" / "defs" / "datasets" / "payments" / "defs.yaml"
    assert "type: pipeline_assets.components.LandingDataset" in declared.read_text()
    # A mistake first: `dg check defs` names the file, the line and the attribute.
    text = (PAYMENTS / "defs.yaml").read_text()
    declared.write_text(text.replace("key: payment_id", "key: payment"))
    check = subprocess.run(
        ["dg", "check", "defs"], cwd=project, env=env, capture_output=True, text=True
    )
    assert check.returncode != 0
    assert "datasets/payments/defs.yaml:5 - attributes.key: 'payment' is not one of" in (
        check.stdout + check.stderr
    )
    declared.write_text(text)
    add_payments_to_dbt(project / "dbt", marts=["payments_per_method"])

    listed = json.loads(run("dg", "list", "defs", "--json").stdout)
    assets = {a["asset_key"] for a in listed["assets"]}
    assert {
        "processing/payment_files",
        "raw/payments",
        "staging/stg_shop__payments",
        "marts/payments_per_method",
    } <= assets
    checks = {c["key"] for c in listed["asset_checks"]}
    assert {f"raw/payments:{c}" for c in ("row_accounting", "required_columns_present")} <= checks
    assert {j["name"] for j in listed["jobs"]} >= {"ingest_payments_job"}
    assert {s["name"] for s in listed["schedules"]} >= {"daily_payments_schedule"}

    pipeline("seed", "--start", DAYS[0], "--end", DAYS[-1], "--orders-per-day", "40")
    for day, rows in PAYMENTS_LANDED.items():
        path = tmp_path / "landing" / "payments" / f"date={day}" / "part-0.csv"
        path.parent.mkdir(parents=True)
        path.write_text(HEADER + "".join(f"{row}\n" for row in rows))

    backfill = pipeline("backfill", "--start", DAYS[0], "--end", DAYS[-1]).stdout
    assert "payments 3/3" in backfill, backfill
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        loaded = conn.execute("select payment_id from raw.payments order by 1").fetchall()
        quarantined = conn.execute(
            "select _partition, split_part(raw_line, ',', 1), reason_code, reason_detail "
            "from raw.quarantine where dataset = 'payments'"
        ).fetchall()
        (methods,) = conn.execute(
            "select count(*) from marts.payments_per_method where payments > 0"
        ).fetchone()
    assert [p for (p,) in loaded] == ["p1", "p2", "p3", "p5"]
    assert set(quarantined) == QUARANTINED
    assert methods == 3  # card, cash, and no method

    listing = pipeline("quarantine", "--day", DAYS[1], "--dataset", "payments").stdout
    assert "negative_amount" in listing and "p4,o4,card,-25" in listing, listing
    assert (
        "outside_partition_day"
        in pipeline("quarantine", "--day", DAYS[2], "--dataset", "payments").stdout
    )

    verify = pipeline("verify", "--start", DAYS[-1], "--end", DAYS[-1]).stdout  # its day twice
    assert "raw.payments" in verify and "marts.payments_per_method" in verify, verify
    assert ", 0 different" in verify, verify

    added = set(python_files(project)) - set(before)
    assert added == set() and python_files(project) == before  # YAML and dbt files only
