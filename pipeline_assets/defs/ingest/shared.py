"""What the copy, the load and their checks share: asset keys, tags, retries, failing fast."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.dataset import Dataset

IO_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
OWNER = "team:data-engineering"
# The tag on a dataset's copy and raw assets naming it: the CLI's summary, the automation
# conditions (which datasets a model reads) and the sensor find them by it.
DATASET_TAG = "dataset"
RAW_PREFIX = "raw"  # raw/<name>: the loaded rows; processing/<files>: the copied files


def files_key(dataset: Dataset) -> dg.AssetKey:
    return dg.AssetKey(["processing", dataset.processing_name])


def raw_key(dataset: Dataset) -> dg.AssetKey:
    return dg.AssetKey([RAW_PREFIX, dataset.name])


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
