"""The benchmark of issue 7: this project's backfill against an Airflow-style per-day backfill
and a hand-written DuckDB lower bound, at several data sizes (`pipeline bench`)."""
