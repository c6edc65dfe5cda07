{#-
    window_filter(column, column_type='timestamp'): a boolean SQL predicate that is true when
    `column` lies in the partition window [window_start(), window_end()).

    `start` / `end` (SQL expressions) replace the window, e.g. a window built before
    (macros/window_state.sql).

    Used by the incremental models (to filter what they produce), by the `window_replace`
    strategy (to delete what they replace) and by window-scoped tests, so all three always
    agree on what "the window" is.

    column_type:
      'timestamp'  column >= start and column < end
      'date'       the days that overlap the window:
                       column >= cast(start as date) and cast(column as timestamp) < end
                   For day-aligned bounds (daily partitions) this is exactly
                   column >= cast(start as date) and column < cast(end as date).
                   For a non-aligned window (e.g. one hour) it widens to the whole day(s)
                   the window touches instead of silently selecting nothing; daily
                   aggregates are recomputed from their full day, so that stays exact.
-#}
{% macro window_filter(column, column_type='timestamp', start=none, end=none) -%}
    {%- set column_type = (column_type or 'timestamp') | lower -%}
    {%- set start = start or window_start() -%}
    {%- set end = end or window_end() -%}
    {%- if column_type == 'date' -%}
        ({{ column }} >= cast({{ start }} as date) and cast({{ column }} as timestamp) < {{ end }})
    {%- elif column_type == 'timestamp' -%}
        ({{ column }} >= {{ start }} and {{ column }} < {{ end }})
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "window_filter: column_type must be 'date' or 'timestamp', got " ~ (column_type | tojson)
        ) -}}
    {%- endif -%}
{%- endmacro %}
