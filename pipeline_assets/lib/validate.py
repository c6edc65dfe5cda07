"""Validation and dedup of landing files in DuckDB SQL, written out as Parquet per day.

A local, in-memory DuckDB reads the files (`read_text`), splits them into CSV records and
applies the contract's rules (`lib/rules.py`) and its dedup rule as SQL
(`lib/sql/validate_*.sql`). All the days of a run are validated in one pass, each day
deduplicated on its own and written to its own two Parquet files, the accepted rows and the
quarantined ones, which the warehouse loads day by day (`warehouse.load_partition`): no row
passes through Python, and a run pays the statements' fixed cost once, not once a day.
Every data line read ends in exactly one file, so `rows_read == rows_loaded +
rows_quarantined`.

Python only looks at each file whole: is it UTF-8, is it empty, and its header (the first
record). A file that cannot be read at all raises `FileRejected` naming the file, line and
problem; the days before its own are still validated. The row-by-row Python validator this
replaced is the test oracle (`tests/oracle_validator.py`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline_assets.lib.checked_sql import checked_sql
from pipeline_assets.lib.contract import ContractError, parse_daily_key
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.file_checks import FileRejected, check_file
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
from pipeline_assets.lib.settings import DEFAULTS, half_memory
from pipeline_assets.lib.sqlfiles import sql_statements

Files = list[tuple[str, bytes]]  # (landing key, content)


@dataclass
class FileStats:
    key: str
    rows_read: int = 0
    rows_quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class PartitionSummary:
    """What checks and metadata need once a partition's rows are loaded."""

    partition_key: str
    rows_read: int
    rows_loaded: int
    reasons: dict[str, int]
    files: list[FileStats]


@dataclass(frozen=True)
class ValidatedPartition:
    """One day validated: its accepted and quarantined rows as Parquet, in the warehouse
    tables' columns (`raw.<dataset>` and `raw.quarantine`), and the counts."""

    dataset: Dataset
    partition_key: str
    accepted: Path
    quarantined: Path
    summary: PartitionSummary


@dataclass(frozen=True)
class _File:
    day: str
    key: str
    path: Path
    width: int
    columns: dict[str, int]  # contract column -> its 1-based field in the file
    extra_columns: list[str]


