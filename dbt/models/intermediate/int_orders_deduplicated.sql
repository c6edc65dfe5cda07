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
    The current version of every order, across all raw partitions: greatest updated_at
    (null = lowest), ties broken by the greatest _partition, then _source_key, _source_line.

    Incremental: rank ALL versions of the orders this window can change
    (int_orders_affected), wherever they landed, and write their current versions, wherever
    those fall. The window_replace strategy deletes the window and every older copy of these
    order ids, then inserts, so an order that moved to another day or came back after a
    retraction ends up exactly where a full rebuild puts it.
-#}
-- depends_on: {{ ref('int_orders_affected') }}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

{% if is_incremental() %}

affected_orders as (

    select distinct order_id
    from {{ ref('int_orders_affected') }}

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

)

select * from final
