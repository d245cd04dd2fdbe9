"""Imports point down only: every module under zlab/ is placed in a layer, and none imports a higher one.

L0  zlab.constants, zlab.errors
L1  zlab.zmtp.*  (sans-I/O protocol), zlab.pipe, zlab.options
L2  zlab.sockets.*, zlab.io.*  (never each other)
L3  zlab (the package), zlab.context, zlab.socket, zlab.poll, zlab.utils.*, zlab.auth.*, zlab.devices, zlab.asyncio
L4  zlab.bench.*, zlab.cli, zlab.__main__

zlab.zmtp.* is pure: bytes in, events out. It imports no I/O, threading or clock module, and of zlab only
zlab.zmtp.*, zlab.constants and zlab.errors. Every import counts, including ones inside functions and under
``if TYPE_CHECKING:``. ``import zlab`` (or ``from zlab import Name``) is an import of the L3 facade.
A new module that fits none of these must be given a layer here, on purpose.

Within a layer, imports run one way too: no module may reach itself again through the imports of
others (a circle), counting the same imports (inside functions and under ``if TYPE_CHECKING:``
too). A circle that is truly wanted must be listed in ``ALLOWED_CIRCLES`` with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "zlab"

# (module or package prefix, layer). A prefix entry covers the package and everything below it.
EXACT: dict[str, int] = {
    "zlab.constants": 0,
    "zlab.errors": 0,
    "zlab.pipe": 1,
    "zlab.options": 1,  # option specs and values, read by sockets/ and io/ alike (not in DESIGN.md's diagram)
    "zlab": 3,
    "zlab.context": 3,
    "zlab.socket": 3,
    "zlab.poll": 3,
    "zlab.frame": 3,  # Frame / MessageTracker, what copy=False gives
    "zlab.proxy": 3,
    "zlab.devices": 3,
    "zlab.asyncio": 3,
    "zlab.cli": 4,
    "zlab.__main__": 4,
}
PACKAGES: dict[str, int] = {
    "zlab.zmtp": 1,
    "zlab.sockets": 2,
    "zlab.io": 2,
    "zlab.utils": 3,
    "zlab.auth": 3,
    "zlab.bench": 4,
}
LAYER_NAMES = {0: "L0 base", 1: "L1 protocol/pipes", 2: "L2 sockets/io", 3: "L3 facade", 4: "L4 lab"}

# Standard-library modules the sans-I/O protocol layer must not touch (I/O, threads, event loops, clock).
ZMTP_FORBIDDEN_STDLIB = {
    "socket",
    "_socket",
    "select",
    "selectors",
    "threading",
    "_thread",
    "asyncio",
    "time",
}
ZMTP_ALLOWED_ZLAB = {"zlab.constants", "zlab.errors"}
SIBLINGS_APART = ("zlab.sockets", "zlab.io")
#: import circles kept on purpose: frozenset of their modules -> why (none today)
ALLOWED_CIRCLES: dict[frozenset[str], str] = {}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_of(module: str) -> int | None:
    """The layer of a zlab module, or None if it has not been placed."""
    if module in EXACT:
        return EXACT[module]
    for package, layer in PACKAGES.items():
        if _within(module, package):
            return layer
    return None


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name of the imported module
    lineno: int


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    rel = path.relative_to(package_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module under the package directory, by dotted name."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        found[module_name(path, package_dir)] = path
    return found


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> tuple[list[Import], list[str]]:
    """All imports in ``source``, resolved to absolute module names; and problems found while resolving.

    ``from P import n`` is an import of ``P.n`` when ``P.n`` is a known module, else of ``P``.
    """
    tree = ast.parse(source, filename=module)
    package = module if is_package else module.rpartition(".")[0]
    out: list[Import] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level > len(parts):
                    problems.append(f"{module}:{node.lineno}: relative import beyond the top-level package")
                    continue
                base_parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append(Import(sub if sub in known else base, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            out.append(Import(node.args[0].value, node.lineno))
    return out, problems


def check_module(
    module: str, source: str, is_package: bool = False, known: set[str] | None = None
) -> list[str]:
    """Layer violations of one module, as readable messages (empty if it is clean)."""
    known = known if known is not None else set()
    here = layer_of(module)
    if here is None:
        return [
            f"{module}: not placed in any layer; add it to EXACT or PACKAGES in tests/test_layers.py "
            f"(and to the layer diagram in DESIGN.md)"
        ]
    found, problems = imports_of(module, source, is_package, known)
    for imp in found:
        where = f"{module}:{imp.lineno}"
        root = imp.target.split(".")[0]
        if root != "zlab":
            if _within(module, "zlab.zmtp") and root in ZMTP_FORBIDDEN_STDLIB:
                problems.append(f"{where}: zlab.zmtp is sans-I/O and must not import {imp.target!r}")
            continue
        there = layer_of(imp.target)
        if there is None:
            problems.append(f"{where}: imports {imp.target!r}, which is not placed in any layer")
            continue
        if there > here:
            problems.append(
                f"{where}: upward import of {imp.target!r} ({LAYER_NAMES[there]}) "
                f"from {LAYER_NAMES[here]}"
                + (" -- `import zlab` is the L3 facade" if imp.target == "zlab" else "")
            )
        a, b = SIBLINGS_APART
        if (_within(module, a) and _within(imp.target, b)) or (_within(module, b) and _within(imp.target, a)):
            problems.append(f"{where}: {a} and {b} never import each other ({imp.target!r})")
        if (
            _within(module, "zlab.zmtp")
            and not _within(imp.target, "zlab.zmtp")
            and imp.target not in ZMTP_ALLOWED_ZLAB
        ):
            problems.append(
                f"{where}: zlab.zmtp may import only zlab.zmtp.*, zlab.constants and zlab.errors, not {imp.target!r}"
            )
    return problems


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module -> the zlab modules it imports (every import, lazy ones too), over ``sources``
    (module -> (source, is_package)). An import of a package counts as an import of its
    ``__init__``; imports of modules outside ``sources`` are left out."""
    known = set(sources)
    graph: dict[str, set[str]] = {}
    for module, (source, is_package) in sources.items():
        found, _ = imports_of(module, source, is_package, known)
        graph[module] = {imp.target for imp in found if imp.target in known and imp.target != module}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of ``graph``: its strongly connected parts of more than one module (Tarjan),
    each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:  # iterative: no recursion limit on deep chains
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    part = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.append(member)
                        if member == node:
                            break
                    if len(part) > 1:
                        circles.append(sorted(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(circles)


def describe_circle(circle: list[str], graph: dict[str, set[str]]) -> str:
    """A circle as the imports that tie it: ``a -> b`` for each import between its modules."""
    members = set(circle)
    ties = [f"{a} -> {b}" for a in circle for b in sorted(graph[a] & members)]
    return f"import circle of {len(circle)} modules: " + "; ".join(ties)


# --------------------------------------------------------------------------------------------- the tree

MODULES = discover()


def test_the_known_base_modules_exist():
    assert "zlab.constants" in MODULES and "zlab.errors" in MODULES, sorted(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str):
    path = MODULES[module]
    problems = check_module(
        module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py", known=set(MODULES)
    )
    assert not problems, "\n".join(problems)


def test_no_import_circles():
    sources = {m: (p.read_text(encoding="utf-8"), p.name == "__init__.py") for m, p in MODULES.items()}
    graph = import_graph(sources)
    circles = [c for c in import_circles(graph) if frozenset(c) not in ALLOWED_CIRCLES]
    assert not circles, "\n".join(describe_circle(c, graph) for c in circles)


# --------------------------------------------------------------------------------------------- the checker


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("zlab.zmtp.codec", "from ..socket import Socket\n", "upward import of 'zlab.socket'"),
        ("zlab.zmtp.codec", "def f():\n    import zlab.bench.run\n", "upward import of 'zlab.bench.run'"),
        ("zlab.sockets.req", "import zlab\n", "`import zlab` is the L3 facade"),
        ("zlab.sockets.req", "from zlab import Context\n", "upward import of 'zlab'"),
        ("zlab.pipe", "from .context import Context\n", "upward import of 'zlab.context'"),
        ("zlab.constants", "from zlab.pipe import Pipe\n", "upward import of 'zlab.pipe'"),
        ("zlab.sockets.req", "from ..io.engine import Engine\n", "never import each other"),
        ("zlab.io.engine", "from zlab.sockets import base\n", "never import each other"),
        ("zlab.zmtp.codec", "import time\n", "must not import 'time'"),
        ("zlab.zmtp.codec", "from socket import socketpair\n", "must not import 'socket'"),
        ("zlab.zmtp", "from selectors import DefaultSelector\n", "must not import 'selectors'"),
        ("zlab.zmtp.codec", "from zlab.pipe import Pipe\n", "may import only zlab.zmtp"),
        ("zlab.io.tcp", "import importlib\nimportlib.import_module('zlab.bench')\n", "upward import"),
        ("zlab.io.tcp", "from zlab.nowhere import x\n", "not placed in any layer"),
        ("zlab.mystery", "", "not placed in any layer"),
        ("zlab", "from ... import x\n", "beyond the top-level package"),
    ],
)
def test_checker_reports(module: str, source: str, expected: str):
    problems = check_module(module, source, is_package=module in ("zlab", "zlab.zmtp"))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("module", "source", "is_package"),
    [
        ("zlab.zmtp.codec", "from . import frames\nfrom .frames import Frame\nimport struct\n", False),
        ("zlab.zmtp.codec", "from zlab.constants import Errno\nfrom ..errors import ZMQError\n", False),
        ("zlab.zmtp.codec", "from zlab import constants, errors\n", False),
        ("zlab.zmtp", "from .codec import Decoder\n", True),
        ("zlab.sockets.req", "from ..pipe import Pipe\nfrom .base import Routing\nimport threading\n", False),
        ("zlab.io.engine", "from zlab.zmtp import codec\nimport socket, selectors, time\n", False),
        ("zlab", "from .context import Context\nfrom .sockets import req\nfrom .io import engine\n", True),
        ("zlab.context", "import zlab\nfrom . import socket\n", False),
        ("zlab.bench.run", "import zlab\nimport zmq\nfrom zlab.cli import main\n", False),
        ("zlab.cli", "from .bench import run\n", False),
    ],
)
def test_checker_accepts(module: str, source: str, is_package: bool):
    known = {"zlab.constants", "zlab.errors", "zlab.zmtp.frames", "zlab.socket", "zlab.sockets.req"}
    assert check_module(module, source, is_package=is_package, known=known) == []


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        # a lazy import inside a function closes a circle as much as one at the top
        (
            {
                "zlab.io.engine": ("from zlab.io.pipe import P\n", False),
                "zlab.io.pipe": ("def f():\n    from zlab.io.engine import E\n", False),
            },
            [["zlab.io.engine", "zlab.io.pipe"]],
        ),
        # so does one under TYPE_CHECKING, and a longer loop is found whole
        (
            {
                "zlab.a": ("import zlab.b\n", False),
                "zlab.b": ("from zlab import c\n", False),
                "zlab.c": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import X\n",
                    False,
                ),
                "zlab.d": ("import zlab.a\n", False),
            },
            [["zlab.a", "zlab.b", "zlab.c"]],
        ),
        # one way is no circle
        (
            {
                "zlab.io.engine": ("from zlab.io.pipe import P\nfrom zlab.io.link import L\n", False),
                "zlab.io.pipe": ("from zlab.io.link import L\n", False),
                "zlab.io.link": ("import threading\n", False),
            },
            [],
        ),
    ],
)
def test_circle_finder(sources: dict[str, tuple[str, bool]], expected: list[list[str]]):
    graph = import_graph(sources)
    assert import_circles(graph) == expected
    for circle in expected:
        assert " -> ".join(circle[:1]) in describe_circle(circle, graph)
