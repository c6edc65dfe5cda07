{#-
    The partition window: a half-open UTC interval [window_start, window_end) passed by
    Dagster, read from (first match wins):
      1. the vars `window_start` / `window_end`      (--vars '{window_start: "...", ...}')
      2. the var `run_date` YYYY-MM-DD = the day [run_date, run_date + 1 day): how an
         Airflow-style DAG passes its logical date (--vars '{"run_date": "2024-01-03"}')
      3. dbt's --event-time-start / --event-time-end flags (invocation_args_dict; unlike
         --vars they do not invalidate partial parsing; they only filter inputs of
         microbatch models, of which this project has none)
      4. defaults 1970-01-01 / 2100-01-01 (the whole history)

    These two macros are the ONLY place that reads the window. Each returns a SQL
    timestamp expression, e.g. cast('2024-01-03 00:00:00' as timestamp).

    Accepted formats (naive UTC, no offset / 'Z'):
        YYYY-MM-DD | YYYY-MM-DD HH:MM | YYYY-MM-DD HH:MM:SS  (' ' or 'T' separator)
    Anything else raises a compiler error: the value is pasted into SQL text.
-#}

{% macro window_start() -%}
    {{- return(_window_bound('window_start', 'event_time_start', '1970-01-01 00:00:00', 0)) -}}
{%- endmacro %}

{% macro window_end() -%}
    {{- return(_window_bound('window_end', 'event_time_end', '2100-01-01 00:00:00', 1)) -}}
{%- endmacro %}

{% macro _window_bound(var_name, flag_name, default, run_date_offset_days) -%}
    {%- set value = var(var_name, none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = _run_date_bound(run_date_offset_days) -%}
    {%- endif -%}
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

{#- The var `run_date` (YYYY-MM-DD) plus `offset_days` days, or none when run_date is unset. -#}
{% macro _run_date_bound(offset_days) -%}
    {%- set run_date = var('run_date', none) -%}
    {%- if run_date is none or (run_date | string | trim) == '' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set run_date = run_date | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', run_date) -%}
        {{- exceptions.raise_compiler_error(
            "run_date '" ~ run_date ~ "' is not a date 'YYYY-MM-DD'"
        ) -}}
    {%- endif -%}
    {%- set day = modules.datetime.datetime.strptime(run_date, '%Y-%m-%d') -%}
    {{- return((day + modules.datetime.timedelta(days=offset_days)).strftime('%Y-%m-%d %H:%M:%S')) -}}
{%- endmacro %}
