"""Opening the warehouse: a DuckDB file (one writer at a time, an OS lock beside it) or
Snowflake, with the two ways an open fails: transient (another writer) or not."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any


class WarehouseLockedError(RuntimeError):
    """Another process holds DuckDB's single-writer lock on the warehouse file (transient)."""


class WarehouseUnavailableError(RuntimeError):
    """The warehouse file cannot be opened for writing for a reason waiting will not fix:
    permissions, a read-only or immutable file, a missing directory."""


class WarehouseEmptyError(RuntimeError):
    """Nothing was ever loaded into the warehouse, so a command that only reads has nothing
    to read (and must not create the warehouse to find that out)."""

    def __init__(self, where: str):
        super().__init__(
            f"the warehouse holds no data yet ({where}): load days into it first with "
            "`pipeline backfill --start YYYY-MM-DD --end YYYY-MM-DD`"
        )


def connect_duckdb(path: str, config: dict[str, str], read_only: bool = False) -> Any:
    """Open the DuckDB file once, without retries; say which kind of failure it was.

    A lock held by another process is transient (`WarehouseLockedError`, retried by the
    asset's policy); anything else names the path and the OS error and is not retried.
    """
    import duckdb

    try:
        return duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WarehouseLockedError(
                f"DuckDB warehouse {path} is locked by another process "
                f"(DuckDB allows one writer per file): {e}"
            ) from e
        raise WarehouseUnavailableError(f"cannot open DuckDB warehouse {path}: {e}") from e


# The variables a Snowflake connection is configured from, for the code location's resource
# and the features pod alike (the password from a secret store, never from a file).
SNOWFLAKE_ENV = {
    "account": "SNOWFLAKE_ACCOUNT",
    "user": "SNOWFLAKE_USER",
    "password": "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD",
    "role": "SNOWFLAKE_ROLE",
    "warehouse": "SNOWFLAKE_WAREHOUSE",
}


def connect_snowflake(database: str, **credentials: str | None) -> Any:
    """A Snowflake connection with qmark parameters, the style every query here uses."""
    import snowflake.connector

    return snowflake.connector.connect(database=database, paramstyle="qmark", **credentials)


@contextmanager
def exclusive_writer(
    database: str, timeout: float = 3600.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Serialize writers of one DuckDB file across processes (DuckDB allows one writer).

    An OS file lock beside the database: released by the kernel even if the holder is killed,
    so a crashed run can never leave the warehouse locked.
    """
    lock_path = f"{database}.writer.lock"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed below, after the lock)
    except OSError as e:
        raise WarehouseUnavailableError(f"cannot create the writer lock {lock_path}: {e}") from e
    with handle:
        _wait_for_lock(handle, fcntl.LOCK_EX, lock_path, database, timeout, on_wait)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def shared_reader(
    database: str, timeout: float = 3600.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Read between writers: a shared lock on the writers' lock file, if there is one (a
    reader never creates it). DuckDB refuses a read-only open while a writer holds the file."""
    lock_path = f"{database}.writer.lock"
    try:
        handle = open(lock_path)  # noqa: SIM115 (closed below, after the lock)
    except FileNotFoundError:
        handle = None  # no writer ever ran here
    if handle is None:
        yield
        return
    with handle:
        _wait_for_lock(handle, fcntl.LOCK_SH, lock_path, database, timeout, on_wait)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_for_lock(
    handle: IO[str],
    mode: int,
    lock_path: str,
    database: str,
    timeout: float,
    on_wait: Callable[[str], None] | None,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise WarehouseLockedError(
                    f"gave up after {timeout:.0f}s waiting for the writer lock {lock_path}"
                ) from None
            if on_wait:
                on_wait(f"waiting for another writer of {database} to finish")
                on_wait = None  # say it once
            time.sleep(0.2)
