-- Customers rows -> `checked`: the typed row and the first contract rule it breaks (null
-- when none): the field count, then each column in contract order (length, NUL, required,
-- then its kind).

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
        columns['customer_id'] as customer_id_at,
        columns['name'] as name_at,
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
        strip(fields.fields[files.customer_id_at], fields.spaced) as customer_id,
        strip(fields.fields[files.name_at], fields.spaced) as name,
        strip(fields.fields[files.updated_at_at], fields.spaced) as updated_at,
    from fields
    inner join files on fields.file_no = files.file_no
),

typed as (
    select
        *,
        utc_timestamp(updated_at) as updated_at_utc,
    from valued
),

judged as (
    select
        *,
        case
            -- surely valid: the common case, checked cheaply
            when not unusual
                and customer_id <> ''
                and (updated_at = '' or updated_at_utc is not null)
                then null
            else coalesce(
                text_reason('customer_id', customer_id, true),
                text_reason('name', name, false),
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
        customer_id,
        nullif(name, '') as name,
        updated_at_utc as updated_at,
        customer_id as business_key,
        case
            when n_fields <> width
                then {'code': 'malformed_row', 'detail': n_fields || ' fields, header has ' || width}
            else value_reason
        end as reason,
    from judged
)

select * from final;
