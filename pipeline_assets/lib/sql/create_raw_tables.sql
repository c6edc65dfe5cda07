-- Raw landing tables. Run on every load: idempotent DDL, no data changes.
create schema if not exists raw;

create table if not exists raw.orders (
    order_id varchar not null,
    customer_id varchar not null,
    store_id varchar,
    ordered_at timestamp not null,
    subtotal bigint not null,
    tax_paid bigint not null,
    order_total bigint not null,
    updated_at timestamp,
    _source_key varchar not null,
    _source_line integer not null,
    _partition varchar not null
);

create table if not exists raw.customers (
    customer_id varchar not null,
    name varchar,
    updated_at timestamp,
    _source_key varchar not null,
    _source_line integer not null,
    _partition varchar not null
);

create table if not exists raw.quarantine (
    dataset varchar not null,
    _partition varchar not null,
    source_key varchar not null,
    line_number integer not null,
    raw_line varchar not null,
    reason_code varchar not null,
    reason_detail varchar not null
);
