"""Fault injection for the crash tests: SIGKILL this process at a named point.

`PIPELINE_FAULT=<point>` arms one point. Unset (always, outside the crash tests) a call is one
environment lookup. SIGKILL rather than an exception: nothing in the process gets to run a
`finally`, roll back or close a file, exactly as with the OOM killer or a lost node.
See docs/reliability.md for the points and what a re-run does after each.
"""

from __future__ import annotations

import os
import signal

from pipeline_assets.lib.settings import setting

FAULT_ENV = "PIPELINE_FAULT"

AFTER_COPY = "after_copy"  # files copied; retractions not yet removed, no new manifest yet
AFTER_MANIFEST = "after_manifest"  # the manifest is written, nothing is loaded yet
VALIDATION = "validation"  # the day validated and written out as Parquet; nothing loaded yet
LOAD_TRANSACTION = "load_transaction"  # raw load: partition rows deleted, not yet committed
DBT_MERGE = "dbt_merge"  # dbt's window_replace: window deleted, not yet inserted or committed
# customer_features: the Pipes process wrote its run's output, the pointer is not yet moved
FEATURES_BEFORE_POINTER = "features_before_pointer"
POINTS = (
    AFTER_COPY,
    AFTER_MANIFEST,
    VALIDATION,
    LOAD_TRANSACTION,
    DBT_MERGE,
    FEATURES_BEFORE_POINTER,
)


def armed(point: str) -> bool:
    """True when this run was asked to die at `point`."""
    return setting(FAULT_ENV) == point


def maybe_die(point: str) -> None:
    """SIGKILL the current process if `point` is armed; otherwise do nothing."""
    if armed(point):
        os.kill(os.getpid(), signal.SIGKILL)


def fifo_path(database: str, point: str) -> str:
    """The named pipe a dbt fault point blocks on (beside the warehouse file).

    The dbt macro `fault_point` renders the same path from `target.path`.
    """
    return f"{database}.{point}.fifo"
