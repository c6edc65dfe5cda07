"""A run's worker, recorded and judged: the one rule behind the start-up check of every command
(`instance.fail_dead_runs`) and the run launcher's health check (`launcher.py`).

Real processes where they can be had (a live one, one that exited, a zombie); a reboot and a
reused pid are simulated by injecting the machine's boot id and process lookup.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace

import dagster as dg
import pytest

from pipeline_assets.defs.executor import in_process_with_worker_tag
from pipeline_assets.instance import ensure_instance, fail_dead_runs
from pipeline_assets.launcher import WorkerCheckingRunLauncher, run_verdict
from pipeline_assets.lib.worker import (
    ALIVE,
    DEAD,
    UNKNOWN,
    UNREADABLE,
    WORKER_TAG,
    Machine,
    Verdict,
    Worker,
    judge,
    recorded_worker,
)
from pipeline_assets.runner import run_range

HOST = socket.gethostname()


@pytest.fixture
def exited() -> int:
    """The pid of a process that ran and was reaped."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_live_process_is_alive_however_long_it_runs():
    machine = Machine.this()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        worker = machine.worker("r1", sleeper.pid)
        assert worker.started is not None
        sleeper.send_signal(signal.SIGSTOP)  # stopped: no progress at all, still alive
        verdict = judge(worker, machine)
        assert verdict.state == ALIVE, verdict
        sleeper.send_signal(signal.SIGCONT)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_process_that_exited_or_is_a_zombie_is_dead(exited):
    machine = Machine.this()
    assert judge(Worker(HOST, exited, machine.boot, "t1", "r1"), machine) == Verdict(
        DEAD,
        f"run worker on {HOST} (pid {exited}) died; its process is gone (killed, or out of memory)",
    )
    zombie = subprocess.Popen(["sleep", "60"])
    worker = machine.worker("r1", zombie.pid)
    zombie.kill()  # killed, not yet reaped by its parent (this test): a zombie
    time.sleep(0.2)
    try:
        assert judge(worker, machine).state == DEAD
    finally:
        zombie.wait()


def test_a_reboot_makes_every_worker_of_the_old_boot_dead():
    """Same host, same pid, even a process there now: another boot id means it is not ours."""
    machine = Machine.this()
    worker = machine.worker("r1")  # this very process, alive
    rebooted = replace(machine, boot="another-boot-id")
    verdict = judge(worker, rebooted)
    assert verdict.state == DEAD
    assert verdict.reason == f"run worker on {HOST} (pid {os.getpid()}) died; the machine restarted"


def test_a_reused_pid_does_not_count_as_alive():
    machine = Machine.this()
    worker = replace(machine.worker("r1"), started="t1")  # this pid, but started at another time
    verdict = judge(worker, machine)
    assert verdict.state == DEAD
    assert verdict.reason.endswith(f"died; pid {os.getpid()} is now another process")
    # the lookup is the one the judge uses: a fake machine whose pid started elsewhen
    elsewhen = Machine(HOST, machine.boot, lambda pid: "t999")
    assert judge(machine.worker("r1"), elsewhen).state == DEAD


def test_a_process_whose_start_cannot_be_read_is_taken_as_alive():
    """Another user's process under /proc's hidepid, or macOS's access rules: a guess never
    fails a run."""
    machine = Machine.this()
    unreadable = Machine(HOST, machine.boot, lambda pid: UNREADABLE)
    assert judge(machine.worker("r1"), unreadable).state == ALIVE


def test_another_host_or_no_record_is_unknown_never_dead():
    machine = Machine.this()
    assert judge(Worker("elsewhere", 1, "b", "t1", "r1"), machine).state == UNKNOWN
    assert judge(None, machine).state == UNKNOWN


def test_the_tag_round_trips_and_a_tag_written_for_another_run_is_no_record():
    worker = Machine.this().worker("run-a")
    assert Worker.parse(worker.tag()) == worker
    assert worker.tag().startswith(f"host={HOST} pid={os.getpid()} boot=")
    assert recorded_worker({WORKER_TAG: worker.tag()}, "run-a") == worker
    # a retry copies its parent's tags: until its own worker records itself, it has none
    assert recorded_worker({WORKER_TAG: worker.tag()}, "run-b") is None
    assert recorded_worker({"pipeline/process": f"{HOST}/42"}, "x") == Worker(HOST, 42)
    assert recorded_worker({WORKER_TAG: "garbage"}, "x") is None


def _add_run(instance: dg.DagsterInstance, run_id: str, status, worker: Worker | None) -> None:
    tags = {WORKER_TAG: worker.tag()} if worker else {}
    instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=status, tags=tags))


