"""One small object-store interface over a local folder and S3.

Every write is atomic: S3 PUTs are; local writes go through a temporary file and
`os.replace`. Reading a key that is not there raises `MissingSourceError` naming it. A
listing reads metadata only (S3's ETag and size; a local file's size and mtime_ns), never
content, so its cost is one listing whatever the files hold. `read_chunks` streams an
object, so a reader never holds a big file whole.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline_assets.lib.contract import ContractError, check_key_is_safe
from pipeline_assets.lib.objects import (
    CHUNK_BYTES,
    MissingSourceError,
    MissingZoneError,
    ObjectInfo,
    ObjectStore,
    fingerprint,
    local_etag,
)
from pipeline_assets.lib.s3store import S3Store

__all__ = [
    "LocalStore",
    "MissingSourceError",
    "MissingZoneError",
    "ObjectInfo",
    "ObjectStore",
    "S3Store",
    "fingerprint",
    "local_etag",
    "open_store",
]

# A local copy is CPU-bound in Python (the page cache serves the bytes): threads only
# contend for the GIL. One at a time measured fastest (docs/benchmarks.md).
LOCAL_WORKERS = 1


class LocalStore:
    """A folder used as an object store; keys never escape the root.

    Each folder a key lives in is resolved (and, to write, created) once per store, not once
    per object: a day of many small files costs one `resolve` per hour folder."""

    workers = LOCAL_WORKERS

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.uri = str(self.root)
        self._folders: dict[str, str] = {}  # a key's folder -> its checked path
        self._made: set[str] = set()  # folders this store created (or found)

    def _inside(self, key: str, path: Path) -> Path:
        if path != self.root and self.root not in path.parents:
            # A symlink out of the root is bad input, not a hiccup: fail without retries.
            raise ContractError(f"key {key!r} resolves outside {self.root}")
        return path

    def _folder(self, key: str) -> tuple[str, str]:
        """(the key's folder, checked to stay inside the root, and its file name). The file
        itself may still be a link: `_open` refuses to follow one out."""
        check_key_is_safe(key)
        folder, _, name = key.rpartition("/")
        parent = self._folders.get(folder)
        if parent is None:
            parent = str(self._inside(key, (self.root / folder).resolve()))
            self._folders[folder] = parent
        return parent, name

    def _path(self, key: str) -> str:
        parent, name = self._folder(key)
        return f"{parent}/{name}"

    def _checked(self, key: str) -> Path:
        """The key's path fully resolved (a link included), inside the root."""
        return self._inside(key, (self.root / check_key_is_safe(key)).resolve())

    def list(self, prefix: str) -> list[ObjectInfo]:
        if not self.root.is_dir():
            raise MissingZoneError(self.root)
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        self._inside(prefix, base.resolve())  # the prefix's own folders may be links
        out: list[ObjectInfo] = []
        self._scan(base, base.relative_to(self.root).as_posix(), out)
        return sorted(out, key=lambda o: o.key)

    def _scan(self, folder: Path, relative: str, out: list[ObjectInfo]) -> None:
        """Files under `folder` by one `scandir` per folder and one `stat` per file; links to
        folders are not followed, a link to a file only if it stays inside the root."""
        with os.scandir(folder) as entries:
            for entry in entries:
                key = f"{relative}/{entry.name}" if relative != "." else entry.name
                if entry.is_dir(follow_symlinks=False):
                    self._scan(Path(entry.path), key, out)
                elif entry.name.startswith(".tmp-"):
                    continue  # a write in progress
                elif entry.is_symlink():
                    if entry.is_file():  # a link to a file: never read through one out
                        out.append(ObjectInfo(key, *_size_etag(self._checked(key).stat())))
                elif entry.is_file(follow_symlinks=False):
                    out.append(ObjectInfo(key, *_size_etag(entry.stat(follow_symlinks=False))))

    def _open(self, key: str) -> int:
        path = self._path(key)
        try:
            return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
        # The file is a link: read through it only if it stays inside the root.
        try:
            return os.open(self._checked(key), os.O_RDONLY)
        except FileNotFoundError:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None

    def fetch(self, key: str) -> tuple[bytes, str]:
        """The content and the ETag of exactly the version read (its stat after reading)."""
        fd = self._open(key)
        with open(fd, "rb") as f:
            data = f.read()
            return data, local_etag(os.fstat(fd))

    def read(self, key: str) -> bytes:
        return self.fetch(key)[0]

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes, `size` at a time (the last chunk shorter)."""
        with open(self._open(key), "rb") as f:
            while chunk := f.read(size):
                yield chunk

    def write(self, key: str, data: bytes) -> None:
        self.write_chunks(key, (data,))

    def write_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        """To a temporary name no other writer uses at the same time (this process and
        thread's), then `os.replace`."""
        parent, name = self._folder(key)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        tmp = f"{parent}/.tmp-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(tmp, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
            os.replace(tmp, f"{parent}/{name}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._checked(key).is_file()

    def delete(self, key: str) -> None:
        """Remove one object (a no-op if it is gone); empty folders are left."""
        Path(self._path(key)).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to release; here so that every store closes the same way."""


def _size_etag(stat: os.stat_result) -> tuple[int, str]:
    return stat.st_size, local_etag(stat)


def open_store(uri: str, s3_client_factory=None) -> ObjectStore:
    """`s3://...` -> S3Store (client from the factory), anything else -> a local folder."""
    if uri.startswith("s3://"):
        if s3_client_factory is None:
            import boto3

            s3_client_factory = lambda: boto3.client("s3")  # noqa: E731
        return S3Store(uri, s3_client_factory())
    return LocalStore(uri)
