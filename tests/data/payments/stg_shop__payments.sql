with

source as (

    select * from {{ source('shop', 'payments') }}

),

renamed as (

    select
        cast(payment_id as varchar) as payment_id,
        cast(order_id as varchar) as order_id,
        cast(method as varchar) as method,
        cast(amount as bigint) as amount_cents,
        cast(paid_at as timestamp) as paid_at,
        _source_key,
        _source_line,
        _partition

    from source

),

final as (

    select * from renamed

)

select * from final
