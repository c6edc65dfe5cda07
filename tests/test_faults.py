"""Crash tests: SIGKILL a real `pipeline backfill` process at each fault point, then re-run it.

The invariant (issue 6): after the re-run, every raw, intermediate and mart table equals a
clean run's, no temporary or staging relation is left behind, and the processing zone never
shows a half-written file under a name readers use: every data file is a whole landing file
(or a whole, not yet removed retracted one), every manifest is whole and matches the files
it lists. The two copy points start from a processing zone holding a file of the day that
was since retracted from the landing zone, so they also prove when a retraction is applied
(with the manifest, not before) and that a re-run removes it. Transactional points (the raw
load, the dbt merge) start from an already loaded day, so the kill also proves that the
deleted rows come back: the warehouse right after the kill equals the warehouse before it.
The kill points live in tests/faultkit, put on every process's PYTHONPATH; nothing of them
ships in the package.

Speed: every run uses one fixed warehouse path and its own copy of the dbt project parsed for
that path once, so dbt never re-parses (a changed DuckDB path throws away partial parsing).
The files live on /dev/shm when there is one: SIGKILL kills a process, not the machine, so
the page cache survives exactly as on disk, and Dagster's SQLite run storage skips fsync.
"""

import json
import os
import shutil
import signal
import tempfile
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from faultkit.sitecustomize import (
    AFTER_COPY,
    AFTER_MANIFEST,
    DBT_MERGE,
    FAULT_ENV,
    FEATURES_BEFORE_POINTER,
    LOAD_TRANSACTION,
    LOG_ENV,
    POINTS,
    VALIDATION,
)
from helpers import warehouse_state
from services import pipeline

from pipeline_assets.lib.features import latest
from pipeline_assets.lib.manifest import (
    COPYING_PREFIX,
    MANIFEST_PREFIX,
    Manifest,
    copying_key,
    manifest_key,
    read_files,
)
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

DAY = "2024-01-01"
DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt"
FAULTKIT = Path(__file__).resolve().parent / "faultkit"  # on PYTHONPATH: every process
# Where each point fired, in order: dbt dies inside its merge, then the run's own process.
FIRED = {
    AFTER_COPY: ["before remove_retracted"],
    AFTER_MANIFEST: ["after snapshot"],
    VALIDATION: ["after Validator.validate_days"],
    LOAD_TRANSACTION: ["before Db.insert_parquet"],
    DBT_MERGE: ["inside the window_replace merge", "after _drain"],
    FEATURES_BEFORE_POINTER: ["before publish"],
}
STARTS_LOADED = (
    LOAD_TRANSACTION,
    DBT_MERGE,
    FEATURES_BEFORE_POINTER,
)  # the day is in the warehouse before the kill
WAREHOUSE_FILES = {"warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.writer.lock"}
COPY_POINTS = (AFTER_COPY, AFTER_MANIFEST)  # these start with retracted files in processing
# Processing files of the day from an earlier copy whose landing files were since deleted:
# valid rows, so loading them by mistake would change the warehouse.
RETRACTED = {
    "orders": (
        f"orders/date={DAY}/hour=05/retracted.csv",
        b"order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
        b"retracted-1,c-retracted,s01,2024-01-01T05:10:00Z,1000,80,1080,\n",
    ),
    "customers": (
        f"customers/date={DAY}/retracted.csv",
        b"customer_id,name,updated_at\nc-retracted,Retracted,2024-01-01T05:10:00Z\n",
    ),
}


