"""Validation and dedup of one day's landing files in DuckDB SQL, written out as Parquet.

A local, in-memory DuckDB reads the day's files (`read_text`), splits them into CSV records
and applies the contract's rules and its dedup rule as SQL (`lib/sql/validate_*.sql`). The
outcome goes straight to two Parquet files, the accepted rows and the quarantined ones, which
the warehouse stages from (`warehouse.load_partition`): no row passes through Python. Every
data line read ends in exactly one of them, so `rows_read == rows_loaded + rows_quarantined`.

Python only looks at each file whole: is it UTF-8, is it empty, and its header (the first
record). A file that cannot be read at all raises `FileRejected` naming the file, line and
problem. The row-by-row Python validator this replaced is the test oracle
(`tests/oracle_validator.py`).
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline_assets.lib.contract import (
    COLUMNS,
    ORDERS,
    ContractError,
    hour_window,
    parse_daily_key,
    partition_of_key,
    required_columns,
)
from pipeline_assets.lib.faults import VALIDATION, maybe_die
from pipeline_assets.lib.settings import DEFAULTS
from pipeline_assets.lib.sqlfiles import sql_statements

# Reason codes: the public vocabulary of the quarantine table (the SQL spells them too).
MALFORMED_ROW = "malformed_row"
MISSING_VALUE = "missing_required_value"
INVALID_TIMESTAMP = "invalid_timestamp"
NON_UTC_TIMEZONE = "non_utc_timezone"
OUTSIDE_PARTITION = "outside_partition_hour"
INVALID_AMOUNT = "invalid_amount"
NEGATIVE_AMOUNT = "negative_amount"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
TOTAL_MISMATCH = "total_mismatch"
VALUE_TOO_LONG = "value_too_long"
NUL_CHARACTER = "nul_character"
SUPERSEDED = "superseded_duplicate"

MAX_CENTS = 10**11  # one billion currency units: anything above is a unit or parsing error
MAX_VALUE_CHARS = 1024
MAX_RAW_LINE_CHARS = 65536
# What Python's str.strip() removes (str.isspace), as an RE2 class: values are stripped.
_SPACE = (
    r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)
STRIP_PATTERN = rf"^{_SPACE}+|{_SPACE}+$"
# The contract's ISO-8601 timestamp (README), and the same with a UTC offset only. Hours
# stop at 23 and offsets at 23:59 here; DuckDB's cast checks the calendar.
_HOUR = r"(?:[01][0-9]|2[0-3])"
_DATE_TIME = (
    rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_HOUR}:[0-9]{{2}}(?::[0-9]{{2}}(?:\.[0-9]{{1,6}})?)?"
)
TIMESTAMP_PATTERN = rf"{_DATE_TIME}(?:Z|[+-]{_HOUR}:[0-5][0-9])?"
UTC_TIMESTAMP_PATTERN = rf"{_DATE_TIME}(?:Z|[+-]00:00)?"

# CSV as Python's csv module reads it in strict mode, as RE2 patterns over one line (no line
# end in it): a quoted field, an unquoted one (it may hold a quote, not as its first
# character), a quoted field still open at the end of the line, and the text inside quotes.
_QUOTED = r'"(?:[^"]|"")*"'
_UNQUOTED = r'[^",][^,]*'
_OPEN = r'"(?:[^"]|"")*'
_INSIDE = r'(?:[^"]|"")*'
_FIELDS = rf"(?:(?:{_QUOTED}|{_UNQUOTED})?,)*"  # whole fields, each with its comma
_LAST = rf"(?:{_QUOTED}|{_UNQUOTED}|{_OPEN})?"
LINE_PATTERNS = {
    # starting outside quotes, the line ends inside a quoted field
    "opens_from_outside": _FIELDS + _OPEN,
    # starting inside a quoted field, it ends inside one (the same or a later one)
    "open_from_inside": rf'{_INSIDE}|{_INSIDE}",{_FIELDS}{_OPEN}',
    # the line is valid CSV from either state (after a closing quote: a comma or the end)
    "valid_from_outside": _FIELDS + _LAST,
    "valid_from_inside": rf'{_INSIDE}(?:"(?:,{_FIELDS}{_LAST})?)?',
}
# One field of a valid record, after the comma put before it.
FIELD_PATTERN = r',("(?:[^"]|"")*"|[^,]*)'


class FileRejected(ContractError):
    """A landing file that cannot be read at all; the whole partition fails."""


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

    dataset: str
    partition_key: str
    accepted: Path
    quarantined: Path
    summary: PartitionSummary


@dataclass(frozen=True)
class _Header:
    width: int
    columns: dict[str, int]  # contract column -> its 1-based field in the file
    extra_columns: list[str]


class Validator:
    """A local, in-memory DuckDB that validates days, one after the other: the contract's
    macros and constants are set up once (that costs about as much as validating a small
    day), and each day replaces the session's tables. Use one per run, closed at the end."""

    def __init__(self, memory_limit: str = DEFAULTS["PIPELINE_DUCKDB_MEMORY_LIMIT"]) -> None:
        self._spill = tempfile.TemporaryDirectory(prefix="pipeline-validate-spill-")
        config = {"memory_limit": memory_limit, "temp_directory": self._spill.name}
        self._conn = duckdb.connect(":memory:", config=config)
        self._set(
            max_cents=MAX_CENTS,
            max_value_chars=MAX_VALUE_CHARS,
            max_raw_line=MAX_RAW_LINE_CHARS,
            space_pattern=_SPACE,
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
        self, dataset: str, partition_key: str, files: list[tuple[str, bytes]], workdir: Path
    ) -> ValidatedPartition:
        """Validate and deduplicate one day's files (any order in; lexical key order used)
        into Parquet under `workdir`, which the caller owns (and removes after the load).

        Orders are checked against their own file's hour folder; the dedup rule applies
        across the whole day, so a correction in a later hour's file wins a tie.
        """
        parse_daily_key(partition_key)
        files = sorted(files)
        keys = [key for key, _ in files]
        headers = [_check_file(dataset, partition_key, key, data) for key, data in files]
        workdir.mkdir(parents=True, exist_ok=True)
        paths = [workdir / f"{n:06d}.csv" for n in range(len(files))]  # no key in a path
        for path, (_, data) in zip(paths, files, strict=True):
            path.write_bytes(data)
        accepted, quarantined = workdir / "accepted.parquet", workdir / "quarantined.parquet"
        self._set(
            dataset=dataset,
            partition=partition_key,
            keys=keys,  # by file_no
            paths=[str(p) for p in paths],
            accepted_path=str(accepted),
            quarantined_path=str(quarantined),
        )
        self._create_files_table(keys, paths, headers)
        self._run("validate_records.sql")
        if any(b'"' in data for _, data in files):  # else every line is a record of its own
            self._run("validate_quoted_records.sql")
            self._raise_unreadable(keys)
        self._run(
            "validate_fields.sql",
            f"validate_{dataset}.sql",
            "validate_dedup.sql",
            "validate_outputs.sql",
        )
        summary = self._summary(partition_key, keys, headers)
        maybe_die(VALIDATION)  # the day is validated and written out; nothing is loaded yet
        return ValidatedPartition(dataset, partition_key, accepted, quarantined, summary)

    def _set(self, **variables: object) -> None:
        """Session variables: with the `files` table, the SQL files' only inputs."""
        for name, value in variables.items():
            self._conn.execute(f"set variable {name} = ?", [value])

    def _run(self, *names: str) -> None:
        for name in names:
            for statement in sql_statements(name):
                self._conn.execute(statement)

    def _create_files_table(
        self, keys: list[str], paths: list[Path], headers: list[_Header]
    ) -> None:
        """What the SQL needs to know of each file: its key, where it is, its header's width
        and columns, its hour folder (orders)."""
        self._conn.execute(
            "create or replace temp table files (file_no integer, key varchar, path varchar, "
            "width integer, columns map(varchar, integer), hour_start timestamp, "
            "hour_end timestamp)"
        )
        hours = [hour_window(key) or (None, None) for key in keys]
        self._conn.execute(  # one statement for all files (executemany: a millisecond a row)
            "insert into files select unnest($file_no), unnest($key), unnest($path), "
            "unnest($width), map(unnest($names), unnest($fields)), unnest($start), "
            "unnest($end)",
            {
                "file_no": list(range(len(keys))),
                "key": keys,
                "path": [str(p) for p in paths],
                "width": [h.width for h in headers],
                "names": [list(h.columns) for h in headers],
                "fields": [list(h.columns.values()) for h in headers],
                "start": [start for start, _ in hours],
                "end": [end for _, end in hours],
            },
        )

    def _raise_unreadable(self, keys: list[str]) -> None:
        """Fail on the first file (in key order) that is not CSV: the first line that breaks
        the CSV rules, or a quoted field still open at the end of the file."""
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
            raise FileRejected(f"{keys[file_no]}: {problem}")

    def _summary(
        self, partition_key: str, keys: list[str], headers: list[_Header]
    ) -> PartitionSummary:
        """Counts per file and per reason: the metadata and the accounting check."""
        per_file = {
            file_no: (read, quarantined)
            for file_no, read, quarantined in self._conn.execute(
                "select file_no, count(*), count(reason) from outcomes group by file_no"
            ).fetchall()
        }
        reasons = dict(
            self._conn.execute(
                "select reason.code, count(*) from outcomes where reason is not null "
                "group by 1 order by 1"
            ).fetchall()
        )
        stats = [
            FileStats(key, *per_file.get(n, (0, 0)), extra_columns=h.extra_columns)
            for n, (key, h) in enumerate(zip(keys, headers, strict=True))
        ]
        read = sum(s.rows_read for s in stats)
        return PartitionSummary(partition_key, read, read - sum(reasons.values()), reasons, stats)


