"""The local run launcher: Dagster's default one, plus a health check of each run's worker.

Under `dagster dev` the DefaultRunLauncher starts run workers through the code server and
cannot tell whether one is still alive (`supports_check_run_worker_health` is False), so
Dagster's run monitoring never fails a run whose worker died, and the run keeps its queue
place and its pool slot. This launcher judges the worker each run records
(`lib/worker.py`): the monitoring daemon asks every `poll_interval_seconds` and fails a run
whose worker is dead, with the reason. A live worker, however slow, and one it cannot judge
(another host, not recorded yet) are RUNNING: only `max_runtime_seconds` ends those.
`pipeline_assets/dagster.yaml` configures it as the instance's `run_launcher`.
"""

from __future__ import annotations

import dagster as dg

# Dagster's types for a health check's answer; what its run monitoring daemon expects.
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

from pipeline_assets.lib.worker import DEAD, Machine, Verdict, judge, recorded_worker


def run_verdict(run: dg.DagsterRun, machine: Machine | None = None) -> Verdict:
    """What the run's recorded worker says about it, judged on this machine now."""
    return judge(recorded_worker(dict(run.tags), run.run_id), machine or Machine.this())


class WorkerCheckingRunLauncher(dg.DefaultRunLauncher):
    """DefaultRunLauncher whose run monitoring fails runs whose recorded worker died."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        verdict = run_verdict(run)
        status = WorkerStatus.FAILED if verdict.state == DEAD else WorkerStatus.RUNNING
        return CheckRunHealthResult(status, verdict.reason)
