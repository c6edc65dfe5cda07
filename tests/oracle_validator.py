"""The test oracle: the landing contract's row rules and dedup rule, row by row in Python.

This was the pipeline's validator until validation moved into DuckDB SQL
(`pipeline_assets/lib/validate.py`). It stays as the reference the SQL is tested against
(`test_sql_matches_oracle.py`, `test_validate.py`): the same files in, the same accepted
rows, quarantined lines, reason codes and failures out. Where the two could not agree on an
obscure input, both follow one explicit grammar written in the README's contract (ISO-8601
timestamps); the oracle is the reference for everything else.

Every data line read ends in exactly one place: accepted or quarantined with a reason code,
so `rows_read == len(accepted) + len(quarantined)` always holds. A file that cannot be read
at all raises `FileRejected` naming the file, line and problem.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.lib.contract import ContractError, parse_daily_key
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.rules import (
    AMOUNT_OUT_OF_RANGE,
    INVALID_AMOUNT,
    INVALID_TIMESTAMP,
    MALFORMED_ROW,
    MAX_CENTS,
    MAX_RAW_LINE_CHARS,
    MAX_VALUE_CHARS,
    MISSING_VALUE,
    NEGATIVE_AMOUNT,
    NON_UTC_TIMEZONE,
    NUL_CHARACTER,
    OUTSIDE_DAY,
    OUTSIDE_HOUR,
    SUPERSEDED,
    VALUE_TOO_LONG,
)
from pipeline_assets.lib.validate import FileRejected, FileStats

# The contract has no field size limit (the SQL has none); this used to be 64 MiB, above
# which a file failed as unreadable CSV instead of its row being value_too_long.
csv.field_size_limit(sys.maxsize)

_INT = re.compile(r"^[+-]?[0-9]+$")  # ASCII digits only: `\d` also matches "１" and "٨"
# The contract's one timestamp grammar (README): ASCII digits, `T` or a space, optional
# seconds and 1-6 fraction digits, and `Z` or a `±HH:MM` offset.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_UTC = (None, "Z", "+00:00", "-00:00")
# A landing key's folders, read here on their own (not with the package's key patterns).
_FOLDERS = re.compile(
    r"(?P<dataset>[^/]+)/date=(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})/"
    r"(?:hour=(?P<hour>[0-9]{2})/)?(?P<file>[^/]+\.csv)"
)


@functools.cache
def declaration(name: str) -> Dataset:
    """The dataset's declaration: the oracle reads what is declared, and judges it with its
    own rules below."""
    return next(d for d in declared_datasets() if d.name == name)


class RowRejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class QuarantineRow:
    source_key: str
    line_number: int
    raw_line: str
    reason_code: str
    reason_detail: str


@dataclass
class ValidationResult:
    """Outcome of one partition: rows in warehouse column order plus source key and line."""

    dataset: str
    partition_key: str
    accepted: list[tuple] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    files: list[FileStats] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    def reason_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for q in self.quarantined:
            counts[q.reason_code] = counts.get(q.reason_code, 0) + 1
        return dict(sorted(counts.items()))


def parse_timestamp(value: str) -> datetime:
    """The contract's ISO-8601 grammar -> naive UTC. Naive means UTC; other offsets are
    rejected. (`datetime.fromisoformat` accepts more spellings than the contract names.)"""
    m = _TIMESTAMP.fullmatch(value)
    invalid = RowRejected(INVALID_TIMESTAMP, f"{value!r} is not an ISO-8601 timestamp")
    if not m:
        raise invalid
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    if offset and offset != "Z" and not (int(offset[1:3]) <= 23 and int(offset[4:6]) <= 59):
        raise invalid
    try:
        ts = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise invalid from None
    if offset not in _UTC:
        raise RowRejected(NON_UTC_TIMEZONE, f"{value!r} has offset {offset}, want UTC")
    return ts


def parse_cents(name: str, value: str) -> int:
    if not _INT.match(value):
        raise RowRejected(INVALID_AMOUNT, f"{name}={value[:40]!r} is not integer cents")
    cents = int(value)
    if cents < 0:
        raise RowRejected(NEGATIVE_AMOUNT, f"{name}={cents} is negative")
    if cents > MAX_CENTS:
        raise RowRejected(AMOUNT_OUT_OF_RANGE, f"{name}={cents} exceeds {MAX_CENTS}")
    return cents


def _read_records(key: str, data: bytes):
    """Yield (first_line, last_line, raw_text, fields) for each CSV record after the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # utf-8-sig counts from after a byte-order mark: the offset is the byte's in the file
        at = e.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        before = data[:at]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        raise FileRejected(
            f"{key}: line {line}: not valid UTF-8 (byte 0x{data[at]:02x} at offset {at})"
        ) from None
    if not text.strip():
        raise FileRejected(f"{key}: line 1: empty file, a header row is required")
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines), strict=True)
    prev = 0
    try:
        for fields in reader:
            first, prev = prev + 1, reader.line_num
            raw = "".join(lines[first - 1 : prev]).rstrip("\r\n")
            yield first, prev, raw, fields
    except csv.Error as e:
        raise FileRejected(f"{key}: line {reader.line_num}: unreadable CSV ({e})") from None


