"""The dbt project handle and its preparation; importable before a manifest exists."""

import fcntl
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from pipeline_assets.lib.settings import Settings

# The repository's dbt/ beside the package (`PIPELINE_DBT_PROJECT_DIR` where an image or a
# test put it elsewhere).
DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt"


def dbt_executable() -> str:
    """The dbt beside this interpreter, so an unactivated venv still finds it."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else "dbt"


@contextmanager
def dbt_environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the dbt processes started inside, and put back what was there.

    dagster-dbt hands dbt a copy of this process's environment and takes no other, so this
    is how the profile (`dbt/profiles.yml`) gets the warehouse ingestion uses: the same
    DuckDB file, by absolute path (dbt runs inside dbt/). The same value must be used when
    parsing and when running: the path is part of dbt's profile hash, and a different one
    throws away partial parsing.
    """
    old = {name: os.environ.get(name) for name in values}
    cwd = os.getcwd()
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.chdir(cwd)  # dagster-dbt's in-process adapter (row counts) chdirs into dbt/


@cache
def _project(project_dir: Path, target: str) -> DbtProject:
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir, target=target)


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project for these settings: its folder, and the target (`dev`/`prod`)."""
    folder = settings.get("PIPELINE_DBT_PROJECT_DIR")
    return _project(Path(folder).resolve() if folder else DBT_PROJECT_DIR, settings.target)


class ShopDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs per invocation that we never use.

    Before every dbt command dagster-dbt (0.29) runs `dbt --version` in a subprocess and
    builds an in-process dbt adapter (parsing every macro) that only its `fetch_row_counts`
    and `fetch_column_metadata` use; this project reads table metadata itself once dbt has
    exited (transform/metadata.py). Together 5.4 s of a one-day dbt run's 16 s
    (docs/benchmarks.md, Optimizations). dagster-dbt has no public option to skip either, so
    this overrides two private members, pinned by `dagster-dbt<0.30` and exercised by every
    dbt test here; the adapter is built lazily upstream since
    https://github.com/dagster-io/dagster/pull/20778 only for `fetch_*` callers in newer
    releases. Drop the class when dagster-dbt offers the switch.
    """

    @cached_property
    def _cli_version(self) -> Version:
        # dbt_executable() is the dbt installed beside this interpreter, i.e. this dbt-core.
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


def build_dbt_resource(project: DbtProject) -> DbtCliResource:
    return ShopDbtCliResource(project_dir=project, dbt_executable=dbt_executable())


def prepare_dbt(project: DbtProject, env: dict[str, str], target_path: Path | None = None) -> None:
    """`dbt parse` into target/ with the run-time target and warehouse (`env`, the warehouse
    resource's `dbt_env()`): make, CI, Docker, and any load after an edit.

    `target_path` (the benchmark's `DBT_TARGET_PATH`) is where later invocations look for the
    partial-parse file; it defaults to the project's own target/. One process parses at a
    time (a code server and a command loading at once would write the same files).
    """
    # The project's target_path is relative to the project, as dbt reads it, not to the cwd.
    target = Path(target_path) if target_path else project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".prepare.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with dbt_environment(env):
            build_dbt_resource(project).cli(["parse", "--quiet"], target_path=target).wait()


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any file of the dbt project."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    folder = Path(project.project_dir)
    sources = [folder / "dbt_project.yml", folder / "profiles.yml"]
    for sub in ("models", "macros"):
        sources += (folder / sub).rglob("*")
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)
