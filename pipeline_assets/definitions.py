"""The code location: every definition under `defs/`, plus how this deployment runs steps.

`dg dev`, `dg check defs`, `dagster dev -w workspace.yaml`, the Docker image's code server and
the `pipeline` command all load `defs` from here.
"""

from pathlib import Path

import dagster as dg

import pipeline_assets.defs
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
    per isolated environment). What `dg.load_from_defs_folder` does, minus its search for a
    pyproject.toml beside the package, which an installed image does not have."""
    package = Path(pipeline_assets.defs.__file__).resolve().parents[1]
    return dg.Definitions.merge(
        dg.components.load_defs(pipeline_assets.defs, project_root=package.parent),
        dg.Definitions(executor=executor()),
    )


defs = dg.definitions(build_defs)
