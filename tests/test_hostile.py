"""Hostile strings through every entry point: CLI arguments, partition keys, object keys, CSV.

Each test starts from a warehouse holding one good day of each dataset, then throws the same
list of hostile strings at one entry point, and ends with the `Guard`'s two checks: the
warehouse has the same tables with the same contents (no unintended statement ran), and
nothing changed outside the configured roots (landing, processing, the warehouse file and
DAGSTER_HOME), including the `$(touch ...)` target. tests/test_bad_inputs.py,
test_contract.py and test_ingest.py already cover a few of these strings one at a time.
"""

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import dataset, day_metadata, failure_message, ingest, query, sql_validation

from pipeline_assets.cli import main
from pipeline_assets.components.landing_dataset import declared_datasets
from pipeline_assets.definitions import build_defs
from pipeline_assets.defs.ingest.shared import files_key, raw_key
from pipeline_assets.defs.partitions import daily_partitions
from pipeline_assets.lib.contract import ContractError, day_window
from pipeline_assets.lib.dataset import dataset_of_key
from pipeline_assets.lib.manifest import read_manifest
from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.raw_load import partition_counts
from pipeline_assets.lib.settings import Settings
from pipeline_assets.lib.warehouse import Db
from pipeline_assets.runner import run_range

SENTINEL = Path(f"/tmp/pipeline-hostile-{os.getpid()}")
HOSTILE = [
    "'; drop table raw.orders; --",
    "2024-01-01'); delete from raw.quarantine; --",
    "../../etc/passwd",
    "..",
    f"$(touch {SENTINEL})",
    f"`touch {SENTINEL}`",
    "2024-01-01\x00",
    "2024-01-01\n2024-01-02",
    "x" * 10_000,
    "２０２４-０１-０１",  # full-width digits
    "٢٠٢٤-٠١-٠١",  # Arabic-Indic digits
    "2024-01-01-10:00",  # an old hourly key: Dagster would read "-10:00" as a UTC offset
    "2024-01-01\n",
    "☃ 🚀 ' \" \\ %s {0} {{ var('x') }}",
    "",
]
HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
HOUR = "orders/date=2024-01-01/hour=10/"
DAY = "2024-01-01"


class Guard:
    """Snapshots of the warehouse and of everything outside the roots, to compare later."""

    def __init__(self, env):
        self.env = env
        self.warehouse = self.catalog()
        self.outside = self.files_outside_roots()
        self.zones = self.files_in_zones()

    def catalog(self) -> dict[tuple[str, str], tuple]:
        with duckdb.connect(str(self.env.duckdb), read_only=True) as conn:
            db = Db(conn)
            tables = db.execute(
                "select table_schema, table_name from information_schema.tables order by 1, 2"
            )
            return {(s, t): tuple(db.fingerprint(db.table(s, t))) for s, t in tables}

    def files_outside_roots(self) -> dict[str, tuple[int, int]]:
        """Every path under the test's folder and its parent, except the configured roots."""
        roots = (self.env.landing, self.env.processing, self.env.dagster_home)
        out = {}
        for base in (self.env.root.parent,):
            for path in base.rglob("*"):
                if any(path == r or r in path.parents for r in roots):
                    continue
                if path.parent == self.env.root and path.name.startswith(self.env.duckdb.name):
                    continue  # the warehouse file, its WAL and its writer lock
                stat = path.lstat()
                out[str(path)] = (stat.st_size, 0 if path.is_dir() else stat.st_mtime_ns)
        return out

    def files_in_zones(self) -> dict[str, int]:
        zones = (self.env.landing, self.env.processing)
        return {str(p): p.lstat().st_mtime_ns for z in zones for p in z.rglob("*")}

    def assert_untouched(self, warehouse_changes: set[tuple[str, str]] = frozenset()) -> None:
        """Nothing outside the roots changed, and the warehouse only in `warehouse_changes`;
        with no changes expected, the landing and processing zones are unchanged too."""
        assert not SENTINEL.exists()
        assert self.files_outside_roots() == self.outside
        if not warehouse_changes:
            assert self.files_in_zones() == self.zones
        now = self.catalog()
        assert set(now) == set(self.warehouse)  # the same tables: none dropped, none added
        for table, prints in self.warehouse.items():
            if table not in warehouse_changes:
                assert now[table] == prints, table


@pytest.fixture
def guard(pipeline_env) -> Guard:
    pipeline_env.write(HOUR + "good.csv", HEADER + "o1,c1,s01,2024-01-01T10:00:00,100,8,108,\n")
    pipeline_env.write("customers/date=2024-01-01/good.csv", "customer_id,name\nc1,Ada\n")
    ingest("orders", DAY)
    ingest("customers", DAY)
    yield Guard(pipeline_env)
    SENTINEL.unlink(missing_ok=True)


