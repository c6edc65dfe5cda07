"""The Dagster instance the CLI, `make dev` and `dg` share: its settings, created once, kept sane.

Whichever command creates `DAGSTER_HOME` first, the instance gets the project's settings
(`pipeline_assets/dagster.yaml`: run queue limits, the run coordinator that tags runs with
their days, the warehouse-writer pool, run retries, run monitoring with the launcher that
checks run workers, telemetry off). An existing `dagster.yaml` is merged, never ignored: keys
it lacks are added, keys it sets are kept, and both are reported. Then the start-up check:
runs whose worker died (a killed command, a killed or rebooted `dagster dev`) are failed and
their pool slots freed (`fail_dead_runs`).

In a source checkout the same command also writes the project's `.env` (kept if present,
missing keys added), which `dg` and `dagster dev` read from the project root: the default
`DAGSTER_HOME`, so `dg launch` and `make dev` use the CLI's instance rather than a temporary
one, and `DAGSTER_DISABLE_TELEMETRY` when the instance's telemetry is off. The instance
setting alone does not stop `dagster-webserver` and `dagster-daemon` from uploading whatever
lies in `$DAGSTER_HOME/logs/` (dagster/_core/telemetry_upload.py); the variable does. The
project writes nothing there itself (its logs go to PIPELINE_LOG_DIR).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from pipeline_assets.launcher import run_verdict
from pipeline_assets.lib.settings import DEFAULTS
from pipeline_assets.lib.worker import DEAD, WORKER_TAG, Machine

# Dagster's own tags: a run's maximum number of automatic retries, its maximum runtime.
MAX_RETRIES_TAG = "dagster/max_retries"
MAX_RUNTIME_TAG = "dagster/max_runtime"
ENDED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def project_settings() -> dict[str, Any]:
    return yaml.safe_load(files("pipeline_assets").joinpath("dagster.yaml").read_text())


def merge_settings(
    user: Mapping[str, Any], project: Mapping[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """The user's settings plus every project key they lack; notes say what was added or
    kept. Lists are values: a user's list replaces the project's."""
    merged, notes = dict(user), []
    for key, value in project.items():
        name = f"{prefix}{key}"
        if key not in user:
            merged[key] = value
            notes.append(f"added {name}")
        elif isinstance(value, dict) and isinstance(user[key], dict):
            merged[key], deeper = merge_settings(user[key], value, f"{name}.")
            notes += deeper
        elif user[key] != value:
            notes.append(f"kept your {name}: {user[key]!r} (project: {value!r})")
    return merged, notes


def adopt_run_queue(
    user: Mapping[str, Any], project: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """An instance set up before the project had its run coordinator holds `run_queue`
    (installed by the project), which Dagster refuses beside `run_coordinator`: its settings
    become the project's coordinator's config, the user's values kept."""
    adopted = dict(user)
    if "run_queue" not in user or "run_coordinator" in user or "run_coordinator" not in project:
        return adopted, []
    coordinator = project["run_coordinator"]
    queue = adopted.pop("run_queue") or {}
    adopted["run_coordinator"] = {**coordinator, "config": {**coordinator["config"], **queue}}
    return adopted, ["moved your run_queue into run_coordinator.config"]


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    with open(home / ".init.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_instance(home: Path) -> list[str]:
    """Install the project's settings into DAGSTER_HOME (`home`) and create its storage, once.

    Under a lock: Dagster's SQLite storage initializes itself lazily and without one, so two
    commands started at once on a fresh home would both stamp its schema version ("alembic_
    version has more than one head"). Returns what the merge changed or kept.
    """
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    with _locked(home):
        user = yaml.safe_load(config.read_text()) if config.exists() else None
        adopted, notes = adopt_run_queue(user or {}, project_settings())
        merged, merge_notes = merge_settings(adopted, project_settings())
        notes += merge_notes
        if merged != user:
            tmp = config.with_suffix(".yaml.tmp")
            tmp.write_text(yaml.safe_dump(merged, sort_keys=False))
            os.replace(tmp, config)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
            instance.get_latest_materialization_event(dg.AssetKey("_init"))
            notes += fail_dead_runs(instance)
    if user is None:
        notes = [f"created {config} with the project's settings"]
    return notes + write_dotenv(merged)


def telemetry_disabled(config: Mapping[str, Any]) -> bool:
    """Dagster's own default is enabled."""
    return (config.get("telemetry") or {}).get("enabled", True) is False


def project_root() -> Path | None:
    """The source checkout this package runs from (an editable install, the image's /app)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "dbt").is_dir() else None


def dotenv_values(config: Mapping[str, Any], home: Path) -> dict[str, str]:
    """What the project's `.env` must say: an environment's DAGSTER_HOME wins, else `home`
    (dotenv's `${VAR:-default}`); DAGSTER_DISABLE_TELEMETRY if the instance's is off."""
    values = {"DAGSTER_HOME": f'"${{DAGSTER_HOME:-{home}}}"'}
    if telemetry_disabled(config):
        values["DAGSTER_DISABLE_TELEMETRY"] = "1"
    return values


def write_dotenv(config: Mapping[str, Any]) -> list[str]:
    """Add the project's keys that the checkout's `.env` lacks; never change a line in it."""
    root = project_root()
    if root is None:  # an installed wheel: no project root for dg to read a .env from
        return []
    path = root / ".env"
    text = path.read_text() if path.exists() else ""
    present = {
        line.split("=", 1)[0].removeprefix("export ").strip()
        for line in text.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    home = (root / DEFAULTS["DAGSTER_HOME"]).resolve()  # the checkout's own instance
    missing = {k: v for k, v in dotenv_values(config, home).items() if k not in present}
    if not missing:
        return []
    if not text:
        text = DOTENV_HEADER
    elif not text.endswith("\n"):
        text += "\n"
    text += "".join(f"{k}={v}\n" for k, v in missing.items())
    tmp = path.with_name(".env.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return [f"added {', '.join(missing)} to {path}"]


DOTENV_HEADER = """\
# Read by dg and dagster dev from the project root; written by `pipeline instance` (make
# install, make dev, every pipeline command), which adds missing keys and changes no line.
# DAGSTER_HOME: the instance the CLI uses, unless the environment sets another.
# DAGSTER_DISABLE_TELEMETRY: the instance's telemetry is off; this stops the webserver and
# daemon from uploading $DAGSTER_HOME/logs/ all the same.
"""


def run_tags(run_id: str) -> dict[str, str]:
    """The tags of a CLI run (`execute_in_process`, in this process): its worker, recorded at
    creation. No daemon retry (it cannot re-execute an in-process run: the command is run
    again) and no maximum runtime (its worker is known from the start, and the backstop
    could not stop a process it did not launch: it would only mark a live run failed)."""
    return {
        WORKER_TAG: Machine.this().worker(run_id).tag(),
        MAX_RETRIES_TAG: "0",
        MAX_RUNTIME_TAG: "0",
    }


def fail_dead_runs(instance: dg.DagsterInstance, machine: Machine | None = None) -> list[str]:
    """Fail the STARTED runs whose recorded worker is dead, cancel the CANCELING ones, and
    free their pool slots and those of runs that ended holding some; say what was done.

    After a host death (SIGKILL, OOM, a reboot) nothing else would: the dead run would stay
    STARTED, holding its `warehouse_writer` slot and its place in the queue, so a relaunch of
    its days would wait forever. A run whose worker is alive, however slow, or cannot be
    judged here (another host, not recorded yet), is left alone.
    """
    machine = machine or Machine.this()
    notes = []
    statuses = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)):
        verdict = run_verdict(run, machine)
        now = instance.get_run_by_id(run.run_id)  # the worker may have ended it, then exited
        if verdict.state != DEAD or now is None or now.status != run.status:
            continue
        if run.status == dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(run, verdict.reason)
            notes.append(f"marked failed: {run.run_id} ({verdict.reason})")
        else:
            instance.report_run_canceled(run, verdict.reason)
            notes.append(f"marked canceled: {run.run_id} ({verdict.reason})")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return notes + free_slots_of_ended_runs(instance)


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free the pool slots still held by runs that ended (terminated from the UI, failed by
    run monitoring) more than `free_slots_after_run_end_seconds` ago: what the monitoring
    daemon does, done at once for a command that runs without one."""
    storage = instance.event_log_storage
    holders = (
        storage.get_concurrency_run_ids() if storage.supports_global_concurrency_limits else []
    )
    if not holders:
        return []
    grace = instance.run_monitoring_settings.get("free_slots_after_run_end_seconds", 0)
    ended = instance.get_run_records(filters=dg.RunsFilter(run_ids=list(holders), statuses=ENDED))
    notes = []
    for record in ended:
        if record.end_time is not None and record.end_time + grace < time.time():
            storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
            notes.append(f"freed the pool slots of ended run {record.dagster_run.run_id}")
    return notes
