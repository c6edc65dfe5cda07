-- `checked` rows -> `outcomes`, by the contract's dedup rule: of the valid rows with the
-- same key in the day, the greatest updated_at wins, and a row with one beats a row without;
-- on a tie the last file in lexical key order (file_no), then the last line. The others are
-- quarantined as superseded, naming the winner.

-- Most keys have one version: only the others are ranked.
create or replace temp table superseded as
with checked as (
    select * from checked
),

duplicated as (
    select business_key
    from checked
    where reason is null
    group by business_key
    having count(*) > 1
),

ranked as (
    select
        file_no,
        line_number,
        row_number() over latest_first as version,
        first_value(source_key) over latest_first as winner_key,
        first_value(line_number) over latest_first as winner_line,
    from checked
    where reason is null and business_key in (select business_key from duplicated)
    window latest_first as (
        partition by business_key
        order by updated_at is not null desc, updated_at desc, file_no desc, line_number desc
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

-- A view: its readers (the Parquet outputs, the counts) each scan it once.
create or replace temp view outcomes as
with checked as (
    select * from checked
),

superseded as (
    select * from superseded
),

final as (
    select
        checked.* exclude (business_key, reason),
        coalesce(checked.reason, superseded.reason) as reason,
    from checked
    left join superseded
        on checked.file_no = superseded.file_no and checked.line_number = superseded.line_number
)

select * from final;
