"""The project's SQL files (`lib/sql/*.sql`), shipped as package data."""

from __future__ import annotations

from importlib.resources import files


def read_sql(name: str) -> str:
    return files("pipeline_assets.lib").joinpath("sql", name).read_text()


def sql_statements(name: str) -> list[str]:
    """The file's statements, comment lines dropped (`;` ends a statement; none of ours holds
    a `;` inside a string)."""
    body = "\n".join(
        line for line in read_sql(name).splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in body.split(";") if s.strip()]
