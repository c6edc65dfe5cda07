"""pipeline-assets: an idempotent ELT pipeline as a Dagster asset project."""

import warnings

# dagster-dbt 0.29 requires `sqlglot[rs]`, which installs sqlglotrs 0.13.0: a stub that only
# warns that it is deprecated (sqlglotc, also installed, does the work). pip installs it
# whatever requirements.lock says, so its one warning is silenced here, by module and
# message; every other warning, Dagster's BetaWarnings included, stays visible.
warnings.filterwarnings(
    "ignore",
    message="sqlglotrs is deprecated",
    category=DeprecationWarning,
    module="sqlglotrs",
)
