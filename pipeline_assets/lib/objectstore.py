"""One small object-store interface over a local folder and S3.

Every write is atomic: S3 PUTs are; local writes go through a temporary file and
`os.replace`. Reading a key that is not there raises `MissingSourceError` naming it. A
listing reads metadata only (S3's ETag and size; a local file's size and mtime_ns), never
content, so its cost is one listing whatever the files hold.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipeline_assets.lib.contract import ContractError, check_key_is_safe

# A local copy is CPU-bound in Python (the page cache serves the bytes): threads only
# contend for the GIL. One at a time measured fastest (docs/benchmarks.md).
LOCAL_WORKERS = 1


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
    return f"{stat.st_size}-{stat.st_mtime_ns}"


class ObjectStore(Protocol):
    uri: str
    workers: int  # how many requests may run at once (an S3 client's connection pool)

    def list(self, prefix: str) -> list[ObjectInfo]: ...
    def read(self, key: str) -> bytes: ...
    def fetch(self, key: str) -> tuple[bytes, str]: ...
    def write(self, key: str, data: bytes) -> None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def close(self) -> None: ...


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

    def write(self, key: str, data: bytes) -> None:
        """To a temporary name no other writer uses at the same time (this process and
        thread's), then `os.replace`."""
        parent, name = self._folder(key)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        tmp = f"{parent}/.tmp-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
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


class S3Store:
    """An `s3://bucket/prefix` location accessed through a boto3 S3 client; as many requests
    at once as the client's connection pool holds."""

    def __init__(self, uri: str, client: Any):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"S3 URI {uri!r} has no bucket")
        self.uri = uri.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.workers = max(1, client.meta.config.max_pool_connections)

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

    def fetch(self, key: str) -> tuple[bytes, str]:
        """The content and the ETag of exactly the version read."""
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise MissingSourceError(f"source key not found: {self.uri}/{key}") from None
        return got["Body"].read(), got["ETag"].strip('"')

    def read(self, key: str) -> bytes:
        return self.fetch(key)[0]

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def copy_from(self, source: S3Store, key: str, etag: str) -> str | None:
        """S3's own copy of exactly this version of `source`'s key (no bytes pass through
        here): the copy's sha256, computed by S3, or None when the source changed since it
        was listed (nothing was copied). A missing source raises `MissingSourceError`."""
        try:
            result = self.client.copy_object(
                Bucket=self.bucket,
                Key=self._key(key),
                CopySource={"Bucket": source.bucket, "Key": source._key(key)},
                CopySourceIfMatch=f'"{etag}"',
                ChecksumAlgorithm="SHA256",
            )["CopyObjectResult"]
        except self.client.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise MissingSourceError(f"source key not found: {source.uri}/{key}") from None
            if code == "PreconditionFailed":  # re-landed since the listing
                return None
            raise
        checksum = result.get("ChecksumSHA256") or ""
        if not checksum or "-" in checksum:  # none, or a multipart checksum of checksums
            return hashlib.sha256(self.read(key)).hexdigest()
        return base64.b64decode(checksum).hex()

    def same_endpoint(self, other: object) -> bool:
        """Whether S3 can copy between the two by itself (one endpoint and region)."""
        if not isinstance(other, S3Store):
            return False
        a, b = self.client.meta, other.client.meta
        return (a.endpoint_url, a.region_name) == (b.endpoint_url, b.region_name)

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

    def close(self) -> None:
        """Closes the client's connections."""
        self.client.close()


def open_store(uri: str, s3_client_factory=None) -> ObjectStore:
    """`s3://...` -> S3Store (client from the factory), anything else -> a local folder."""
    if uri.startswith("s3://"):
        if s3_client_factory is None:
            import boto3

            s3_client_factory = lambda: boto3.client("s3")  # noqa: E731
        return S3Store(uri, s3_client_factory())
    return LocalStore(uri)
