{#-
    cents_to_currency(expression): integer cents -> decimal(18, 2) currency units, exactly.

    Multiplies by the decimal literal 0.01 instead of dividing by 100: DuckDB's `/` on
    DECIMAL returns DOUBLE, whereas decimal * decimal stays an exact DECIMAL on both DuckDB
    and Snowflake. Sum cents first and pass the sum here (never sum rounded amounts).
-#}
{% macro cents_to_currency(expression) -%}
    cast(cast({{ expression }} as decimal(38, 0)) * 0.01 as decimal(18, 2))
{%- endmacro %}