class Lab:
    """Shared parts of the crash tests: landing data, dbt copy, fixed warehouse, reference."""

    def __init__(self, root: Path):
        self.root = root
        self.landing = root / "landing"
        self.dbt = root / "dbt"
        self.warehouse = root / "wh" / "warehouse.duckdb"
        self.reference = root / "reference"

    def env(self, case: Path, **extra: str) -> dict[str, str]:
        home = case / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
        return {
            **env,
            "PIPELINE_LANDING_URI": str(self.landing),
            "PIPELINE_PROCESSING_URI": str(case / "processing"),
            "PIPELINE_FEATURES_URI": str(case / "features"),
            "PIPELINE_DUCKDB_PATH": str(self.warehouse),
            "PIPELINE_DBT_PROJECT_DIR": str(self.dbt),
            "PIPELINE_TARGET": "dev",
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(FAULTKIT), env.get("PYTHONPATH")])),
            **extra,
        }

    def reset_warehouse(self) -> None:
        shutil.rmtree(self.warehouse.parent, ignore_errors=True)
        self.warehouse.parent.mkdir(parents=True)


def relations(path: Path) -> set[tuple[str, str, str]]:
    """Every table and view, temporary and staging ones included, as a new session sees them."""
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables"
        ).fetchall()
    return {tuple(r) for r in rows}


def assert_no_half_written_files(landing: Path, processing: Path) -> dict[str, set[str]]:
    """Every object a reader can see in the processing zone is whole: a landing file (or a
    retracted one not yet removed) byte for byte, a manifest whose files match it, or the
    marker of a copy that has not finished (whole JSON, for a day of a dataset).

    Returns the data keys per dataset, the datasets that have a manifest and those whose
    copy left its marker.
    """
    store = LocalStore(processing)
    visible = store.list("") if processing.exists() else []
    retracted = dict(RETRACTED.values())
    out: dict[str, set[str]] = {k: set() for k in ("orders", "customers", "manifests", "copying")}
    for obj in visible:
        assert not Path(obj.key).name.startswith(".tmp-")
        if obj.key.startswith(f"{COPYING_PREFIX}/"):
            dataset = obj.key.split("/")[1]
            assert obj.key == copying_key(dataset, DAY) and json.loads(store.read(obj.key))
            out["copying"].add(dataset)
            continue
        if obj.key.startswith(f"{MANIFEST_PREFIX}/"):
            manifest = Manifest.from_bytes(store.read(obj.key))
            assert obj.key == manifest_key(manifest.dataset, manifest.partition)
            read_files(store, manifest)  # every listed file present, sha256 as recorded
            landed = {o.key for o in LocalStore(landing).list(f"{manifest.dataset}/date={DAY}/")}
            assert {f.key for f in manifest.files} == landed, obj.key
            out["manifests"].add(manifest.dataset)
            continue
        whole = retracted.get(obj.key) or (landing / obj.key).read_bytes()
        assert (processing / obj.key).read_bytes() == whole, obj.key
        out[obj.key.split("/")[0]].add(obj.key)
    return out


