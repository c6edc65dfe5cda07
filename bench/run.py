"""`pipeline bench`: cases A, B1, B2 and C on the same generated data, at several sizes.

Every case runs in its own process tree (timed and RSS-polled from here) against a fresh
warehouse, processing zone and Dagster instance under `<workdir>/run`, which is the same
path for every case: the DuckDB path is in dbt's partial-parse hash, so one `dbt parse` up
front serves them all. Cases alternate order from one size to the next so that machine noise
does not always hit the same one. A is `pipeline backfill`'s own entry point, run by the
worker with the clock on (`cost.py`: events, work and overhead per day). B is
measured on at most `--b-days` days and extrapolated linearly, and labeled so; its first
days are identical at every size (the sample data is seeded per day), so one measurement per
orders/day serves every size.
"""

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.compare import equal_summaries, export_summary
from bench.measure import Measurement, run_measured, tail
from bench.report import cost, machine, write_outputs
from bench.worker import RESULT_PREFIX

CASES = ("A", "B1", "B2", "C")
GRACE_SECONDS = 600  # a case that started within the budget may overrun it by this much
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Size:
    days: int
    orders_per_day: int

    @property
    def label(self) -> str:
        k = self.orders_per_day / 1000
        return f"{self.days} d × {k:g}k"

    @property
    def slug(self) -> str:
        return f"{self.days}x{self.orders_per_day}"


@dataclass
class CaseResult:
    size: Size
    case: str
    status: str = "ok"
    order_rows: int | None = None  # data lines in the landing order files
    seconds: float | None = None
    peak_rss_mb: float | None = None
    rows: int | None = None
    measured_days: int | None = None
    extrapolated: bool = False
    note: str = ""
    inside: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None  # Parquet copy of the case's orders_daily_summary
    equal: bool | None = None  # A: equals C; B: equals A on its measured days


def parse_size(text: str) -> Size:
    days, _, orders = text.lower().partition("x")
    return Size(int(days), int(orders))


