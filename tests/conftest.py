"""Shared fixtures: an isolated pipeline environment per test, and a real moto S3 server."""

import os
from pathlib import Path

import pytest


class PipelineEnv:
    """Paths of one isolated pipeline: landing, processing, warehouse and Dagster home."""

    def __init__(self, root: Path):
        self.root = root
        self.landing = root / "landing"
        self.processing = root / "processing"
        self.duckdb = root / "warehouse.duckdb"
        self.features = root / "features"
        self.dagster_home = root / "dagster_home"
        self.dagster_home.mkdir(parents=True)
        self.landing.mkdir()  # the zone exists; a day in it may have no files
        (self.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    def write(self, key: str, text: str | bytes) -> None:
        path = self.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch) -> PipelineEnv:
    env = PipelineEnv(tmp_path)
    monkeypatch.setenv("PIPELINE_LANDING_URI", str(env.landing))
    monkeypatch.setenv("PIPELINE_PROCESSING_URI", str(env.processing))
    monkeypatch.setenv("PIPELINE_DUCKDB_PATH", str(env.duckdb))
    monkeypatch.setenv("PIPELINE_FEATURES_URI", str(env.features))
    monkeypatch.setenv("PIPELINE_TARGET", "dev")
    monkeypatch.setenv("DAGSTER_HOME", str(env.dagster_home))
    monkeypatch.setenv("PIPELINE_LOG_DIR", str(env.root / "logs"))
    monkeypatch.setenv("PIPELINE_ALERTS_FILE", str(env.root / "alerts.jsonl"))
    return env


@pytest.fixture(scope="session")
def moto_server():
    """A real S3 endpoint (moto's server) on 127.0.0.1 for the whole session."""
    from moto.server import ThreadedMotoServer
    from services import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(moto_server, monkeypatch):
    """boto3 pointed at moto through the standard AWS variables; returns a client factory."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)

    def client():
        return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])

    return client


def pytest_configure(config):
    """Re-parse the dbt project if it changed since the manifest was built (never run stale).

    Only in the main pytest process: xdist's workers start after it and share the manifest.
    """
    from pipeline_assets.defs.transform.project import dbt_project, manifest_is_stale, prepare_dbt
    from pipeline_assets.defs.warehouse import build_warehouse
    from pipeline_assets.lib.settings import Settings

    settings = Settings(os.environ)
    if not hasattr(config, "workerinput") and manifest_is_stale(dbt_project(settings)):
        prepare_dbt(dbt_project(settings), build_warehouse(settings).dbt_env())


# The files that take minutes (real dagster dev, daemon backfills, many dbt builds), longest
# first: `-n 2 --dist loadfile` hands out files in collection order, and a long file handed
# out last leaves the other worker idle at the end.
LONG_FILES = (  # by their measured total (--durations, -n 2), longest first
    "test_host_death.py",  # 273 s
    "test_ui.py",  # 171 s
    "test_transform.py",
    "test_cli.py",
    "test_faults.py",
    "test_recovery.py",
    "test_incremental_equals_rebuild.py",
    "test_sql_matches_oracle.py",
    "test_verify.py",
    "test_dockerfile.py",  # 108 s
    "test_bench.py",
    "test_new_dataset.py",  # 74 s
    "test_telemetry.py",
    "test_features.py",
    "test_properties.py",  # 44 s
)


def pytest_collection_modifyitems(items):
    """Run the long files first (a stable sort: order within a file is unchanged)."""
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def _no_leaked_defs_state_storage():
    """Each test starts without a current Dagster defs-state storage.

    Entering a `DagsterInstance` sets one in a context variable; an instance entered in one
    test and collected later leaves a dangling reference that breaks the next test to load
    definitions ("undefined DagsterInstance weakref"), depending on test order.
    """
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)
    yield
