{#-
    fault_point(point): crash-test hook, renders nothing unless PIPELINE_FAULT == point.

    On DuckDB an armed point renders a read of a named pipe that
    pipeline_assets/lib/dbt_fault_plugin.py (a dbt-duckdb plugin in the dev profile) creates
    and watches: DuckDB blocks opening it, the plugin sees the open and SIGKILLs dbt right
    there, inside the open transaction. Other adapters render nothing.
    See docs/reliability.md.
-#}
{% macro fault_point(point) -%}
    {{- return(adapter.dispatch('fault_point', 'shop')(point)) -}}
{%- endmacro %}


{% macro default__fault_point(point) -%}
{%- endmacro %}


{% macro duckdb__fault_point(point) -%}
    {%- if env_var('PIPELINE_FAULT', '') == point %}
select * from read_text('{{ (target.path ~ "." ~ point ~ ".fifo") | replace("'", "''") }}');
    {%- endif -%}
{%- endmacro %}
