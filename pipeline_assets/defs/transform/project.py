"""The dbt project handle and its preparation; importable before a manifest exists."""

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from pipeline_assets.lib.settings import exported, is_set, local_or_uri, setting, target

# The repository's dbt/ beside the package, or where an image put it.
DBT_PROJECT_DIR = Path(
    setting("PIPELINE_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[3] / "dbt"
)


def dbt_executable() -> str:
    """The dbt beside this interpreter, so an unactivated venv still finds it."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else "dbt"


@contextmanager
def absolute_warehouse_path() -> Iterator[None]:
    """dbt runs inside dbt/: hand it the same DuckDB file as ingestion, by absolute path.

    The same value must be used when parsing and when running: the DuckDB path is part of
    dbt's profile hash, and a different one throws away partial parsing.
    """
    cwd = os.getcwd()
    try:
        with exported("PIPELINE_DUCKDB_PATH", local_or_uri("PIPELINE_DUCKDB_PATH")):
            yield
    finally:
        # dagster-dbt's in-process adapter (row counts) chdirs into the dbt project.
        os.chdir(cwd)


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=target(),
)


class ShopDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs per invocation that we never use.

    Before every dbt command dagster-dbt runs `dbt --version` in a subprocess and builds an
    in-process dbt adapter (parsing every macro) that only its `fetch_row_counts` and
    `fetch_column_metadata` use; this project reads table metadata itself once dbt has exited
    (transform/assets.py). Measured in docs/benchmarks.md (Optimizations).
    """

    @cached_property
    def _cli_version(self) -> Version:
        # dbt_executable() is the dbt installed beside this interpreter, i.e. this dbt-core.
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


def build_dbt_resource() -> DbtCliResource:
    return ShopDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def prepare_dbt(target_path: Path | None = None) -> None:
    """`dbt parse` into target/ with the run-time target and warehouse path (make, CI, Docker).

    `target_path` (the benchmark's `DBT_TARGET_PATH`) is where later invocations look for the
    partial-parse file; it defaults to the project's own target/.
    """
    with absolute_warehouse_path():
        build_dbt_resource().cli(
            ["parse", "--quiet"], target_path=target_path or dbt_project.target_path
        ).wait()


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than any file of the dbt project."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros"):
        sources += (DBT_PROJECT_DIR / folder).rglob("*")
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


# Under `dg dev` / `dagster dev` (which set DAGSTER_IS_DEV_CLI), re-parse an edited project
# when the code location loads: dagster-dbt's prepare_if_dev would re-parse on every load
# and look for `dbt` on PATH, which an unactivated venv does not have.
if is_set("DAGSTER_IS_DEV_CLI") and manifest_is_stale():
    prepare_dbt()
