# The code location image: locked dependencies, the dbt manifest built at image build time,
# a non-root user, and a gRPC code server on port 4000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home \
    PIPELINE_DBT_PREPARE=0

RUN useradd --create-home --uid 10001 pipeline \
    && mkdir -p /opt/dagster/home /app \
    && chown -R pipeline /opt/dagster /app

WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
COPY pipeline_assets ./pipeline_assets
COPY dbt ./dbt
RUN pip install -c requirements.lock . \
    && cd dbt && dbt parse --profiles-dir . --target dev \
    && chown -R pipeline /app

USER pipeline
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "pipeline_assets.definitions"]
