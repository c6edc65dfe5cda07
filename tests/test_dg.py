"""The `dg` commands a Dagster user tries first, run as they are typed, in the repository."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from helpers import query

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

REPO = Path(__file__).parents[1]


def dg(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["dg", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_dg_lists_the_definitions_and_launches_a_partition_range(pipeline_env):
    listed = dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assets = {a["asset_key"] for a in json.loads(listed.stdout)["assets"]}
    assert {"raw/orders", "marts/orders_daily_summary", "features/customer_features"} <= assets

    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2), 50)
    launched = dg(
        "launch",
        "--assets",
        "key:processing/order_files,key:raw/orders",
        "--partition-range",
        "2024-01-01...2024-01-02",
    )
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    days = "select _partition, count(*) from raw.orders group by 1 order by 1"
    loaded = query(pipeline_env.duckdb, days)
    assert [d for d, _ in loaded] == ["2024-01-01", "2024-01-02"] and all(n for _, n in loaded)
