"""The package's layers, read from its imports (every import, also inside functions, and every module named in a
string: a 'resemote.x.y:Name' constant such as the dataset registry's, or the literal argument of
`importlib.import_module`):

- the library (the top-level modules, models/, data/, training/) imports nothing of the tools (analysis/,
  apps/), the book's machinery (book/) or the performance tools (perf/);
- the tools import only the library (and each other);
- no module imports itself back through others (no circle);
- only the command line (cli, __main__) may import every layer.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "resemote"
TOOLS, BOOK, PERF, CLI = ("analysis", "apps"), ("book",), ("perf",), ("cli", "__main__")
SPEC = re.compile(r"[A-Za-z_]\w*(\.\w+)+:[A-Za-z_]\w*")  # 'resemote.data.rafdb:RAFDB': module, then a name


def modules(package: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of `package` (a folder)."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = f.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def imports(name: str, f: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules `name` imports: `from a import b` names module a.b where there is one, else a; a
    string 'a.b:Name' (a registry entry, imported on first use) names module a.b, and so does the literal
    argument of `importlib.import_module("a.b")` or `import_module("a.b")`."""
    pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
    top = next(iter(known)).split(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SPEC.fullmatch(node.value):
            out.add(node.value.partition(":")[0])
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"):
            out.add(node.args[0].value)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    return {m for m in out if m.split(".")[0] == top and m != name}


def layer(name: str) -> str:
    parts = name.split(".")
    sub = parts[1] if len(parts) > 1 else ""
    for label, group in (("tools", TOOLS), ("book", BOOK), ("perf", PERF), ("cli", CLI)):
        if sub in group:
            return label
    return "library"


ALLOWED = {"library": {"library"}, "tools": {"library", "tools"}, "book": {"library", "tools", "book"},
           "perf": {"library", "tools", "book", "perf"}, "cli": {"library", "tools", "book", "perf", "cli"}}


def violations(package: Path) -> list[str]:
    """Every import that runs against the layers, and every circle, as readable lines."""
    known = modules(package)
    graph = {m: imports(m, f, known) for m, f in known.items()}
    out = [f"{m} ({layer(m)}) imports {d} ({layer(d)})" for m, deps in graph.items() for d in sorted(deps)
           if d in known and layer(d) not in ALLOWED[layer(m)]]
    # circles: strongly connected components of more than one module (Tarjan, iterative)
    index, low, stack, on, counter = {}, {}, [], set(), [0]

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1; stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next((w for w in it if w in graph), None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1; stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append("circle: " + " -> ".join(sorted(comp)))

    for m in graph:
        if m not in index:
            visit(m)
    return out


def test_the_package_keeps_its_layers_and_has_no_circle():
    assert violations(PACKAGE) == []


def test_each_subpackage_is_in_the_layer_its_name_says():
    known = modules(PACKAGE)
    assert {layer(m) for m in known if m.startswith("resemote.book.")} == {"book"}
    assert layer("resemote.training.loop") == layer("resemote.models.registry") == layer("resemote.env") == "library"
    assert layer("resemote.analysis.stats") == layer("resemote.apps.predict") == "tools"
    assert {"resemote.models", "resemote.data", "resemote.training", "resemote.analysis", "resemote.apps",
            "resemote.book", "resemote.perf"} <= set(known)


@pytest.mark.parametrize("planted, expected", [
    ({"training/loop.py": "from resemote.book.records import x\n"},
     "resemote.training.loop (library) imports resemote.book.records (book)"),
    ({"analysis/stats.py": "def f():\n    from resemote.book import records\n"},  # a lazy import counts
     "resemote.analysis.stats (tools) imports resemote.book.records (book)"),
    ({"leakage.py": "from resemote.training import loop\n", "training/loop.py": "import resemote.leakage\n"},
     "circle: resemote.leakage -> resemote.training.loop"),
    ({"training/loop.py": 'LOADERS = {"records": "resemote.book.records:Records"}\n'},  # a registry string
     "resemote.training.loop (library) imports resemote.book.records (book)"),
    ({"training/loop.py": 'import importlib\ndef f():\n    return importlib.import_module("resemote.book.records")\n'},
     "resemote.training.loop (library) imports resemote.book.records (book)"),
    ({"leakage.py": 'from importlib import import_module\nstats = import_module("resemote.analysis.stats")\n'},
     "resemote.leakage (library) imports resemote.analysis.stats (tools)"),
])
def test_the_checker_finds_what_it_guards_against(tmp_path, planted, expected):
    """On a miniature package: a library module importing the book (by an import statement, a 'module:Name'
    string or `import_module`), a tool importing the book lazily, and two library modules importing each other
    are each reported."""
    files = {"__init__.py": "", "leakage.py": "", "training/__init__.py": "", "training/loop.py": "",
             "analysis/__init__.py": "", "analysis/stats.py": "import resemote.training.loop\n",
             "book/__init__.py": "", "book/records.py": "import resemote.leakage\n", **planted}
    for rel, text in files.items():
        (tmp_path / "resemote" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "resemote" / rel).write_text(text)
    assert violations(tmp_path / "resemote") == [expected]
