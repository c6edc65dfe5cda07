"""What an operator can change in the launchpad: every field of every operator-facing resource
alone, for one run, the others keeping their configured values (not the class defaults).

Judged by Dagster's own processing of the run config against the code location's asset job
(what a launch from the UI is checked and resolved with); `test_ui.py` launches such a run
through GraphQL and reads what its check saw.
"""

import dagster as dg
import pytest
from dagster._config import process_config
from helpers import DEPLOYED

from pipeline_assets.definitions import build_defs

KNOBS = ("alerts", "validation", "landing", "processing", "features", "features_pod", "warehouse")
# Configured values that differ from every class default and documented default.
CONFIGURED = {
    "PIPELINE_QUARANTINE_WARN_RATE": "0.2",
    "PIPELINE_QUARANTINE_FAIL_RATE": "0.7",
    "PIPELINE_DUCKDB_MEMORY_LIMIT": "500MB",
    "PIPELINE_SLACK_CHANNEL": "#ops",
    "PIPELINE_FEATURES_CPU": "3",
    "SLACK_BOT_TOKEN": "xoxb-configured",
}


def _other(value: object) -> object:
    """A value of the same kind as `value`, and different from it."""
    if isinstance(value, float):
        return round(value / 2 + 0.01, 6)
    if isinstance(value, dict):
        return {**value, "OVERRIDE": "1"}
    return f"{value}-override"


def _fields(job: dg.JobDefinition, key: str) -> list[str]:
    resources = job.run_config_schema.config_type.fields["resources"].config_type.fields
    return sorted(resources[key].config_type.fields["config"].config_type.fields)


def _resolved(job: dg.JobDefinition, run_config: dict) -> dict[str, dict]:
    """Each resource's config as a run launched with `run_config` gets it."""
    result = process_config(job.run_config_schema.config_type, run_config)
    assert result.success, result.errors
    return {key: value.get("config") for key, value in result.value["resources"].items()}


@pytest.mark.parametrize("where", ["local", "deployed"])
def test_every_knob_can_be_overridden_alone(where, monkeypatch):
    env = {**CONFIGURED, **(DEPLOYED if where == "deployed" else {"PIPELINE_TARGET": "dev"})}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # EnvVar secrets resolve from the process
    job = build_defs(env).resolve_implicit_global_asset_job_def()
    # An empty block takes every field's configured value (Dagster fills in an unused
    # resource, such as the sensor's alerts, only when the run config names it).
    empty = {key: {"config": {}} for key in KNOBS}
    configured = _resolved(job, {"resources": empty})
    assert configured["validation"]["quarantine_warn_rate"] == 0.2
    assert configured["validation"]["duckdb_memory_limit"] == "250MB"  # not the class's 175MB
    assert configured["alerts"]["slack_token"] == "xoxb-configured"
    overridden = 0
    for key in KNOBS:
        for field in _fields(job, key):
            value = _other(configured[key][field])
            run_config = {"resources": {**empty, key: {"config": {field: value}}}}
            assert _resolved(job, run_config) == {
                **configured,
                key: {**configured[key], field: value},
            }
            overridden += 1
    assert overridden == (18 if where == "local" else 22)  # Snowflake: 6 fields, DuckDB 2
