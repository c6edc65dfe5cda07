"""The `checked` step of validation, written from the contract's columns (`lib/contract.py`).

Every row typed, and the first rule it breaks (null when none), in the contract's order
(README): the field count; each column in contract order (length, NUL, required, then its
kind); then the dataset's row rules (orders: the file's hour folder, the total), which are
SQL of their own in `sql/<dataset>_row_rules.sql`. One column added to the contract is one
line there, not five places in two SQL files. The SQL functions used here (`strip`,
`utc_timestamp`, `cents`, `*_reason`) are `sql/validate_macros.sql`.
"""

from __future__ import annotations

from pipeline_assets.lib.contract import COLUMNS, KEY_COLUMN, ORDERS, Column
from pipeline_assets.lib.sqlfiles import read_sql

# What each file tells about its rows besides where its columns are (`validate.py`'s files),
# and the dataset's rules on whole rows.
FILE_FACTS = {ORDERS: ("hour_start", "hour_end")}
ROW_RULES = {ORDERS: "orders_row_rules.sql"}
TYPED = {"timestamp": ("utc_timestamp", "_utc"), "cents": ("cents", "_cents")}


def _typed(c: Column) -> str:
    """The column's typed value, as `typed` names it (text stays as it is)."""
    return c.name + TYPED[c.kind][1] if c.kind in TYPED else c.name


def _surely_valid(c: Column) -> str | None:
    """A cheap test a valid value passes (the common case); None: nothing to test."""
    if c.kind == "cents":
        return f"cents_ok({c.name}_cents)"
    if c.kind == "timestamp" and c.required:
        return f"{c.name}_utc is not null"
    if c.kind == "timestamp":
        return f"({c.name} = '' or {c.name}_utc is not null)"
    return f"{c.name} <> ''" if c.required else None


def _reason(c: Column) -> str:
    required = "true" if c.required else "false"
    if c.kind == "cents":
        return f"cents_reason('{c.name}', {c.name})"
    function = "timestamp_reason" if c.kind == "timestamp" else "text_reason"
    return f"{function}('{c.name}', {c.name}, {required})"


def _final(c: Column) -> str:
    if c.kind in TYPED:
        return f"{_typed(c)} as {c.name}"
    return c.name if c.required else f"nullif({c.name}, '') as {c.name}"


def _lines(items: list[str], indent: int) -> str:
    return "\n".join(" " * indent + item + "," for item in items)


def checked_sql(dataset: str) -> str:
    """`create or replace temp table checked as ...` for `dataset`, from the `fields` and
    `files` tables that the earlier steps made."""
    columns = COLUMNS[dataset]
    facts = list(FILE_FACTS.get(dataset, ()))
    if any(c.kind == "cents" and not c.required for c in columns):
        raise ValueError("an optional cents column needs its own rule (cents_reason)")
    fast = [test for c in columns if (test := _surely_valid(c))]
    rules = read_sql(ROW_RULES[dataset]) if dataset in ROW_RULES else ""
    rules = "\n".join(line for line in rules.splitlines() if not line.lstrip().startswith("--"))
    typed = [f"{TYPED[c.kind][0]}({c.name}) as {_typed(c)}" for c in columns if c.kind in TYPED]
    # Every name below is the contract's own (COLUMNS), never a key's or a file's text.
    return f"""
create or replace temp table checked as
with fields as (
    select * from fields
),

files as (
    -- where each column is in the file (null: the file lacks it, and the value is empty)
    select
        file_no,
        key as source_key,
        width,
{_lines([*facts, *(f"columns['{c.name}'] as {c.name}_at" for c in columns)], 8)}
    from files
),

valued as (
    select
        fields.file_no,
        fields.line_number,
        fields.raw_line,
        fields.unusual,
        len(fields.fields) as n_fields,
        files.source_key,
        files.width,
{_lines([f"files.{f}" for f in facts], 8)}
{_lines([f"strip(fields.fields[files.{c.name}_at], fields.spaced) as {c.name}" for c in columns], 8)}
    from fields
    inner join files on fields.file_no = files.file_no
),

typed as (
    select
        *,
{_lines(typed, 8)}
    from valued
),

judged as (
    select
        *,
        case
            -- surely valid: the common case, checked cheaply
            when not unusual
                and {" and ".join(fast)}
                then null
            else coalesce({", ".join(_reason(c) for c in columns)})
        end as value_reason,
    from typed
),

final as (
    select
        file_no,
        source_key,
        line_number,
        raw_line,
{_lines([_final(c) for c in columns], 8)}
        {KEY_COLUMN[dataset]} as business_key,
        case
            when n_fields <> width
                then {{
                    'code': 'malformed_row',
                    'detail': n_fields || ' fields, header has ' || width,
                }}
            when value_reason is not null then value_reason
{rules.rstrip()}
        end as reason,
    from judged
)

select * from final
"""  # noqa: S608
