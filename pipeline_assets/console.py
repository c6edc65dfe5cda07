"""What a CLI command shows, and where everything else goes.

The terminal gets one line per run (and a live bar when it is a terminal); Dagster's events,
dbt's output and Python's warnings go to the command's log file, whose path is printed. The
log folder is PIPELINE_LOG_DIR, never `$DAGSTER_HOME/logs/`: Dagster's webserver and daemon
upload whatever lies there to Dagster's telemetry server.
"""

from __future__ import annotations

import csv
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


def new_log_path(folder: Path, command: str) -> Path:
    """`<folder>/<command>-<UTC time>-<pid>.log` (PIPELINE_LOG_DIR), the folder created."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{command}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"


class CommandLog:
    """A command's log file: `captured()` sends stdout, stderr and warnings into it."""

    def __init__(self, path: Path | None):
        self.path = path
        self.file: TextIO | None = open(path, "a") if path else None  # noqa: SIM115

    def __enter__(self) -> CommandLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file:
            self.file.close()

    @contextmanager
    def captured(self) -> Iterator[None]:
        if self.file is None:
            yield
            return
        file = self.file
        with redirect_stdout(file), redirect_stderr(file), warnings.catch_warnings():
            warnings.showwarning = lambda message, category, filename, lineno, *_: file.write(
                warnings.formatwarning(message, category, filename, lineno)
            )
            yield
        file.flush()


class RunDisplay:
    """One line per finished run; in a terminal, also a live bar of the runs so far."""

    def __init__(self, echo: Callable[[str], None] | None, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(highlight=False)  # no colour codes unless stdout is a terminal
        self.echo = echo or (lambda line: console.print(line, markup=False, soft_wrap=True))
        self.bar = None
        if echo is None and console.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            self.bar = Progress(*columns, console=console, transient=True)
            self.task = self.bar.add_task("backfill", total=total)

    def __enter__(self) -> RunDisplay:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def running(self, description: str) -> None:
        if self.bar:
            self.bar.update(self.task, description=f"{description}: running")

    def done(self, line: str) -> None:
        self.echo(line)
        if self.bar:
            self.bar.advance(self.task)


# Control characters (C0, DEL, C1), Unicode's line and paragraph separators, the backslash.
_UNSEEN = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}
LISTING_FORMATS = ("tsv", "csv", "jsonl")


def visible(value: object) -> str:
    """A value on one line, control characters escaped so they show (`\\n`, `\\0`,
    `\\x1b`) and a backslash doubled: nothing a terminal, `wc -l` or grep takes for a line
    break, a colour code or binary data."""

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        code = ord(char)
        return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")

    return "" if value is None else _UNSEEN.sub(escape, str(value))


def write_listing(columns: list[str], rows: list[Any], fmt: str, out: TextIO) -> None:
    """Rows under a header. `tsv` (for people): one line per row, values `visible`. `csv`
    and `jsonl` (for tools): the values as stored, quoted or JSON-escaped."""
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n")
    else:
        for row in [columns, *rows]:
            out.write("\t".join(visible(v) for v in row) + "\n")
