"""The `dg` commands a Dagster user tries first, run as they are typed, in the repository."""

import json
import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance
from helpers import query

from pipeline_assets.instance import dotenv_values
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.worker import WORKER_TAG, Worker

REPO = Path(__file__).parents[1]


def dg(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    env = env if env is not None else dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return subprocess.run(
        ["dg", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_dg_lists_the_definitions_and_launches_a_partition_range(pipeline_env):
    listed = dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assets = {a["asset_key"] for a in json.loads(listed.stdout)["assets"]}
    assert {"raw/orders", "marts/orders_daily_summary", "features/customer_features"} <= assets

    # As typed in a shell with no DAGSTER_HOME: the project's .env (here one written the way
    # `pipeline instance` writes the checkout's, with this test's home) names the instance,
    # so the run is in the CLI's and the UI's history, not in a throwaway one.
    project = pipeline_env.root / "project"
    project.mkdir()
    settings = {"telemetry": {"enabled": False}}
    lines = dotenv_values(settings, pipeline_env.dagster_home).items()
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in lines))
    no_home = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 50)
    launched = dg(
        "launch",
        "--target-path",
        str(REPO),
        "--assets",
        "key:processing/order_files,key:raw/orders",
        "--partition-range",
        "2024-01-01...2024-01-02",
        cwd=project,
        env=no_home,
    )
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    days = "select _partition, count(*) from raw.orders group by 1 order by 1"
    loaded = query(pipeline_env.duckdb, days)
    assert [d for d, _ in loaded] == ["2024-01-01", "2024-01-02"] and all(n for _, n in loaded)
    with dg_instance(pipeline_env.dagster_home) as instance:
        (run,) = instance.get_runs()
        assert run.is_success and run.tags["dagster/asset_partition_range_end"] == "2024-01-02"
    # dg's own process ran it, and recorded itself as the run's worker (defs/executor.py)
    worker = Worker.parse(run.tags[WORKER_TAG])
    assert (worker.host, worker.run_id) == (socket.gethostname(), run.run_id)
    assert worker.pid != os.getpid() and worker.boot and worker.started


def dg_instance(home: Path) -> DagsterInstance:
    return DagsterInstance.from_config(str(home))


@pytest.mark.slow
def test_dg_check_defs_passes_and_warns_of_nothing():
    """`dg check defs` under `-W always` (PYTHONWARNINGS): the definitions load, and nothing
    it imports warns, dagster-dbt's own entry point included (test_structure.py, the rest)."""
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    checked = dg("check", "defs", env=env)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "All definitions loaded successfully." in checked.stdout + checked.stderr
    out = (checked.stdout + checked.stderr).splitlines()
    assert [line for line in out if "Warning" in line or "warnings.warn(" in line] == []
