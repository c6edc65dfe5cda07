"""The `checked` step of validation, written from a dataset's declaration (`lib/dataset.py`).

Every row typed, and the first rule it breaks (null when none), in the contract's order
(README): the field count; each column in declared order (length, NUL, required, then its
type); then the time rule (the `time_column` inside its file's folder: its hour or day); then
the declared row rules (orders: `order_total = subtotal + tax_paid`). A column added to a
declaration is one line in its YAML, not five places in two SQL files. The SQL functions
used here (`strip`, `utc_timestamp`, `cents`, `*_reason`) are `sql/validate_macros.sql`.
"""

from __future__ import annotations

from pipeline_assets.lib.dataset import Column, Dataset, SumRule

TYPED = {"timestamp": ("utc_timestamp", "_utc"), "cents": ("cents", "_cents")}


def _typed(c: Column) -> str:
    """The column's typed value, as `typed` names it (text stays as it is)."""
    return c.name + TYPED[c.type][1] if c.type in TYPED else c.name


def _surely_valid(c: Column) -> str | None:
    """A cheap test a valid value passes (the common case); None: nothing to test."""
    if c.type == "cents":
        ok = f"cents_ok({c.name}_cents)"
        return ok if c.required else f"({c.name} = '' or {ok})"
    if c.type == "timestamp" and c.required:
        return f"{c.name}_utc is not null"
    if c.type == "timestamp":
        return f"({c.name} = '' or {c.name}_utc is not null)"
    return f"{c.name} <> ''" if c.required else None


def _reason(c: Column) -> str:
    required = "true" if c.required else "false"
    function = {"cents": "cents_reason", "timestamp": "timestamp_reason"}.get(c.type)
    return f"{function or 'text_reason'}('{c.name}', {c.name}, {required})"


def _final(c: Column) -> str:
    if c.type in TYPED:
        return f"{_typed(c)} as {c.name}"
    return c.name if c.required else f"nullif({c.name}, '') as {c.name}"


def _time_rule(dataset: Dataset) -> list[str]:
    """The time column must fall inside its file's folder (null: nothing to judge)."""
    if dataset.time_column is None:
        return []
    t = f"{dataset.time_column}_utc"
    unit = "hour" if dataset.layout == "hourly" else "day"
    return [
        f"when not ({t} >= period_start and {t} < period_end)",
        "    then {",
        f"        'code': '{dataset.time_rule_code}',",
        f"        'detail': '{dataset.time_column} ' || py_datetime({t})",
        f"        || ' is outside the folder''s {unit} [' || py_datetime(period_start)",
        "        || ', ' || py_datetime(period_end) || ')',",
        "    }",
    ]


def _sum_rule(rule: SumRule) -> list[str]:
    total = " + ".join(f"{name}_cents" for name in rule.of)
    return [
        f"when {rule.column}_cents <> {total}",
        "    then {",
        f"        'code': '{rule.code}',",
        f"        'detail': '{rule.column} ' || {rule.column}_cents",
        f"        || ' != {' + '.join(rule.of)} ' || ({total}),",
        "    }",
    ]


def _lines(items: list[str], indent: int, end: str = ",") -> str:
    return "\n".join(" " * indent + item + end for item in items)


def checked_sql(dataset: Dataset) -> str:
    """The `checked` rows of `dataset` (a query: lib/validate.py appends each batch's to the
    table), from the `fields` and `files` tables that the earlier steps made."""
    columns = dataset.columns
    fast = [test for c in columns if (test := _surely_valid(c))]
    rules = _time_rule(dataset) + [line for r in dataset.rules for line in _sum_rule(r)]
    typed = [f"{TYPED[c.type][0]}({c.name}) as {_typed(c)}" for c in columns if c.type in TYPED]
    # Every name below is a declared one (identifiers only: lib/dataset.py checks), never a
    # key's or a file's text.
    return f"""
with fields as (
    select * from fields
),

files as (
    -- where each column is in the file (null: the file lacks it, and the value is empty)
    select
        file_no,
        width,
        period_start,
        period_end,
{_lines([f"columns['{c.name}'] as {c.name}_at" for c in columns], 8)}
    from files
),

valued as (
    select
        fields.file_no,
        fields.line_number,
        fields.raw_line,
        fields.unusual,
        len(fields.fields) as n_fields,
        files.width,
        files.period_start,
        files.period_end,
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
                and {" and ".join(fast) or "true"}
                then null
            else coalesce({", ".join(_reason(c) for c in columns)})
        end as value_reason,
    from typed
),

final as (
    select
        file_no,
        line_number,
        raw_line,
{_lines([_final(c) for c in columns], 8)}
        {dataset.key} as business_key,
        {f"{dataset.version_column}_utc" if dataset.version_column else "null::timestamp"} as version_at,
        case
            when n_fields <> width
                then {{
                    'code': 'malformed_row',
                    'detail': n_fields || ' fields, header has ' || width,
                }}
            when value_reason is not null then value_reason
{_lines(rules, 12, "")}
        end as reason,
    from judged
)

select * from final
"""  # noqa: S608
