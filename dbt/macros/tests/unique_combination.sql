{#-
    unique_combination(combination_of_columns=[...]): fails with one row per combination of
    the given columns that occurs more than once (a composite primary key check).
-#}
{% test unique_combination(model, combination_of_columns) %}

{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{- exceptions.raise_compiler_error(
        "unique_combination: combination_of_columns must be a non-empty list of columns"
    ) -}}
{%- endif -%}
{%- set columns_csv = combination_of_columns | join(', ') -%}

with

validation as (
    select
        {{ columns_csv }},
        count(*) as n_records
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
),

final as (
    select * from validation
)

select * from final

{% endtest %}
