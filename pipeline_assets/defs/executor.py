"""The local executor: Dagster's in-process executor, whose run worker records itself first.

A run launched by the daemon or the UI executes in a run worker process that `dagster dev`'s
code server spawns. Before executing the plan, this executor writes the worker (host, boot
id, pid, process start, run id: `lib/worker.py`) into the run's `pipeline/worker` tag, so
that the launcher's health check and every command's start-up check can tell, later and
from another process, that the worker died. CLI runs (`execute_in_process`, which ignores
the job's executor) get the same tag when they are created (`instance.run_tags`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from pipeline_assets.lib.worker import WORKER_TAG, Machine

NAME = "in_process_with_worker_tag"


class WorkerRecordingExecutor(dg.Executor):
    """Records the worker in the run's tags, then hands the plan to the wrapped executor."""

    def __init__(self, inner: dg.Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> Any:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self._inner.step_dependency_config

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        run_id = plan_context.run_id
        worker = Machine.this().worker(run_id)
        plan_context.instance.add_run_tags(run_id, {WORKER_TAG: worker.tag()})
        yield from self._inner.execute(plan_context, execution_plan)


def _create(init_context: dg.InitExecutorContext) -> dg.Executor:
    inner = dg.in_process_executor.executor_creation_fn
    assert inner is not None  # Dagster's in-process executor always has one
    return WorkerRecordingExecutor(inner(init_context))


in_process_with_worker_tag = dg.ExecutorDefinition(
    name=NAME,
    config_schema=dg.in_process_executor.config_schema.as_field(),
    executor_creation_fn=_create,
    description="Every step in the run worker's process, which records itself in the "
    "run's pipeline/worker tag first.",
)
