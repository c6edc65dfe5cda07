"""`map` on a bounded thread pool, results in input order: the one concurrency primitive.

Used where each item waits on the network (S3 requests): up to `workers` run at once, the
results come back in the order of the input whatever order they finish in, and the first
error in that order is raised after starting nothing more.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`map(fn, items)` on up to `workers` threads, yielding in input order. At most
    2 × `workers` results are held at once, so a consumer of big results bounds memory."""
    if workers <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[R]] = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transfer")
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # An error, or a consumer that stopped early: start nothing more, wait for the
        # requests already running (their threads cannot be interrupted), then close.
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
