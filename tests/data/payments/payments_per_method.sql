{{
    config(
        materialized='table',
    )
}}

with

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

final as (

    select
        method,
        count(*) as payments,
        sum(amount_cents) as amount_cents
    from payments
    group by method

)

select * from final
