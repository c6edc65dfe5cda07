-- `checked` rows -> their outcomes, by the contract's dedup rule: of the valid rows with the
-- same key in the day, the greatest updated_at (`version_at`, null for a dataset without the
-- column) wins, and a row with one beats a row without;
-- on a tie the last file in lexical key order (file_no), then the last line. The others are
-- quarantined as superseded, naming the winner. The days of a run are validated together,
-- each deduplicated on its own. `checked` can be bigger than memory (DuckDB spills it): it
-- is read, not copied; the superseded rows are few, and kept apart.

-- Most keys have one version: only the others are ranked.
create or replace temp table superseded as
with checked as (
    select
        checked.*,
        files.day,
        files.key as source_key,
    from checked
    inner join files on checked.file_no = files.file_no
),

duplicated as (
    select
        day,
        business_key,
    from checked
    where reason is null
    group by day, business_key
    having count(*) > 1
),

ranked as (
    select
        checked.file_no,
        checked.line_number,
        row_number() over latest_first as version,
        first_value(checked.source_key) over latest_first as winner_key,
        first_value(checked.line_number) over latest_first as winner_line,
    from checked
    inner join duplicated
        on checked.day = duplicated.day and checked.business_key = duplicated.business_key
    where checked.reason is null
    window latest_first as (
        partition by checked.day, checked.business_key
        order by
            checked.version_at is not null desc,
            checked.version_at desc,
            checked.file_no desc,
            checked.line_number desc
    )
),

final as (
    select
        file_no,
        line_number,
        {
            'code': 'superseded_duplicate',
            'detail': 'superseded by ' || winner_key || ' line ' || winner_line,
        } as reason,
    from ranked
    where version > 1
)

select * from final;

-- Every line's outcome: written out day by day (validate_outputs.sql), counted.
create or replace temp view outcomes as
with checked as (
    select * from checked
),

superseded as (
    select * from superseded
),

final as (
    select
        checked.* exclude (business_key, version_at, reason),
        coalesce(checked.reason, superseded.reason) as reason,
    from checked
    left join superseded
        on checked.file_no = superseded.file_no and checked.line_number = superseded.line_number
)

select * from final;
