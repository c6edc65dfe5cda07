"""An S3 location as an object store: listings from metadata, and S3's own copies within
one endpoint."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline_assets.lib.contract import check_key_is_safe
from pipeline_assets.lib.objects import CHUNK_BYTES, MissingSourceError, ObjectInfo


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
        """Every object under `prefix`, from the listing's pages (1,000 keys a page), one
        after another: listing a big prefix folder by folder, many at once, was slower on
        moto's server (docs/benchmarks.md)."""
        cut, out = len(self.prefix), []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for o in page.get("Contents", []):
                out.append(ObjectInfo(o["Key"][cut:], o["Size"], o["ETag"].strip('"')))
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

    def write_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        """A streamed upload (multipart above 8 MB): a few parts in memory, never the whole."""
        body = io.BufferedReader(_ChunkReader(iter(chunks)), CHUNK_BYTES)
        self.client.upload_fileobj(body, self.bucket, self._key(key))

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


class _ChunkReader(io.RawIOBase):
    """Chunks as a readable file, for boto3's managed upload."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._rest = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            self._rest = next(self._chunks, b"")
            if not self._rest:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n], self._rest = self._rest[:n], self._rest[n:]
        return n
