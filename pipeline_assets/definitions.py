"""The code location: the settings read once, and each domain under `defs/` built from them.

`dg dev`, `dg check defs`, `dagster dev -w workspace.yaml`, the Docker image's code server and
the `pipeline` command all load `defs` from here. This is the one place the code location
reads the environment; every domain gets the resulting `Settings`, so building again (a test
per isolated environment) gives definitions for the environment of that moment. The landing
datasets are the `LandingDataset` components declared under `defs/datasets/`: each builds its
own ingestion, and the landing sensor watches them all.
"""

import os
from collections.abc import Mapping

import dagster as dg

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.defs.automation import definitions as automation
from pipeline_assets.defs.executor import in_process_with_worker_tag
from pipeline_assets.defs.features import definitions as features
from pipeline_assets.defs.resources import build_resources
from pipeline_assets.defs.transform import definitions as transform
from pipeline_assets.lib.settings import Settings


def executor(settings: Settings) -> dg.ExecutorDefinition:
    """Local: every step of a run in the run's own process, which records itself so that a
    later process can tell it died (`defs/executor.py`). DuckDB takes one writer per file,
    so steps could not run in parallel anyway, and a process per step costs seconds each.
    Kubernetes: a pod per step (the K8sRunLauncher checks its run workers itself)."""
    if settings.on_kubernetes:
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.configured({"max_concurrent": 8})
    return in_process_with_worker_tag


def build_defs(env: Mapping[str, str] | None = None) -> dg.Definitions:
    """The definitions for `env` (default: this process's environment, as it is now)."""
    settings = Settings(os.environ if env is None else env)
    datasets = declared_datasets()
    return dg.Definitions.merge(
        *(dataset.build_dataset_defs(settings) for dataset in datasets),
        transform.build_defs(settings),
        features.build_defs(settings),
        automation.build_defs(settings, [(d, d.ingest_job) for d in datasets]),
        dg.Definitions(resources=build_resources(settings), executor=executor(settings)),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dg` and `dagster` load: the definitions for this process's environment."""
    return build_defs()
