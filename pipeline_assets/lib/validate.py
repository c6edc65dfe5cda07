"""Validation and dedup of landing files in DuckDB SQL, written out as Parquet per day.

Each file is streamed (`lib/pieces.py`): decoded as UTF-8 as it is read and cut into pieces
that end where a CSV record ends, each with the physical line it starts on; Python checks its
header (`lib/file_checks.py`). A local DuckDB takes the pieces from memory (an Arrow table: no
file is copied to disk), a batch of about `piece_chars` characters at a time, splits them
into CSV records, applies the contract's rules (`lib/rules.py`, `lib/sql/validate_*.sql`) and
appends the judged rows to `checked`, a table in its scratch database file (read back from
disk beyond its memory limit): a file of any size is validated in bounded memory. At the end of a pass each day is
deduplicated on its own and written to two Parquet files, the accepted rows and the
quarantined ones, which the warehouse loads day by day (`raw_load.py`). No row passes through
Python, and the days of a pass share each batch's statements. Every data line read ends in
exactly one file, so `rows_read == rows_loaded + rows_quarantined`.

A file that cannot be read at all raises `FileRejected` naming the file, line and problem:
the first such file in key order, and in a file a byte that is not UTF-8 first (the oracle
decodes a file whole before it reads it). The days before its own are still validated. The
row-by-row Python validator this replaced is the test oracle (`tests/oracle_validator.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from pipeline_assets.lib.contract import ContractError, parse_daily_key
from pipeline_assets.lib.dataset import Dataset
from pipeline_assets.lib.file_checks import FileRejected, check_header, check_key
from pipeline_assets.lib.pieces import Piece, file_pieces
from pipeline_assets.lib.settings import DEFAULTS, half_memory
from pipeline_assets.lib.validation_db import SourceFile, ValidationDb

# Text validated per batch: big enough that the statements' fixed cost vanishes, small enough
# that a batch's rows, their lines and fields fit the validator's memory many times over.
PIECE_CHARS = 8 << 20
Content = bytes | Iterable[bytes]  # a file whole, or its chunks as they are read
Files = list[tuple[str, Content]]  # (landing key, content)


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


class _Unreadable(Exception):
    """A day that cannot be validated: which, why, and the file (if it got a number)."""

    def __init__(self, day: str, error: ContractError, file_no: int) -> None:
        super().__init__(str(error))
        self.day, self.error, self.file_no = day, error, file_no


class Validator:
    """Validates days of files in one DuckDB session (`ValidationDb`): the contract's macros
    and constants are set up once, and each call starts the session's tables anew. Use one
    per run, closed at the end. `piece_chars` bounds the text validated per batch (tests make
    it tiny)."""

    def __init__(
        self,
        memory_limit: str = half_memory(DEFAULTS["PIPELINE_DUCKDB_MEMORY_LIMIT"]),
        piece_chars: int = PIECE_CHARS,
    ) -> None:
        self._db = ValidationDb(memory_limit)
        self._piece_chars = piece_chars
        self._files: list[SourceFile] = []
        self._stored = 0  # files already in the session's `files` table
        self._pending: list[tuple[int, Piece]] = []
        self._pending_chars = 0

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def validate(
        self, dataset: Dataset, partition_key: str, files: Files, workdir: Path
    ) -> ValidatedPartition:
        """One day: `validate_days` of it alone, raising its error."""
        validated, error = self.validate_days(dataset, [(partition_key, files)], workdir)
        if error is not None:
            raise error
        return validated[0]

    def validate_days(
        self, dataset: Dataset, days: Iterable[tuple[str, Files]], workdir: Path
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
        self._files, self._stored, self._pending, self._pending_chars = [], 0, [], 0
        self._db.start(dataset)
        valid_days: list[str] = []
        first_file: dict[str, int] = {}
        error: ContractError | None = None
        try:
            for day, day_files in days:
                parse_daily_key(day)
                first_file[day] = len(self._files)
                for key, content in sorted(day_files, key=lambda file: file[0]):
                    self._read(dataset, day, key, content)
                valid_days.append(day)
            self._flush()
        except _Unreadable as bad:
            error, self._pending = bad.error, []
            if bad.day in valid_days:  # found once its day was read: the days before it stay
                valid_days = valid_days[: valid_days.index(bad.day)]
            self._db.drop_from(first_file[bad.day])
        if not valid_days:
            return [], error
        self._db.dedup()
        validated = [self._write_day(dataset, day, workdir) for day in valid_days]
        self._db.finish()
        return validated, error

    def _read(self, dataset: Dataset, day: str, key: str, content: Content) -> None:
        """One file into the pending pieces, validating them whenever a batch is full."""
        file_no = len(self._files)
        pieces: Iterator[Piece] = iter(())
        try:
            check_key(dataset, day, key)  # before any byte of it is read
            chunks = [content] if isinstance(content, bytes) else content
            pieces = file_pieces(key, chunks, self._piece_chars)
            first = next(pieces)
            # A first piece of whitespace with more after it: the file is empty only if all
            # of it is (a header of whitespace has no key column: it fails all the same).
            empty = not first.text.strip() and (first.last or not _has_text(pieces))
            header = check_header(dataset, key, first.text, empty)
            self._files.append(SourceFile(file_no, day, key, *header))
            for piece in chain([first], pieces):
                self._pending.append((file_no, piece))
                self._pending_chars += len(piece.text)
                if self._pending_chars >= self._piece_chars:
                    self._flush()
        except ContractError as e:
            self._flush(before=file_no)  # an earlier file's unreadable line comes first
            raise _Unreadable(day, _first_problem(e, pieces), file_no) from None
        except _Unreadable as bad:
            if bad.file_no == file_no:
                raise _Unreadable(day, _first_problem(bad.error, pieces), file_no) from None
            raise

    def _flush(self, before: int | None = None) -> None:
        """Validate the pending pieces (of the files before `before`, if given) into the
        session's `checked`; raises `_Unreadable` for the first of their files not CSV."""
        pending = [(n, p) for n, p in self._pending if before is None or n < before]
        self._pending, self._pending_chars = [], 0
        new = [f for f in self._files[self._stored :] if before is None or f.file_no < before]
        self._db.add_files(new)
        self._stored += len(new)
        if pending and (unreadable := self._db.check_batch(pending)) is not None:
            file_no, problem = unreadable
            bad = self._files[file_no]
            raise _Unreadable(bad.day, FileRejected(f"{bad.key}: {problem}"), file_no)

    def _write_day(self, dataset: Dataset, day: str, workdir: Path) -> ValidatedPartition:
        files = [f for f in self._files if f.day == day]
        first, last = (files[0].file_no, files[-1].file_no) if files else (0, -1)
        accepted, quarantined = workdir / f"{day}-accepted.parquet", workdir / f"{day}-q.parquet"
        per_file, reasons = self._db.write_day(day, first, last, accepted, quarantined)
        stats = [
            FileStats(f.key, *per_file.get(f.file_no, (0, 0)), extra_columns=f.extra_columns)
            for f in files
        ]
        read = sum(s.rows_read for s in stats)
        summary = PartitionSummary(day, read, read - sum(reasons.values()), reasons, stats)
        return ValidatedPartition(dataset, day, accepted, quarantined, summary)


def _first_problem(error: ContractError, rest_of_file: Iterator[Piece]) -> ContractError:
    """A file's problem as the oracle names it: it decodes the file whole first, so a byte
    that is not UTF-8 anywhere in the rest of the file comes first."""
    try:
        _has_text(rest_of_file)
    except ContractError as e:
        return e
    return error


def _has_text(pieces: Iterator[Piece]) -> bool:
    """Whether the rest of a file holds more than whitespace; reads all of it (a byte that
    is not UTF-8 raises)."""
    found = False
    for piece in pieces:
        found = found or bool(piece.text.strip())
    return found
