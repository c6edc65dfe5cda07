"""What every object store has: an object's listing entry, the store's interface, and the
errors that name a missing zone or key (`lib/objectstore.py` has the stores)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK_BYTES = 1 << 20  # a streamed read's piece: big enough that per-chunk costs vanish
# An object bigger than this is copied and loaded as a stream of chunks, never held whole.
STREAM_ABOVE = 16 << 20


class MissingZoneError(NotADirectoryError):
    """A local zone's root folder is missing: a wrong path or an unmounted volume, never a
    quiet day. Listing it as empty would retract every file of the day."""

    def __init__(self, root: Path):
        super().__init__(errno.ENOENT, "no such zone folder (check its *_URI setting)", str(root))


class MissingSourceError(FileNotFoundError):
    """A key that was listed or recorded is not in the store (any more)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    # S3's ETag; for a local file "<size>-<mtime_ns>" from its stat, which a rewrite changes
    # (the quick check rsync uses): listing a local zone never opens a file.
    etag: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.etag, self.size)


def fingerprint(etag: str, size: int) -> str:
    """What says a landing object changed: its ETag and its size (a local ETag is its size
    and mtime_ns). The sensor and the schedules compare a listing with a manifest by it."""
    return f"{etag}/{size}"


def local_etag(stat: os.stat_result) -> str:
    """A local file's ETag: its size and mtime_ns, which a rewrite changes."""
    return f"{stat.st_size}-{stat.st_mtime_ns}"


class ObjectStore(Protocol):
    uri: str
    workers: int  # how many requests may run at once (an S3 client's connection pool)

    def list(self, prefix: str) -> list[ObjectInfo]: ...
    def read(self, key: str) -> bytes: ...
    def fetch(self, key: str) -> tuple[bytes, str]: ...
    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]: ...
    def write(self, key: str, data: bytes) -> None: ...
    def write_chunks(self, key: str, chunks: Iterable[bytes]) -> None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def close(self) -> None: ...
