"""The sample producer writes only what would have landed by now: finished hours."""

from datetime import date, datetime

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing


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
