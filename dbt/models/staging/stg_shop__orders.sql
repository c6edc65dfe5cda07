with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,
        cast(store_id as varchar) as store_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(ordered_at as date) as order_date,
        {{ cents_to_currency('subtotal') }} as subtotal,
        {{ cents_to_currency('tax_paid') }} as tax_paid,
        {{ cents_to_currency('order_total') }} as order_total,
        cast(order_total as bigint) as order_total_cents,
        cast(updated_at as timestamp) as updated_at,
        _source_key,
        _source_line,
        _partition

    from source

),

final as (

    select * from renamed

)

select * from final
