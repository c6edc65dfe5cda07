"""A landing dataset as declared: its layout, key, time rule, columns and row rules.

Pure code, no Dagster. The `LandingDataset` component (`pipeline_assets/components/`) is this
model plus the definitions it builds, one instance per `defs/datasets/<name>/defs.yaml`.
Everything that needs to know a dataset's shape reads one of these: the landing keys and the
reasons a key is ignored, the whole-file checks, the validation SQL, the raw table's DDL, the
checks, the CLI. So a dataset is added by declaring it, never by editing the machinery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline_assets.lib.contract import ContractError, check_key_is_safe, parse_daily_key
from pipeline_assets.lib.rules import OUTSIDE_DAY, OUTSIDE_HOUR

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_DATE = r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
_FILE = r"(?P<file>[^/\x00-\x1f]+\.csv)"
# Names writers use while a file is still being written: never a landing file.
_TEMPORARY = re.compile(
    r"(^[.~]|\.(tmp|temp|part|partial|swp|crdownload|filepart)$|_COPYING_$)", re.IGNORECASE
)
# The raw tables' own columns, after the declared ones; a declared name may not take them.
LINEAGE_COLUMNS = ("_source_key", "_source_line", "_partition")
# The column that orders a key's duplicates within a day, when a dataset declares it.
VERSION_COLUMN = "updated_at"


class DeclarationError(ValueError):
    """A declaration that cannot describe a dataset; names the attribute at fault."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(f"{attribute}: {message}")
        self.attribute = attribute
        self.message = message


class Column(BaseModel):
    """One CSV column, matched by its header name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The header name; also the raw table's column.")
    type: Literal["string", "cents", "timestamp"] = Field(
        default="string",
        description="string: text; cents: integer cents, 0 to 10^11; timestamp: the "
        "contract's UTC timestamp grammar.",
    )
    required: bool = Field(default=False, description="An empty value quarantines the row.")


class SumRule(BaseModel):
    """`column` must equal the sum of the `of` columns (all cents), else the row is
    quarantined with `code`: orders' `order_total = subtotal + tax_paid`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["sum"] = "sum"
    column: str
    of: list[str]
    code: str = Field(description="The reason code of a row that breaks the rule.")


