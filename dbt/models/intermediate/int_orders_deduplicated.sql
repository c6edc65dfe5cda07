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

    Incremental (window [window_start, window_end) on ordered_at): take every order id that
    has ANY version in the window, rank ALL versions of those ids (wherever they landed),
    and keep the winners whose ordered_at is in the window. The window_replace strategy
    then deletes the window (plus stale copies of the same order ids) and inserts these.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

{% if is_incremental() %}

order_ids_in_window as (

    select distinct
        order_id as order_id
    from orders
    where {{ window_filter('ordered_at', 'timestamp') }}

),

candidate_versions as (

    select
        orders.*
    from orders
    inner join order_ids_in_window
        on orders.order_id = order_ids_in_window.order_id

),

{% else %}

candidate_versions as (

    select * from orders

),

{% endif %}

ranked as (

    select
        candidate_versions.*,
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
        order_id as order_id,
        customer_id as customer_id,
        store_id as store_id,
        ordered_at as ordered_at,
        order_date as order_date,
        subtotal as subtotal,
        tax_paid as tax_paid,
        order_total as order_total,
        order_total_cents as order_total_cents,
        updated_at as updated_at,
        _source_key as _source_key,
        _source_line as _source_line,
        _partition as _partition
    from ranked
    where version_rank = 1

),

final as (

    select * from current_versions
    {% if is_incremental() -%}
    where {{ window_filter('ordered_at', 'timestamp') }}
    {%- endif %}

)

select * from final
