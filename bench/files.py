"""The small-files axis: the same rows as 42, 1,440 or 14,400 order files a day, in a local
folder and on S3 (moto's server, its own process on 127.0.0.1, as a remote endpoint is).

Per layout and store: case A (`pipeline backfill` of the days, measured from outside as the
other cases are; its copy and read seconds from inside, `bench/cost.py`), then the landing
sensor evaluated twice on the same instance (the first tick, which starts from the
manifests, then a steady tick: one listing of the lookback), and the bytes the event log
holds for one copy materialization. The days are the ones just before today, so the
sensor's default lookback covers them. Every layout's mart must equal the default one's.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.compare import equal_summaries, export_summary
from bench.measure import tail

DEFAULT = "default"  # the sample's own layout: one file per hour, plus its corrections
MOTO_CREDENTIALS = {  # moto's documented fake credentials; nothing else listens there
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class FilesResult:
    store: str  # "local" or "s3"
    layout: str  # DEFAULT or the files_per_day asked for
    days: int
    orders_per_day: int
    order_files_per_day: float = 0.0  # as generated
    status: str = "ok"
    seconds: float | None = None
    peak_rss_mb: float | None = None
    inside: dict[str, Any] = field(default_factory=dict)  # A's split: copy, read seconds
    sensor: dict[str, Any] = field(default_factory=dict)  # tick seconds, event bytes
    summary: str | None = None
    equal: bool | None = None  # this layout's mart equals the default layout's, same store


class Moto:
    """moto's S3 server in its own process (stopped by `close`)."""

    def __init__(self, log: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("wb")
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        self.env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", **MOTO_CREDENTIALS}
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto's server did not start: {tail(log)}")

    def client(self) -> Any:
        from pipeline_assets.defs.resources import PooledS3Resource

        return PooledS3Resource(endpoint_url=self.env["AWS_ENDPOINT_URL"], **_keys()).get_client()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": MOTO_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def seed_layout(store: Any, start: date, days: int, orders: int, layout: str) -> float:
    """The sample's rows for the days in `layout`, written many at a time (not timed);
    returns the order files per day."""
    from pipeline_assets.lib.parallel import map_ordered
    from pipeline_assets.lib.sample import day_files

    per_day = None if layout == DEFAULT else int(layout)
    t, orders_files = time.perf_counter(), 0
    for n in range(days):
        files = day_files(start + timedelta(days=n), orders, 42, per_day)
        orders_files += sum(k.startswith("orders/") for k in files)
        for _ in map_ordered(lambda kv: store.write(*kv), files.items(), store.workers):
            pass
    seconds = time.perf_counter() - t
    print(f"  seeded {orders_files / days:,.0f} order files a day ({seconds:.0f} s, not timed)")
    return orders_files / days


def run_axis(
    bench: Any, layouts: list[str], stores: list[str], days: int, orders: int
) -> list[FilesResult]:
    """Every layout on every store, the same rows; returns the results (also in bench.record)."""
    from pipeline_assets.lib.objectstore import LocalStore, S3Store

    start = datetime.now(UTC).date() - timedelta(days=days)  # inside the sensor's lookback
    results: list[FilesResult] = []
    moto = Moto(bench.workdir / "logs" / "moto.log") if "s3" in stores else None
    try:
        for i, kind in enumerate(stores):
            for layout in layouts if i % 2 == 0 else list(reversed(layouts)):
                result = FilesResult(kind, layout, days, orders)
                if kind == "s3":  # a landing bucket, and a fresh processing bucket per case
                    client = moto.client()
                    landing_bucket, processing_bucket = (
                        f"bench-landing-{layout}-{days}x{orders}",
                        f"bench-processing-{time.time_ns()}",
                    )
                    for bucket in (landing_bucket, processing_bucket):
                        client.create_bucket(Bucket=bucket)
                    landing = f"s3://{landing_bucket}/landing"
                    store: Any = S3Store(landing, client)
                    extra = {**moto.env, "PIPELINE_PROCESSING_URI": f"s3://{processing_bucket}"}
                else:
                    folder = bench.workdir / "landing" / f"files-{layout}-{days}x{orders}"
                    shutil.rmtree(folder, ignore_errors=True)  # only these days in the lookback
                    folder.mkdir(parents=True)
                    landing, store, extra = str(folder), LocalStore(folder), {}
                print(f"files {kind} {layout}:", flush=True)
                result.order_files_per_day = seed_layout(store, start, days, orders, layout)
                run_case(bench, result, start, {**extra, "PIPELINE_LANDING_URI": landing})
                if kind == "s3":
                    empty_bucket(client, processing_bucket)  # moto keeps every object in memory
                    client.delete_bucket(Bucket=processing_bucket)
                results.append(result)
                bench.record["files"] = [r.__dict__ for r in results]
                bench.save()
                print(f"  {describe(result)}", flush=True)
    finally:
        if moto is not None:
            moto.close()
    for kind in stores:
        same = {r.layout: r for r in results if r.store == kind and r.summary}
        base = same.get(DEFAULT)
        for r in same.values():
            if base is not None and r is not base:
                r.equal = equal_summaries(Path(base.summary), Path(r.summary))
    bench.record["files"] = [r.__dict__ for r in results]
    return results


def empty_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def run_case(bench: Any, result: FilesResult, start: date, env: dict[str, str]) -> None:
    """A, then the sensor's ticks and the copy event's size, on one fresh run folder."""
    name = f"files-{result.store}-{result.layout}"
    bench.fresh_run_dir()
    cmd = bench.worker("a", "--start", str(start), "--days", str(result.days))
    m, result.inside = bench.measure(name, cmd, bench.workdir, env)  # env: the zones
    result.seconds, result.peak_rss_mb = m.seconds, m.peak_rss_mb
    if not m.ok:
        result.status = f"failed (see {m.log})"
        print(tail(m.log), file=sys.stderr)
        return
    parquet = bench.workdir / "results" / f"{name}.parquet"
    export_summary(bench.run_dir / "warehouse.duckdb", "marts", parquet)
    result.summary = str(parquet)
    m, result.sensor = bench.measure(f"{name}-sensor", bench.worker("sensor"), bench.workdir, env)
    if not m.ok:
        result.sensor = {"status": f"failed (see {m.log})"}
        print(tail(m.log), file=sys.stderr)


def sensor_ticks() -> dict[str, Any]:
    """In the worker, after A: the landing sensor twice on the instance, and one copy event's
    size in the event log (the latest orders copy, serialized as Dagster stores it)."""
    import os

    import dagster as dg
    from dagster._serdes import serialize_value

    from pipeline_assets.components.landing_dataset import declared_datasets
    from pipeline_assets.defs.automation.definitions import landing_sensor
    from pipeline_assets.defs.resources import build_resources
    from pipeline_assets.lib.settings import Settings

    settings = Settings(os.environ)
    zones = build_resources(settings)
    resources = {"landing": zones["landing"], "processing": zones["processing"]}
    ingests = [(d, d.ingest_job) for d in declared_datasets()]
    out: dict[str, Any] = {"status": "ok"}
    cursor = None
    with dg.DagsterInstance.get() as instance:
        for tick in ("first_tick_seconds", "tick_seconds"):
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources
            ) as context:
                t = time.perf_counter()
                result = landing_sensor(settings, ingests)(context)
                out[tick] = time.perf_counter() - t
            cursor = result.cursor
            out[tick.replace("seconds", "requests")] = len(result.run_requests or [])
        biggest = max(  # the latest copy event of each dataset: the one with the most files
            (
                instance.fetch_materializations(
                    dg.AssetKey(["processing", d.processing_name]), limit=1
                )
                .records[0]
                .asset_materialization
                for d in declared_datasets()
            ),
            key=lambda m: m.metadata["files"].value,
        )
        out["copy_event_bytes"] = len(serialize_value(biggest))
        out["copy_event_files"] = biggest.metadata["files"].value
    home = Path(os.environ["DAGSTER_HOME"])
    out["instance_mb"] = sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) / 2**20
    return out


def describe(r: FilesResult) -> str:
    if r.status != "ok":
        return r.status
    work = (r.inside or {}).get("work_by_function", {})
    tick = r.sensor.get("tick_seconds")
    return (
        f"{r.seconds:.1f}s, peak {r.peak_rss_mb:.0f} MB, copy {work.get('snapshot', 0):.2f}s, "
        f"read {work.get('read_files', 0):.2f}s, sensor tick {tick if tick is None else round(tick, 2)}s, "
        f"copy event {r.sensor.get('copy_event_bytes')} B"
    )
