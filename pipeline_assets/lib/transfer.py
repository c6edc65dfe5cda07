"""The copy of many objects at once: bounded concurrency with results in input order.

A day can hold thousands of small files; one request after another costs each file a round
trip (about 6 ms on moto's server, tens of ms on S3). `copy_many` keeps up to the S3
client's connection pool of requests in flight (local to local: one, as a local copy is
CPU-bound), hands results back in the order of the input whatever order they finish in, and
on the first error (in input order) starts nothing more and raises it: the error names its
key, as a serial loop's would (`lib/parallel.map_ordered`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pipeline_assets.lib.objects import STREAM_ABOVE
from pipeline_assets.lib.objectstore import ObjectInfo, ObjectStore, S3Store
from pipeline_assets.lib.parallel import map_ordered

__all__ = ["Copied", "copy_many"]


@dataclass(frozen=True)
class Copied:
    """One object as copied: its key, the size and sha256 of the bytes the copy holds, and
    the source's ETag for exactly that version."""

    key: str
    size: int
    sha256: str
    etag: str


def copy_many(
    source: ObjectStore, dest: ObjectStore, objects: Sequence[ObjectInfo]
) -> list[Copied]:
    """Copy each listed object from `source` to `dest` under the same key, in listing order.
    Within one S3 endpoint the copy is made by S3 itself (no bytes pass through here, S3
    computes the sha256); otherwise each object is read once and written once."""
    # A request's round trip is what concurrency hides: with S3 on either side, as many at
    # once as the S3 clients' pools hold; local to local is CPU-bound, one at a time.
    pools = [store.workers for store in (source, dest) if isinstance(store, S3Store)]
    workers = min(pools) if pools else min(source.workers, dest.workers)
    if isinstance(source, S3Store) and isinstance(dest, S3Store) and dest.same_endpoint(source):
        return list(map_ordered(lambda o: _server_side(source, dest, o), objects, workers))
    return list(map_ordered(lambda o: _through_memory(source, dest, o), objects, workers))


def _through_memory(source: ObjectStore, dest: ObjectStore, obj: ObjectInfo) -> Copied:
    if obj.size > STREAM_ABOVE:
        return _streamed(source, dest, obj)
    data, etag = source.fetch(obj.key)  # a file deleted since the listing: MissingSourceError
    dest.write(obj.key, data)
    return Copied(obj.key, len(data), hashlib.sha256(data).hexdigest(), etag)


def _streamed(source: ObjectStore, dest: ObjectStore, obj: ObjectInfo) -> Copied:
    """A big object copied chunk by chunk, hashed on the way, never held whole. It is
    recorded with its listed ETag: if it changed after the listing, the next listing differs
    from the manifest, and the day is copied again (never the other way round)."""
    digest, size = hashlib.sha256(), 0

    def chunks() -> Iterator[bytes]:
        nonlocal size
        for chunk in source.read_chunks(obj.key):
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    dest.write_chunks(obj.key, chunks())
    return Copied(obj.key, size, digest.hexdigest(), obj.etag)


def _server_side(source: S3Store, dest: S3Store, obj: ObjectInfo) -> Copied:
    """S3's copy of exactly the listed version; one re-landed since the listing is read here."""
    sha256 = dest.copy_from(source, obj.key, obj.etag)
    if sha256 is None:
        return _through_memory(source, dest, obj)
    return Copied(obj.key, obj.size, sha256, obj.etag)
