{#-
    The current version of every order, across all raw partitions: greatest updated_at
    (null = lowest), ties broken by the greatest _partition, then _source_key, _source_line,
    over the raw partitions before the data horizon (window_state.sql: today's partial files
    count once today is built).

    Incremental: rank ALL versions of the orders this model has pending (window_pending:
    every order with a version in the window, or current in it before), wherever they
    landed, and write their current versions on the days this model was asked for. The
    window_replace strategy deletes the window and every copy of these orders, then inserts,
    so an order that moved to another day or came back after a retraction ends up exactly
    where a full rebuild puts it.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where cast(_partition as timestamp) < {{ data_horizon() }}

),

{% if is_incremental() %}

affected_orders as (

    select distinct pending.pending_key as order_id
    from {{ window_pending() }} as pending

),

candidate_versions as (

    select orders.*
    from orders
    inner join affected_orders
        on orders.order_id = affected_orders.order_id

),

{% else %}

candidate_versions as (

    select * from orders

),

{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by
                updated_at desc nulls last,
                _partition desc,
                _source_key desc,
                _source_line desc
        ) as version_rank
    from candidate_versions

),

current_versions as (

    select
        order_id,
        customer_id,
        store_id,
        ordered_at,
        order_date,
        subtotal,
        tax_paid,
        order_total,
        order_total_cents,
        updated_at,
        _source_key,
        _source_line,
        _partition
    from ranked
    where version_rank = 1

),

final as (

    select * from current_versions
    where {{ window_rows('ordered_at', 'timestamp') }}

)

select * from final
