-- The raw schema and the quarantine table every dataset shares. Run on every load:
-- idempotent DDL, no data changes. Each dataset's own table is written from its
-- declaration (lib/dataset.py, `Dataset.raw_table_ddl`).
create schema if not exists raw;

create table if not exists raw.quarantine (
    dataset varchar not null,
    _partition varchar not null,
    source_key varchar not null,
    line_number integer not null,
    raw_line varchar not null,
    reason_code varchar not null,
    reason_detail varchar not null
);