def _check_file(dataset: str, partition_key: str, key: str, data: bytes) -> _Header:
    """The whole-file checks: a key of this day, UTF-8, not empty, a usable header."""
    if dataset == ORDERS and hour_window(key) is None:
        raise ContractError(f"{key}: not an orders key (orders/date=YYYY-MM-DD/hour=HH/*.csv)")
    if partition_of_key(key) != (dataset, partition_key):  # never load another day's file
        raise ContractError(f"{key}: not a {dataset} file of {partition_key}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FileRejected(
            f"{key}: line {line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None
    if not text.strip():
        raise FileRejected(f"{key}: line 1: empty file, a header row is required")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise FileRejected(f"{key}: line {reader.line_num}: unreadable CSV ({e})") from None
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileRejected(f"{key}: line 1: duplicate header column(s) {dupes}")
    missing = [c for c in required_columns(dataset) if c not in names]
    if missing:
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in ";|\t"):
            hint = " (the header looks like it uses another delimiter; the contract is comma)"
        raise FileRejected(f"{key}: line 1: required column(s) {missing} missing{hint}")
    known = [c.name for c in COLUMNS[dataset]]
    return _Header(
        width=len(names),
        columns={n: i for i, n in enumerate(names, 1) if n in known},
        extra_columns=[n for n in names if n not in known],
    )
