"""The real processes tests talk to: the `pipeline` CLI, `dagster dev` (webserver and daemon)
and its GraphQL API, and a local HTTP server standing in for Dagster's telemetry endpoint."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DAEMON_PACE = str(REPO / "tests" / "daemonpace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipeline(
    *args: str, env: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """The `pipeline` console script as a user runs it, with this test's environment (plus
    `env`), in its own session: whatever it kills (the crash tests) can never be the test."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline_assets.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


class GraphQL:
    def __init__(self, url: str, process: subprocess.Popen | None = None):
        self.url = url
        self.process = process  # the server answering it, when a test started one

    def __call__(self, document: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": document, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def answers(self) -> bool:
        try:
            return bool(self("{ version }")["version"])
        except OSError:
            return False


def _default_sigint() -> None:
    """Let the server stop on SIGTERM even when started from a background shell job, which
    inherits SIGINT ignored (Dagster's processes handle SIGTERM as they handle SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def dagster_dev(
    command: Sequence[str], port: int, env: dict[str, str], log: Path, timeout: float = 180
) -> Iterator[GraphQL]:
    """`command` (`dagster dev ...` or `make dev PORT=...`) serving on `port`, started from
    the checkout in its own process group: its GraphQL API once it answers; the whole group
    is stopped on the way out (unless a test killed it first: `graphql.process` is the
    group's leader). Its backfill daemon ticks every 3 s, not 30 (tests/daemonpace).
    """
    env = {
        **env,
        "PATH": f"{VENV_BIN}:{env['PATH']}",
        "PYTHONPATH": os.pathsep.join(filter(None, [DAEMON_PACE, env.get("PYTHONPATH")])),
        "DAEMON_INTERVAL_SECONDS": "3",
    }
    with open(log, "w") as out:
        server = subprocess.Popen(
            list(command),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )
    graphql = GraphQL(f"http://127.0.0.1:{port}/graphql", server)
    try:
        deadline = time.monotonic() + timeout
        while not graphql.answers():
            assert server.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, "dagster dev did not answer\n" + log.read_text()
            time.sleep(1)
        yield graphql
    finally:
        stop_group(server)


def stop_group(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after a minute; a group
    already gone is fine."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    except ProcessLookupError:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


class TelemetryStandIn:
    """An HTTP server on 127.0.0.1 recording every request: point DAGSTER_TELEMETRY_URL here."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, body))
                self.send_response(200)
                self.end_headers()

            do_GET = do_PUT = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/actions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
