"""The code location: every definition under `defs/`, plus how this deployment runs steps.

`dg dev`, `dg check defs`, `dagster dev -w workspace.yaml`, the Docker image's code server and
the `pipeline` command all load `defs` from here.
"""

from pathlib import Path

import dagster as dg

from pipeline_assets.lib.settings import on_kubernetes


def executor() -> dg.ExecutorDefinition:
    """Local: every step of a run in the run's own process. DuckDB takes one writer per file,
    so steps could not run in parallel anyway, and a process per step costs seconds each.
    Kubernetes: a pod per step."""
    if on_kubernetes():
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.configured({"max_concurrent": 8})
    return dg.in_process_executor


def build_defs() -> dg.Definitions:
    """The definitions for the current settings, built anew on each call (a test builds one
    per isolated environment)."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=executor()),
    )


defs = dg.definitions(build_defs)
