{#- Use a model's custom schema as-is (staging, intermediate, marts), not <target>_<custom>,
    so warehouse schemas match the Dagster asset keys. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{- (custom_schema_name or target.schema) | trim -}}
{%- endmacro %}
