"""What a piece of code really touched: the files it opened, the S3 requests it sent.

Spies, not fakes: the code runs against the real folder or moto's real server, and these only
record. Files through Python's audit events (`open`, raised by `open` and `os.open`), S3
requests through botocore's own event hooks on every client the zones make.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline_assets.defs.resources import PooledS3Resource

_recorders: list[tuple[str, list[str]]] = []


def _on_audit(event: str, args: tuple) -> None:
    if event != "open" or not _recorders or not isinstance(args[0], str | bytes | os.PathLike):
        return
    path = os.fsdecode(args[0])
    for root, opened in _recorders:
        if path.startswith(root) and not os.path.isdir(path):
            opened.append(path[len(root) :])


sys.addaudithook(_on_audit)  # hooks cannot be removed: it records only inside `opened_under`


@contextmanager
def opened_under(root: Path) -> Iterator[list[str]]:
    """The files under `root` opened (to read or write) while inside the block."""
    opened: list[str] = []
    entry = (str(root.resolve()) + os.sep, opened)
    _recorders.append(entry)
    try:
        yield opened
    finally:
        _recorders.remove(entry)


def record_s3_requests(monkeypatch) -> list[tuple[str, str, str]]:
    """(operation, bucket, key or prefix) of every request sent by a client the zones'
    S3 resource makes from now on (the test's own clients are not counted)."""
    sent: list[tuple[str, str, str]] = []
    make = PooledS3Resource.get_client

    def get_client(self):
        client = make(self)

        def record(params, model, **_):
            where = params.get("Key") or params.get("Prefix") or ""
            sent.append((model.name, params.get("Bucket", ""), where))

        client.meta.events.register("provide-client-params.s3.*", record)
        return client

    monkeypatch.setattr(PooledS3Resource, "get_client", get_client)
    return sent
