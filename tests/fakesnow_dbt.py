"""Run dbt against fakesnow in this process (fakesnow patches the Snowflake connector).

Usage: python fakesnow_dbt.py PROJECT_DIR FAKESNOW_DB_DIR DBT_ARGS...
The Snowflake settings are dummies: fakesnow serves them from local DuckDB files.
"""

import os
import sys

import fakesnow


def main() -> int:
    project_dir, db_dir, *args = sys.argv[1:]
    os.environ.update(
        PIPELINE_TARGET="prod",
        SNOWFLAKE_ACCOUNT="fake",
        SNOWFLAKE_USER="fake",
        SNOWFLAKE_ROLE="fake",
        SNOWFLAKE_WAREHOUSE="fake",
        SNOWFLAKE_DATABASE="SHOP",
        DBT_ENV_SECRET_SNOWFLAKE_PASSWORD="fake",
    )
    with fakesnow.patch(db_path=db_dir):
        from dbt.cli.main import dbtRunner

        os.chdir(project_dir)
        # one thread: fakesnow cannot attach the same database file from parallel sessions
        result = dbtRunner().invoke(
            [*args, "--target", "prod", "--profiles-dir", ".", "--threads", "1"]
        )
    print("DBT_SUCCESS" if result.success else f"DBT_FAILED {result.exception}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