def test_the_startup_check_fails_dead_runs_frees_their_slots_and_leaves_the_rest(
    tmp_path, monkeypatch, exited
):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance(home)
    machine = Machine.this()
    started, canceling = dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING
    old_boot = replace(machine.worker("rebooted"), boot="the-boot-before")
    runs = {
        "killed": (started, Worker(HOST, exited, machine.boot, "t1", "killed")),
        "rebooted": (started, old_boot),
        "live": (started, machine.worker("live")),
        "elsewhere": (started, Worker("other-host", exited, "b", "t1", "elsewhere")),
        "unrecorded": (started, None),
        "cancel-dead": (canceling, Worker(HOST, exited, machine.boot, "t1", "cancel-dead")),
        "ended-long-ago": (dg.DagsterRunStatus.CANCELED, None),
    }
    with dg.DagsterInstance.get() as instance:
        for run_id, (status, worker) in runs.items():
            _add_run(instance, run_id, status, worker)
        storage = instance.event_log_storage
        storage.set_concurrency_slots("warehouse_writer", 3)
        for run_id in ("killed", "rebooted", "ended-long-ago"):
            assert storage.claim_concurrency_slot("warehouse_writer", run_id, "step").is_claimed
        instance.report_run_canceled(instance.get_run_by_id("ended-long-ago"))
        time.sleep(5.5)  # free_slots_after_run_end_seconds: 5

        notes = fail_dead_runs(instance)

        status = {run_id: instance.get_run_by_id(run_id).status for run_id in runs}
        assert status == {
            "killed": dg.DagsterRunStatus.FAILURE,
            "rebooted": dg.DagsterRunStatus.FAILURE,
            "live": started,
            "elsewhere": started,
            "unrecorded": started,
            "cancel-dead": dg.DagsterRunStatus.CANCELED,
            "ended-long-ago": dg.DagsterRunStatus.CANCELED,
        }
        assert storage.get_concurrency_info("warehouse_writer").active_slot_count == 0
        failure = instance.get_records_for_run("rebooted", of_type=dg.DagsterEventType.RUN_FAILURE)
        (event,) = failure.records
        assert event.event_log_entry.dagster_event.message == (
            f"run worker on {HOST} (pid {os.getpid()}) died; the machine restarted"
        )
    assert sorted(notes) == sorted(
        [
            f"marked failed: killed (run worker on {HOST} (pid {exited}) died; its process is "
            "gone (killed, or out of memory))",
            f"marked failed: rebooted (run worker on {HOST} (pid {os.getpid()}) died; the "
            "machine restarted)",
            f"marked canceled: cancel-dead (run worker on {HOST} (pid {exited}) died; its "
            "process is gone (killed, or out of memory))",
            "freed the pool slots of ended run ended-long-ago",
        ]
    )


def test_a_run_its_worker_ends_while_it_is_judged_keeps_how_it_ended(tmp_path, monkeypatch):
    """The worker writes the run's end, then exits, between the check's listing of STARTED
    runs and its judging: the run keeps the end its worker wrote."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance(home)
    machine = Machine.this()
    with dg.DagsterInstance.get() as instance:
        _add_run(instance, "ending", dg.DagsterRunStatus.STARTED, machine.worker("ending"))

        def ends_then_exits(pid: int) -> None:
            instance.report_run_canceled(instance.get_run_by_id("ending"), "its own end")
            return None  # and the process is gone

        assert fail_dead_runs(instance, replace(machine, process_start=ends_then_exits)) == []
        assert instance.get_run_by_id("ending").status == dg.DagsterRunStatus.CANCELED
        assert failure_of(instance, "ending") == []


def failure_of(instance: dg.DagsterInstance, run_id: str) -> list:
    return instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records


def test_the_launcher_fails_only_runs_whose_worker_is_dead(exited):
    launcher = WorkerCheckingRunLauncher()
    machine = Machine.this()

    def health(worker: Worker | None) -> tuple[str, str]:
        tags = {WORKER_TAG: worker.tag()} if worker else {}
        result = launcher.check_run_worker_health(
            dg.DagsterRun(job_name="j", run_id="r", tags=tags)
        )
        return result.status.value, result.msg

    assert launcher.supports_check_run_worker_health
    assert health(machine.worker("r")) == (
        "RUNNING",
        f"run worker on {HOST} (pid {os.getpid()}) is alive",
    )
    dead = Worker(HOST, exited, machine.boot, "t1", "r")
    assert health(dead)[0] == "FAILED" and "died; its process is gone" in health(dead)[1]
    assert health(replace(machine.worker("r"), boot="before"))[0] == "FAILED"
    assert health(None)[0] == "RUNNING"  # not recorded yet: never failed for that
    assert health(Worker("other-host", 1, "b", "t", "r"))[0] == "RUNNING"


@dg.op
def _a_step() -> int:
    return 1


@dg.job(executor_def=in_process_with_worker_tag)
def _recorded_job() -> None:
    _a_step()


def test_a_run_worker_records_itself_before_its_steps(tmp_path):
    """As a run the daemon launches executes (through the job's executor, not
    `execute_in_process`, which ignores it): the tag names this process and this run."""
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(dg.reconstructable(_recorded_job), instance)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        worker = Worker.parse(run.tags[WORKER_TAG])
        assert worker == Machine.this().worker(result.run_id)
        assert run_verdict(run).state == ALIVE


def test_a_cli_run_records_its_worker_at_creation_and_is_not_retried_by_the_daemon(tmp_path):
    day = dg.DailyPartitionsDefinition(start_date="2024-01-01")

    @dg.asset(partitions_def=day, backfill_policy=dg.BackfillPolicy.single_run())
    def a_day() -> None:
        pass

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = run_range(
            dg.Definitions(assets=[a_day]), [a_day.key], "2024-01-01", "2024-01-02", instance
        )
        assert result.success
        tags = instance.get_run_by_id(result.run_id).tags
    assert Worker.parse(tags[WORKER_TAG]) == Machine.this().worker(result.run_id)
    assert tags["dagster/max_retries"] == "0" and tags["dagster/max_runtime"] == "0"
