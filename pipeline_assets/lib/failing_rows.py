"""Name the rows behind a failed data check: how many, and a sample an operator can act on.

A dbt test passes when its query returns no rows; the project's generic tests return the
failing rows whole (dbt/macros/tests/failing_rows.sql), so the sample can show the order,
the customer and the day, or for raw rows the source file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline_assets.lib.warehouse import Db

SAMPLE_SIZE = 20
# Shown after a row's keys (`*_id`) and days (`*_date`), when present: where it came from.
SOURCE_COLUMNS = (
    "source_key",
    "_source_key",
    "line_number",
    "_source_line",
    "reason_code",
    "reason_detail",
)


def identifying(columns: Sequence[str]) -> list[int]:
    """The positions of the columns that identify a row: its first two keys (its own and the
    one it refers to, in a fact table's usual order), its days, then its source."""
    keys = [i for i, c in enumerate(columns) if c.endswith("_id")][:2]
    days = [i for i, c in enumerate(columns) if c.endswith("_date")]
    source = [i for name in SOURCE_COLUMNS for i, c in enumerate(columns) if c == name]
    return keys + days + source


@dataclass(frozen=True)
class FailingRows:
    count: int
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def describe(self, limit: int = 3) -> str:
        """'2 failing rows: order_id=o9 customer_id=c9 order_date=2024-01-02; ...'."""
        noun = "row" if self.count == 1 else "rows"
        shown = [
            " ".join(f"{c}={v}" for c, v in zip(self.columns, row, strict=True))
            for row in self.rows[:limit]
        ]
        more = f"; ... ({self.count - limit} more)" if self.count > limit else ""
        return f"{self.count} failing {noun}: " + "; ".join(shown) + more

    def markdown(self) -> str:
        """The sample as a Markdown table (the UI renders it on the check)."""
        header = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "---|" * len(self.columns)
        body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join([header, rule, *body])


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def sample_failing_rows(db: Db, sql: str, params: list[Any] | None = None) -> FailingRows:
    """Count the rows `sql` returns and keep a sample of their identifying columns."""
    # The newline ends a trailing `--` comment in the query before the closing parenthesis.
    ((count,),) = db.execute(f"select count(*) from ({sql}\n) as failing", params)  # noqa: S608
    columns, rows = db.query(f"select * from ({sql}\n) as failing limit {SAMPLE_SIZE}", params)  # noqa: S608
    keep = identifying(columns) or list(range(min(len(columns), 6)))
    return FailingRows(
        count, [columns[i] for i in keep], [tuple(row[i] for i in keep) for row in rows]
    )


QUARANTINE_COLUMNS = ["source_key", "line_number", "reason_code", "reason_detail", "raw_line"]
RAW_LINE_SHOWN = 200  # characters of a raw line in a sample (the table keeps 65,536)


def quarantine_samples(
    db: Db, dataset: str, days: Sequence[str], limit: int
) -> dict[str, FailingRows]:
    """Per day: how many quarantined rows broke a rule (superseded duplicates are not bad),
    and the first `limit` of them in file and line order, in one query for all the days."""
    if not days:
        return {}
    marks = ", ".join("?" for _ in days)
    columns = ", ".join(QUARANTINE_COLUMNS[:-1])
    rows = db.execute(
        f"select _partition, total, {columns}, left(raw_line, {RAW_LINE_SHOWN}) from ("  # noqa: S608
        "select *, count(*) over (partition by _partition) as total, row_number() over "
        "(partition by _partition order by source_key, line_number) as n "
        f"from {db.table('raw', 'quarantine')} where dataset = ? and _partition in ({marks}) "
        "and reason_code <> 'superseded_duplicate') as q where n <= ? order by _partition, n",
        [dataset, *days, limit],
    )
    out: dict[str, FailingRows] = {}
    for day, count, *values in rows:
        out.setdefault(day, FailingRows(count, QUARANTINE_COLUMNS, [])).rows.append(tuple(values))
    return out


def quarantined_rows(
    db: Db,
    day: str,
    dataset: str | None = None,
    reason: str | None = None,
    include_superseded: bool = False,
    limit: int = 1000,
) -> tuple[list[str], list]:
    """A day's quarantined rows, in file and line order (`pipeline quarantine`)."""
    where, params = ["_partition = ?"], [day]
    if dataset:
        where.append("dataset = ?")
        params.append(dataset)
    if reason:
        where.append("reason_code = ?")
        params.append(reason)
    if not include_superseded:
        where.append("reason_code <> 'superseded_duplicate'")
    return db.query(
        "select dataset, source_key, line_number, reason_code, reason_detail, raw_line "  # noqa: S608
        f"from {db.table('raw', 'quarantine')} where {' and '.join(where)} "
        "order by dataset, source_key, line_number limit ?",
        [*params, limit],
    )
