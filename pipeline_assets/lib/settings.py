"""Every setting the project takes from the environment: the one module that reads it.

Non-secret settings have documented local defaults (the README's table), so a fresh clone
runs with no configuration. Secrets are never read here: resources get them through
`dg.EnvVar`, dbt through `env_var()`; this module only says whether one is set.

Two settings choose where things run, independently:
- `PIPELINE_TARGET` is the warehouse engine and dbt target: `dev` = a DuckDB file,
  `prod` = Snowflake.
- `PIPELINE_RUNS_ON` is where steps run: `local` (in the run's process, Pipes as a
  subprocess) or `kubernetes` (a pod per step, Pipes as a pod).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

DEFAULTS = {
    "PIPELINE_LANDING_URI": "./data/landing",
    "PIPELINE_PROCESSING_URI": "./data/processing",
    "PIPELINE_DUCKDB_PATH": "./data/warehouse.duckdb",
    "PIPELINE_DUCKDB_MEMORY_LIMIT": "600MB",
    "PIPELINE_PARTITIONS_START": "2024-01-01",
    "PIPELINE_TARGET": "dev",
    "PIPELINE_RUNS_ON": "local",
    "PIPELINE_INGEST_DAYS_PER_RUN": "7",
    "PIPELINE_QUARANTINE_WARN_RATE": "0.05",
    "PIPELINE_QUARANTINE_FAIL_RATE": "0.5",
    "PIPELINE_SENSOR_LOOKBACK_DAYS": "3",
    "PIPELINE_SENSOR_INTERVAL_SECONDS": "15",
    "PIPELINE_CATCHUP_DAYS": "2",
    "PIPELINE_AUTOMATION_LOOKBACK_DAYS": "7",
    "PIPELINE_MARTS_FRESH_BY_HOUR": "6",
    "PIPELINE_ALERTS_FILE": "./data/alerts.jsonl",
    "PIPELINE_UI_URL": "http://127.0.0.1:3000",
    "PIPELINE_LOG_DIR": "./data/logs",
    "PIPELINE_SLACK_CHANNEL": "#data-alerts",
    "PIPELINE_FEATURES_URI": "./data/features",
    "PIPELINE_FEATURES_IMAGE": "pipeline-assets:latest",
    "PIPELINE_FEATURES_CPU": "1",
    "PIPELINE_FEATURES_MEMORY": "2Gi",
    "PIPELINE_K8S_NAMESPACE": "dagster",
    "PIPELINE_K8S_SECRET": "pipeline-assets-secrets",
    "PIPELINE_AUTOMATION": "on",
    "PIPELINE_DBT_PROJECT_DIR": "",
    "PIPELINE_FAULT": "",
    "DAGSTER_HOME": "./data/dagster_home",
}
CHOICES = {
    "PIPELINE_TARGET": ("dev", "prod"),
    "PIPELINE_RUNS_ON": ("local", "kubernetes"),
    "PIPELINE_AUTOMATION": ("on", "off"),
}


def setting(name: str) -> str:
    """A non-secret setting: the environment, else the documented default."""
    value = os.environ.get(name) or DEFAULTS[name]
    if name in CHOICES and value not in CHOICES[name]:
        raise ValueError(f"{name} must be one of {CHOICES[name]}, not {value!r}")
    return value


def local_or_uri(name: str) -> str:
    """A setting that is a URI or a local path; local paths become absolute at load time,
    so nothing that changes the working directory later (dbt does) can redirect writes."""
    value = setting(name)
    return value if "://" in value or value.startswith("md:") else os.path.abspath(value)


def target() -> str:
    """`dev` (DuckDB) or `prod` (Snowflake): the warehouse engine and dbt target."""
    return setting("PIPELINE_TARGET")


def on_kubernetes() -> bool:
    """Steps run as Kubernetes pods (Dagster+ Hybrid, Helm) rather than in the run's process."""
    return setting("PIPELINE_RUNS_ON") == "kubernetes"


def is_set(name: str) -> bool:
    """Whether a variable (a secret, say) is set, without reading it into a setting."""
    return bool(os.environ.get(name))


def present(names: Iterable[str]) -> dict[str, str]:
    """The named variables that are set (what a pod must be given)."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def snowflake_database(env: Mapping[str, str] | None = None) -> str:
    """This deployment's Snowflake database. A Dagster+ branch deployment writes to its own,
    `<SNOWFLAKE_DATABASE>_PR_<n>`, never to production's tables; dbt's profile
    (`dbt/profiles.yml`) renders the same name."""
    env = os.environ if env is None else env
    base = env.get("SNOWFLAKE_DATABASE")
    if not base:
        raise ValueError("PIPELINE_TARGET=prod needs SNOWFLAKE_DATABASE in the environment")
    if env.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1":
        return f"{base}_PR_{env['DAGSTER_CLOUD_PULL_REQUEST_ID']}"
    return base


def dagster_home() -> Path:
    """The instance's folder; set in the environment for Dagster itself if it was not."""
    home = Path(setting("DAGSTER_HOME")).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def exported(name: str, value: str) -> Iterator[None]:
    """Set a variable for the subprocesses started inside (dbt reads its profile from the
    environment), and put back what was there."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
