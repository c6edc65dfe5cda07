"""Nothing leaves the machine that the user did not configure.

Dagster's webserver and daemon upload whatever lies in `$DAGSTER_HOME/logs/` to Dagster's
telemetry server at start, whatever the instance's `telemetry` setting; only
`DAGSTER_DISABLE_TELEMETRY` stops them. A local HTTP server stands in for that endpoint
(`DAGSTER_TELEMETRY_URL`): the project's entry points must send it nothing, while the same
uploader without the project's settings does send it a planted file (the control).
"""

import os
import subprocess
import sys
import time
from datetime import date

import pytest
from services import TelemetryStandIn, dagster_dev, free_port, pipeline

from pipeline_assets.lib.objectstore import LocalStore
from pipeline_assets.lib.sample import seed_landing

PLANTED = "event.log"  # what Dagster itself writes there when its telemetry is on


@pytest.fixture
def telemetry():
    server = TelemetryStandIn()
    yield server
    server.close()


def plant(home) -> None:
    (home / "logs").mkdir(parents=True, exist_ok=True)
    (home / "logs" / PLANTED).write_text('{"action": "planted by the test"}\n')


def test_the_uploader_sends_the_logs_folder_without_the_projects_settings(pipeline_env, telemetry):
    """The control: Dagster's own uploader, as the webserver and daemon start it, with no
    DAGSTER_DISABLE_TELEMETRY, sends a planted file to the stand-in (so silence means
    something in the test below)."""
    plant(pipeline_env.dagster_home)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_DISABLE_TELEMETRY"}
    env["DAGSTER_TELEMETRY_URL"] = telemetry.url
    code = (
        "import threading; from dagster._core.telemetry_upload import upload_logs;"
        "e = threading.Event(); t = threading.Thread(target=upload_logs, args=(e,));"
        "t.start(); import time; time.sleep(3); e.set(); t.join()"
    )
    subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=60, cwd=pipeline_env.root
    )
    assert [path for path, _ in telemetry.requests] == ["/actions"]
    assert not (pipeline_env.dagster_home / "logs" / PLANTED).exists()  # uploaded, deleted


@pytest.mark.slow
def test_the_cli_and_make_dev_send_nothing(pipeline_env, telemetry, monkeypatch):
    """`pipeline backfill` logs outside DAGSTER_HOME; `make dev` (webserver and daemon)
    starts with telemetry disabled, so a file in $DAGSTER_HOME/logs stays where it is."""
    logs = pipeline_env.root / "cli-logs"
    monkeypatch.setenv("PIPELINE_LOG_DIR", str(logs))
    monkeypatch.setenv("DAGSTER_TELEMETRY_URL", telemetry.url)
    monkeypatch.delenv("DAGSTER_DISABLE_TELEMETRY", raising=False)
    seed_landing(LocalStore(pipeline_env.landing), date(2024, 1, 1), date(2024, 1, 1), 50)
    done = pipeline("backfill", "--start", "2024-01-01", "--end", "2024-01-01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in logs.iterdir()] == [p.name for p in logs.glob("backfill-*.log")]
    assert f"full log          {logs}/backfill-" in done.stdout
    assert not (pipeline_env.dagster_home / "logs").exists()  # the CLI wrote nothing there

    plant(pipeline_env.dagster_home)  # as if Dagster's own telemetry had written it
    port = free_port()
    env = {**os.environ, "PIPELINE_AUTOMATION": "off"}
    make = ["make", "--no-print-directory", "dev", f"PORT={port}"]
    with dagster_dev(make, port, env, pipeline_env.root / "make-dev.log") as graphql:
        assert graphql("{ instance { info } }")["instance"]["info"]
        time.sleep(5)  # the uploader thread runs at once when a service starts
    assert telemetry.requests == []
    assert (pipeline_env.dagster_home / "logs" / PLANTED).exists()
    assert not any((pipeline_env.dagster_home / ".logs_queue").glob("*"))
