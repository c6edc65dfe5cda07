"""The validator's DuckDB: a local session, its tables and its SQL steps.

The contract's macros and constants are set up once per session (`lib/sql/validate_macros.sql`,
session variables from `lib/rules.py`). A pass over some days starts empty tables: `files`
(what the SQL needs of each file) and `checked` (every data row judged). Each batch of text
pieces arrives from memory as the `pieces` table (Arrow) and goes through the row-level steps
(`validate_records.sql`, `validate_quoted_records.sql`, `validate_fields.sql`, the dataset's
`checked` query), appended to `checked`, a table in the session's own database file, which
DuckDB reads back from disk beyond its memory limit. The dedup (`validate_dedup.sql`) runs
once per pass, and each day's outputs are two Parquet files (`validate_outputs.sql`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline_assets.lib.checked_sql import checked_sql
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.pieces import Piece
from pipeline_assets.lib.rules import (
    FIELD_PATTERN,
    LINE_PATTERNS,
    MAX_CENTS,
    MAX_RAW_LINE_CHARS,
    MAX_VALUE_CHARS,
    SPACE,
    STRIP_PATTERN,
    TIMESTAMP_PATTERN,
    UTC_TIMESTAMP_PATTERN,
)
from pipeline_assets.lib.sqlfiles import sql_statements

_PIECES = pa.schema(
    [
        ("piece_no", pa.int32()),
        ("file_no", pa.int32()),
        ("line_offset", pa.int64()),
        ("is_last", pa.bool_()),
        ("has_quotes", pa.bool_()),
        ("lone_cr", pa.bool_()),
        ("content", pa.large_string()),
    ]
)


@dataclass(frozen=True)
class SourceFile:
    """A file of a pass, its header read: numbered in the pass's order (days, then keys)."""

    file_no: int
    day: str
    key: str
    width: int
    columns: dict[str, int]  # contract column -> its 1-based field in the file
    extra_columns: list[str]


