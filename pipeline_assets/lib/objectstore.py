"""One small object-store interface over a local folder and S3.

Every write is atomic: S3 PUTs are; local writes go through a temporary file and
`os.replace`. Reading a key that is not there raises `MissingSourceError` naming it.
`read_chunks` streams an object, so a reader never holds a big file whole; `max_concurrency`
is how many reads a thread pool may have in flight (S3: the client's connection pool).
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipeline_assets.lib.contract import ContractError, check_key_is_safe


class MissingZoneError(NotADirectoryError):
    """A local zone's root folder is missing: a wrong path or an unmounted volume, never a
    quiet day. Listing it as empty would retract every file of the day."""

    def __init__(self, root: Path):
        super().__init__(errno.ENOENT, "no such zone folder (check its *_URI setting)", str(root))


CHUNK_BYTES = 1 << 20  # a streamed read's piece: big enough that per-chunk costs vanish


class MissingSourceError(FileNotFoundError):
    """A key that was listed or recorded is not in the store (any more)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # S3's ETag; for a local file the MD5 of its content (S3's single-part ETag)


class ObjectStore(Protocol):
    uri: str
    max_concurrency: int

    def list(self, prefix: str) -> list[ObjectInfo]: ...
    def read(self, key: str) -> bytes: ...
    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]: ...
    def write(self, key: str, data: bytes) -> None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStore:
    """A folder used as an object store; keys never escape the root."""

    max_concurrency = 1  # measured: threads cost more than they gain on a local read

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        check_key_is_safe(key)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            # A symlink out of the root is bad input, not a hiccup: fail without retries.
            raise ContractError(f"key {key!r} resolves outside {self.root}")
        return path

    def list(self, prefix: str) -> list[ObjectInfo]:
        if not self.root.is_dir():
            raise MissingZoneError(self.root)
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if self.root not in path.resolve().parents:  # never read through a link out
                    raise ContractError(f"key {key!r} resolves outside {self.root}")
                data = path.read_bytes()
                out.append(ObjectInfo(key, len(data), hashlib.md5(data).hexdigest()))
        return sorted(out, key=lambda o: o.key)

    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes, `size` at a time (the last chunk shorter)."""
        try:
            with open(self._path(key), "rb") as f:
                while chunk := f.read(size):
                    yield chunk
        except FileNotFoundError:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove one object (a no-op if it is gone); empty folders are left."""
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """An `s3://bucket/prefix` location accessed through a boto3 S3 client."""

    def __init__(self, uri: str, client: Any):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"S3 URI {uri!r} has no bucket")
        self.uri = uri.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        # More reads in flight than the client has connections would only queue for one.
        self.max_concurrency = int(client.meta.config.max_pool_connections or 10)

    def _key(self, key: str) -> str:
        return self.prefix + check_key_is_safe(key)

    def list(self, prefix: str) -> list[ObjectInfo]:
        out = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix) :]
                out.append(ObjectInfo(key, obj["Size"], obj["ETag"].strip('"')))
        return sorted(out, key=lambda o: o.key)

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes as its GET streams them, `size` at a time."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None
        with body:
            yield from body.iter_chunks(size)

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def open_store(uri: str, s3_client_factory=None) -> ObjectStore:
    """`s3://...` -> S3Store (client from the factory), anything else -> a local folder."""
    if uri.startswith("s3://"):
        if s3_client_factory is None:
            import boto3

            s3_client_factory = lambda: boto3.client("s3")  # noqa: E731
        return S3Store(uri, s3_client_factory())
    return LocalStore(uri)
