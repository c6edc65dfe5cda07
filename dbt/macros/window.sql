{#-
    The partition window: a half-open UTC interval [window_start, window_end) passed by
    Dagster as the vars `window_start` / `window_end`.

    These two macros are the ONLY place that reads the window. Each returns a SQL
    timestamp expression, e.g. cast('2024-01-03 00:00:00' as timestamp).

    Accepted formats (naive UTC, no offset / 'Z'):
        YYYY-MM-DD | YYYY-MM-DD HH:MM | YYYY-MM-DD HH:MM:SS  (' ' or 'T' separator)
    Anything else raises a compiler error: the value is pasted into SQL text.
    Unset (or empty) = the whole history: 1970-01-01 .. 2100-01-01.
-#}

{% macro window_start() -%}
    {%- set value = var('window_start', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = '1970-01-01 00:00:00' -%}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?', value) -%}
        {{- exceptions.raise_compiler_error(
            "var window_start=" ~ (value | tojson) ~ " is not a naive UTC timestamp "
            ~ "'YYYY-MM-DD[ HH:MM[:SS]]' (only digits, '-', ':', ' ' and 'T' are allowed)"
        ) -}}
    {%- endif -%}
    cast('{{ value | replace("T", " ") }}' as timestamp)
{%- endmacro %}

{% macro window_end() -%}
    {%- set value = var('window_end', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = '2100-01-01 00:00:00' -%}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?', value) -%}
        {{- exceptions.raise_compiler_error(
            "var window_end=" ~ (value | tojson) ~ " is not a naive UTC timestamp "
            ~ "'YYYY-MM-DD[ HH:MM[:SS]]' (only digits, '-', ':', ' ' and 'T' are allowed)"
        ) -}}
    {%- endif -%}
    cast('{{ value | replace("T", " ") }}' as timestamp)
{%- endmacro %}
