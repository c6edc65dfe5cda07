"""The Dagster instance the CLI and `make dev` share: its settings, created once, kept sane.

Whichever command creates `DAGSTER_HOME` first, the instance gets the project's settings
(`pipeline_assets/dagster.yaml`: run queue limits, the warehouse-writer pool, run retries,
run monitoring). An existing `dagster.yaml` is merged, never ignored: keys it lacks are
added, keys it sets are kept, and both are reported.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from pipeline_assets.lib.settings import dagster_home

# Tags on every run the CLI starts, so a later command can tell that its process is gone.
PID_TAG = "pipeline/pid"
HOST_TAG = "pipeline/host"


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


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    with open(home / ".init.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_instance() -> list[str]:
    """Install the project's settings into DAGSTER_HOME and create its storage, once.

    Under a lock: Dagster's SQLite storage initializes itself lazily and without one, so two
    commands started at once on a fresh home would both stamp its schema version ("alembic_
    version has more than one head"). Returns what the merge changed or kept.
    """
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    with _locked(home):
        user = yaml.safe_load(config.read_text()) if config.exists() else None
        merged, notes = merge_settings(user or {}, project_settings())
        if merged != user:
            tmp = config.with_suffix(".yaml.tmp")
            tmp.write_text(yaml.safe_dump(merged, sort_keys=False))
            os.replace(tmp, config)
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
            instance.get_latest_materialization_event(dg.AssetKey("_init"))
            notes += [f"marked failed: {r}" for r in fail_dead_runs(instance)]
    return notes if user is not None else [f"created {config} with the project's settings"]


def run_tags() -> dict[str, str]:
    """Tags that tie a CLI run to this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, and free the pool slots of, CLI runs whose process died (SIGKILL, OOM).

    With no daemon watching in-process runs, a killed run would stay STARTED and keep its
    `warehouse_writer` slot forever, blocking every later writer.
    """
    host = socket.gethostname()
    dead = []
    started = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for run in started:
        pid = run.tags.get(PID_TAG)
        if run.tags.get(HOST_TAG) == host and pid and pid.isdigit() and not _alive(int(pid)):
            instance.report_run_failed(run, f"its process {pid} on {host} is gone")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            dead.append(run.run_id)
    return dead
