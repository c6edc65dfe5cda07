-- Data records -> their fields, as a view (the dataset's rules read it once). A file's first
-- record (at line 1) is its header, checked in lib/validate.py. A record without a quote
-- splits at its commas; the others need the field pattern, and their quoted fields lose the
-- quotes. What most rows do not hold is noted once per row: whitespace to strip, a NUL, a
-- length that could break the value length rule.

create or replace temp view fields as
with records as (
    select * from records
    where line_number > 1
),

final as (
    select
        file_no,
        line_number,
        raw_line,
        case
            when contains(raw_line, '"')
                then list_transform(
                    regexp_extract_all(',' || raw_line, getvariable('field_pattern'), 1),
                    lambda f: if(starts_with(f, '"'), replace(f[2:-2], '""', '"'), f)
                )
            else string_split(raw_line, ',')
        end as fields,
        regexp_matches(raw_line, getvariable('space_pattern')) as spaced,
        contains(raw_line, chr(0)) or strlen(raw_line) > getvariable('max_value_chars')
            as unusual,
    from records
)

select * from final;
