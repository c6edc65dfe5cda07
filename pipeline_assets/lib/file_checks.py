"""The checks of a landing file as a whole: a key of the day, not empty, a usable header (the
UTF-8 check is made as the file is read, `lib/pieces.py`). A file that fails one cannot be
read at all: its partition fails, naming the file, the line and the problem."""

from __future__ import annotations

import csv
import io

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.dataset import Dataset


class FileRejected(ContractError):
    """A landing file that cannot be read at all; the whole partition fails."""


def check_key(dataset: Dataset, partition_key: str, key: str) -> None:
    """Never load another day's file (nor a key outside the contract)."""
    if dataset.partition_of_key(key) != partition_key:
        raise ContractError(
            f"{key}: not a {dataset.name} file of {partition_key} ({dataset.layout_pattern})"
        )


def check_header(
    dataset: Dataset, key: str, text: str, empty: bool
) -> tuple[int, dict[str, int], list[str]]:
    """A file that is not `empty` (all whitespace), and its header: the first record of
    `text`, the file's text from its start up to a record's end. Returns the header's width,
    its declared columns' fields and its extra columns."""
    if empty:
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
    missing = [c for c in dataset.required_columns if c not in names]
    if missing:
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in ";|\t"):
            hint = " (the header looks like it uses another delimiter; the contract is comma)"
        raise FileRejected(f"{key}: line 1: required column(s) {missing} missing{hint}")
    known = dataset.column_names
    columns = {n: i for i, n in enumerate(names, 1) if n in known}
    return len(names), columns, [n for n in names if n not in known]
