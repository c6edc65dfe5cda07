"""A copy's materialization (defs/ingest/copy.py) has the same size whatever the day's number
of files: counts, bytes, the manifest's digest and location, a sample of keys. Every key is
in the manifest it links to. The run's log is bounded the same way."""

import json

import dagster as dg
from dagster._serdes import serialize_value
from helpers import dataset, day_metadata, ingest

from pipeline_assets.defs.ingest.copy import KEY_SAMPLE, copy_metadata
from pipeline_assets.lib.manifest import Manifest, ManifestEntry, manifest_key

ORDERS = dataset("orders")
DAY = "2024-01-01"


def manifest_of(n: int, ignored: int = 0, retracted: int = 0) -> Manifest:
    key = "orders/date=2024-01-01/hour={:02d}/firehose-2024-01-01-{:02d}-{:06d}.csv".format
    return Manifest(
        dataset="orders",
        partition=DAY,
        listed_at="2024-01-02T00:05:00",
        complete=True,
        files=tuple(
            ManifestEntry(key(i % 24, i % 24, i), 4096, "ab" * 32, "cd" * 16) for i in range(n)
        ),
        ignored=tuple(f"orders/date=2024-01-01/hour=05/_SUCCESS-{i:06d}" for i in range(ignored)),
        retracted=tuple(key(3, 3, 10**6 + i) for i in range(retracted)),
    )


def event_bytes(metadata: dict) -> int:
    """How many bytes the event log stores for this metadata on one materialization."""
    event = dg.AssetMaterialization(
        asset_key=["processing", "order_files"], partition=DAY, metadata=metadata
    )
    return len(serialize_value(event))


def test_a_copy_events_metadata_does_not_grow_with_the_files():
    sizes = {
        n: event_bytes(copy_metadata(ORDERS, manifest_of(n, 50, 50), "/zone"))
        for n in (42, 1_440, 14_400)
    }
    assert sizes[14_400] <= 10_000
    assert sizes[14_400] - sizes[42] < 100  # only the counts' digits grow
    metadata = copy_metadata(ORDERS, manifest_of(14_400, 1_440, 1_440), "s3://bucket/zone")
    assert (metadata["files"], metadata["ignored"], metadata["retracted"]) == (14_400, 1_440, 1_440)
    assert len(metadata["keys_sample"].value) == KEY_SAMPLE == len(metadata["ignored_keys"].value)
    assert len(metadata["retracted_sample"].value) == KEY_SAMPLE
    assert metadata["manifest"] == dg.MetadataValue.url(
        "s3://bucket/zone/_manifests/orders/date=2024-01-01.json"
    )
    assert metadata["bytes"] == 14_400 * 4096


def test_a_day_of_many_files_links_its_manifest_and_logs_a_sample(pipeline_env):
    header = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
    for i in range(600):
        hour = i % 24
        pipeline_env.write(
            f"orders/date={DAY}/hour={hour:02d}/part-{i:04d}.csv",
            f"{header}o{i},c1,s01,{DAY}T{hour:02d}:30:00,100,8,108,\n",
        )
        pipeline_env.write(f"orders/date={DAY}/hour={hour:02d}/part-{i:04d}.json", "{}")
    instance = dg.DagsterInstance.ephemeral()

    result = ingest("orders", DAY, instance=instance)

    copy = day_metadata(result, "processing__order_files")[DAY]
    manifest = json.loads((pipeline_env.processing / manifest_key("orders", DAY)).read_bytes())
    assert copy["manifest"] == str(pipeline_env.processing / manifest_key("orders", DAY))
    assert len(manifest["files"]) == copy["files"] == 600 and len(manifest["ignored"]) == 600
    assert copy["keys_sample"] == [f["key"] for f in manifest["files"][:KEY_SAMPLE]]
    record = instance.get_latest_materialization_event(dg.AssetKey(["processing", "order_files"]))
    assert len(serialize_value(record.asset_materialization)) <= 10_000
    logs = [
        r.user_message
        for r in instance.all_logs(result.run_id)
        if "ignored landing key" in r.user_message
    ]
    assert len(logs) == KEY_SAMPLE + 1 and "590 more ignored landing keys" in logs[-1]
