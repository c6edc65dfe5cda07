{{
    config(
        materialized='table',
    )
}}

{#-
    The latest version of every customer across all raw daily partitions: greatest
    updated_at (null = lowest), ties broken by the greatest _partition, then _source_key,
    _source_line. first/last_seen_date = first/last daily partition the customer appears in.
    A whole table, of the raw partitions before the data horizon (window_state.sql): today's
    partial customers file counts once today is built.
-#}

with

customers as (

    select * from {{ ref('stg_shop__customers') }}
    where cast(partition_date as timestamp) < {{ data_horizon() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                updated_at desc nulls last,
                _partition desc,
                _source_key desc,
                _source_line desc
        ) as version_rank,
        min(partition_date) over (partition by customer_id) as first_seen_date,
        max(partition_date) over (partition by customer_id) as last_seen_date
    from customers

),

final as (

    select
        customer_id,
        name,
        updated_at,
        first_seen_date,
        last_seen_date
    from ranked
    where version_rank = 1

)

select * from final
