{#-
    dbt's four built-in generic tests, rewritten to return the failing rows in full.

    dbt's own versions return only the tested column (relationships, not_null without
    store_failures) or one row per duplicated value (unique, accepted_values), which names
    neither the order nor its day. These return every column of every failing row, so
    Dagster can show a sample of them (order id, customer id, day) on the failed check.
    dbt dispatches its built-in tests through the `dbt` namespace, which looks in the root
    project first: these replace dbt's default__ versions on every adapter.
    The failure count is the number of failing rows (for unique: every row of a duplicated
    value, not the number of values). `model` may be a subquery that already carries an
    alias (a test's `where` config), so it is only ever selected from inside a CTE.
-#}

{% macro default__test_not_null(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} is null

{% endmacro %}


{% macro default__test_unique(model, column_name) %}

with

tested as (

    select * from {{ model }}

),

duplicated as (

    select {{ column_name }} as unique_field
    from tested
    where {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1

),

final as (

    select tested.*
    from tested
    inner join duplicated
        on tested.{{ column_name }} = duplicated.unique_field

)

select * from final

{% endmacro %}


{% macro default__test_accepted_values(model, column_name, values, quote=True) %}

select *
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        {%- for value in values -%}
            {%- if quote -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}
            {%- if not loop.last -%}, {% endif -%}
        {%- endfor -%}
    )

{% endmacro %}


{% macro default__test_relationships(model, column_name, to, field) %}

with

child as (

    select * from {{ model }}

),

parent as (

    select {{ field }} as to_field
    from {{ to }}

),

final as (

    select child.*
    from child
    left join parent
        on child.{{ column_name }} = parent.to_field
    where
        child.{{ column_name }} is not null
        and parent.to_field is null

)

select * from final

{% endmacro %}
