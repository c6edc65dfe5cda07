"""The small-files axis in docs/benchmarks.md: one table, and its targets beside each figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT = "default"
# (store, layout, ratio to the same store's default layout at most), from issue 27
RATIO_TARGETS = (("s3", "1440", 1.3), ("s3", "14400", 2.0), ("local", "14400", 1.5))
EVENT_BYTES_TARGET = 10_000
TICK_TARGET_SECONDS = 2.0


def _get(r: Any, name: str) -> Any:
    return r[name] if isinstance(r, dict) else getattr(r, name)


def _work(r: Any, name: str) -> float | None:
    return ((_get(r, "inside") or {}).get("work_by_function") or {}).get(name)


def _n(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _base(results: Sequence[Any], r: Any) -> Any:
    return next(
        (
            x
            for x in results
            if _get(x, "store") == _get(r, "store")
            and _get(x, "layout") == DEFAULT
            and _get(x, "status") == "ok"
        ),
        None,
    )


def _ratio(results: Sequence[Any], r: Any) -> float | None:
    base = _base(results, r)
    if base is None or _get(r, "status") != "ok" or not _get(base, "seconds"):
        return None
    return _get(r, "seconds") / _get(base, "seconds")


def files_table(results: Sequence[Any]) -> list[str]:
    """One row per store and layout: A's wall time and its ratio to the default layout, the
    copy's and the read's seconds inside it, the sensor's ticks, one copy event's size."""
    if not results:
        return []
    first = results[0]
    lines = [
        f"Same rows ({_get(first, 'days')} days × {_get(first, 'orders_per_day'):,} orders a "
        "day, the days before the run so the sensor's default lookback covers them) as more "
        "and more order files; local folder and S3 on moto's server (its own process on "
        "127.0.0.1). `pipeline backfill` measured from outside; copy and read are its "
        "`snapshot` and `read_files` seconds inside; the sensor evaluated on the instance "
        "after the backfill (first tick: from the manifests; steady: the listing alone); one "
        "copy event: the bytes Dagster stores for the latest copy materialization.",
        "",
        "| store | order files / day | wall s | × default | peak RSS MB | copy s | read s "
        "| sensor tick s (first / steady) | copy event bytes | instance MB | mart |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in results:
        sensor = _get(r, "sensor") or {}
        ratio = _ratio(results, r)
        equal = _get(r, "equal")
        mart = (
            "reference"
            if _get(r, "layout") == DEFAULT
            else {True: "= default", False: "DIFFERS", None: ""}[equal]
        )
        status = _get(r, "status")
        lines.append(
            f"| {_get(r, 'store')} | {_get(r, 'order_files_per_day'):,.0f} "
            f"| {_n(_get(r, 'seconds'))}{'' if status == 'ok' else ' ' + status} "
            f"| {_n(ratio, 2)} | {_n(_get(r, 'peak_rss_mb'), 0)} | {_n(_work(r, 'snapshot'), 2)} "
            f"| {_n(_work(r, 'read_files'), 2)} | {_n(sensor.get('first_tick_seconds'), 2)} / "
            f"{_n(sensor.get('tick_seconds'), 2)} | {_n(sensor.get('copy_event_bytes'), 0)} "
            f"| {_n(sensor.get('instance_mb'), 1)} | {mart} |"
        )
    return lines


def files_targets(results: Sequence[Any]) -> list[str]:
    """Rows for the "Against the targets" table."""
    lines = []
    for store, layout, target in RATIO_TARGETS:
        r = next(
            (x for x in results if (_get(x, "store"), _get(x, "layout")) == (store, layout)), None
        )
        if r is not None and (ratio := _ratio(results, r)) is not None:
            base = _base(results, r)
            lines.append(
                f"| {store}: {int(layout):,} files a day vs the default 42, same rows | ≤ {target} "
                f"| **{ratio:.2f}** ({_get(r, 'seconds'):.1f} s / {_get(base, 'seconds'):.1f} s) |"
            )
    for r in results:
        if _get(r, "layout") != "14400" or _get(r, "status") != "ok":
            continue
        sensor = _get(r, "sensor") or {}
        if sensor.get("copy_event_bytes") is not None:
            lines.append(
                f"| one copy event's metadata at 14,400 files a day ({_get(r, 'store')}) "
                f"| ≤ {EVENT_BYTES_TARGET:,} B | **{sensor['copy_event_bytes']:,} B** |"
            )
        if sensor.get("tick_seconds") is not None:
            lines.append(
                f"| a sensor tick at 14,400 files a day × the default lookback ({_get(r, 'store')}) "
                f"| ≤ {TICK_TARGET_SECONDS:g} s | **{sensor['tick_seconds']:.2f} s** steady "
                f"({sensor['first_tick_seconds']:.2f} s the first, from the manifests) |"
            )
    return lines
