-- One day's outcomes as rows of the warehouse tables, `raw.<dataset>` and `raw.quarantine`:
-- one Parquet file each, which lib/raw_load.py stages and loads by column name.

copy (
    select
        * exclude (file_no, source_key, line_number, raw_line, reason, day),
        source_key as _source_key,
        line_number as _source_line,
        day as _partition,
    from outcomes
    where day = getvariable('partition') and reason is null
) to (getvariable('accepted_path')) (format parquet);

copy (
    select
        getvariable('dataset') as dataset,
        day as _partition,
        source_key,
        line_number,
        left(raw_line, getvariable('max_raw_line')) as raw_line,
        reason.code as reason_code,
        reason.detail as reason_detail,
    from outcomes
    where day = getvariable('partition') and reason is not null
) to (getvariable('quarantined_path')) (format parquet);
