-- The lower bound (benchmark case C) and the tests' independent oracle: orders_daily_summary
-- computed straight from the landing CSVs in one DuckDB statement, with the contract's
-- validation and dedup rules. $1 is the glob of the orders files.
with

files as (

    select * from read_csv(
        $1, header = true, all_varchar = true, filename = true, union_by_name = true,
        delim = ',', quote = '"'
    )

),

lines as (

    -- read_csv keeps file order; seq orders lines within a file for the dedup tie-break
    select *, row_number() over () as seq from files

),

parsed as (

    select
        filename,
        seq,
        trim(order_id) as order_id,
        trim(customer_id) as customer_id,
        strptime(
            regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/', 1)
            || ' ' || regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/', 2),
            '%Y-%m-%d %H'
        ) as hour_start,
        regexp_replace(trim(ordered_at), '(Z|\+00:00)$', '') as ordered_at_text,
        regexp_replace(trim(coalesce(updated_at, '')), '(Z|\+00:00)$', '') as updated_at_text,
        trim(subtotal) as subtotal,
        trim(tax_paid) as tax_paid,
        trim(order_total) as order_total
    from lines

),

typed as (

    select
        *,
        case when regexp_full_match(ordered_at_text, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?')
            then try_cast(replace(ordered_at_text, 'T', ' ') as timestamp) end as ordered_at,
        case when regexp_full_match(updated_at_text, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?')
            then try_cast(replace(updated_at_text, 'T', ' ') as timestamp) end as updated_at,
        case when regexp_full_match(subtotal, '\+?\d+') then try_cast(subtotal as hugeint) end as subtotal_cents,
        case when regexp_full_match(tax_paid, '\+?\d+') then try_cast(tax_paid as hugeint) end as tax_cents,
        case when regexp_full_match(order_total, '\+?\d+') then try_cast(order_total as hugeint) end as total_cents
    from parsed

),

valid as (

    select * from typed
    where coalesce(order_id, '') <> ''
        and coalesce(customer_id, '') <> ''
        and ordered_at >= hour_start and ordered_at < hour_start + interval 1 hour
        and (updated_at_text = '' or updated_at is not null)
        and subtotal_cents <= 100000000000
        and tax_cents <= 100000000000
        and total_cents <= 100000000000
        and total_cents = subtotal_cents + tax_cents

),

current_orders as (

    select * from valid
    qualify row_number() over (
        partition by order_id
        order by updated_at desc nulls last, filename desc, seq desc
    ) = 1

),

final as (

    select
        cast(ordered_at as date) as order_date,
        customer_id as customer_id,
        count(distinct order_id) as total_orders,
        cast(sum(total_cents) as decimal(38, 0)) * 0.01 as total_revenue
    from current_orders
    group by all

)

select * from final order by order_date, customer_id
