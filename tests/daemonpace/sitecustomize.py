"""The Dagster daemon's backfill loop at a test's pace, for the tests that drive `dagster dev`.

Dagster's backfill daemon evaluates every 30 s (`DEFAULT_DAEMON_INTERVAL_SECONDS`, not an
instance setting), so a backfill of three asset layers spends a minute and a half between its
runs. `tests/services.py` starts `dagster dev` with this folder on PYTHONPATH and
`DAEMON_INTERVAL_SECONDS` set: every Python process it starts imports this file (Python's
`sitecustomize` hook), and the daemon's controller, once imported, ticks at that interval.
Nothing else about the daemon changes; without the variable this does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType

INTERVAL_ENV = "DAEMON_INTERVAL_SECONDS"
CONTROLLER = "dagster._daemon.controller"


class _SetIntervalOnImport(importlib.abc.MetaPathFinder):
    """Finds the controller as usual, then sets the interval once its code has run."""

    def find_spec(self, name: str, path, target=None):  # noqa: ANN001, ANN201 (importlib's)
        if name != CONTROLLER:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_set(module: ModuleType) -> None:
            exec_module(module)
            module.DEFAULT_DAEMON_INTERVAL_SECONDS = float(os.environ[INTERVAL_ENV])

        spec.loader.exec_module = exec_then_set  # type: ignore[method-assign]
        return spec


if os.environ.get(INTERVAL_ENV):
    sys.meta_path.insert(0, _SetIntervalOnImport())
