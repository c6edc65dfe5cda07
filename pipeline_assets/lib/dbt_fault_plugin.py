"""A dbt-duckdb plugin that lets the crash tests SIGKILL dbt inside its incremental merge.

Inert unless `PIPELINE_FAULT=dbt_merge`. When armed, the macro `fault_point('dbt_merge')`
adds `select * from read_text('<warehouse>.dbt_merge.fifo')` to the `window_replace` merge,
after its delete and before its insert, inside the model's transaction. Opening a FIFO for
reading blocks until a writer opens it, and this plugin's thread is that writer: its open()
returns exactly when DuckDB has reached that statement, and the thread kills the process
there. No polling, no timing guesses and no busy query (a Python UDF would be simpler but
DuckDB needs numpy for those, which the project does not install).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from pipeline_assets.lib.faults import DBT_MERGE, armed, fifo_path, maybe_die

_started = False


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        """Arm once per process, and only where dbt writes: dagster-dbt also loads this
        profile in the Dagster process (read-only), and that process must not take the pipe."""
        global _started
        if not armed(DBT_MERGE) or _started or self.creds is None:
            return
        if (self.creds.config_options or {}).get("access_mode", "").upper() == "READ_ONLY":
            return
        _started = True
        fifo = fifo_path(self.creds.path, DBT_MERGE)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fifo)
        os.mkfifo(fifo, 0o600)
        # dbt may finish without a merge (a first build): leave no pipe behind then.
        atexit.register(_remove, fifo)
        threading.Thread(target=_kill_when_reached, args=(fifo,), daemon=True).start()


def _kill_when_reached(fifo: str) -> None:
    with open(fifo, "wb"):  # blocks until DuckDB opens the pipe inside the merge
        _remove(fifo)
        maybe_die(DBT_MERGE)


def _remove(fifo: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(fifo)
