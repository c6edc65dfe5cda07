"""The host dies mid-run, for real: every process SIGKILLed mid-dbt, then restarted as the
README says; the dead run is failed with its cause, its pool slot freed, and the work
completes with no manual database or slot step (docs/operations.md, "After a crash").

- `make dev` killed whole (make, dg, dagster dev, webserver, daemon, code server, run worker,
  dbt) during a UI backfill of six days, then `make dev` again: the start-up check fails
  the run before the UI is up; the daemon retries it and the backfill completes; the
  operator's relaunch of the range completes too. Warehouse, built windows and features
  equal a clean build; the UI's partition stats are right; the writer lock is free.
- `pipeline backfill` killed whole mid-dbt, then `pipeline backfill` again.
- inside a live `dagster dev`: a run worker killed alone (the OOM killer's way) is failed by
  run monitoring through the launcher's health check and retried; a run worker stopped
  (SIGSTOP: alive, making no progress) through several monitoring rounds is not failed.

A reboot cannot be had here: `tests/test_worker.py` injects another boot id.
"""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psutil
import pytest
from conftest import PipelineEnv
from helpers import warehouse_state
from services import REPO, GraphQL, dagster_dev, free_port, pipeline

from pipeline_assets.lib.features import latest
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing
from pipeline_assets.lib.worker import WORKER_TAG, Worker

FIRST, LAST = date(2024, 1, 1), date(2024, 1, 6)
DAYS = [str(FIRST + timedelta(days=i)) for i in range((LAST - FIRST).days + 1)]
POOL = "warehouse_writer"
TIMEOUT_S = 600
HOST = socket.gethostname()
GONE = "died; its process is gone (killed, or out of memory)"

ASSETS = """
query { assetNodes { assetKey { path } isMaterializable partitionStats { numMaterialized numFailed } } }
"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}
"""


class Lab(PipelineEnv):
    """One pipeline's paths, the environment its processes get, and its instance."""

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PIPELINE_LANDING_URI": str(self.landing),
            "PIPELINE_PROCESSING_URI": str(self.processing),
            "PIPELINE_DUCKDB_PATH": str(self.duckdb),
            "PIPELINE_FEATURES_URI": str(self.features),
            "PIPELINE_LOG_DIR": str(self.root / "logs"),
            "PIPELINE_ALERTS_FILE": str(self.root / "alerts.jsonl"),
            "PIPELINE_PARTITIONS_START": str(FIRST),
            "PIPELINE_AUTOMATION": "off",
            "PIPELINE_TARGET": "dev",
            "DAGSTER_HOME": str(self.dagster_home),
            **extra,
        }

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.dagster_home))

    def published(self) -> dict[str, str | None]:
        """Each day's published features (the pointer's sha256)."""
        store = LocalStore(self.features)
        return {day: getattr(latest(store, day), "sha256", None) for day in DAYS}


def lab_at(root: Path) -> Lab:
    lab = Lab(root)
    seed_landing(LocalStore(lab.landing), FIRST, LAST, 200)
    return lab


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict:
    """The clean build every case must end equal to: the CLI's backfill of the six days."""
    lab = lab_at(tmp_path_factory.mktemp("clean"))
    done = pipeline("backfill", "--start", DAYS[0], "--end", DAYS[-1], env=lab.env())
    assert done.returncode == 0, done.stdout + done.stderr
    state = warehouse_state(lab.duckdb)
    assert state["marts.fct_orders"][0][1] > 800 and "intermediate.window_built" in state
    return {"warehouse": state, "features": lab.published()}


