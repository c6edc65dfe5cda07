"""Name the rows behind a failed data check: how many, and a sample an operator can act on.

A dbt test passes when its query returns no rows; the project's generic tests return the
failing rows whole (dbt/macros/tests/failing_rows.sql), so the sample can show the order,
the customer and the day, or for raw rows the source file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_assets.lib.warehouse import Db

SAMPLE_SIZE = 20
# Shown in this order when present: what identifies a row and where it came from.
KEY_COLUMNS = (
    "order_id",
    "customer_id",
    "order_date",
    "source_key",
    "_source_key",
    "line_number",
    "_source_line",
    "reason_code",
    "reason_detail",
)


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
    keep = [i for name in KEY_COLUMNS for i, c in enumerate(columns) if c == name]
    keep = keep or list(range(min(len(columns), 6)))
    return FailingRows(
        count, [columns[i] for i in keep], [tuple(row[i] for i in keep) for row in rows]
    )
