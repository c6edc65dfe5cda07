"""customer_features: the per-day feature table, its run-scoped outputs and the pointer.

Each run writes its output under its own path, `date=D/run_id=R/customer_features.parquet`,
which no reader looks at. Only after the run succeeded does the orchestrator replace the
day's pointer, `date=D/_latest.json`, in one atomic object write. Readers go through the
pointer, so a failed, killed or repeated run never shows them a half-written output. The
output a pointer replaced is kept (a reader may be reading it); older ones are deleted.

A day's features are cumulative: they read every order and customer up to that day. So a
correction on day d changes the features of every day from d on. Each pointer records a
digest of what its day read (`input_digests`: the marts' rows up to the day, and this
code); a run recomputes its own days and every published day whose digest no longer
matches, so every published day always equals a build from scratch.
"""

import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_assets.lib.objectstore import MissingZoneError, ObjectStore

if TYPE_CHECKING:
    from pipeline_assets.lib.warehouse import Db

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


# What a day's features read, per day of the marts: the rows' day column and the columns read.
INPUTS = (
    ("fct_orders", "order_date", ("customer_id", "order_total")),
    ("dim_customers", "first_seen_date", ("customer_id",)),
)
CODE_DIGEST = hashlib.sha256(f"{FEATURES_SQL}{RECENT_DAYS}".encode()).hexdigest()
_POINTER = re.compile(r"^date=([0-9]{4}-[0-9]{2}-[0-9]{2})/_latest\.json\Z")


def input_digests(db: "Db", days: Iterable[str]) -> dict[str, str]:
    """For each day, one digest of everything its features read: the marts' rows of that
    day and every day before it, and the code reading them. Equal digests, equal output."""
    entries = sorted(
        (str(day)[:10], table, rows, digest)
        for table, column, columns in INPUTS
        for day, rows, digest in db.fingerprint(db.table("marts", table), column, columns)
        if day is not None
    )
    out, chain, i = {}, CODE_DIGEST, 0
    for day in sorted(set(days)):
        while i < len(entries) and entries[i][0] <= day:
            chain = hashlib.sha256(f"{chain}{entries[i]}".encode()).hexdigest()
            i += 1
        out[day] = chain
    return out


def published(store: ObjectStore) -> dict[str, "Output"]:
    """Every day that has a published output, and what its pointer says."""
    try:
        listed = store.list("")
    except MissingZoneError:  # nothing was ever published here
        return {}
    days = [m.group(1) for o in listed if (m := _POINTER.match(o.key))]
    return {day: found for day in days if (found := latest(store, day)) is not None}


def stale_days(outputs: dict[str, "Output"], digests: dict[str, str]) -> list[str]:
    """The published days whose inputs changed since (or that predate the digests)."""
    return sorted(day for day, o in outputs.items() if o.inputs != digests.get(day))


def recompute(
    db: "Db", store: ObjectStore, requested: list[str], run_id: str
) -> tuple[list["Output"], list[str]]:
    """Write the features of `requested` and of every published day whose inputs changed,
    under this run's keys; return the outputs (not yet published) and the changed days."""
    before = published(store)
    digests = input_digests(db, [*requested, *before])
    stale = [day for day in stale_days(before, digests) if day not in requested]
    outputs = [
        write_output(
            store,
            day,
            run_id,
            db.arrow(FEATURES_SQL, features_params(date.fromisoformat(day))),
            digests[day],
        )
        for day in sorted({*requested, *stale})
    ]
    return outputs, stale


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
    inputs: str = ""  # input_digests() of the day when it was computed


def write_output(
    store: ObjectStore, day: str, run_id: str, table: pa.Table, inputs: str = ""
) -> Output:
    """Write a run's output for one day under its run-scoped key (invisible to readers)."""
    data = to_parquet(table)
    key = output_key(day, run_id)
    store.write(key, data)
    return Output(day, run_id, key, table.num_rows, hashlib.sha256(data).hexdigest(), inputs)


def publish(store: ObjectStore, output: Output) -> None:
    """Point readers at `output`, after checking that the bytes are complete and intact;
    then delete the day's outputs older than the one it replaces."""
    actual = hashlib.sha256(store.read(output.key)).hexdigest()
    if actual != output.sha256:
        raise ValueError(
            f"{store.uri}/{output.key}: checksum {actual} does not match the reported "
            f"{output.sha256}; the pointer for {output.day} was not moved"
        )
    previous = latest(store, output.day)
    store.write(pointer_key(output.day), json.dumps(asdict(output), sort_keys=True).encode())
    keep = {pointer_key(output.day), output.key, previous.key if previous else ""}
    for obj in store.list(f"date={output.day}/"):
        if obj.key not in keep:
            store.delete(obj.key)


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