@dataclass
class Bench:
    workdir: Path
    start: date
    cases: tuple[str, ...]
    b_days: int
    days_per_run: int | None
    deadline: float | None
    results: list[CaseResult] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)  # meta and latency, for save()
    b_cache: dict[tuple[str, int, int], CaseResult] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.workdir / "run"

    def env(self, landing: Path) -> dict[str, str]:
        return {
            **os.environ,
            "PIPELINE_LANDING_URI": str(landing),
            "PIPELINE_PROCESSING_URI": str(self.run_dir / "processing"),
            "PIPELINE_DUCKDB_PATH": str(self.run_dir / "warehouse.duckdb"),
            "PIPELINE_FEATURES_URI": str(self.run_dir / "features"),
            "PIPELINE_TARGET": "dev",
            "DAGSTER_HOME": str(self.run_dir / "dagster_home"),
            "DBT_TARGET_PATH": str(self.workdir / "dbt_target"),
            "PYTHONPATH": str(PROJECT_ROOT),  # the workers import `bench` from the checkout
        }

    def fresh_run_dir(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        home = self.run_dir / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    def save(self) -> None:
        """Everything measured so far, after every case: a crash later loses nothing."""
        record = {**self.record, "results": [asdict(r) for r in self.results]}
        (self.workdir / "results.json").write_text(json.dumps(record, indent=2, default=str))

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def worker(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bench.worker", *args]

    def measure(
        self, name: str, cmd: list[str], landing: Path, extra: dict[str, str] | None = None
    ) -> tuple[Measurement, dict]:
        """Run one case's worker measured; `extra` overrides its environment (S3 zones)."""
        remaining = self.remaining()
        timeout = None if remaining is None else max(remaining, 0) + GRACE_SECONDS
        env = {**self.env(landing), **(extra or {})}
        m = run_measured(cmd, env, self.workdir / "logs" / f"{name}.log", timeout)
        inside: dict[str, Any] = {}
        for line in m.log.read_text(errors="replace").splitlines():
            if line.startswith(RESULT_PREFIX):
                inside = json.loads(line[len(RESULT_PREFIX) :])
        return m, inside

    def run_size(self, size: Size, order: list[str]) -> None:
        landing = self.workdir / "landing" / size.slug
        order_rows = seed(landing, self.start, size)
        for case in order:
            if case not in self.cases:
                continue
            result = self.run_case(size, case, landing)
            result.order_rows = order_rows
            self.results.append(result)
            self.save()
            print(f"  {case:<3} {describe(result)}", flush=True)
        self.check_equalities(size)

    def predict_a(self, size: Size) -> tuple[float, str] | None:
        """A's time at `size`: linear in days through the two largest A runs at its orders/day."""
        points = sorted(
            (r.size.days, r.seconds)
            for r in self.results
            if r.case == "A" and r.status == "ok" and not r.extrapolated and r.seconds
            if r.size.orders_per_day == size.orders_per_day and r.size.days < size.days
        )
        if len(points) < 2:
            return None
        (d1, t1), (d2, t2) = points[-2], points[-1]
        return t2 + (t2 - t1) / (d2 - d1) * (size.days - d2), f"A at {d1} and {d2} days"

    def run_case(self, size: Size, case: str, landing: Path) -> CaseResult:
        result = CaseResult(size, case)
        k = min(size.days, self.b_days)
        cached = self.b_cache.get((case, size.orders_per_day, k))
        if case.startswith("B") and cached is not None and cached.status == "ok":
            return extrapolate(cached, size, k, reused=True)
        remaining = self.remaining()
        predicted = self.predict_a(size) if case == "A" else None
        if remaining is not None and predicted is not None and predicted[0] > remaining:
            result.seconds, result.extrapolated = predicted[0], True
            result.note = (
                f"extrapolated linearly in days from {predicted[1]}; not run: predicted "
                f"{predicted[0] / 60:.0f} min, {max(remaining, 0) / 60:.0f} min of budget left"
            )
            return result
        if remaining is not None and remaining <= 0 and case != "C":  # C takes seconds
            result.status = "skipped (time budget)"
            return result
        parquet = self.workdir / "results" / f"{size.slug}-{case}.parquet"
        if case.startswith("B"):
            cmd = self.worker(case.lower(), "--start", str(self.start), "--days", str(k))
        elif case == "A":  # `pipeline backfill`, with ingestion's bookkeeping timed inside
            cmd = self.worker("a", "--start", str(self.start), "--days", str(size.days))
            if self.days_per_run:
                cmd += ["--days-per-run", str(self.days_per_run)]
        else:
            out = self.workdir / "results" / f"{size.slug}-C.duckdb"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.unlink(missing_ok=True)
            cmd = self.worker("c", "--landing", str(landing), "--out", str(out))
        self.fresh_run_dir()
        m, result.inside = self.measure(f"{size.slug}-{case}", cmd, landing)
        result.seconds, result.peak_rss_mb = m.seconds, m.peak_rss_mb
        if not m.ok:
            result.status = "timed out" if m.timed_out else f"failed (exit {m.returncode})"
            result.note = f"see {m.log}"
            print(tail(m.log), file=sys.stderr)
            return result
        source = out if case == "C" else self.run_dir / "warehouse.duckdb"
        schema = "main" if case == "C" else "marts"
        result.rows = export_summary(source, schema, parquet)
        result.summary = str(parquet)
        if case.startswith("B"):
            self.b_cache[(case, size.orders_per_day, k)] = result
            return extrapolate(result, size, k, reused=False)
        return result

    def check_equalities(self, size: Size) -> None:
        """A == C over everything; B == A over the days B measured (days are independent)."""
        mine = {r.case: r for r in self.results if r.size == size and r.status == "ok"}
        a, c = mine.get("A"), mine.get("C")
        if a is None or a.summary is None:
            return
        if c is not None and c.summary is not None:
            a.equal = equal_summaries(Path(a.summary), Path(c.summary))
        for b in (mine.get("B1"), mine.get("B2")):
            if b is not None and b.summary is not None:
                b.equal = equal_summaries(Path(a.summary), Path(b.summary), only_days_of_right=True)

    def latency(self) -> dict[str, Any] | None:
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return None
        landing = self.workdir / "landing" / "latency"
        shutil.rmtree(landing, ignore_errors=True)
        self.fresh_run_dir()
        m, inside = self.measure(
            "latency", self.worker("latency", "--landing", str(landing)), landing
        )
        if not m.ok:
            print(tail(m.log), file=sys.stderr)
            return {"status": f"failed (see {m.log})"}
        return {"status": "ok", "wall_seconds": m.seconds, **inside}

    def daemon_latency(self) -> dict[str, Any] | None:
        """A late file to the mart under `dagster dev`, default sensor intervals."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return None
        landing = self.workdir / "landing" / "daemon"
        shutil.rmtree(landing, ignore_errors=True)
        self.fresh_run_dir()
        log = self.workdir / "logs" / "daemon-dagster-dev.log"
        m, inside = self.measure(
            "daemon", self.worker("daemon", "--landing", str(landing), "--out", str(log)), landing
        )
        if not m.ok:
            print(tail(m.log), file=sys.stderr)
            return {"status": f"failed (see {m.log})"}
        return inside

    def big_file(self, megabytes: float) -> dict[str, Any]:
        """`pipeline backfill` of one day whose orders are one hour file of `megabytes` MiB:
        wall time, the tree's peak RSS, and read = loaded + quarantined."""
        from bench.bigfile import accounted, write_big_hour

        landing = self.workdir / "landing" / f"big-{megabytes:g}"
        shutil.rmtree(landing, ignore_errors=True)
        big = write_big_hour(landing, self.start, megabytes)
        print(f"big file: {big.size / 2**20:.0f} MiB, {big.rows:,} rows (not timed)", flush=True)
        self.fresh_run_dir()
        cmd = self.worker("a", "--start", str(self.start), "--days", "1")
        m, _ = self.measure(f"big-{megabytes:g}", cmd, landing)
        result: dict[str, Any] = {"megabytes": megabytes, "rows": big.rows, "bytes": big.size}
        result.update(seconds=m.seconds, peak_rss_mb=m.peak_rss_mb)
        result["status"] = "ok" if m.ok else ("timed out" if m.timed_out else "failed")
        if m.ok:
            loaded, quarantined = accounted(self.run_dir / "warehouse.duckdb", self.start)
            result.update(loaded=loaded, quarantined=quarantined)
            result["accounted"] = loaded + quarantined == big.rows
        else:
            print(tail(m.log), file=sys.stderr)
        shutil.rmtree(landing, ignore_errors=True)  # a GB of disk, not kept
        return result

    def ui_run(self) -> dict[str, Any] | None:
        """A one-day run of every asset launched through dagster dev, as from the UI."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return None
        landing = self.workdir / "landing" / "ui"
        shutil.rmtree(landing, ignore_errors=True)
        self.fresh_run_dir()
        log = self.workdir / "logs" / "ui-dagster-dev.log"
        m, inside = self.measure(
            "ui", self.worker("ui", "--landing", str(landing), "--out", str(log)), landing
        )
        if not m.ok:
            print(tail(m.log), file=sys.stderr)
            return {"status": f"failed (see {m.log})"}
        return inside


def seed(landing: Path, start: date, size: Size) -> int:
    """Sample data for `size` (unchanged files are not rewritten); returns its order rows."""
    from pipeline_assets.lib.objectstore import LocalStore
    from pipeline_assets.lib.sample import seed_landing

    t = time.perf_counter()
    end = start + timedelta(days=size.days - 1)
    stats = seed_landing(LocalStore(landing), start, end, size.orders_per_day)
    print(
        f"{size.label}: {stats.order_rows} order rows, {stats.files_written} files written, "
        f"{stats.files_unchanged} unchanged ({time.perf_counter() - t:.1f}s, not timed)",
        flush=True,
    )
    return stats.order_rows


def extrapolate(measured: CaseResult, size: Size, k: int, reused: bool) -> CaseResult:
    """B at `size` from its first `k` days: fixed start-up + the day loop scaled to all days."""
    loop = measured.inside.get("loop_seconds", measured.seconds or 0.0)
    seconds = (measured.seconds or 0.0) - loop + loop * size.days / k
    result = CaseResult(
        size,
        measured.case,
        seconds=seconds,
        peak_rss_mb=measured.peak_rss_mb,
        rows=measured.rows,
        measured_days=k,
        extrapolated=size.days > k,
        inside=measured.inside,
        summary=measured.summary,
    )
    if size.days > k:
        where = f" at {measured.size.label}" if reused else ""
        days = "1 measured day" if k == 1 else f"{k} measured days"
        result.note = f"extrapolated from {days}{where}; rows = those days"
    return result


def describe(r: CaseResult) -> str:
    if r.status != "ok":
        return r.status
    if r.seconds is None or r.peak_rss_mb is None:  # extrapolated without running
        return f"{r.seconds or 0:.1f}s ({r.note})"
    extra = " (extrapolated)" if r.extrapolated else ""
    text = f"{r.seconds:.1f}s{extra}, peak {r.peak_rss_mb:.0f} MB, {r.rows} mart rows"
    if (c := cost(r)) is not None:
        d = c["all"]["per_day"]
        text += (
            f"; per day: {d['events']:.1f} events {d['events_seconds']:.3f} s, "
            f"work {d['work']:.3f} s, overhead {d['overhead']:.3f} s"
        )
    return text


def main(args: Any) -> int:
    """Run the benchmark described by the parsed `python -m bench` arguments."""
    sizes = [parse_size(s) for s in (["2x1000"] if args.quick else args.sizes)]  # may be none
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pipeline-bench-")).resolve()
    out = Path(args.out or (workdir if args.quick else PROJECT_ROOT / "docs")).resolve()
    b_days = args.b_days if args.b_days is not None else (1 if args.quick else 7)
    started = time.monotonic()
    deadline = started + args.max_minutes * 60 if args.max_minutes else None
    cases = tuple(args.cases or (("A", "B1", "C") if args.quick else CASES))
    bench = Bench(workdir, args.start, cases, b_days, args.days_per_run, deadline)
    meta = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **machine()}
    meta["command"] = "python -m bench " + " ".join(sys.argv[1:])
    bench.record["meta"] = meta
    print(f"benchmark in {workdir}, reports to {out}", flush=True)

    bench.fresh_run_dir()
    m, _ = bench.measure(
        "prepare", bench.worker("prepare", "--out", str(workdir / "dbt_target")), workdir
    )
    if not m.ok:
        print(tail(m.log), file=sys.stderr)
        return 1
    latency = bench.record["latency"] = None if args.no_latency else bench.latency()
    if latency and latency.get("status") == "ok":
        print(f"latency: {latency['latency_seconds']:.1f}s, stages {latency['stages']}", flush=True)
        if not args.quick:  # dagster dev of their own: minutes, for the full report only
            latency["ui_run"] = bench.ui_run()
            print(f"ui run: {latency['ui_run']}", flush=True)
            latency["daemon"] = bench.daemon_latency()
            print(f"daemon latency: {latency['daemon']}", flush=True)
    for i, size in enumerate(sizes):
        order = [c for c in CASES[i % len(CASES) :] + CASES[: i % len(CASES)] if c in cases]
        print(f"{size.label}: order {' '.join(order)}", flush=True)
        bench.run_size(size, order)
    files = []
    if args.files_per_day:  # the small-files axis: same rows, more files, local and S3
        from bench.files import run_axis

        axis = parse_size(args.files_size)
        files = run_axis(
            bench, args.files_per_day, args.files_stores, axis.days, axis.orders_per_day
        )
    big = bench.record["big_files"] = [bench.big_file(mb) for mb in args.big_file_mb or []]
    meta["load_average_end"] = os.getloadavg()
    meta["elapsed_minutes"] = (time.monotonic() - started) / 60
    bench.save()
    if big:
        from bench.bigfile import write_section

        print(write_section(out / "benchmarks.md", big, meta))
    failed_big = [b for b in big if b["status"] != "ok" or not b["accounted"]]
    if not sizes and not files:  # the big-file case alone: the main block stays as it was
        return 1 if failed_big else 0
    summary = write_outputs(out, bench.results, latency, meta, files)
    print(summary)
    a_vs_c = [r.equal for r in bench.results if r.case == "A" and r.equal is not None]
    failed = [r for r in [*bench.results, *files] if r.status.startswith(("failed", "timed out"))]
    if any(r.equal is False for r in files):
        print(
            "error: a small-files layout's mart differs from the default layout's", file=sys.stderr
        )
        return 1
    if args.quick and not a_vs_c:
        print("error: --quick must compare A with C, and did not", file=sys.stderr)
        return 1
    equal = all(a_vs_c) and all(r.equal is not False for r in bench.results)
    return 0 if equal and not failed and not failed_big else 1
