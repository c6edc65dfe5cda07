"""The package's shape: no import cycles (imports inside functions included), and
dependencies that point down: lib <- runner, report, console, verify, instance <- defs <-
definitions <- cli."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "pipeline_assets"
# A module may import modules of its own layer or below, never above.
LAYERS = (
    ("pipeline_assets.lib",),
    (
        "pipeline_assets.instance",
        "pipeline_assets.console",
        "pipeline_assets.report",
        "pipeline_assets.runner",
        "pipeline_assets.verify",
        "pipeline_assets.features_job",
    ),
    ("pipeline_assets.defs",),
    ("pipeline_assets.definitions",),
    ("pipeline_assets.cli",),
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


def test_only_the_settings_module_reads_the_environment():
    readers = sorted(
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if "os.environ" in p.read_text() or "os.getenv" in p.read_text()
    )
    assert readers == ["pipeline_assets.lib.settings"]


def test_every_setting_is_in_the_readmes_configuration_table():
    """A setting the code reads and the README does not list is a setting nobody finds."""
    from pipeline_assets.lib.settings import DEFAULTS
    from pipeline_assets.lib.warehouse import SNOWFLAKE_ENV

    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    also_read = ("DAGSTER_DISABLE_TELEMETRY", "SLACK_BOT_TOKEN")
    names = [*DEFAULTS, *SNOWFLAKE_ENV.values(), *also_read]
    assert [name for name in names if f"`{name}`" not in table] == []