def test_cli_arguments(guard, capsys):
    """Every date and number option of every command refuses each string before any I/O."""
    dates = {"--start": "2024-01-01", "--end": "2024-01-01"}
    refused = 0
    for command in ("seed", "backfill", "verify"):
        for option in dates:
            for value in HOSTILE:
                args = [command, *(a for k, v in dates.items() for a in (k, v))]
                args[args.index(option) + 1] = value
                with pytest.raises(SystemExit) as exit_:
                    main(args)
                assert exit_.value.code == 2
                assert "is not a date" in capsys.readouterr().err
                refused += 1
    numbers = [("backfill", "--days-per-run"), ("seed", "--orders-per-day"), ("seed", "--seed")]
    for command, option in numbers:
        for value in [*HOSTILE, "1e3", "7; rm -rf /", "0x10", "-1" if option != "--seed" else "x"]:
            with pytest.raises(SystemExit) as exit_:
                main([command, "--start", "2024-01-01", "--end", "2024-01-01", option, value])
            assert exit_.value.code == 2, (option, value)
            refused += 1
    assert refused == 3 * 2 * len(HOSTILE) + 3 * (len(HOSTILE) + 4)
    # Real dates, but not partitions: refused before any I/O too (no run is recorded).
    for command, start, end in [
        ("backfill", "2023-12-31", "2024-01-01"),  # before PIPELINE_PARTITIONS_START
        ("verify", "2024-01-01", "2999-01-01"),  # days that have not happened
        ("backfill", "0001-01-01", "9999-12-31"),
    ]:
        assert main([command, "--start", start, "--end", end]) == 2
        assert "outside the partitions" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["backfill", "--start", "2024-01-01", "--end", "2024-01-01", "--days-per-run", "0"])
    assert list(guard.env.dagster_home.iterdir()) == [guard.env.dagster_home / "dagster.yaml"]
    guard.assert_untouched()


def test_partition_keys(guard):
    """Dagster's partition definitions, the runner and the contract refuse every key."""
    defs = build_defs()
    selections = [
        [files_key(dataset("orders")), raw_key(dataset("orders"))],
        [files_key(dataset("customers")), raw_key(dataset("customers"))],
        [dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "dim_customers"])],
    ]
    partitions = daily_partitions(Settings(os.environ))
    assert partitions.has_partition_key(DAY)
    with dg.DagsterInstance.ephemeral() as instance:
        for key in HOSTILE:
            assert not partitions.has_partition_key(key)
            for selection in selections:
                with pytest.raises((ValueError, dg.DagsterError)):
                    run_range(defs, selection, key, key, instance)
                with pytest.raises((ValueError, dg.DagsterError)):
                    run_range(defs, selection, "2024-01-01", key, instance)
            for declared in declared_datasets():
                with pytest.raises(ContractError):
                    declared.partition_prefix(key)
                with pytest.raises(ContractError):
                    day_window(key)
                with pytest.raises(ContractError):
                    sql_validation(declared.name, key, [(HOUR + "good.csv", HEADER.encode())])
                with pytest.raises(ContractError):
                    read_manifest(LocalStore(guard.env.processing), declared.name, key)
        assert instance.get_runs() == []  # no run even started
    # Below the asset layer, keys are bind parameters: a hostile one matches nothing.
    with duckdb.connect(str(guard.env.duckdb)) as conn:
        counts = partition_counts(Db(conn), dataset("orders"), HOSTILE)
    assert set(counts.values()) == {(0, 0)}
    guard.assert_untouched()


def test_identifiers_are_an_allow_list():
    db = Db(conn=None)
    names = [*HOSTILE, 'orders"; drop table raw.orders; --', "Orders", "raw.orders", "orders\n"]
    for name in [n for n in names if n != "x" * 10_000]:  # (that one is a fine identifier)
        with pytest.raises(ValueError, match="refusing identifier"):
            db.ident(name)
    assert db.table("raw", "orders") == '"raw"."orders"'


