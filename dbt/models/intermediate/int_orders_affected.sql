{{
    config(
        materialized='table',
    )
}}

{#-
    The orders whose current version this run's window can change, and every day they touch.

    Built BEFORE int_orders_deduplicated (which refs it), so the prior current versions are
    still there to read. An order is affected when any of its versions lies in the window, or
    when its current version did (a retracted version leaves no other trace). Its days are
    the days of all its versions and of its prior current version: the incremental models
    rebuild exactly these orders and days, so a correction that moves an order to another
    day, or a retraction that brings back an older version elsewhere, corrects both days in
    the same run, as a full rebuild would.
-#}

{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_orders_deduplicated'
) -%}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

{% if previous -%}
previous_orders as (

    select * from {{ previous }}

),
{%- endif %}

affected_orders as (

    select distinct order_id
    from orders
    where {{ window_filter('ordered_at', 'timestamp') }}
    {%- if previous %}

    union

    select order_id
    from previous_orders
    where {{ window_filter('ordered_at', 'timestamp') }}
    {%- endif %}

),

version_days as (

    select distinct
        orders.order_id,
        orders.order_date
    from orders
    inner join affected_orders
        on orders.order_id = affected_orders.order_id

),

final as (

    select
        order_id,
        order_date
    from version_days
    {%- if previous %}

    union

    select
        previous_orders.order_id,
        previous_orders.order_date
    from previous_orders
    inner join affected_orders
        on previous_orders.order_id = affected_orders.order_id
    {%- endif %}

)

select * from final