def _header_index(
    dataset: Dataset, key: str, header: list[str]
) -> tuple[dict[str, int], list[str]]:
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileRejected(f"{key}: line 1: duplicate header column(s) {dupes}")
    index = {n: i for i, n in enumerate(names)}
    missing = [c.name for c in dataset.columns if c.required and c.name not in index]
    if missing:
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in ";|\t"):
            hint = " (the header looks like it uses another delimiter; the contract is comma)"
        raise FileRejected(f"{key}: line 1: required column(s) {missing} missing{hint}")
    known = {c.name for c in dataset.columns}
    return index, [n for n in names if n not in known]


def _convert(
    dataset: Dataset,
    fields: list[str],
    index: dict[str, int],
    window: tuple[datetime, datetime],
) -> tuple:
    out = []
    values: dict[str, object] = {}
    for col in dataset.columns:
        i = index.get(col.name)
        raw = fields[i].strip() if i is not None else ""
        if len(raw) > MAX_VALUE_CHARS:
            raise RowRejected(VALUE_TOO_LONG, f"{col.name} has {len(raw)} characters")
        if "\x00" in raw:
            raise RowRejected(NUL_CHARACTER, f"{col.name} contains a NUL character")
        if raw == "":
            if col.required:
                raise RowRejected(MISSING_VALUE, f"{col.name} is required")
            value = None
        elif col.type == "timestamp":
            value = parse_timestamp(raw)
        elif col.type == "cents":
            value = parse_cents(col.name, raw)
        else:
            value = raw
        values[col.name] = value
        out.append(value)
    at = values.get(dataset.time_column or "")
    start, end = window
    if at is not None and not start <= at < end:
        hourly = end - start < timedelta(days=1)
        raise RowRejected(
            OUTSIDE_HOUR if hourly else OUTSIDE_DAY,
            f"{dataset.time_column} {at} is outside the folder's {'hour' if hourly else 'day'} "
            f"[{start}, {end})",
        )
    for rule in dataset.rules:  # the one rule kind: a column is the sum of others
        parts = [values[name] for name in rule.of]
        if values[rule.column] is None or None in parts:
            continue
        if values[rule.column] != sum(parts):
            raise RowRejected(
                rule.code,
                f"{rule.column} {values[rule.column]} != {' + '.join(rule.of)} {sum(parts)}",
            )
    return tuple(out)


def _folder_window(dataset: Dataset, partition_key: str, key: str) -> tuple[datetime, datetime]:
    """The [start, end) a landing file's folder names: its hour, or its day."""
    m = _FOLDERS.fullmatch(key)
    hourly = dataset.layout == "hourly"
    if not m or m["dataset"] != dataset.name or (m["hour"] is not None) != hourly:
        raise ContractError(f"{key}: not a {dataset.name} file of {partition_key}")
    if m["date"] != partition_key:  # never load another day's file
        raise ContractError(f"{key}: not a {dataset.name} file of {partition_key}")
    day = datetime.fromisoformat(m["date"])
    if not hourly:
        return day, day + timedelta(days=1)
    if int(m["hour"]) > 23:
        raise ContractError(f"{key}: not a {dataset.name} file of {partition_key}")
    start = day + timedelta(hours=int(m["hour"]))
    return start, start + timedelta(hours=1)


def validate_partition(
    name: str, partition_key: str, files: list[tuple[str, bytes]]
) -> ValidationResult:
    """Validate and deduplicate one day's files (any order in; lexical key order used).

    A row's time column is checked against its own file's folder (an hour, for an hourly
    dataset); the dedup rule applies across the whole day, so a correction in a later hour's
    file wins a tie.
    """
    parse_daily_key(partition_key)
    dataset = declaration(name)
    result = ValidationResult(name, partition_key)
    names = [c.name for c in dataset.columns]
    key_pos = names.index(dataset.key)
    upd_pos = names.index("updated_at") if "updated_at" in names else None
    versions: dict[str, list[tuple]] = {}  # business key -> [(rank, row, raw, key, line)]
    for file_no, (key, data) in enumerate(sorted(files)):
        window = _folder_window(dataset, partition_key, key)
        stats = FileStats(key)
        result.files.append(stats)
        records = _read_records(key, data)
        header = next(records)
        index, stats.extra_columns = _header_index(dataset, key, header[3])
        width = len(header[3])
        for first, _last, raw, fields in records:
            if not fields:
                continue  # a blank line carries no row
            stats.rows_read += 1
            try:
                if len(fields) != width:
                    raise RowRejected(MALFORMED_ROW, f"{len(fields)} fields, header has {width}")
                row = _convert(dataset, fields, index, window)
            except RowRejected as r:
                result.quarantined.append(
                    QuarantineRow(key, first, raw[:MAX_RAW_LINE_CHARS], r.reason, r.detail)
                )
                continue
            upd = row[upd_pos] if upd_pos is not None else None
            rank = (upd is not None, upd or datetime.min, file_no, first)
            versions.setdefault(row[key_pos], []).append((rank, row, raw, key, first))
    for candidates in versions.values():
        candidates.sort(key=lambda c: c[0])
        *losers, (_, row, _, w_key, w_line) = candidates
        result.accepted.append((*row, w_key, w_line))
        for _, _, raw, key, line in losers:
            result.quarantined.append(
                QuarantineRow(
                    key,
                    line,
                    raw[:MAX_RAW_LINE_CHARS],
                    SUPERSEDED,
                    f"superseded by {w_key} line {w_line}",
                )
            )
    result.accepted.sort(key=lambda r: (r[-2], r[-1]))
    result.quarantined.sort(key=lambda q: (q.source_key, q.line_number))
    for stats in result.files:
        stats.rows_quarantined = sum(q.source_key == stats.key for q in result.quarantined)
    return result