class Dataset(BaseModel):
    """A landing dataset: where its files land, how a row is judged, how duplicates resolve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="Lower-case identifier: the landing folder, raw.<name>, the job's name."
    )
    layout: Literal["daily", "hourly"] = Field(
        description="daily: <name>/date=D/<file>.csv; hourly: <name>/date=D/hour=HH/<file>.csv."
    )
    key: str = Field(
        description="The business key (a required column). Within a day, duplicates keep the "
        "greatest updated_at, then the last file and line."
    )
    time_column: str | None = Field(
        default=None,
        description="A timestamp column that must fall inside its file's folder: its day "
        "(daily) or hour (hourly).",
    )
    columns: list[Column] = Field(description="In the raw table's order.")
    rules: list[SumRule] = Field(
        default_factory=list, description="Rules on whole rows, after every column's own."
    )
    files_asset: str | None = Field(
        default=None,
        description="The processing asset's name (processing/<files_asset>); default: the "
        "name without a final 's', then '_files' (orders -> order_files).",
    )
    description: str = Field(default="", description="What the dataset is, for the UI.")

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        problems = list(self._problems())
        if problems:
            raise problems[0]
        return self

    def _problems(self) -> Iterable[DeclarationError]:
        if not _IDENTIFIER.fullmatch(self.name) or self.name == "quarantine":
            yield DeclarationError(
                "name", f"{self.name!r} must be a lower-case identifier other than 'quarantine'"
            )
        names = [c.name for c in self.columns]
        if not names:
            yield DeclarationError("columns", "a dataset has at least one column")
        for i, column in enumerate(self.columns):
            if not _IDENTIFIER.fullmatch(column.name):
                yield DeclarationError(
                    f"columns[{i}].name",
                    f"{column.name!r} must be a lower-case identifier (a raw table column)",
                )
            elif names.index(column.name) != i:
                yield DeclarationError(f"columns[{i}].name", f"duplicate column {column.name!r}")
        types = {c.name: c for c in self.columns}
        if self.key not in types:
            yield DeclarationError("key", f"{self.key!r} is not one of the columns {names}")
        elif not types[self.key].required:
            yield DeclarationError("key", f"the key column {self.key!r} must be required: true")
        if self.time_column is not None and types.get(self.time_column, Column(name="x")).type != (
            "timestamp"
        ):
            yield DeclarationError(
                "time_column", f"{self.time_column!r} is not a timestamp column of {names}"
            )
        if VERSION_COLUMN in types and types[VERSION_COLUMN].type != "timestamp":
            yield DeclarationError(
                f"columns[{names.index(VERSION_COLUMN)}].type",
                f"{VERSION_COLUMN} orders duplicates and must be a timestamp",
            )
        for i, rule in enumerate(self.rules):
            if not rule.of:
                yield DeclarationError(f"rules[{i}].of", "sums at least one column")
            for name in [rule.column, *rule.of]:
                if types.get(name, Column(name="x")).type != "cents":
                    yield DeclarationError(f"rules[{i}]", f"{name!r} is not a cents column")
            if not _IDENTIFIER.fullmatch(rule.code):
                yield DeclarationError(f"rules[{i}].code", f"{rule.code!r} is not a reason code")
        if self.files_asset is not None and not _IDENTIFIER.fullmatch(self.files_asset):
            yield DeclarationError("files_asset", f"{self.files_asset!r} is not an identifier")

    # The landing layout.

    @property
    def processing_name(self) -> str:
        """processing/<this>: the day's files mirrored into the processing zone."""
        if self.files_asset:
            return self.files_asset
        return f"{singular(self.name)}_files"

    @property
    def layout_pattern(self) -> str:
        """The landing keys, as the README writes them."""
        hour = "hour=HH/" if self.layout == "hourly" else ""
        return f"{self.name}/date=YYYY-MM-DD/{hour}<name>.csv"

    @cached_property
    def _key_pattern(self) -> re.Pattern[str]:
        hour = r"hour=(?P<hour>[0-9]{2})/" if self.layout == "hourly" else ""
        return re.compile(rf"^{re.escape(self.name)}/date={_DATE}/{hour}{_FILE}\Z")

    def partition_prefix(self, partition_key: str) -> str:
        """The landing folder of one day's files (for an hourly dataset, all 24 hours)."""
        return f"{self.name}/date={parse_daily_key(partition_key):%Y-%m-%d}/"

    def partition_of_key(self, key: str) -> str | None:
        """The day of a landing file of this dataset; None for a key that is not one."""
        match = self._key_pattern.match(key)
        if not match:
            return None
        try:
            parse_daily_key(match["date"])
        except ContractError:
            return None
        if self.layout == "hourly" and int(match["hour"]) > 23:
            return None
        return match["date"]

    def folder_window(self, key: str) -> tuple[datetime, datetime]:
        """The [start, end) its folder names, naive UTC: the file's hour (hourly) or day
        (daily). The time rule: a row's `time_column` must fall inside it."""
        match = self._key_pattern.match(key)
        if not match or self.partition_of_key(key) is None:
            raise ContractError(f"{key}: not a {self.name} file ({self.layout_pattern})")
        day = parse_daily_key(match["date"])
        if self.layout == "daily":
            start = datetime(day.year, day.month, day.day)
            return start, start + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, int(match["hour"]))
        return start, start + timedelta(hours=1)

    def why_outside_contract(self, key: str) -> str:
        """Why a key under one of this dataset's day folders is not a landing file (it is
        reported and never copied or loaded)."""
        try:
            check_key_is_safe(key)
        except ContractError as e:
            return str(e)
        file = key.rsplit("/", 1)[-1]
        if _TEMPORARY.search(file):
            return "a temporary file (a write in progress), not a landing file"
        if file.lower().endswith(".csv") and not file.endswith(".csv"):
            return "the extension must be lower-case .csv"
        if not file.endswith(".csv"):
            return "not a .csv file"
        if self.layout == "hourly":
            hour = re.fullmatch(rf"{re.escape(self.name)}/date=[^/]+/hour=([^/]*)/[^/]+", key)
            if not hour:
                return f"not directly in an hour folder ({self.layout_pattern})"
            if not re.fullmatch(r"[01][0-9]|2[0-3]", hour[1]):
                return f"hour={hour[1]} is not an hour 00..23"
        elif key.count("/") != 2:
            return f"not directly in the day's folder ({self.layout_pattern})"
        match = self._key_pattern.match(key)
        if match is None:
            return f"not a landing file of {self.name} ({self.layout_pattern})"
        try:
            parse_daily_key(match["date"])
        except ContractError as e:
            return str(e)
        return "outside the landing contract"

    # The rows.

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def version_column(self) -> str | None:
        """`updated_at`, if declared: the greatest wins among a day's duplicates."""
        return VERSION_COLUMN if VERSION_COLUMN in self.column_names else None

    @property
    def time_rule_code(self) -> str:
        """The reason code of a row whose time falls outside its folder."""
        return OUTSIDE_HOUR if self.layout == "hourly" else OUTSIDE_DAY


def singular(name: str) -> str:
    """`orders` -> `order`: how names derived from a dataset's read (`address` stays)."""
    return name if name.endswith("ss") else name.removesuffix("s")


def dataset_of_key(datasets: Iterable[Dataset], key: str) -> tuple[Dataset, str]:
    """The dataset and day of a landing key; a key no dataset declares is outside the contract."""
    check_key_is_safe(key)
    datasets = list(datasets)
    for dataset in datasets:
        day = dataset.partition_of_key(key)
        if day is not None:
            return dataset, day
    layouts = " or ".join(d.layout_pattern for d in datasets)
    raise ContractError(f"object key {key!r} is outside the landing contract ({layouts})")
