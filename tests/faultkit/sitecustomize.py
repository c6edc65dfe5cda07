"""Kill points for the crash tests (tests/test_faults.py), outside the shipped package.

A process started with this folder on PYTHONPATH and `PIPELINE_FAULT=<point>` imports this
file at startup (Python's `sitecustomize` hook): the `pipeline` command, dbt, the Pipes
process alike. It wraps the functions that border the point, as each module is imported,
so that the process SIGKILLs itself exactly there. SIGKILL rather than an exception: nothing
gets to run a `finally`, roll back or close a file, as with the OOM killer or a lost node.
Without `PIPELINE_FAULT` it does nothing. docs/reliability.md lists what a re-run does after
each point.
"""

from __future__ import annotations

import functools
import importlib.abc
import os
import re
import signal
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

FAULT_ENV = "PIPELINE_FAULT"
LOG_ENV = "FAULTKIT_LOG"  # a file each firing point appends its place to, before the kill
AFTER_COPY = "after_copy"  # files copied; retractions not yet removed, no new manifest yet
AFTER_MANIFEST = "after_manifest"  # a manifest is written, nothing is loaded yet
VALIDATION = "validation"  # the days validated and written out as Parquet; nothing loaded
LOAD_TRANSACTION = "load_transaction"  # raw load: partition rows deleted, not yet committed
DBT_MERGE = "dbt_merge"  # dbt's window_replace: window deleted, not yet inserted or committed
# customer_features: the Pipes process wrote its run's output, the pointer is not yet moved
FEATURES_BEFORE_POINTER = "features_before_pointer"

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


def die(where: str) -> None:
    """Say where (so a test can tell the point fired there), then SIGKILL this process."""
    if os.environ.get(LOG_ENV):
        with open(os.environ[LOG_ENV], "a") as log:
            log.write(f"{where}\n")
    os.kill(os.getpid(), signal.SIGKILL)


def before(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        die(f"before {fn.__qualname__}")
        return fn(*args, **kwargs)

    return wrapper


def after(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        die(f"after {fn.__qualname__}")
        return result

    return wrapper


# The merge of macros/incremental_window_replace.sql: its first delete, up to the `;`, then
# the insert from dbt's temporary relation, all sent to DuckDB as one string.
MERGE = re.compile(r"\s*(?:/\*.*?\*/\s*)?(delete from [^;]*;)", re.S)


def inside_merge(execute: Callable[..., Any]) -> Callable[..., Any]:
    """dbt-duckdb's cursor: run only the merge's delete, inside the model's transaction."""

    @functools.wraps(execute)
    def wrapper(self: Any, sql: str, bindings: Any = None) -> Any:
        first = MERGE.match(sql)
        if first and "insert into" in sql and "__dbt_tmp" in sql:
            execute(self, first.group(1))
            die("inside the window_replace merge")
        return execute(self, sql, bindings)

    return wrapper


# point -> (module, attribute, wrapper): where each point sits, in the modules that hold it.
POINTS: dict[str, list[tuple[str, str, Wrap]]] = {
    AFTER_COPY: [("pipeline_assets.lib.manifest", "remove_retracted", before)],
    AFTER_MANIFEST: [("pipeline_assets.lib.manifest", "snapshot", after)],
    VALIDATION: [("pipeline_assets.lib.validate", "Validator.validate_days", after)],
    LOAD_TRANSACTION: [("pipeline_assets.lib.warehouse", "Db.insert_parquet", before)],
    DBT_MERGE: [
        ("dbt.adapters.duckdb.environments.local", "DuckDBCursorWrapper.execute", inside_merge),
        # dbt died inside its merge; now the run's own process, as when a whole run is killed
        ("pipeline_assets.defs.transform.assets", "_drain", after),
    ],
    FEATURES_BEFORE_POINTER: [("pipeline_assets.lib.features", "publish", before)],
}


def _patch(module: ModuleType, attribute: str, wrap: Wrap) -> None:
    *owner_path, name = attribute.split(".")
    owner: Any = module
    for part in owner_path:
        owner = getattr(owner, part)
    setattr(owner, name, wrap(getattr(owner, name)))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of each module a point lives in."""

    def __init__(self, patches: list[tuple[str, str, Wrap]]) -> None:
        self.patches = patches

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        mine = [(attr, wrap) for module, attr, wrap in self.patches if module == name]
        if not mine:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            for attribute, wrap in mine:
                _patch(module, attribute, wrap)

        spec.loader.exec_module = exec_and_patch
        return spec


def install(point: str) -> None:
    if point not in POINTS:
        raise ValueError(f"{FAULT_ENV}={point!r}: not one of {sorted(POINTS)}")
    sys.meta_path.insert(0, _PatchOnImport(POINTS[point]))


if os.environ.get(FAULT_ENV):
    install(os.environ[FAULT_ENV])
