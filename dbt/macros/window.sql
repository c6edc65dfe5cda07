{#-
    The partition window: a half-open UTC interval [window_start, window_end) passed by
    Dagster, read from (first match wins):
      1. the vars `window_start` / `window_end`      (--vars '{window_start: "...", ...}')
      2. dbt's --event-time-start / --event-time-end flags (invocation_args_dict; unlike
         --vars they do not invalidate partial parsing; they only filter inputs of
         microbatch models, of which this project has none)
      3. defaults 1970-01-01 / 2100-01-01 (the whole history)

    These two macros are the ONLY place that reads the window. Each returns a SQL
    timestamp expression, e.g. cast('2024-01-03 00:00:00' as timestamp).

    Accepted formats (naive UTC, no offset / 'Z'):
        YYYY-MM-DD | YYYY-MM-DD HH:MM | YYYY-MM-DD HH:MM:SS  (' ' or 'T' separator)
    Anything else raises a compiler error: the value is pasted into SQL text.
-#}

{% macro window_start() -%}
    {{- return(_window_bound('window_start', 'event_time_start', '1970-01-01 00:00:00')) -}}
{%- endmacro %}

{% macro window_end() -%}
    {{- return(_window_bound('window_end', 'event_time_end', '2100-01-01 00:00:00')) -}}
{%- endmacro %}

{% macro _window_bound(var_name, flag_name, default) -%}
    {%- set value = var(var_name, none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = invocation_args_dict.get(flag_name) -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = default -%}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?', value) -%}
        {{- exceptions.raise_compiler_error(
            var_name ~ " '" ~ value ~ "' is not a naive UTC timestamp "
            ~ "'YYYY-MM-DD[ HH:MM[:SS]]' (only digits, '-', ':', ' ' and 'T' are allowed)"
        ) -}}
    {%- endif -%}
    {{- return("cast('" ~ (value | replace("T", " ")) ~ "' as timestamp)") -}}
{%- endmacro %}