class ValidationDb:
    """One validation session; `start` begins a pass over some days."""

    def __init__(self, memory_limit: str) -> None:
        self._spill = tempfile.TemporaryDirectory(prefix="pipeline-validate-spill-")
        config = {"memory_limit": memory_limit, "temp_directory": self._spill.name}
        # A database file, not `:memory:`: `checked` can be many times the memory limit, and
        # the blocks of an in-memory table that spilled are not given back to a big dedup
        # (it ran out of memory at 15M keys); a table in a file is. The rest stays temporary.
        # It is scratch, removed at close: nothing in it needs to survive a crash.
        path = Path(self._spill.name) / "validation.duckdb"
        self._conn = duckdb.connect(str(path), config={**config, "fsync_mode": "NONE"})
        self._conn.execute("pragma disable_checkpoint_on_shutdown")
        self._dataset: Dataset | None = None
        self._checked = ""
        self.set(
            max_cents=MAX_CENTS,
            max_value_chars=MAX_VALUE_CHARS,
            max_raw_line=MAX_RAW_LINE_CHARS,
            space_pattern=SPACE,
            strip_pattern=STRIP_PATTERN,
            timestamp_pattern=TIMESTAMP_PATTERN,
            utc_timestamp_pattern=UTC_TIMESTAMP_PATTERN,
            field_pattern=FIELD_PATTERN,
            **LINE_PATTERNS,
        )
        self.run("validate_macros.sql")

    def close(self) -> None:
        self._conn.close()
        self._spill.cleanup()

    def set(self, **variables: object) -> None:
        """Session variables: with the `files` and `pieces` tables, the SQL's only inputs."""
        for name, value in variables.items():
            self._conn.execute(f"set variable {name} = ?", [value])

    def run(self, *names: str) -> None:
        for name in names:
            for statement in sql_statements(name):
                self._conn.execute(statement)

    def start(self, dataset: Dataset) -> None:
        """A pass's empty tables: its files, and the rows checked so far."""
        self._dataset = dataset
        self.set(dataset=dataset.name)
        self._conn.execute(
            "create or replace temp table files (file_no integer, day varchar, key varchar, "
            "width integer, columns map(varchar, integer), "
            "period_start timestamp, period_end timestamp)"
        )
        self._checked = checked_sql(dataset)
        self._register([])
        self.run("validate_records.sql", "validate_fields.sql")
        self._conn.execute("create or replace table checked as " + self._checked)

    def add_files(self, files: list[SourceFile]) -> None:
        """What the SQL needs to know of each file: its day, key, its header's width and
        columns, the period its folder names (its hour or day: the time rule)."""
        if not files or self._dataset is None:
            return
        periods = [self._dataset.folder_window(f.key) for f in files]
        self._conn.execute(  # one statement for all files (executemany: a millisecond a row)
            "insert into files select unnest($file_no), unnest($day), unnest($key), "
            "unnest($width), map(unnest($names), unnest($fields)), unnest($start), unnest($end)",
            {
                "file_no": [f.file_no for f in files],
                "day": [f.day for f in files],
                "key": [f.key for f in files],
                "width": [f.width for f in files],
                "names": [list(f.columns) for f in files],
                "fields": [list(f.columns.values()) for f in files],
                "start": [start for start, _ in periods],
                "end": [end for _, end in periods],
            },
        )

    def check_batch(self, pieces: list[tuple[int, Piece]]) -> tuple[int, str] | None:
        """Judge a batch of `(file_no, piece)` (their files added) and append its rows to
        `checked`; or, if one of its files is not CSV, the first such file and its problem
        (nothing appended)."""
        quoted = self._register(pieces)
        try:
            self.run("validate_records.sql")
            if quoted:
                self.run("validate_quoted_records.sql")
                if (unreadable := self._unreadable()) is not None:
                    return unreadable
            self._conn.execute("insert into checked " + self._checked)
        finally:
            self._register([])  # the batch's text is not held past it
        return None

    def drop_from(self, file_no: int) -> None:
        """Forget the rows of this file and every later one (a day that failed)."""
        self._conn.execute("delete from checked where file_no >= ?", [file_no])

    def dedup(self) -> None:
        self.run("validate_dedup.sql")

    def finish(self) -> None:
        """Free the pass's rows once its days are written: the loads come next, beside."""
        self._conn.execute("drop view if exists outcomes")
        self._conn.execute("drop table if exists superseded")
        self._conn.execute("drop table if exists checked")  # the next pass makes a new one

    def write_day(
        self, day: str, first: int, last: int, accepted: Path, quarantined: Path
    ) -> tuple[dict[int, tuple[int, int]], dict[str, int]]:
        """A day's rows (its files: `first`..`last`) as Parquet; its counts per file (read,
        quarantined) and per reason."""
        self.set(
            partition=day,
            first_file=first,
            last_file=last,
            accepted_path=str(accepted),
            quarantined_path=str(quarantined),
        )
        self.run("validate_outputs.sql")
        per_file = {
            file_no: (read, quarantined)
            for file_no, read, quarantined in self._conn.execute(
                "select file_no, count(*), count(reason) from outcomes "
                "where file_no between ? and ? group by file_no",
                [first, last],
            ).fetchall()
        }
        reasons = self._conn.execute(
            "select reason.code, count(*) from outcomes where file_no between ? and ? "
            "and reason is not null group by 1 order by 1",
            [first, last],
        ).fetchall()
        return per_file, dict(reasons)

    def _unreadable(self) -> tuple[int, str] | None:
        rows = self._conn.execute(
            "select file_no, min(line_number) filter (where not valid), max(line_number), "
            "arg_max(ends_inside, line_number), bool_or(is_last) from line_states "
            "group by file_no order by file_no"
        ).fetchall()
        for file_no, invalid_line, last_line, ends_open, ends_file in rows:
            # Python's csv module's wording, as the oracle says it
            if invalid_line is not None:
                return file_no, f"line {invalid_line}: unreadable CSV (',' expected after '\"')"
            if ends_open and ends_file:  # only a file's last piece can end inside quotes
                return file_no, f"line {last_line}: unreadable CSV (unexpected end of data)"
        return None

    def _register(self, pieces: list[tuple[int, Piece]]) -> bool:
        """The pieces as the `pieces` table (read from memory); whether any holds a quote."""
        texts = [p.text for _, p in pieces]
        quotes = ['"' in t for t in texts]
        table = pa.table(
            [
                list(range(len(pieces))),
                [n for n, _ in pieces],
                [p.first_line - 1 for _, p in pieces],
                [p.last for _, p in pieces],
                quotes,
                # a \r that is not part of \r\n ends a line too; splitting at \n is much
                # faster, and enough for every piece whose line ends are \n or \r\n
                ["\r" in t and t.count("\r") != t.count("\r\n") for t in texts],
                texts,
            ],
            schema=_PIECES,
        )
        self._conn.register("pieces", table)
        return any(quotes)
