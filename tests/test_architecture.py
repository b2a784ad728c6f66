"""docs/architecture.md matches the code: its module table has one row per module of the
package and names no module that does not exist; the structure rules hold (no module over 500
lines, core modules import nothing from the upper layers, no import cycle)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "tokbench"
CORE = ("suites", "registry", "metrics", "tokenize", "tokenized", "corpora", "store", "schema", "segment",
        "assets", "adapters", "linguistic", "plugins")
UPPER = ("kinds", "executor", "lm", "chartasks", "transplant", "report", "gate", "cli", "reproduce")


def modules() -> dict[str, Path]:
    return {p.relative_to(PKG).as_posix(): p for p in sorted(PKG.rglob("*.py"))}


def test_module_table_lists_every_module():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc[doc.index("## Modules"):]
    table = table[:table.index("\n## ", 5)]
    rows = re.findall(r"^\| `([^`]+\.py)` \|", table, re.M)
    assert len(rows) == len(set(rows)), "a module has two rows"
    assert sorted(set(modules()) - set(rows)) == [], "modules missing from docs/architecture.md"
    assert sorted(set(rows) - set(modules())) == [], "rows of docs/architecture.md naming no module"


def test_no_module_over_500_lines():
    sizes = {m: sum(1 for _ in p.open(encoding="utf-8")) for m, p in modules().items()}
    assert {m: n for m, n in sizes.items() if n > 500} == {}


def _imports(path: Path, mod: str) -> set[str]:
    """tokbench modules imported anywhere in a file (inside functions too)."""
    parts = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(parts[: len(parts) - node.level + 1] + [node.module] if node.level and node.module
                            else parts[: len(parts) - node.level + 1] if node.level else [node.module or ""])
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("tokbench.")}


def _top(name: str) -> str:
    return name.split(".")[1]


def test_core_modules_import_no_upper_layer():
    bad = []
    for rel, path in modules().items():
        mod = "tokbench." + rel[:-3].replace("/", ".").removesuffix(".__init__")
        if "." in mod and _top(mod) in CORE:
            bad += [f"{mod} imports {d}" for d in _imports(path, mod) if _top(d) in UPPER]
    assert bad == []


def test_part_files_are_written_by_the_executor_only():
    writers = [rel for rel, p in modules().items() if "write_part(" in p.read_text(encoding="utf-8")]
    assert sorted(writers) == ["executor.py", "store.py"]


def test_docstring_examples_of_the_plugin_points_run():
    import doctest
    import importlib

    for name in ("tokbench.plugins", "tokbench.kinds", "tokbench.metrics", "tokbench.adapters", "tokbench.transplant",
                 "tokbench.registry"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name