def test_object_keys_in_the_store_and_the_landing_zone(guard):
    """Unsafe keys are refused by the store; keys outside the contract that land anyway are
    ignored and reported; the copy takes no key list at all; odd valid names stay data."""
    store = LocalStore(guard.env.landing)
    escapes = [
        "/etc/passwd",
        "orders/../../outside.csv",
        "orders\\..\\..\\outside.csv",
        HOUR + "../../../../outside.csv",
        HOUR + "a\x00.csv",
        HOUR + "a\n.csv",
    ]
    for key in [*HOSTILE, *escapes]:
        with pytest.raises(ContractError):
            dataset_of_key(declared_datasets(), key)  # none is a key of the landing contract
        try:
            store.write(key, b"x")
        except (ContractError, OSError):  # refused (or a name too long for the file system)
            continue
        written = (guard.env.landing / key).resolve()
        assert guard.env.landing in written.parents and store.read(key) == b"x"
        written.unlink()

    # The copy takes no key list any more (the old `keys` config is gone): Dagster passes an
    # op without a config schema any config, and the copy never reads it. A stale run config
    # naming hostile keys copies exactly the day's contract files, nothing else.
    result = ingest(
        "orders",
        DAY,
        run_config={"ops": {"processing__order_files": {"config": {"keys": escapes}}}},
    )
    assert day_metadata(result, "processing__order_files")[DAY]["keys_sample"] == [
        HOUR + "good.csv"
    ]
    processing = sorted(
        p.relative_to(guard.env.processing).as_posix()
        for p in guard.env.processing.rglob("*")
        if p.is_file()
    )
    assert processing == sorted(
        [
            HOUR + "good.csv",
            "customers/date=2024-01-01/good.csv",
            "_manifests/orders/date=2024-01-01.json",
            "_manifests/customers/date=2024-01-01.json",
        ]
    )
    assert not SENTINEL.exists() and guard.files_outside_roots() == guard.outside

    # Names a producer can create but the contract does not allow: listed, reported as
    # ignored, never copied or loaded.
    outside = [
        HOUR + "a\nb.csv",
        HOUR + "tab\there.csv",
        HOUR + "upper.CSV",
        HOUR + "sub/deep.csv",
        "orders/date=2024-01-01/hour=99/a.csv",
        "orders/date=2024-01-01/loose.csv",
    ]
    for key in outside:
        guard.env.write(key, f"{HEADER}bad,c1,s01,2024-01-01T10:30:00,1,0,1,\n")

    # Names with quotes, semicolons or shell syntax are valid keys: copied and loaded as data.
    names = [
        HOUR + "'; drop table raw.orders; --.csv",
        HOUR + f"$(touch {SENTINEL.name}).csv",
        HOUR + '☃ "quoted"; semi.csv',
    ]
    for i, key in enumerate(names):
        store.write(key, f"{HEADER}n{i},c1,s01,2024-01-01T10:30:00,1,0,1,\n".encode())
    result = ingest("orders", DAY)
    sources = query(guard.env.duckdb, "select _source_key from raw.orders")
    assert sorted(k for (k,) in sources) == sorted([HOUR + "good.csv", *names])
    copy = day_metadata(result, "processing__order_files")[DAY]
    assert sorted(copy["keys_sample"]) == sorted([HOUR + "good.csv", *names])
    assert sorted(copy["ignored_keys"]) == sorted(outside)
    manifest = read_manifest(LocalStore(guard.env.processing), "orders", DAY)
    assert sorted(manifest.ignored) == sorted(outside)
    assert not any((guard.env.processing / key).exists() for key in outside)
    guard.assert_untouched({("raw", "orders")})


def test_a_symlink_out_of_the_landing_zone_fails_without_reading_it(guard, tmp_path):
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(HEADER + "stolen,c1,s01,2024-01-01T10:00:00,1,0,1,\n")
    (guard.env.landing / HOUR / "link.csv").symlink_to(secret)
    guard.outside, guard.zones = guard.files_outside_roots(), guard.files_in_zones()

    result = ingest("orders", DAY, raise_on_error=False)

    assert not result.success
    message = failure_message(result)  # exactly one step failure: not retried
    assert "orders/date=2024-01-01/hour=10/link.csv" in message and "resolves outside" in message
    assert "stolen" not in message
    guard.assert_untouched()


def test_csv_cells_full_of_sql_are_stored_verbatim(guard):
    cells = [
        "'; drop table raw.orders; --",
        "o2'); delete from raw.quarantine where ('1'='1",
        "robert'); drop table raw.customers;--",
        f"$(touch {SENTINEL})",
        "☃ 🚀 \\ %s {0} {{ var('x') }}",
        "x" * 1024,  # the longest value the contract accepts
    ]
    lines = [
        f'"{c.replace(chr(34), chr(34) * 2)}",c1,"{c}",2024-01-01T10:{i:02d}:00,1,0,1,'
        for i, c in enumerate(cells)
    ]
    guard.env.write(HOUR + "evil.csv", HEADER + "\n".join(lines) + "\n")

    ingest("orders", DAY)

    rows = query(
        guard.env.duckdb,
        "select order_id, store_id from raw.orders where _source_key = ? order by _source_line",
        [HOUR + "evil.csv"],
    )
    assert rows == [(c, c) for c in cells]
    guard.assert_untouched({("raw", "orders")})
