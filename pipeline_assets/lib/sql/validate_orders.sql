-- Orders rows -> `checked`: the typed row and the first contract rule it breaks (null when
-- none). The rules and their order are the contract's (README): the field count; each
-- column in contract order (length, NUL, required, then its kind); the file's hour folder;
-- the total.

create or replace temp table checked as
with fields as (
    select * from fields
),

files as (
    -- where each column is in the file (null: the file lacks it, and the value is empty)
    select
        file_no,
        key as source_key,
        width,
        hour_start,
        hour_end,
        columns['order_id'] as order_id_at,
        columns['customer_id'] as customer_id_at,
        columns['store_id'] as store_id_at,
        columns['ordered_at'] as ordered_at_at,
        columns['subtotal'] as subtotal_at,
        columns['tax_paid'] as tax_paid_at,
        columns['order_total'] as order_total_at,
        columns['updated_at'] as updated_at_at,
    from files
),

valued as (
    select
        fields.file_no,
        fields.line_number,
        fields.raw_line,
        fields.unusual,
        len(fields.fields) as n_fields,
        files.source_key,
        files.width,
        files.hour_start,
        files.hour_end,
        strip(fields.fields[files.order_id_at], fields.spaced) as order_id,
        strip(fields.fields[files.customer_id_at], fields.spaced) as customer_id,
        strip(fields.fields[files.store_id_at], fields.spaced) as store_id,
        strip(fields.fields[files.ordered_at_at], fields.spaced) as ordered_at,
        strip(fields.fields[files.subtotal_at], fields.spaced) as subtotal,
        strip(fields.fields[files.tax_paid_at], fields.spaced) as tax_paid,
        strip(fields.fields[files.order_total_at], fields.spaced) as order_total,
        strip(fields.fields[files.updated_at_at], fields.spaced) as updated_at,
    from fields
    inner join files on fields.file_no = files.file_no
),

typed as (
    select
        *,
        utc_timestamp(ordered_at) as ordered_at_utc,
        utc_timestamp(updated_at) as updated_at_utc,
        cents(subtotal) as subtotal_cents,
        cents(tax_paid) as tax_paid_cents,
        cents(order_total) as order_total_cents,
    from valued
),

judged as (
    select
        *,
        case
            -- surely valid: the common case, checked cheaply
            when not unusual
                and order_id <> ''
                and customer_id <> ''
                and ordered_at_utc is not null
                and cents_ok(subtotal_cents)
                and cents_ok(tax_paid_cents)
                and cents_ok(order_total_cents)
                and (updated_at = '' or updated_at_utc is not null)
                then null
            else coalesce(
                text_reason('order_id', order_id, true),
                text_reason('customer_id', customer_id, true),
                text_reason('store_id', store_id, false),
                timestamp_reason('ordered_at', ordered_at, true),
                cents_reason('subtotal', subtotal),
                cents_reason('tax_paid', tax_paid),
                cents_reason('order_total', order_total),
                timestamp_reason('updated_at', updated_at, false)
            )
        end as value_reason,
    from typed
),

final as (
    select
        file_no,
        source_key,
        line_number,
        raw_line,
        order_id,
        customer_id,
        nullif(store_id, '') as store_id,
        ordered_at_utc as ordered_at,
        subtotal_cents as subtotal,
        tax_paid_cents as tax_paid,
        order_total_cents as order_total,
        updated_at_utc as updated_at,
        order_id as business_key,
        case
            when n_fields <> width
                then {'code': 'malformed_row', 'detail': n_fields || ' fields, header has ' || width}
            when value_reason is not null then value_reason
            when not (ordered_at_utc >= hour_start and ordered_at_utc < hour_end)
                then {
                    'code': 'outside_partition_hour',
                    'detail': 'ordered_at ' || py_datetime(ordered_at_utc)
                    || ' is outside the folder''s hour [' || py_datetime(hour_start)
                    || ', ' || py_datetime(hour_end) || ')',
                }
            when order_total_cents <> subtotal_cents + tax_paid_cents
                then {
                    'code': 'total_mismatch',
                    'detail': 'order_total ' || order_total_cents
                    || ' != subtotal + tax_paid ' || (subtotal_cents + tax_paid_cents),
                }
        end as reason,
    from judged
)

select * from final;
