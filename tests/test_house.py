"""The house rules a machine can check, read from the source with ast (nothing is imported):

- no import cycle between the package's modules;
- lower layers never import higher ones (the layer order of docs/design and the README's "The code");
- no module over 400 lines and no function over 60;
- the package's own modules are imported at the top of a module, except in the places named in LAZY_OK, each for
  a stated reason;
- only cli.py, config.py and errors.py (and the package's __init__/__main__) sit loose at the top level.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "posestylizer"

# Lowest first; a module may import its own layer and any layer before it.
LAYERS = [
    {"errors", "runtime"},
    {"config", "keypoints", "nn"},
    {"models", "checkpoints", "results"},
    {"data", "estimators"},
    {"training", "metrics"},
    {"inference"},
    {"experiments", "augment", "server", "bench", "demo"},
    {"commands"},
    {"cli", "__main__"},
]
# Where package modules may be imported inside functions, and why.
LAZY_OK = {
    "__init__.py": "`import posestylizer` and `posestylizer --help` must not import torch",
    "commands": "argument parsing and --help must not import torch; each command imports its work when it runs",
    "bench": "the worker's case modules also drive older revisions of the package (bench --compare REV), so they "
             "import what a case needs when it is built and survive modules that an old revision lacks",
}
LOOSE_OK = {"__init__.py", "__main__.py", "cli.py", "config.py", "errors.py"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["posestylizer", *parts])] = path
    return out


MODULES = _modules()


def _target(name: str) -> str | None:
    """The package module an import of ``name`` loads (the longest known prefix)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(path: Path, *, top_only: bool) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("posestylizer"):
            for alias in node.names:  # `from posestylizer.x import y` may load the module posestylizer.x.y
                target = _target(f"{node.module}.{alias.name}")
                found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, _target(a.name)) for a in node.names if a.name.startswith("posestylizer")]
    return [(line, t) for line, t in found if t]


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else "__init__"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: its folder is in no layer of LAYERS")


def test_no_import_cycles():
    graph = {m: {t for _, t in _imports(p, top_only=True) if t != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles[:5]


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for module, path in MODULES.items():
        if module == "posestylizer":
            continue
        for line, target in _imports(path, top_only=False):
            if target != "posestylizer" and _layer(target) > _layer(module):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not wrong, wrong


def test_module_and_function_sizes():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 400:
            too_long.append(f"{path.relative_to(PACKAGE)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
                too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not too_long, too_long


def test_package_modules_are_imported_at_the_top():
    lazy = []
    for module, path in MODULES.items():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in LAZY_OK or str(rel) in LAZY_OK:
            continue
        top = {line for line, _ in _imports(path, top_only=True)}
        lazy += [f"{rel}:{line} {target}" for line, target in _imports(path, top_only=False) if line not in top
                 and not _under_type_checking(path, line)]
    assert not lazy, lazy


def _under_type_checking(path: Path, line: int) -> bool:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            if node.lineno <= line <= node.end_lineno:
                return True
    return False


def test_the_top_level_shows_the_layers():
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose <= LOOSE_OK, loose - LOOSE_OK
