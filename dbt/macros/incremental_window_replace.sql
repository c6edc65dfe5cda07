{#-
    Custom incremental strategy `window_replace`: exact replacement of the partition window.

        {{ config(
            materialized='incremental',
            incremental_strategy='window_replace',
            unique_key='order_id',             -- optional, see below
            meta={
                'window_column': 'order_date', -- required: column the window applies to
                'window_column_type': 'date',  -- optional: 'date' | 'timestamp'
                                               --   (default: detected from the target column)
                'window_affected': 'order_id', -- optional: also replace the rows whose key
                                               --   (or day, when it names the window
                                               --   column) is pending
                'window_inputs': {...},        -- with window_affected: how each landing
            },                                 --   dataset maps to keys (window_state.sql)
        ) }}

    The two keys live in config.meta because dbt >= 1.10 deprecates custom top-level config
    keys (CustomKeyInConfigDeprecation); a top-level `window_column=` is still read as a
    fallback.

    On an incremental run dbt's materialization builds the model SQL (which must itself be
    filtered with window_filter(...) under is_incremental()) into a temp relation and calls
    this macro, which emits, inside the materialization's transaction:

        delete from <target> where <window_filter(window_column)>;
        [delete from <target> where (<unique_key>) in (select <unique_key> from <temp>);]
        insert into <target> (<cols>) select <cols> from <temp>;

    The first delete removes every row of the window, so rows the model no longer produces
    disappear. The optional second delete (only when unique_key is set) removes older copies
    of re-produced keys that sit OUTSIDE the window, e.g. an order whose corrected version
    moved its ordered_at into this window; it is a no-op when the key contains the window
    column. Never uses `max(...) from {{ this }}`: the window comes only from the vars.

    meta.window_affected = <key column> | <window column> widens the first delete to the rows
    of the keys (or days) this model has pending (macros/window_state.sql): the keys a landed
    row or a retraction changed, and the days they touch.

    Dialects go through adapter.dispatch: default__ (DuckDB and others, where the
    materialization already holds a transaction) and snowflake__ (dbt-snowflake runs in
    autocommit and has no materialization transaction, so the statements are wrapped with
    dbt-snowflake's own snowflake_dml_explicit_transaction, exactly like its delete+insert).
-#}
{% macro get_incremental_window_replace_sql(arg_dict) -%}
    {{- return(adapter.dispatch('get_incremental_window_replace_sql', 'shop')(arg_dict)) -}}
{%- endmacro %}


{% macro default__get_incremental_window_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set dest_columns = arg_dict['dest_columns'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set window_column = config.meta_get('window_column') or config.get('window_column') -%}

    {%- if not window_column -%}
        {{- exceptions.raise_compiler_error(
            "incremental_strategy='window_replace' needs config meta.window_column (model " ~ model.name ~ ")"
        ) -}}
    {%- endif -%}
    {%- if arg_dict.get('incremental_predicates') -%}
        {{- exceptions.raise_compiler_error(
            "incremental_strategy='window_replace' does not support incremental_predicates (model "
            ~ model.name ~ "): the window is the predicate"
        ) -}}
    {%- endif -%}

    {#- The window column must be one of the written columns; its type picks the comparison. -#}
    {%- set matches = [] -%}
    {%- for column in dest_columns if column.name | lower == window_column | lower -%}
        {%- do matches.append(column) -%}
    {%- endfor -%}
    {%- if not matches -%}
        {{- exceptions.raise_compiler_error(
            "window_replace: window_column " ~ (window_column | tojson) ~ " is not a column of "
            ~ target ~ " (columns: " ~ (dest_columns | map(attribute='name') | join(', ')) ~ ")"
        ) -}}
    {%- endif -%}
    {%- set detected_type = 'date' if (matches[0].dtype | lower) == 'date' else 'timestamp' -%}
    {%- set column_type = (
        config.meta_get('window_column_type') or config.get('window_column_type') or detected_type
    ) | lower -%}
    {%- if column_type != detected_type -%}
        {{- exceptions.raise_compiler_error(
            "window_replace: window_column_type=" ~ (column_type | tojson) ~ " but " ~ window_column
            ~ " is " ~ matches[0].dtype ~ " in " ~ target
        ) -}}
    {%- endif -%}

    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {%- if unique_key is string -%}
        {%- set key_columns = [unique_key] -%}
    {%- else -%}
        {%- set key_columns = unique_key or [] -%}
    {%- endif -%}

{%- set affected = config.meta_get('window_affected') %}
{%- set by_day = affected and (affected | lower) == (window_column | lower) %}

delete from {{ target }}
where {{ window_filter(adapter.quote(matches[0].name), column_type) }}
{%- if by_day %}
    or cast({{ adapter.quote(affected) }} as date) in (
        select pending.pending_day
        from {{ window_pending() }} as pending
    )
{%- elif affected %}
    or cast({{ adapter.quote(affected) }} as varchar) in (
        select pending.pending_key
        from {{ window_pending() }} as pending
    )
{%- endif %};
{%- if key_columns | length > 0 %}

delete from {{ target }}
where ({{ key_columns | join(', ') }}) in (
    select {{ key_columns | join(', ') }}
    from {{ source }}
);
{%- endif %}

insert into {{ target }} ({{ dest_cols_csv }})
select {{ dest_cols_csv }}
from {{ source }}
{%- endmacro %}


{% macro snowflake__get_incremental_window_replace_sql(arg_dict) -%}
    {{- return(snowflake_dml_explicit_transaction(default__get_incremental_window_replace_sql(arg_dict))) -}}
{%- endmacro %}
