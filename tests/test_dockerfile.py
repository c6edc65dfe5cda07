"""The Dockerfile's own commands, run in a fresh venv (no Docker engine runs here).

The test reads the Dockerfile and replays it: ARG/ENV become the environment, COPY copies
from the repo into a sandbox, RUN runs through a shell, and CMD starts the code server,
which must answer a gRPC health check and serve the prod definitions. Absolute image paths
(/app, /opt/dagster) are mapped into the sandbox; the only skipped step is creating the
non-root user (that needs root on the host).
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import venv
from pathlib import Path

import pytest
from helpers import SNOWFLAKE_DUMMY
from services import free_port

REPO = Path(__file__).parents[1]
PROD_RUNTIME_ENV = SNOWFLAKE_DUMMY  # what the pod's environment and secrets would provide


LIST_REPOSITORIES = """
import sys
from dagster._grpc.client import DagsterGrpcClient
print(DagsterGrpcClient(port=int(sys.argv[1]), host="127.0.0.1").list_repositories())
"""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs, with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.strip().startswith("#") and not current:
            continue
        current += raw.rstrip("\\").strip() + " " if raw.endswith("\\") else raw.strip()
        if not raw.endswith("\\"):
            if current.strip():
                lines.append(current.strip())
            current = ""
    return [tuple(line.split(None, 1)) for line in lines]  # type: ignore[misc]


def test_instruction_parser_joins_continuations():
    parsed = instructions("FROM x\n# note\nRUN a \\\n    && b\nENV A=1 \\\n    B=2\n")
    assert parsed == [("FROM", "x"), ("RUN", "a && b"), ("ENV", "A=1 B=2")]


@pytest.mark.slow
def test_dockerfile_commands_build_and_serve_in_a_fresh_venv(tmp_path):
    root = tmp_path / "image"
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"

    def remap(value: str) -> str:
        return value.replace("/app", str(root / "app")).replace("/opt/", f"{root}/opt/")

    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(root),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "UV_"))},
    }
    workdir, cmd = root, None
    for op, arg in instructions((REPO / "Dockerfile").read_text()):
        if op in ("ARG", "ENV"):
            for name, _, value in (pair.partition("=") for pair in shlex.split(arg)):
                value = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), value)
                env[name] = remap(value)
        elif op == "WORKDIR":
            workdir = Path(remap(arg))
            workdir.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            *sources, dest = shlex.split(arg)
            for source in sources:
                target = workdir / dest / source if dest.endswith("/") else workdir / dest
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, target, dirs_exist_ok=True, ignore=ignored)
                else:
                    shutil.copy(REPO / source, target)
        elif op == "RUN":
            if "useradd" in arg:
                (root / "opt" / "dagster" / "home").mkdir(parents=True, exist_ok=True)
                (root / "opt" / "dagster" / "data").mkdir(parents=True, exist_ok=True)
                continue
            command = re.sub(r"&& chown -R \S+ \S+", "", remap(arg))
            done = subprocess.run(
                ["sh", "-c", command], cwd=workdir, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, (
                f"RUN {command}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        elif op == "CMD":
            cmd = json.loads(arg)

    assert (workdir / "dbt" / "target" / "manifest.json").is_file()
    assert not list((workdir / "dbt").glob("target/*.duckdb"))
    # The image's code is the copy in the image's /app (installed in place), not the checkout.
    where = subprocess.run(
        [bin_dir / "python", "-c", "import pipeline_assets; print(pipeline_assets.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(workdir / "pipeline_assets" / "__init__.py")

    port = str(free_port())
    server = subprocess.Popen(
        [{"4000": port, "0.0.0.0": "127.0.0.1"}.get(a, a) for a in cmd],
        cwd=workdir,
        env={**env, **PROD_RUNTIME_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            check = subprocess.run(
                [bin_dir / "dagster", "api", "grpc-health-check", "-p", port, "-h", "127.0.0.1"],
                env=env,
                capture_output=True,
                text=True,
            )
            if check.returncode == 0:
                break
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "code server did not become healthy"
            time.sleep(2)
        # Healthy is not enough: the server must have loaded the prod definitions.
        listing = subprocess.run(
            [bin_dir / "python", "-c", LIST_REPOSITORIES, port],
            env=env,
            capture_output=True,
            text=True,
        )
        assert listing.returncode == 0 and "__repository__" in listing.stdout, (
            listing.stdout + listing.stderr
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def ignored(directory: str, names: list[str]) -> list[str]:
    """What .dockerignore keeps out of the build context."""
    patterns = (REPO / ".dockerignore").read_text().split()
    rel = Path(directory).resolve().relative_to(REPO)
    return [
        n
        for n in names
        if any(
            fnmatch.fnmatch((rel / n).as_posix(), p.removeprefix("**/"))
            or n == p.removeprefix("**/")
            for p in patterns
        )
    ]
