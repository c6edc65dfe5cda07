"""customer_features through Dagster Pipes: a real subprocess, real Parquet, the pointer."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from helpers import DEPLOYED, query

from pipeline_assets.definitions import build_defs
from pipeline_assets.lib.features import latest, publish, read_features, write_output
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.runner import backfill, failure_message, run_range

FEATURES = dg.AssetKey(["features", "customer_features"])


def test_publish_refuses_an_output_whose_bytes_changed(tmp_path):
    import pyarrow as pa

    store = LocalStore(tmp_path)
    good = write_output(store, "2024-01-01", "run-a", pa.table({"x": [1, 2]}))
    publish(store, good)
    bad = write_output(store, "2024-01-01", "run-b", pa.table({"x": [3]}))
    (tmp_path / bad.key).write_bytes(b"truncated")
    with pytest.raises(ValueError, match="pointer for 2024-01-01 was not moved"):
        publish(store, bad)
    assert latest(store, "2024-01-01") == good
    assert read_features(store, "2024-01-01").column("x").to_pylist() == [1, 2]


@pytest.mark.slow
def test_pipes_job_publishes_only_after_success(pipeline_env):
    """Run 1 publishes; run 2 fails half-way (readers keep run 1); run 3 publishes again."""
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 2))
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    report = backfill(
        date(2024, 1, 1), date(2024, 1, 2), echo=lambda _: None, defs=defs, instance=instance
    )
    assert report.ok, report.errors
    store = LocalStore(pipeline_env.features)
    first = {day: latest(store, day) for day in ("2024-01-01", "2024-01-02")}
    assert all(first.values())

    # The reader's view equals an independent computation from the marts.
    table = read_features(store, "2024-01-02").to_pylist()
    expected = dict(
        query(
            pipeline_env.duckdb,
            "select c.customer_id, count(o.order_id) from marts.dim_customers c "
            "left join marts.fct_orders o on o.customer_id = c.customer_id "
            "and o.order_date <= date '2024-01-02' "
            "where c.first_seen_date <= date '2024-01-02' group by 1",
        )
    )
    assert {r["customer_id"]: r["lifetime_orders"] for r in table} == expected
    assert len(table) == first["2024-01-02"].rows > 0

    # Run 2: day 1 gets written to its run path, day 2 cannot be written -> the process fails.
    (pipeline_env.features / "date=2024-01-02").rename(pipeline_env.root / "day2-aside")
    (pipeline_env.features / "date=2024-01-02").write_text("not a folder")
    failed = run_range(defs, [FEATURES], "2024-01-01", "2024-01-02", instance)
    assert not failed.success
    # the process's own exception is the step's error, not only its exit code
    assert "the features process failed: NotADirectoryError" in failure_message(failed)
    assert (pipeline_env.features / f"date=2024-01-01/run_id={failed.run_id}").is_dir()
    assert latest(store, "2024-01-01") == first["2024-01-01"]  # the pointer did not move
    assert read_features(store, "2024-01-01").to_pylist() == read_output(store, first["2024-01-01"])

    # Run 3, after the fault is gone, publishes identical content under a new run id.
    (pipeline_env.features / "date=2024-01-02").unlink()
    (pipeline_env.root / "day2-aside").rename(pipeline_env.features / "date=2024-01-02")
    again = run_range(defs, [FEATURES], "2024-01-01", "2024-01-02", instance)
    assert again.success
    for day, before in first.items():
        after = latest(store, day)
        assert after.run_id == again.run_id != before.run_id
        assert after.sha256 == before.sha256  # same marts -> byte-identical output
    meta = again.get_asset_materialization_events()[0].materialization.metadata
    assert meta["rows"].value == sum(o.rows for o in first.values())


def read_output(store: LocalStore, output) -> list[dict]:
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(store.read(output.key))).to_pylist()


PROD_ENV = {
    **DEPLOYED,
    "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
    "DAGSTER_CLOUD_PULL_REQUEST_ID": "42",
    "PIPELINE_FEATURES_IMAGE": "registry.example.com/pipeline-assets:abc123",
    "PIPELINE_FEATURES_CPU": "2",
    "PIPELINE_FEATURES_MEMORY": "6Gi",
}
PROBE = """
import json
from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.features.assets import launch_options
defs = build_defs()
job = defs.resolve_implicit_global_asset_job_def()
client = defs.resources["pipes_client"]
print(json.dumps({
    "executor": job.executor_def.name,
    "client": type(client).__name__,
    "database": defs.resources["warehouse"].database,
    "launch": launch_options(client, defs.resources["features_pod"]),
}))
"""


def test_prod_definitions_resolve_k8s_executor_and_pipes_client():
    """Loads the code location as a prod pod would, with dummy environment values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE],
        env={**env, **PROD_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["executor"] == "k8s"
    assert probe["client"] == "PipesK8sClient"
    assert probe["database"] == "SHOP_PR_42"
    launch = probe["launch"]
    assert launch["image"] == PROD_ENV["PIPELINE_FEATURES_IMAGE"]
    assert launch["command"] == ["python", "-m", "pipeline_assets.features_job"]
    container = launch["base_pod_spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "6Gi"}
    assert container["env_from"] == [{"secret_ref": {"name": "pipeline-assets-secrets"}}]
    snowflake_env = {k: v for k, v in launch["env"].items() if k.startswith("SNOWFLAKE")}
    assert snowflake_env == {"SNOWFLAKE_ACCOUNT": "dummy-account", "SNOWFLAKE_USER": "dummy-user"}
    assert not any("SECRET" in k or "PASSWORD" in k for k in launch["env"])


@pytest.mark.parametrize(
    "env, database",
    [
        ({"SNOWFLAKE_DATABASE": "SHOP"}, "SHOP"),
        ({"SNOWFLAKE_DATABASE": "SHOP", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "0"}, "SHOP"),
        (
            {
                "SNOWFLAKE_DATABASE": "SHOP",
                "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
                "DAGSTER_CLOUD_PULL_REQUEST_ID": "7",
            },
            "SHOP_PR_7",
        ),
    ],
)
def test_branch_deployments_get_their_own_database_in_python_and_dbt(env, database):
    """The Python resources and dbt's profile must agree on the branch database's name."""
    import jinja2
    import yaml

    from pipeline_assets.lib.settings import Settings

    assert Settings(env).snowflake_database() == database
    profile = Path(__file__).parents[1] / "dbt" / "profiles.yml"
    template = yaml.safe_load(profile.read_text())["shop"]["outputs"]["prod"]["database"]
    rendered = jinja2.Template(template).render(
        env_var=lambda name, default=None: env.get(name, default)
    )
    assert rendered == database


@pytest.mark.slow
def test_a_correction_that_moves_an_order_republishes_every_day_it_changes(pipeline_env, tmp_path):
    """Backfill three days, then move a day-1 order to day 2 (a later version in a day-2
    hour folder) and re-run only day 2: every published day's features equal a scratch
    build's, day 1 and day 3 included (cumulative features: lifetime and 30-day counts)."""
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 3), 100)
    defs = build_defs()
    with dg.DagsterInstance.ephemeral() as instance:
        assert backfill(
            date(2024, 1, 1), date(2024, 1, 3), defs=defs, instance=instance, echo=print
        ).ok
        (order_id, customer, subtotal, tax) = query(
            pipeline_env.duckdb,
            "select order_id, customer_id, order_total_cents - 8, 8 from marts.fct_orders "
            "where order_date = '2024-01-01' order by order_id limit 1",
        )[0]
        pipeline_env.write(
            "orders/date=2024-01-02/hour=05/move.csv",
            "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
            f"{order_id},{customer},s01,2024-01-02T05:30:00,{subtotal},{tax},{subtotal + tax},"
            "2024-01-09T00:00:00\n",
        )
        report = backfill(
            date(2024, 1, 2), date(2024, 1, 2), defs=defs, instance=instance, echo=print
        )
        assert report.ok, report.errors
        republished = [
            e.partition
            for e in instance.get_event_records(
                dg.EventRecordsFilter(
                    dg.DagsterEventType.ASSET_MATERIALIZATION, asset_key=FEATURES
                ),
                limit=3,
            )
            for e in [e.event_log_entry.dagster_event]
        ]
    assert sorted(republished) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    incremental = features_by_day(pipeline_env.features)

    scratch = {
        "PIPELINE_DUCKDB_PATH": tmp_path / "scratch.duckdb",
        "PIPELINE_PROCESSING_URI": tmp_path / "scratch-processing",
        "PIPELINE_FEATURES_URI": tmp_path / "scratch-features",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in scratch.items():
            patch.setenv(name, str(value))
        with dg.DagsterInstance.ephemeral() as instance:
            fresh = backfill(
                date(2024, 1, 1), date(2024, 1, 3), defs=build_defs(), instance=instance
            )
            assert fresh.ok, fresh.errors
    assert incremental == features_by_day(scratch["PIPELINE_FEATURES_URI"])


def features_by_day(root: Path) -> dict[str, tuple[int, str]]:
    store = LocalStore(root)
    return {
        day: (o.rows, o.sha256)
        for day in ("2024-01-01", "2024-01-02", "2024-01-03")
        if (o := latest(store, day))
    }