def launch_everything(graphql: GraphQL) -> str:
    """What *Materialize all* over the six days launches (docs/operations.md)."""
    nodes = graphql(ASSETS)["assetNodes"]
    keys = [{"path": n["assetKey"]["path"]} for n in nodes if n["isMaterializable"]]
    params = {"assetSelection": keys, "partitionNames": DAYS, "fromFailure": False}
    launched = graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for(what: str, predicate, log: Path, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out: {what}\n" + log.read_text()[-5000:]
        time.sleep(0.5)
    return value


def dbt_running(leader: int) -> psutil.Process | None:
    """A `dbt build` under `leader` that has been running for 2 s (past its start-up)."""
    try:
        processes = psutil.Process(leader).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for process in processes:
        try:
            args = process.cmdline()
            if "build" in args and any(Path(a).name == "dbt" for a in args):
                return process if time.time() - process.create_time() > 2 else None
        except psutil.NoSuchProcess:
            continue
    return None


def kill_group(leader: subprocess.Popen) -> list[int]:
    """SIGKILL the leader's whole process group; return its pids once every one is gone."""
    group = [p for p in psutil.process_iter() if _pgid(p.pid) == leader.pid]
    os.killpg(leader.pid, signal.SIGKILL)
    leader.wait(timeout=30)
    psutil.wait_procs([p for p in group if p.pid != leader.pid], timeout=30)
    assert [p.pid for p in psutil.process_iter() if _pgid(p.pid) == leader.pid] == []
    return [p.pid for p in group]


def _pgid(pid: int) -> int | None:
    """The process's group; None once it is gone (a zombie is gone: it runs nothing)."""
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return None
        return os.getpgid(pid)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return None


def the_run(instance: dg.DagsterInstance, **tags: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
    return runs[0] if runs else None


def failure_of(instance: dg.DagsterInstance, run_id: str) -> tuple[float, str] | None:
    """When the run was marked failed, and the message; None while it is not."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    if not records.records:
        return None
    entry = records.records[-1].event_log_entry
    return entry.timestamp, entry.dagster_event.message


def holders(instance: dg.DagsterInstance) -> set[str]:
    """The runs that hold (or wait for) a pool slot."""
    return set(instance.event_log_storage.get_concurrency_run_ids())


def backfill_done(graphql: GraphQL, backfill_id: str) -> str | None:
    status = graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]["status"]
    return None if status in ("REQUESTED", "CANCELING", "FAILING") else status


def assert_equals_clean_build(lab: Lab, clean: dict) -> None:
    assert warehouse_state(lab.duckdb) == clean["warehouse"]
    assert lab.published() == clean["features"]
    with open(f"{lab.duckdb}.writer.lock", "a+") as lock:  # the writer lock is free
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_make_dev_killed_mid_dbt_then_restarted_fails_the_run_and_the_work_completes(
    tmp_path, clean
):
    lab = lab_at(tmp_path)
    port = free_port()
    make_dev = ["make", "--no-print-directory", "dev", f"PORT={port}"]
    first_log, second_log = tmp_path / "make-dev-1.log", tmp_path / "make-dev-2.log"
    with dagster_dev(make_dev, port, lab.env(), first_log) as graphql:
        backfill_id = launch_everything(graphql)
        dbt = wait_for("dbt running", lambda: dbt_running(graphql.process.pid), first_log)
        with lab.instance() as instance:
            run = the_run(instance, **{"dagster/backfill": backfill_id})
            worker = Worker.parse(run.tags[WORKER_TAG])
            assert _claims(instance, run.run_id)  # the dbt step holds the writer slot
        killed = kill_group(graphql.process)
    assert worker.pid in killed and dbt.pid in killed  # the run worker and dbt died with it
    with lab.instance() as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        assert run.run_id in holders(instance)  # as the host died: STARTED, holding the slot

    restarted = time.time()
    with dagster_dev(make_dev, port, lab.env(), second_log) as graphql:
        with lab.instance() as instance:
            failed_at, message = wait_for(
                "the dead run failed", lambda: failure_of(instance, run.run_id), second_log, 60
            )
            assert message == f"run worker on {HOST} (pid {worker.pid}) {GONE}"
            assert failed_at - restarted < 60
            assert run.run_id not in holders(instance)  # its slot is free
        # make dev said so, before the UI came up
        assert f"instance: marked failed: {run.run_id} ({message})" in second_log.read_text()

        # What docs/operations.md tells the operator: relaunch the range (it waits for the
        # retry the daemon already started, then runs); both backfills complete.
        relaunched_at = time.time()
        relaunch = launch_everything(graphql)
        for backfill in (backfill_id, relaunch):
            status = wait_for("backfill", lambda b=backfill: backfill_done(graphql, b), second_log)
            assert status == "COMPLETED_SUCCESS", status
        done_at = time.time()
        with lab.instance() as instance:
            retry = the_run(instance, **{"dagster/parent_run_id": run.run_id})
            assert retry.status == dg.DagsterRunStatus.SUCCESS
            assert retry.tags["dagster/backfill"] == backfill_id  # the daemon's retry
        stats = {
            "/".join(n["assetKey"]["path"]): n["partitionStats"]
            for n in graphql(ASSETS)["assetNodes"]
            if n["isMaterializable"]
        }
        assert stats == dict.fromkeys(stats, {"numMaterialized": len(DAYS), "numFailed": 0})
    assert_equals_clean_build(lab, clean)
    print(
        f"\nmake dev restart -> run FAILED: {failed_at - restarted:.1f} s; "
        f"relaunch -> both backfills done: {done_at - relaunched_at:.1f} s"
    )


def _claims(instance: dg.DagsterInstance, run_id: str) -> list:
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return [c for c in info.claimed_slots if c.run_id == run_id]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pipeline_backfill_killed_mid_dbt_then_run_again_completes(tmp_path, clean):
    lab = lab_at(tmp_path)
    killed = start_backfill(lab, tmp_path / "killed.log")
    run, _ = kill_mid_dbt(lab, killed, tmp_path / "killed.log")

    again_at = time.time()
    again = pipeline("backfill", "--start", DAYS[0], "--end", DAYS[-1], env=lab.env())
    done_at = time.time()

    assert again.returncode == 0, again.stdout + again.stderr
    with lab.instance() as instance:
        failed_at, message = failure_of(instance, run.run_id)
        assert message == f"run worker on {HOST} (pid {killed.pid}) {GONE}"
        assert failed_at - again_at < 60
        assert run.run_id not in holders(instance)
        assert instance.get_run_by_id(run.run_id).tags["dagster/max_retries"] == "0"
    assert f"instance: marked failed: {run.run_id} ({message})" in again.stderr
    assert_equals_clean_build(lab, clean)
    print(
        f"\npipeline backfill again -> dead run FAILED: {failed_at - again_at:.1f} s, "
        f"done: {done_at - again_at:.1f} s"
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One `make dev` that stays up (a run worker dies inside it, or stalls)."""
    lab = lab_at(tmp_path_factory.mktemp("live"))
    port = free_port()
    log = lab.root / "make-dev.log"
    command = ["make", "--no-print-directory", "dev", f"PORT={port}"]
    with dagster_dev(command, port, lab.env(), log) as graphql:
        lab.graphql, lab.log = graphql, log
        yield lab


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_stalled_but_live_run_worker_is_never_failed(live):
    """SIGSTOP: the worker makes no progress at all, yet it is alive; run monitoring checks
    it round after round and leaves it; resumed, it finishes."""
    keys = [{"path": ["processing", "order_files"]}, {"path": ["raw", "orders"]}]
    params = {"assetSelection": keys, "partitionNames": DAYS[:1], "fromFailure": False}
    launched = live.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    backfill_id = launched["backfillId"]
    with live.instance() as instance:

        def recorded() -> Worker | None:
            run = the_run(instance, **{"dagster/backfill": backfill_id})
            worker = Worker.parse(run.tags.get(WORKER_TAG, "")) if run else None
            return worker if worker and worker.run_id == run.run_id else None

        worker = wait_for("the worker recorded", recorded, live.log)
        stalled = psutil.Process(worker.pid)
        stalled.suspend()
        try:
            checked = f"Checking run {worker.run_id}"
            before = live.log.read_text().count(checked)
            wait_for(
                "three monitoring rounds",
                lambda: live.log.read_text().count(checked) >= before + 3,
                live.log,
                90,
            )
            assert instance.get_run_by_id(worker.run_id).status == dg.DagsterRunStatus.STARTED
        finally:
            stalled.resume()
        status = wait_for(
            "the backfill", lambda: backfill_done(live.graphql, backfill_id), live.log
        )
        assert status == "COMPLETED_SUCCESS"
        assert instance.get_run_by_id(worker.run_id).status == dg.DagsterRunStatus.SUCCESS
        # Read once it runs again: stopped mid-write, the worker can hold its run's event-log
        # file locked (SQLite) for as long as it is stopped.
        assert failure_of(instance, worker.run_id) is None  # never failed, not even for a while


def start_backfill(lab: Lab, log: Path) -> subprocess.Popen:
    """`pipeline backfill` of the six days, in its own process group, as from a terminal."""
    command = [sys.executable, "-m", "pipeline_assets.cli", "backfill"]
    command += ["--start", DAYS[0], "--end", DAYS[-1]]
    with open(log, "w") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=lab.env(), stdout=out, stderr=out, start_new_session=True
        )


def kill_mid_dbt(lab: Lab, backfill: subprocess.Popen, log: Path) -> tuple[dg.DagsterRun, float]:
    """SIGKILL the command and its dbt once dbt runs: the run it leaves STARTED, slot held,
    and when it was killed."""
    try:
        wait_for("dbt running", lambda: dbt_running(backfill.pid), log)
        with lab.instance() as instance:
            run = the_run(instance, **{"pipeline/command": "backfill"})
            assert _claims(instance, run.run_id)  # the dbt step holds the writer slot
        killed_at = time.time()
        kill_group(backfill)
    finally:
        backfill.kill()  # (if the test failed before its kill)
        backfill.wait(timeout=60)
    assert backfill.returncode == -signal.SIGKILL
    return run, killed_at


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_killed_cli_run_is_failed_by_a_live_dagster_dev_and_the_ui_relaunch_completes(
    live, clean
):
    """No command runs after the kill: the daemon's run monitoring asks the launcher, which
    finds the worker dead; Dagster frees the slot; the UI's relaunch of the range runs."""
    backfill = start_backfill(live, live.root / "killed-backfill.log")
    run, killed_at = kill_mid_dbt(live, backfill, live.root / "killed-backfill.log")
    with live.instance() as instance:
        failed_at, message = wait_for(
            "the dead run failed", lambda: failure_of(instance, run.run_id), live.log, 60
        )
        reason = f"run worker on {HOST} (pid {backfill.pid}) {GONE}"
        assert message.startswith(f"Detected run worker status FAILED: '{reason}'. Marking run")
        wait_for("its slot freed", lambda: run.run_id not in holders(instance), live.log, 60)
        freed_at = time.time()
        relaunch = launch_everything(live.graphql)
        status = wait_for("the relaunch", lambda: backfill_done(live.graphql, relaunch), live.log)
        assert status == "COMPLETED_SUCCESS"
        assert the_run(instance, **{"dagster/parent_run_id": run.run_id}) is None  # no retry
    assert_equals_clean_build(live, clean)
    print(
        f"\nCLI run killed -> FAILED by the daemon: {failed_at - killed_at:.1f} s, "
        f"slot freed: {freed_at - killed_at:.1f} s"
    )
