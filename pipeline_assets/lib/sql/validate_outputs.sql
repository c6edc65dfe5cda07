-- One day's outcomes as rows of the warehouse tables, `raw.<dataset>` and `raw.quarantine`:
-- one Parquet file each, which lib/raw_load.py stages and loads by column name. A day's
-- files are consecutive file numbers, so each copy reads only that day's part of `checked`.

copy (
    with outcomes as (
        select * from outcomes
        where file_no between getvariable('first_file') and getvariable('last_file')
    ),

    files as (
        select * from files
    ),

    final as (
        select
            outcomes.* exclude (file_no, line_number, raw_line, reason),
            files.key as _source_key,
            outcomes.line_number as _source_line,
            files.day as _partition,
        from outcomes
        inner join files on outcomes.file_no = files.file_no
        where outcomes.reason is null
    )

    select * from final
) to (getvariable('accepted_path')) (format parquet);

copy (
    with outcomes as (
        select * from outcomes
        where file_no between getvariable('first_file') and getvariable('last_file')
    ),

    files as (
        select * from files
    ),

    final as (
        select
            getvariable('dataset') as dataset,
            files.day as _partition,
            files.key as source_key,
            outcomes.line_number,
            left(outcomes.raw_line, getvariable('max_raw_line')) as raw_line,
            outcomes.reason.code as reason_code,
            outcomes.reason.detail as reason_detail,
        from outcomes
        inner join files on outcomes.file_no = files.file_no
        where outcomes.reason is not null
    )

    select * from final
) to (getvariable('quarantined_path')) (format parquet);
