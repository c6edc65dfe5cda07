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
    where
        order_id in (
            select affected.order_id
            from {{ ref('int_orders_affected') }} as affected
        )
    {%- endif %}

),

final as (

    select
        order_id,
        order_date,
        customer_id,
        store_id,
        ordered_at,
        subtotal,
        tax_paid,
        order_total,
        order_total_cents,
        updated_at
    from orders

)

select * from final
