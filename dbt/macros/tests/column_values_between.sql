{#-
    column_values_between(min_value=none, max_value=none): fails with every row (all of its
    columns) whose value is below min_value or above max_value (bounds inclusive; either
    bound may be omitted). Nulls pass: pair with not_null.
-#}
{% test column_values_between(model, column_name, min_value=none, max_value=none) %}

{%- if min_value is none and max_value is none -%}
    {{- exceptions.raise_compiler_error(
        "column_values_between on " ~ column_name ~ ": give min_value and/or max_value"
    ) -}}
{%- endif -%}

select *
from {{ model }}
where
    false
    {%- if min_value is not none %}
    or {{ column_name }} < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or {{ column_name }} > {{ max_value }}
    {%- endif %}

{% endtest %}
