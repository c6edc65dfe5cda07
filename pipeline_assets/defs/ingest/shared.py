"""What the copy, the load and their checks share: asset keys, retries, failing fast."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipeline_assets.lib.contract import CUSTOMERS, ORDERS, ContractError

IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
OWNER = "team:data-engineering"
FILES_ASSET = {ORDERS: "order_files", CUSTOMERS: "customer_files"}


def files_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(["processing", FILES_ASSET[dataset]])


def raw_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", dataset])


@contextmanager
def bad_input_fails_without_retry() -> Iterator[None]:
    """Bad input and non-transient OS errors fail at once, naming the file; only transient
    I/O errors (a dropped connection, a file deleted between listing and reading) are retried.
    """
    try:
        yield
    except ContractError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from None
    except (PermissionError, IsADirectoryError, NotADirectoryError) as e:
        raise dg.Failure(description=f"{e.filename}: {e.strerror}", allow_retries=False) from None
