"""The sample producer writes only what would have landed by now: finished hours."""

from datetime import date, datetime

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import day_files, seed_landing


def test_nothing_from_the_future_is_seeded(tmp_path):
    store = LocalStore(str(tmp_path))
    now = datetime(2024, 1, 2, 10, 30)
    seed_landing(store, date(2024, 1, 1), date(2024, 1, 3), orders_per_day=200, now=now)
    keys = [o.key for p in ("orders/", "customers/") for o in store.list(p)]
    hours = {k.split("/")[1][5:] + k.split("/")[2][4:] for k in keys if k.startswith("orders/")}
    day2 = sorted(h[-2:] for h in hours if h.startswith("2024-01-02"))
    assert day2 and max(day2) == "09"  # hour 09 ended at 10:00; hour 10 ends at 11:00
    assert any(h.startswith("2024-01-01") and h.endswith("23") for h in hours)
    assert not any("2024-01-03" in k for k in keys)
    assert "customers/date=2024-01-02/customers.csv" in keys


def test_files_per_day_spreads_the_same_rows_over_more_files():
    """The small-files benchmark's data: the same rows in every file layout, the default
    one file per hour unchanged."""

    def rows(files: dict[str, bytes]) -> list[str]:
        lines = [
            line
            for k, v in files.items()
            if k.startswith("orders/")
            for line in v.decode().splitlines()[1:]
        ]
        return sorted(lines)

    one = day_files(date(2024, 1, 1), 20_000, 42)
    assert all(k.endswith(("/part-000.csv", "corrections.csv", "customers.csv")) for k in one)
    for per_day in (1_440, 14_400):
        many = day_files(date(2024, 1, 1), 20_000, 42, files_per_day=per_day)
        orders = [k for k in many if k.startswith("orders/")]
        assert per_day <= len(orders) <= per_day + 48  # and each hour's corrections file
        assert rows(many) == rows(one)
        assert {k: v for k, v in many.items() if "corrections" in k or "customers" in k} == {
            k: v for k, v in one.items() if "corrections" in k or "customers" in k
        }