class Validator:
    """A local, in-memory DuckDB that validates days: the contract's macros and constants are
    set up once, and each call replaces the session's tables. Use one per run, closed at the
    end."""

    def __init__(
        self, memory_limit: str = half_memory(DEFAULTS["PIPELINE_DUCKDB_MEMORY_LIMIT"])
    ) -> None:
        self._spill = tempfile.TemporaryDirectory(prefix="pipeline-validate-spill-")
        config = {"memory_limit": memory_limit, "temp_directory": self._spill.name}
        self._conn = duckdb.connect(":memory:", config=config)
        self._set(
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
        self._run("validate_macros.sql")

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()
        self._spill.cleanup()

    def validate(
        self, dataset: Dataset, partition_key: str, files: Files, workdir: Path
    ) -> ValidatedPartition:
        """One day: `validate_days` of it alone, raising its error."""
        validated, error = self.validate_days(dataset, [(partition_key, files)], workdir)
        if error is not None:
            raise error
        return validated[0]

    def validate_days(
        self, dataset: Dataset, days: list[tuple[str, Files]], workdir: Path
    ) -> tuple[list[ValidatedPartition], ContractError | None]:
        """Validate and deduplicate days of files (each day's files in any order; lexical key
        order used) into Parquet under `workdir`, which the caller owns and removes after
        the load. Returns the days validated, in order, and the error of the first day that
        could not be (its files cannot be read): the days before it are complete.

        A row's time column is checked against its own file's folder (its hour, for an
        hourly dataset); the dedup rule applies across the whole day, so a correction in a
        later hour's file wins a tie.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        files: list[_File] = []
        contents: list[bytes] = []
        valid_days: list[str] = []
        error: ContractError | None = None
        for day, day_files in days:
            parse_daily_key(day)
            try:
                headers = [check_file(dataset, day, key, data) for key, data in sorted(day_files)]
            except ContractError as e:
                error = e
                break
            valid_days.append(day)
            for header, (key, data) in zip(headers, sorted(day_files), strict=True):
                path = workdir / f"{len(files):06d}.csv"  # no part of a key in a path
                path.write_bytes(data)
                files.append(_File(day, key, path, *header))
                contents.append(data)
        self._set(dataset=dataset.name)
        rejected = self._records(dataset, files, contents)
        if rejected is not None:  # validate the days before the unreadable file's again
            bad_day, error = rejected
            valid_days = valid_days[: valid_days.index(bad_day)]
            kept = [i for i, f in enumerate(files) if f.day in valid_days]
            files, contents = [files[i] for i in kept], [contents[i] for i in kept]
            self._records(dataset, files, contents)
        if not valid_days:
            return [], error
        self._run("validate_fields.sql")
        self._conn.execute(checked_sql(dataset))
        self._run("validate_dedup.sql")
        validated = [self._write_day(dataset, day, files, workdir) for day in valid_days]
        return validated, error

    def _records(
        self, dataset: Dataset, files: list[_File], contents: list[bytes]
    ) -> tuple[str, FileRejected] | None:
        """The CSV records of `files` (a file with a quote takes the slower, exact path);
        the first file that is not CSV, and its day, if there is one."""
        self._create_files_table(dataset, files)
        self._set(paths=[str(f.path) for f in files])
        self._run("validate_records.sql")
        if not any(b'"' in data for data in contents):  # every line is a record of its own
            return None
        self._run("validate_quoted_records.sql")
        rows = self._conn.execute(
            "select file_no, min(line_number) filter (where not valid), max(line_number), "
            "arg_max(ends_inside, line_number) from line_states "
            "group by file_no order by file_no"
        ).fetchall()
        for file_no, invalid_line, last_line, ends_open in rows:
            # Python's csv module's wording, as the oracle says it
            if invalid_line is not None:
                problem = f"line {invalid_line}: unreadable CSV (',' expected after '\"')"
            elif ends_open:
                problem = f"line {last_line}: unreadable CSV (unexpected end of data)"
            else:
                continue
            bad = files[file_no]
            return bad.day, FileRejected(f"{bad.key}: {problem}")
        return None

    def _write_day(
        self, dataset: Dataset, day: str, files: list[_File], workdir: Path
    ) -> ValidatedPartition:
        accepted, quarantined = workdir / f"{day}-accepted.parquet", workdir / f"{day}-q.parquet"
        self._set(partition=day, accepted_path=str(accepted), quarantined_path=str(quarantined))
        self._run("validate_outputs.sql")
        return ValidatedPartition(dataset, day, accepted, quarantined, self._summary(day, files))

    def _set(self, **variables: object) -> None:
        """Session variables: with the `files` table, the SQL files' only inputs."""
        for name, value in variables.items():
            self._conn.execute(f"set variable {name} = ?", [value])

    def _run(self, *names: str) -> None:
        for name in names:
            for statement in sql_statements(name):
                self._conn.execute(statement)

    def _create_files_table(self, dataset: Dataset, files: list[_File]) -> None:
        """What the SQL needs to know of each file: its day, key, where it is, its header's
        width and columns, the period its folder names (its hour or day: the time rule)."""
        self._conn.execute(
            "create or replace temp table files (file_no integer, day varchar, key varchar, "
            "path varchar, width integer, columns map(varchar, integer), "
            "period_start timestamp, period_end timestamp)"
        )
        periods = [dataset.folder_window(f.key) for f in files]
        self._conn.execute(  # one statement for all files (executemany: a millisecond a row)
            "insert into files select unnest($file_no), unnest($day), unnest($key), "
            "unnest($path), unnest($width), map(unnest($names), unnest($fields)), "
            "unnest($start), unnest($end)",
            {
                "file_no": list(range(len(files))),
                "day": [f.day for f in files],
                "key": [f.key for f in files],
                "path": [str(f.path) for f in files],
                "width": [f.width for f in files],
                "names": [list(f.columns) for f in files],
                "fields": [list(f.columns.values()) for f in files],
                "start": [start for start, _ in periods],
                "end": [end for _, end in periods],
            },
        )

    def _summary(self, day: str, files: list[_File]) -> PartitionSummary:
        """A day's counts per file and per reason: the metadata and the accounting check."""
        per_file = {
            file_no: (read, quarantined)
            for file_no, read, quarantined in self._conn.execute(
                "select file_no, count(*), count(reason) from outcomes where day = ? "
                "group by file_no",
                [day],
            ).fetchall()
        }
        reasons = dict(
            self._conn.execute(
                "select reason.code, count(*) from outcomes where day = ? and reason is not null "
                "group by 1 order by 1",
                [day],
            ).fetchall()
        )
        stats = [
            FileStats(f.key, *per_file.get(n, (0, 0)), extra_columns=f.extra_columns)
            for n, f in enumerate(files)
            if f.day == day
        ]
        read = sum(s.rows_read for s in stats)
        return PartitionSummary(day, read, read - sum(reasons.values()), reasons, stats)
