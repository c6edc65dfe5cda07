{{
    config(
        materialized='incremental',
        unique_key=['order_date', 'customer_id'],
        on_schema_change='sync_all_columns',
        meta={
            'window_column': 'order_date',
            'window_column_type': 'date',
            'window_affected': 'order_date',
            'window_key': 'order_id',
            'window_inputs': {'orders': {'key': 'order_id', 'day': 'ordered_at'}},
        },
    )
}}

{#-
    Orders and revenue per UTC day and customer. On an incremental run every day of the
    window, and every published day that a pending order touches (window_pending), is
    recomputed in full and replaced, so a (day, customer) row whose orders all moved away
    (to another customer or another day) disappears.

    dim_customers is a declared parent: the relationships test on fct_orders.customer_id has
    it as a parent, and dbt skips a model after a failing test only when every parent of the
    test is the model's ancestor. So an order naming an unknown customer blocks this model.
-#}
-- depends_on: {{ ref('dim_customers') }}

with

orders as (

    select * from {{ ref('fct_orders') }}
    where
        {{ window_filter('order_date', 'date') }}
    {% if is_incremental() -%}
    or (
        order_date in (
            select pending.pending_day
            from {{ window_pending() }} as pending
        )
        and {{ in_built_window('order_date', 'date') }}
    )
    {%- endif %}

),

daily as (

    select
        order_date,
        customer_id,
        count(distinct order_id) as total_orders,
        sum(order_total_cents) as total_revenue_cents
    from orders
    group by
        order_date,
        customer_id

),

final as (

    select
        cast(order_date as date) as order_date,
        customer_id,
        total_orders,
        {{ cents_to_currency('total_revenue_cents') }} as total_revenue
    from daily

)

select * from final
