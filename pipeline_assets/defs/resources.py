"""Settings -> resources: the one place that decides where data lives and how steps run.

What an operator tunes (zones, warehouse, quarantine rates, pod sizes) is a resource field,
shown on the UI's resource pages, and each can be overridden alone for one run in the
launchpad (`knobs.configured`). Non-secret values have local defaults so a fresh clone runs
with no configuration; secrets (Snowflake, Slack) arrive only through `dg.EnvVar`.
"""

import json
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
from botocore.config import Config
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.utils import disable_signing

from pipeline_assets.defs.knobs import configured
from pipeline_assets.defs.transform.project import build_dbt_resource, dbt_project
from pipeline_assets.defs.warehouse import build_warehouse
from pipeline_assets.lib.objectstore import ObjectStore, open_store
from pipeline_assets.lib.settings import DEFAULTS, Settings, half_memory


class PooledS3Resource(S3Resource):
    """dagster-aws's S3 client with a connection pool as big as the requests a zone runs at
    once (copies, reads, listings: one thread per connection). botocore's default is 10."""

    max_pool_connections: int = 16

    def get_client(self) -> Any:
        """The client `S3Resource.get_client` makes, with the pool size in its config."""
        session = boto3.session.Session(profile_name=self.profile_name)
        retries = {"max_attempts": self.max_attempts, "mode": "standard"}
        client = session.client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            verify=self.verify,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=Config(retries=retries, max_pool_connections=self.max_pool_connections),
        )
        if self.use_unsigned_session:
            client.meta.events.register("choose-signer.s3.*", disable_signing)
        return client


class ZoneResource(dg.ConfigurableResource):
    """A landing or processing zone: a local folder, or `s3://bucket/prefix` via dagster-aws."""

    uri: str
    s3: S3Resource

    def store(self) -> ObjectStore:
        return open_store(self.uri, self.s3.get_client)


class AlertsResource(dg.ConfigurableResource):
    """Where failed-run alerts go, and the UI address their links point to."""

    ui_url: str
    alerts_file: str
    slack_channel: str = "#data-alerts"
    slack_token: str | None = None

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def send(self, record: dict[str, str | None]) -> str:
        """Slack through dagster-slack if a token is configured; otherwise one JSON line."""
        if self.slack_token:
            from dagster_slack import SlackResource

            SlackResource(token=self.slack_token).get_client().chat_postMessage(
                channel=self.slack_channel, text=slack_text(record)
            )
            return f"slack {self.slack_channel}"
        path = Path(self.alerts_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        return str(path)


def slack_text(record: dict[str, str | None]) -> str:
    return (
        f":red_circle: *{record['job']}* failed for {record['days'] or 'no partition'}\n"
        f"```{record['error']}```\n<{record['run_url']}|View run {record['run_id']}>"
    )


class ValidationResource(dg.ConfigurableResource):
    """How landing rows are validated: how much of a day may be quarantined (above
    `quarantine_warn_rate` the quarantine-rate check warns, above `quarantine_fail_rate` it
    fails with error severity and blocks everything downstream), and the memory of the
    validator's own DuckDB (it spills to disk beyond it): half of
    `PIPELINE_DUCKDB_MEMORY_LIMIT`, the warehouse connection beside it has the other half."""

    quarantine_warn_rate: float
    quarantine_fail_rate: float
    duckdb_memory_limit: str = half_memory(DEFAULTS["PIPELINE_DUCKDB_MEMORY_LIMIT"])


class FeaturesPodResource(dg.ConfigurableResource):
    """The customer_features pod, when steps run on Kubernetes: the image, its size, the
    non-secret environment it needs, and the Kubernetes secret its credentials come from."""

    image: str
    namespace: str
    cpu: str
    memory: str
    secret: str
    env: dict[str, str] = {}

    def launch_options(self, command: list[str]) -> dict[str, Any]:
        """`PipesK8sClient.run` options: requested CPU and memory (memory also the limit),
        and the secrets (the Snowflake password) from a Kubernetes secret, never the spec."""
        container = {
            "name": "customer-features",
            "resources": {
                "requests": {"cpu": self.cpu, "memory": self.memory},
                "limits": {"memory": self.memory},
            },
            "env_from": [{"secret_ref": {"name": self.secret}}],
        }
        return {
            "command": command,
            "image": self.image,
            "namespace": self.namespace,
            "env": self.env,
            "base_pod_spec": {"containers": [container]},
        }


# What the features pod needs besides the Pipes extras: where S3 and Snowflake are (not
# who may use them: that is the Kubernetes secret).
POD_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
)


def build_resources(settings: Settings) -> dict[str, object]:
    """Every resource of the code location: the engine (`PIPELINE_TARGET`) picks the
    warehouse, where steps run (`PIPELINE_RUNS_ON`) picks the Pipes client."""
    s3 = PooledS3Resource()
    pipes_client: dg.PipesClient = dg.PipesSubprocessClient()
    if settings.on_kubernetes:
        from dagster_k8s import PipesK8sClient  # 0.3 s of imports only a cluster needs

        pipes_client = PipesK8sClient()
    slack_token = dg.EnvVar("SLACK_BOT_TOKEN") if settings.is_set("SLACK_BOT_TOKEN") else None
    return {
        "alerts": configured(
            AlertsResource,
            ui_url=settings.get("PIPELINE_UI_URL"),
            alerts_file=settings.location("PIPELINE_ALERTS_FILE"),
            slack_channel=settings.get("PIPELINE_SLACK_CHANNEL"),
            slack_token=slack_token,
        ),
        "validation": configured(
            ValidationResource,
            quarantine_warn_rate=settings.number("PIPELINE_QUARANTINE_WARN_RATE"),
            quarantine_fail_rate=settings.number("PIPELINE_QUARANTINE_FAIL_RATE"),
            duckdb_memory_limit=half_memory(settings.get("PIPELINE_DUCKDB_MEMORY_LIMIT")),
        ),
        "landing": configured(ZoneResource, uri=settings.location("PIPELINE_LANDING_URI"), s3=s3),
        "processing": configured(
            ZoneResource, uri=settings.location("PIPELINE_PROCESSING_URI"), s3=s3
        ),
        "features": configured(ZoneResource, uri=settings.location("PIPELINE_FEATURES_URI"), s3=s3),
        "features_pod": configured(
            FeaturesPodResource,
            image=settings.get("PIPELINE_FEATURES_IMAGE"),
            namespace=settings.get("PIPELINE_K8S_NAMESPACE"),
            cpu=settings.get("PIPELINE_FEATURES_CPU"),
            memory=settings.get("PIPELINE_FEATURES_MEMORY"),
            secret=settings.get("PIPELINE_K8S_SECRET"),
            env=settings.present(POD_ENV),
        ),
        "warehouse": build_warehouse(settings),
        "pipes_client": pipes_client,
        "dbt": build_dbt_resource(dbt_project(settings)),
    }
