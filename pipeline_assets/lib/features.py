"""customer_features: the per-day feature table, its run-scoped outputs and the pointer.

Each run writes its output under its own path, `date=D/run_id=R/customer_features.parquet`,
which no reader looks at. Only after the run succeeded does the orchestrator replace the
day's pointer, `date=D/_latest.json`, in one atomic object write. Readers go through the
pointer, so a failed, killed or repeated run never shows them a half-written output.
"""

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_assets.lib.objectstore import ObjectStore

FILE_NAME = "customer_features.parquet"
POINTER = "_latest.json"
RECENT_DAYS = 30

# Portable between DuckDB and Snowflake: qmark parameters, date arithmetic as `date - date`.
FEATURES_SQL = """
with

customers as (

    select customer_id
    from marts.dim_customers
    where first_seen_date <= ?

),

orders as (

    select customer_id, order_date, order_total
    from marts.fct_orders
    where order_date <= ?

),

per_customer as (

    select
        customer_id,
        count(*) as lifetime_orders,
        sum(order_total) as lifetime_revenue,
        sum(case when order_date > ? then 1 else 0 end) as orders_30d,
        sum(case when order_date > ? then order_total else 0 end) as revenue_30d,
        max(order_date) as last_order_date
    from orders
    group by customer_id

)

select
    customers.customer_id,
    cast(? as date) as feature_date,
    coalesce(per_customer.lifetime_orders, 0) as lifetime_orders,
    coalesce(per_customer.lifetime_revenue, 0) as lifetime_revenue,
    coalesce(per_customer.orders_30d, 0) as orders_30d,
    coalesce(per_customer.revenue_30d, 0) as revenue_30d,
    cast(? as date) - per_customer.last_order_date as days_since_last_order
from customers
left join per_customer on per_customer.customer_id = customers.customer_id
order by customers.customer_id
"""


def features_params(day: date) -> list[Any]:
    """Bind parameters of FEATURES_SQL for the features as of the end of `day`."""
    recent_start = day - timedelta(days=RECENT_DAYS)
    return [day, day, recent_start, recent_start, day, day]


def output_key(day: str, run_id: str) -> str:
    return f"date={day}/run_id={run_id}/{FILE_NAME}"


def pointer_key(day: str) -> str:
    return f"date={day}/{POINTER}"


def to_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Output:
    """What one run wrote for one day: where, how many rows, and the bytes' checksum."""

    day: str
    run_id: str
    key: str
    rows: int
    sha256: str


def write_output(store: ObjectStore, day: str, run_id: str, table: pa.Table) -> Output:
    """Write a run's output for one day under its run-scoped key (invisible to readers)."""
    data = to_parquet(table)
    key = output_key(day, run_id)
    store.write(key, data)
    return Output(day, run_id, key, table.num_rows, hashlib.sha256(data).hexdigest())


def publish(store: ObjectStore, output: Output) -> None:
    """Point readers at `output`, after checking that the bytes are complete and intact."""
    actual = hashlib.sha256(store.read(output.key)).hexdigest()
    if actual != output.sha256:
        raise ValueError(
            f"{store.uri}/{output.key}: checksum {actual} does not match the reported "
            f"{output.sha256}; the pointer for {output.day} was not moved"
        )
    store.write(pointer_key(output.day), json.dumps(asdict(output), sort_keys=True).encode())


def latest(store: ObjectStore, day: str) -> Output | None:
    """The day's published output, or None if no run has succeeded for it yet."""
    if not store.exists(pointer_key(day)):
        return None
    return Output(**json.loads(store.read(pointer_key(day))))


def read_features(store: ObjectStore, day: str) -> pa.Table:
    """The reader's entry point: the latest published features of `day`."""
    found = latest(store, day)
    if found is None:
        raise FileNotFoundError(f"no published customer_features for {day} in {store.uri}")
    return pq.read_table(io.BytesIO(store.read(found.key)))
