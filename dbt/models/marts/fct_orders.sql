{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        unique_key='order_id',
        on_schema_change='fail',
        meta={
            'window_column': 'ordered_at',
            'window_column_type': 'timestamp',
        },
    )
}}

{#-
    One row per current order (see int_orders_deduplicated); amounts in currency units.
    Incremental: the orders this window can change (int_orders_affected), wherever they are.
-#}
-- depends_on: {{ ref('int_orders_affected') }}

with

orders as (

    select * from {{ ref('int_orders_deduplicated') }}
    {% if is_incremental() -%}
    where order_id in (select order_id from {{ ref('int_orders_affected') }})
    {%- endif %}

),

final as (

    select
        order_id as order_id,
        order_date as order_date,
        customer_id as customer_id,
        store_id as store_id,
        ordered_at as ordered_at,
        subtotal as subtotal,
        tax_paid as tax_paid,
        order_total as order_total,
        order_total_cents as order_total_cents,
        updated_at as updated_at
    from orders

)

select * from final
