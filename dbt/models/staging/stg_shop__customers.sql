with

source as (

    select * from {{ source('shop', 'customers') }}

),

renamed as (

    select
        cast(customer_id as varchar) as customer_id,
        cast(name as varchar) as name,
        cast(updated_at as timestamp) as updated_at,
        cast(_partition as date) as partition_date,
        _source_key,
        _source_line,
        _partition

    from source

),

final as (

    select * from renamed

)

select * from final
