"""The Dagster instance the CLI creates: the project's settings installed and merged, and
runs whose process died failed and their warehouse-writer slot freed."""

import os
import socket
import subprocess
import sys

import dagster as dg
import yaml
from services import pipeline

from pipeline_assets.instance import ensure_instance, merge_settings
from pipeline_assets.lib.worker import LEGACY_PROCESS_TAG
from pipeline_assets.run_coordinator import DaysTaggingRunCoordinator


def test_merge_adds_missing_keys_and_keeps_the_users():
    user = {"telemetry": {"enabled": True}, "run_retries": {"max_retries": 5}}
    project = {
        "telemetry": {"enabled": False},
        "run_retries": {"enabled": True, "max_retries": 2},
        "run_monitoring": {"enabled": True},
    }
    merged, notes = merge_settings(user, project)
    assert merged == {
        "telemetry": {"enabled": True},
        "run_retries": {"max_retries": 5, "enabled": True},
        "run_monitoring": {"enabled": True},
    }
    assert notes == [
        "kept your telemetry.enabled: True (project: False)",
        "added run_retries.enabled",
        "kept your run_retries.max_retries: 5 (project: 2)",
        "added run_monitoring",
    ]


def test_the_first_command_on_a_fresh_home_installs_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    done = pipeline("instance")
    assert done.returncode == 0, done.stderr
    assert "instance: created" in done.stderr
    with dg.DagsterInstance.get() as instance:  # the instance API, as dagster dev reads it
        # Dagster's queue, tagging each run it queues with its days (test_ui, test_recovery)
        assert type(instance.run_coordinator) is DaysTaggingRunCoordinator
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        per_day = {"value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        assert queue.tag_concurrency_limits == [
            {"key": key, **per_day}
            for key in (
                "dagster/partition",
                "dagster/asset_partition_range_start",
                "dagster/asset_partition_range_end",
            )
        ]
        pools = instance.get_concurrency_config().pool_config
        assert (pools.pool_granularity.value, pools.default_pool_limit) == ("op", 1)
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_monitoring_enabled
        assert type(instance.run_launcher).__name__ == "WorkerCheckingRunLauncher"
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_monitoring_poll_interval_seconds == 10
        assert instance.run_monitoring_max_runtime_seconds == 6 * 3600
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 5
    assert pipeline("instance").stderr == ""  # nothing left to add: silent


def test_an_existing_file_is_merged_and_what_it_keeps_is_said(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_retries:\n  enabled: true\n  max_retries: 5\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    done = pipeline("instance")
    assert done.returncode == 0, done.stderr
    assert "instance: kept your run_retries.max_retries: 5 (project: 2)" in done.stderr
    assert "instance: added concurrency" in done.stderr
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["run_retries"]["max_retries"] == 5
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_a_cli_run_whose_process_died_is_failed_and_frees_its_slot(tmp_path, monkeypatch):
    """A run tagged as CLI runs were before workers recorded their boot (`<host>/<pid>`):
    still judged by its pid (tests/test_worker.py has the current tag)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    ensure_instance(tmp_path / "home")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with dg.DagsterInstance.get() as instance:
        tags = {LEGACY_PROCESS_TAG: f"{socket.gethostname()}/{gone.pid}"}
        alive = {LEGACY_PROCESS_TAG: f"{socket.gethostname()}/{os.getpid()}"}
        for run_id, run_tags in (("dead-run", tags), ("live-run", alive)):
            instance.add_run(
                dg.DagsterRun(
                    job_name="__ASSET_JOB",
                    run_id=run_id,
                    status=dg.DagsterRunStatus.STARTED,
                    tags=run_tags,
                )
            )
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("warehouse_writer")
        assert storage.claim_concurrency_slot("warehouse_writer", "dead-run", "raw__orders")
        assert storage.get_concurrency_info("warehouse_writer").active_slot_count == 1

    ensure_instance(tmp_path / "home")  # what every pipeline command does first

    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id("dead-run").status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id("live-run").status == dg.DagsterRunStatus.STARTED
        info = instance.event_log_storage.get_concurrency_info("warehouse_writer")
        assert info.active_slot_count == 0


def test_the_project_env_file_names_the_instance_and_keeps_the_users_lines(tmp_path, monkeypatch):
    """`dg` and `dagster dev` read the project root's .env: the checkout's instance unless
    the environment sets one, and telemetry off when the instance says so."""
    import pipeline_assets.instance as instance_module

    monkeypatch.setattr(instance_module, "project_root", lambda: tmp_path)
    (tmp_path / ".env").write_text("# mine\nSNOWFLAKE_USER=me\n")
    off = {"telemetry": {"enabled": False}}
    assert instance_module.write_dotenv(off) == [
        f"added DAGSTER_HOME, DAGSTER_DISABLE_TELEMETRY to {tmp_path / '.env'}"
    ]
    home = (tmp_path / "data" / "dagster_home").resolve()
    assert (tmp_path / ".env").read_text() == (
        "# mine\nSNOWFLAKE_USER=me\n"
        f'DAGSTER_HOME="${{DAGSTER_HOME:-{home}}}"\nDAGSTER_DISABLE_TELEMETRY=1\n'
    )
    assert instance_module.write_dotenv(off) == []  # nothing missing: the file is left alone

    from dotenv import dotenv_values as read

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert read(tmp_path / ".env")["DAGSTER_HOME"] == str(home)
    monkeypatch.setenv("DAGSTER_HOME", "/elsewhere")
    assert read(tmp_path / ".env")["DAGSTER_HOME"] == "/elsewhere"  # the environment wins

    (tmp_path / ".env").unlink()
    instance_module.write_dotenv({"telemetry": {"enabled": True}})  # the user's choice
    assert "\nDAGSTER_DISABLE_TELEMETRY=" not in (tmp_path / ".env").read_text()


def test_an_instance_with_the_old_run_queue_gets_the_coordinator_and_keeps_its_values(tmp_path):
    """Homes set up before the coordinator hold the project's old `run_queue`, which Dagster
    refuses beside `run_coordinator`: it moves into the coordinator's config."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_queue:\n  dequeue_interval_seconds: 3\n")
    notes = ensure_instance(home)
    assert "moved your run_queue into run_coordinator.config" in notes
    assert "run_queue" not in yaml.safe_load((home / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, DaysTaggingRunCoordinator)
        assert instance.run_coordinator.dequeue_interval_seconds == 3