def landing_keys(landing: Path, dataset: str) -> set[str]:
    return {o.key for o in LocalStore(landing).list(f"{dataset}/")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    fast = Path("/dev/shm")
    root = Path(
        tempfile.mkdtemp(prefix="pipeline-faults-", dir=fast)
        if fast.is_dir() and os.access(fast, os.W_OK)
        else tmp_path_factory.mktemp("faults")
    )
    lab = Lab(root)
    seed_landing(LocalStore(lab.landing), date(2024, 1, 1), date(2024, 1, 1))
    shutil.copytree(DBT_PROJECT, lab.dbt, ignore=shutil.ignore_patterns("target", "logs"))
    lab.reset_warehouse()
    env = lab.env(lab.reference)
    prepared = pipeline("prepare", env=env)
    assert prepared.returncode == 0, prepared.stderr
    clean = pipeline("backfill", "--start", DAY, "--end", DAY, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    shutil.move(lab.warehouse, lab.reference / "warehouse.duckdb")
    yield lab
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_sigkill_then_rerun_equals_a_clean_run(lab, point):
    reference = warehouse_state(lab.reference / "warehouse.duckdb")
    assert reference["marts.fct_orders"][0][1] > 900  # the reference holds the whole day
    case = lab.root / point
    lab.reset_warehouse()
    if point in STARTS_LOADED:
        shutil.copyfile(lab.reference / "warehouse.duckdb", lab.warehouse)
        shutil.copytree(lab.reference / "processing", case / "processing")
        shutil.copytree(lab.reference / "features", case / "features")
    if point in COPY_POINTS:
        for key, data in RETRACTED.values():
            LocalStore(case / "processing").write(key, data)
    before = warehouse_state(lab.warehouse)
    published = latest(LocalStore(case / "features"), DAY)

    fired = case / "fired.log"
    armed = lab.env(case, **{FAULT_ENV: point, LOG_ENV: str(fired)})
    killed = pipeline("backfill", "--start", DAY, "--end", DAY, env=armed)

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert fired.read_text().splitlines() == FIRED[point]
    # Nothing half-done is visible: the killed transaction rolled back, and the processing
    # zone only shows whole files (after the copy: all of them). The dbt models' pending
    # orders, recorded before any model changed, stay until a build applies them.
    after_kill = warehouse_state(lab.warehouse)
    pending = "intermediate.window_pending"
    if point == DBT_MERGE:
        assert after_kill.pop(pending)[0][1] > 0 and before.pop(pending) == [(None, 0, "0")]
    assert after_kill == before
    seen = assert_no_half_written_files(lab.landing, case / "processing")
    if point in COPY_POINTS:
        assert before == {}  # nothing was loaded
        # The first copy (one dataset) got this far; the other has not started.
        first, second = sorted(
            ("orders", "customers"), key=lambda ds: seen[ds] == {RETRACTED[ds][0]}
        )
        assert seen[second] == {RETRACTED[second][0]}
        copied = landing_keys(lab.landing, first)
        if point == AFTER_COPY:  # files copied; retraction not yet removed, no manifest yet
            assert seen[first] == copied | {RETRACTED[first][0]}
            assert seen["manifests"] == set() and seen["copying"] == {first}
        else:  # the retraction removed and the manifest written, nothing loaded
            assert seen[first] == copied
            assert seen["manifests"] == {first} and seen["copying"] == set()
    if point == VALIDATION:
        assert before == {}  # the raw load never started
    # Readers of the features still see what they saw before (the reference run's output),
    # even after the killed run wrote its own under its run id.
    assert latest(LocalStore(case / "features"), DAY) == published
    if point == FEATURES_BEFORE_POINTER:
        assert len(list((case / "features").glob(f"date={DAY}/run_id=*"))) == 2
    with dg.DagsterInstance.from_config(str(case / "dagster_home")) as instance:
        assert [r.status for r in instance.get_runs()][0] == dg.DagsterRunStatus.STARTED

    rerun = pipeline("backfill", "--start", DAY, "--end", DAY, env=lab.env(case))

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert warehouse_state(lab.warehouse) == reference
    assert relations(lab.warehouse) == relations(lab.reference / "warehouse.duckdb")
    assert {p.name for p in lab.warehouse.parent.iterdir()} <= WAREHOUSE_FILES  # no FIFO left
    seen = assert_no_half_written_files(lab.landing, case / "processing")
    for dataset in ("orders", "customers"):  # retractions removed, every landing file copied
        assert seen[dataset] == landing_keys(lab.landing, dataset)
    assert seen["manifests"] == {"orders", "customers"} and seen["copying"] == set()
    assert not list((case / "processing").rglob(".tmp-*"))
    features = latest(LocalStore(case / "features"), DAY)
    assert features.sha256 == latest(LocalStore(lab.reference / "features"), DAY).sha256
    with dg.DagsterInstance.from_config(str(case / "dagster_home")) as instance:
        newest = [r.status for r in instance.get_runs(limit=3)]
    # the re-run's two runs (ingest, warehouse) succeeded; the killed one, whose process is
    # gone, was marked failed by the re-run's first step (and its pool slot freed)
    assert newest == [dg.DagsterRunStatus.SUCCESS] * 2 + [dg.DagsterRunStatus.FAILURE]
