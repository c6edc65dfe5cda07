"""The package's shape: no import cycles (imports inside functions included), dependencies
that point down (lib <- runner, report, console, verify, instance, launcher <- defs <-
definitions <- cli), the environment read only by the entry points and never at import, small modules, and
no test scaffolding in what ships."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "pipeline_assets"
# A module may import modules of its own layer or below, never above.
LAYERS = (
    ("pipeline_assets.lib",),
    (
        "pipeline_assets.instance",
        "pipeline_assets.launcher",
        "pipeline_assets.console",
        "pipeline_assets.report",
        "pipeline_assets.runner",
        "pipeline_assets.verify",
        "pipeline_assets.features_job",
        "pipeline_assets.run_coordinator",
    ),
    ("pipeline_assets.defs", "pipeline_assets.components"),
    ("pipeline_assets.definitions",),
    ("pipeline_assets.commands", "pipeline_assets.cli"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every pipeline_assets module this file imports, at any depth (functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("pipeline_assets")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def layer(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    if module == "pipeline_assets":
        return 0
    raise AssertionError(f"{module} is in no layer of this test: place it")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the list of modules around it."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for child in sorted(edges[node]):
            if child in path:
                cycle = path[path.index(child) :]
                key = frozenset(cycle)
                if key not in done:
                    done.add(key)
                    found.append([*cycle, child])
            elif child not in finished:
                visit(child, [*path, child])
        finished.add(node)

    finished: set[str] = set()
    for node in sorted(edges):
        if node not in finished:
            visit(node, [node])
    return found


def test_the_package_has_no_import_cycles():
    edges = graph()
    assert len(edges) > 30  # the walk sees the real package
    assert cycles(edges) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_dependencies_point_down():
    upward = [
        (module, imported)
        for module, targets in graph().items()
        for imported in targets
        if layer(imported) > layer(module)
    ]
    assert upward == []


# The entry points, which read the environment into a `Settings` (or, for the Pipes process,
# its own credentials), and the one module that writes it: dagster-dbt hands dbt a copy of
# the process environment and takes no other, so the profile's values travel that way. The
# LandingDataset component is one: Dagster's own loader may build a dataset on its own.
ENTRY_POINTS = (
    "pipeline_assets.cli",
    "pipeline_assets.components.landing_dataset",
    "pipeline_assets.definitions",
    "pipeline_assets.features_job",
)
ENVIRONMENT_WRITER = "pipeline_assets.defs.transform.project"
ENVIRONMENT = re.compile(r"os\.environ|getenv|\.get_value\(")


def test_only_the_entry_points_read_the_environment():
    touching = sorted(
        module_name(p) for p in PACKAGE.rglob("*.py") if ENVIRONMENT.search(p.read_text())
    )
    assert touching == sorted([*ENTRY_POINTS, ENVIRONMENT_WRITER])


IMPORT_EVERYTHING = """
import importlib, json, os, pkgutil, sys
read = set()
class Spy(type(os.environ)):
    def __getitem__(self, key):
        if key.startswith(("PIPELINE_", "SNOWFLAKE_", "DAGSTER_HOME")):
            caller = sys._getframe(1)  # past os.getenv and Mapping.get, to who asked
            while caller.f_code.co_filename in (os.__file__, "<frozen _collections_abc>"):
                caller = caller.f_back
            if "/pipeline_assets/" in caller.f_code.co_filename:
                read.add(f"{key} {caller.f_code.co_filename}:{caller.f_lineno}")
        return super().__getitem__(key)
os.environ.__class__ = Spy
import pipeline_assets
for module in pkgutil.walk_packages(pipeline_assets.__path__, "pipeline_assets."):
    importlib.import_module(module.name)
print(json.dumps(sorted(read)))
"""


def test_importing_any_module_reads_no_setting():
    """Settings are read where definitions or a command are built, not when imported: a
    second `build_defs` in one process sees the environment of that moment."""
    env = {**os.environ, "PIPELINE_TARGET": "dev", "DAGSTER_HOME": "/nonexistent"}  # all set
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_modules_stay_small():
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 300} == {}


def test_the_shipped_code_holds_no_crash_hooks():
    """Fault injection lives with the crash tests (tests/faultkit); the package, the dbt
    project and the image hold none of it."""
    shipped = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "dbt").rglob("*.sql")]
    shipped += [*(PACKAGE.parent / "dbt").glob("*.yml"), PACKAGE.parent / "Dockerfile"]
    hooks = re.compile(r"PIPELINE_FAULT|signal\.SIGKILL|maybe_die|fault_point|mkfifo")
    assert [str(p) for p in shipped if hooks.search(p.read_text())] == []


def test_every_setting_is_in_the_readmes_configuration_table():
    """A setting the code reads and the README does not list is a setting nobody finds."""
    from pipeline_assets.lib.connect import SNOWFLAKE_ENV
    from pipeline_assets.lib.settings import DEFAULTS

    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    also_read = ("DAGSTER_DISABLE_TELEMETRY", "SLACK_BOT_TOKEN")
    names = [*DEFAULTS, *SNOWFLAKE_ENV.values(), *also_read]
    assert [name for name in names if f"`{name}`" not in table] == []


def test_the_readme_is_a_quickstart_whose_links_resolve():
    """The README stays short (the rest lives in docs/), and every file it links exists."""
    readme = (PACKAGE.parent / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert links and [p for p in links if not (PACKAGE.parent / p).exists()] == []


WARNING_LINE = re.compile(r"Warning\b|warnings\.warn\(")


def warning_lines(*command: str, env: dict[str, str] | None = None) -> list[str]:
    """The lines of `command`'s output that a Python warning printed, every warning shown."""
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {}), "PYTHONWARNINGS": "always"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in (done.stdout + done.stderr).splitlines() if WARNING_LINE.search(line)]


def test_importing_the_definitions_and_the_cli_warn_of_nothing():
    """Under `-W always`: importing the code location and `pipeline --help` print no warning
    (dagster-dbt's deprecated sqlglotrs stub is not installed, and filtered by module where
    a plain pip install brings it). Dagster's own BetaWarnings, raised when the definitions
    are built, are not filtered: developers keep seeing them."""
    python = sys.executable
    assert warning_lines(python, "-W", "always", "-c", "import pipeline_assets.definitions") == []
    assert warning_lines(python, "-W", "always", "-m", "pipeline_assets.cli", "--help") == []
    built = "from pipeline_assets.definitions import build_defs; build_defs()"
    assert any("BetaWarning" in line for line in warning_lines(python, "-W", "always", "-c", built))
