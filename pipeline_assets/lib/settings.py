"""Every setting the project takes from the environment, with its documented default.

A `Settings` is a snapshot of an environment taken where something is built: the code
location's definitions (`definitions.py`), a `pipeline` command (`cli.py`). Nothing here
reads or writes the process environment. Non-secret settings have local defaults (the
README's table), so a fresh clone runs with no configuration. Secrets are never read: resources
get them through `dg.EnvVar`, dbt through `env_var()`; a `Settings` only says whether one is set.

Two settings choose where things run, independently:
- `PIPELINE_TARGET` is the warehouse engine and dbt target: `dev` = a DuckDB file,
  `prod` = Snowflake.
- `PIPELINE_RUNS_ON` is where steps run: `local` (in the run's process, Pipes as a
  subprocess) or `kubernetes` (a pod per step, Pipes as a pod).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

DEFAULTS = {
    "PIPELINE_LANDING_URI": "./data/landing",
    "PIPELINE_PROCESSING_URI": "./data/processing",
    "PIPELINE_DUCKDB_PATH": "./data/warehouse.duckdb",
    "PIPELINE_DUCKDB_MEMORY_LIMIT": "350MB",
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
    "DAGSTER_HOME": "./data/dagster_home",
}
CHOICES = {
    "PIPELINE_TARGET": ("dev", "prod"),
    "PIPELINE_RUNS_ON": ("local", "kubernetes"),
    "PIPELINE_AUTOMATION": ("on", "off"),
}


class Settings:
    """The settings of one environment (a copy: later changes to it are not seen)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)

    def get(self, name: str) -> str:
        """A non-secret setting: the environment's value, else the documented default."""
        value = self._env.get(name) or DEFAULTS[name]
        if name in CHOICES and value not in CHOICES[name]:
            raise ValueError(f"{name} must be one of {CHOICES[name]}, not {value!r}")
        return value

    def integer(self, name: str) -> int:
        return int(self.get(name))

    def number(self, name: str) -> float:
        return float(self.get(name))

    def location(self, name: str) -> str:
        """A URI or a local path; local paths become absolute now, so nothing that changes
        the working directory later (dbt does) can redirect reads or writes."""
        value = self.get(name)
        return value if "://" in value or value.startswith("md:") else os.path.abspath(value)

    @property
    def target(self) -> str:
        """`dev` (DuckDB) or `prod` (Snowflake): the warehouse engine and dbt target."""
        return self.get("PIPELINE_TARGET")

    @property
    def on_kubernetes(self) -> bool:
        """Steps run as Kubernetes pods (Dagster+ Hybrid, Helm), not in the run's process."""
        return self.get("PIPELINE_RUNS_ON") == "kubernetes"

    @property
    def automation_on(self) -> bool:
        """Schedules and sensors start running (off: a sandbox; an operator can start them)."""
        return self.get("PIPELINE_AUTOMATION") == "on"

    @property
    def dagster_home(self) -> Path:
        return Path(self.get("DAGSTER_HOME")).resolve()

    def is_set(self, name: str) -> bool:
        """Whether a variable (a secret, say) is set, without reading it into a setting."""
        return bool(self._env.get(name))

    def present(self, names: Iterable[str]) -> dict[str, str]:
        """The named variables that are set (what a pod must be given)."""
        return {name: self._env[name] for name in names if self._env.get(name)}

    def snowflake_database(self) -> str:
        """This deployment's Snowflake database. A Dagster+ branch deployment writes to its
        own, `<SNOWFLAKE_DATABASE>_PR_<n>`, never to production's tables; dbt's profile
        (`dbt/profiles.yml`) renders the same name."""
        base = self._env.get("SNOWFLAKE_DATABASE")
        if not base:
            raise ValueError("PIPELINE_TARGET=prod needs SNOWFLAKE_DATABASE in the environment")
        if self._env.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1":
            return f"{base}_PR_{self._env['DAGSTER_CLOUD_PULL_REQUEST_ID']}"
        return base


def half_memory(limit: str) -> str:
    """Half a DuckDB memory limit (`350MB` -> `175MB`). The load step holds two DuckDBs at
    once, the validator's and the warehouse connection, and together they stay within
    `PIPELINE_DUCKDB_MEMORY_LIMIT`, as dbt (one DuckDB) does."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", limit)
    if match is None:
        raise ValueError(f"PIPELINE_DUCKDB_MEMORY_LIMIT must look like 600MB, not {limit!r}")
    return f"{float(match[1]) / 2:g}{match[2]}"
