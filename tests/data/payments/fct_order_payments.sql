{{
    config(
        materialized='incremental',
        unique_key='order_id',
        meta={
            'window_column': 'order_date',
            'window_column_type': 'date',
            'window_affected': 'order_id',
            'window_inputs': {
                'orders': {'key': 'order_id', 'day': 'ordered_at'},
                'payments': {'key': 'order_id'},
            },
        },
    )
}}

{#-
    Each current order with what was paid for it: a payment that lands on any later day, or
    is retracted, re-derives its order's day (window_inputs.payments).
-#}

with

orders as (

    select
        order_id,
        order_date,
        order_total_cents
    from {{ ref('fct_orders') }}
    where
        {{ window_rows('order_date', 'date') }}
        {% if is_incremental() -%}
        and (
            {{ window_filter('order_date', 'date') }}
            or order_id in (
                select pending.pending_key
                from {{ window_pending() }} as pending
            )
        )
        {%- endif %}

),

payments as (

    select
        order_id,
        count(*) as payments,
        sum(amount_cents) as paid_cents
    from {{ ref('stg_shop__payments') }}
    where cast(_partition as timestamp) < {{ data_horizon() }}
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.order_date,
        orders.order_total_cents,
        coalesce(payments.payments, 0) as payments,
        coalesce(payments.paid_cents, 0) as paid_cents
    from orders
    left join payments on orders.order_id = payments.order_id

)

select * from final
