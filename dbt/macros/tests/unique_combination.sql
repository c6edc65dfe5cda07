{#-
    unique_combination(combination_of_columns=[...]): fails with every row (all of its
    columns) whose combination of the given columns occurs more than once (a composite
    primary key check).
-#}
{% test unique_combination(model, combination_of_columns) %}

{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{- exceptions.raise_compiler_error(
        "unique_combination: combination_of_columns must be a non-empty list of columns"
    ) -}}
{%- endif -%}
{%- set columns_csv = combination_of_columns | join(', ') -%}

with

tested as (

    select * from {{ model }}

),

duplicated as (

    select {{ columns_csv }}
    from tested
    group by {{ columns_csv }}
    having count(*) > 1

),

final as (

    select tested.*
    from tested
    inner join duplicated
        on
        {%- for column in combination_of_columns %}
            {% if not loop.first %}and {% endif -%}
            tested.{{ column }} is not distinct from duplicated.{{ column }}
        {%- endfor %}

)

select * from final

{% endtest %}
