{#-
    column_type_is(expected_type): compile-time check of a column's data type, as reported
    by adapter.get_columns_in_relation(model), compared case-insensitively
    (e.g. expected_type='date'). Returns no row when it matches, one failure row otherwise.

    Must not be combined with config `where`: dbt then passes a subquery instead of the
    relation and the catalog cannot be read (raises a compiler error saying so).
    Adapter-specific names apply (DuckDB 'DECIMAL(18,2)' vs Snowflake 'NUMBER(18,2)'), so
    prefer portable names like date / boolean.
-#}
{% test column_type_is(model, column_name, expected_type) %}

{%- set failure = none -%}
{%- if execute -%}
    {%- if model is string or model.identifier is not defined -%}
        {{- exceptions.raise_compiler_error(
            "column_type_is on " ~ column_name ~ ": cannot be used with config `where`"
        ) -}}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for column in adapter.get_columns_in_relation(model)
            if column.name | lower == column_name | lower -%}
        {%- do found.append(column) -%}
    {%- endfor -%}
    {%- if not found -%}
        {%- set failure = "column " ~ column_name ~ " not found in " ~ model -%}
    {%- elif (found[0].data_type | lower) != (expected_type | lower) -%}
        {%- set failure = "expected " ~ (expected_type | lower) ~ ", got " ~ (found[0].data_type | lower) -%}
    {%- endif -%}
{%- endif -%}

{%- if failure is none %}
select cast(null as varchar(200)) as failure
where 1 = 0
{%- else %}
select cast('{{ failure | replace("'", "''") }}' as varchar(200)) as failure
{%- endif %}

{% endtest %}
