"""The package's layers, read from its imports (every import, also inside functions, and every module named in a
string: a 'resemote.x.y:Name' constant such as the dataset registry's, or the literal argument of
`importlib.import_module`):

- the library (the top-level modules, models/, data/, training/) imports nothing of the tools (analysis/,
  apps/), the book's machinery (book/) or the performance tools (perf/);
- the tools import only the library (and each other);
- no module imports itself back through others (no circle);
- only the command line (cli, __main__) may import every layer.

The notebooks (jupytext twins notebooks/*.py) and the benchmarks (benchmarks/*.py) are read the same way: what
they import must exist, a notebook imports only the library, the tools and the book's report, and a benchmark
what the performance tools may import (`script_violations` says why).
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


# --- notebooks and benchmarks: scripts outside the package that import it --------------------------------------
REPO = PACKAGE.parent
REPORT = "resemote.book.report"  # the book's formatter: the one part of the book a notebook may use


# the one module of the book's a notebook may use besides the report: the Colab T4 cost estimate a run page shows
# (a formula on the network's FLOPs; recorded run pages name it in their executed output, so it stays where it is)
COLAB_ESTIMATE = "resemote.book.colab"


def allowed(kind: str, module: str) -> bool:
    """Whether a file of `kind` ("notebook" or "script") may import `module` (`script_violations` says why)."""
    if kind == "notebook":
        return (layer(module) in ("library", "tools") or module == REPORT or module.startswith(REPORT + ".")
                or module == COLAB_ESTIMATE)
    return layer(module) in ALLOWED["perf"]  # "script"


def defined(f: Path) -> set[str] | None:
    """The names a module binds at its top level (in `if`, `try` and `with` blocks too); None where it may bind
    any (`from x import *`, a module `__getattr__`)."""
    names: set[str] = set()
    todo = list(ast.parse(f.read_text()).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == "__getattr__":
                return None
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in node.names):
                return None
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:  # a compound statement: its blocks run at import time too
            for block in ("body", "orelse", "finalbody", "handlers"):
                todo += [s for s in getattr(node, block, []) if isinstance(s, (ast.stmt, ast.excepthandler))]
    return names


def script_violations(repo: Path, folder: str, rules: bool = True) -> list[str]:
    """What the .py files of `folder` (notebooks or benchmarks) import from the package and should not, read
    as the package's own modules are (every import, lazy ones and module strings included), as readable lines:

    - a module, or a name imported from a module (`from resemote.x import f`), that the package does not have:
      a rename that forgot a notebook or a benchmark;
    - with `rules`, an import against the file's rule.
      A notebook (a jupytext twin of notebooks/*.ipynb) is the narration layer: it shows a reader what the
      library computes, with the library and the tools, and formats it with the book's report
      (`resemote.book.report`). It imports none of the book's machinery (plan, workflow, jobs, build, launch,
      pages, records), which executes the notebooks, records what they print and publishes them (the Colab
      T4 estimate, `resemote.book.colab`, is the one exception: a formula a run page shows): a
      notebook driving it runs in a circle, and its reader would have to know the build to follow it. Nor the
      performance tools (which plan on the book's plan) or the command line.
      A script (benchmarks/*.py, and notebooks/*.py without an .ipynb: the notebooks' test helpers) measures
      or drives the package from outside, as the performance tools do inside it: it may import what
      `resemote.perf` may (library, tools, book, perf), not the command line (it runs `resemote` as a process
      where it needs a command; importing cli would hide which function it measures).
    """
    package = repo / PACKAGE.name
    known = modules(package)
    out = []
    for f in sorted((repo / folder).glob("*.py")):
        rel = f.relative_to(repo).as_posix()
        kind = "notebook" if f.with_suffix(".ipynb").is_file() else "script"
        for d in sorted(imports(rel, f, known)):
            if d not in known:
                out.append(f"{rel} imports {d}, which does not exist")
            elif rules and not allowed(kind, d):
                out.append(f"{rel} ({kind}) imports {d} ({layer(d)})")
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module in known:
                names = defined(known[node.module])
                out += [f"{rel} imports {a.name} from {node.module}, which does not define it" for a in node.names
                        if names is not None and a.name not in names and f"{node.module}.{a.name}" not in known]
    return out


def test_notebooks_and_benchmarks_import_only_what_the_package_has():
    assert script_violations(REPO, "notebooks", rules=False) + script_violations(REPO, "benchmarks", rules=False) == []


def test_notebooks_narrate_with_the_library_the_tools_and_the_report():
    assert script_violations(REPO, "notebooks") == []


def test_benchmarks_import_what_the_performance_tools_may():
    assert script_violations(REPO, "benchmarks") == []


@pytest.mark.parametrize("folder, planted, expected", [
    ("notebooks", {"notebooks/run.py": "from resemote.book import plan, report\nimport resemote.training.loop\n"},
     ["notebooks/run.py (notebook) imports resemote.book.plan (book)"]),
    ("notebooks", {"notebooks/run.py": 'import importlib\n'
                                       'def f():\n    importlib.import_module("resemote.perf.bench")\n'},
     ["notebooks/run.py (notebook) imports resemote.perf.bench (perf)"]),               # lazy, by a string
    ("notebooks", {"notebooks/helper.py": "from resemote.book.plan import x\n"}, []),  # no .ipynb: a script
    ("notebooks", {"notebooks/run.py": "from resemote.training.gone import train\n"},
     ["notebooks/run.py imports resemote.training.gone, which does not exist"]),
    ("notebooks", {"notebooks/run.py": "from resemote.training.loop import gone, train\n"},
     ["notebooks/run.py imports gone from resemote.training.loop, which does not define it"]),
    ("benchmarks", {"benchmarks/b.py": "from resemote.book.plan import x\nfrom resemote.cli import main\n"},
     ["benchmarks/b.py (script) imports resemote.cli (cli)"]),
    ("benchmarks", {"benchmarks/b.py": 'LOADERS = {"gone": "resemote.data.gone:Gone"}\n'},
     ["benchmarks/b.py imports resemote.data.gone, which does not exist"]),
])
def test_the_script_checker_finds_what_it_guards_against(tmp_path, folder, planted, expected):
    """On a miniature repository: a notebook importing the book's machinery, or the performance tools lazily by a
    string; a helper beside the notebooks, which is a script; a module or a name that does not exist; a benchmark
    importing the command line; a registry string naming a missing module."""
    files = {"resemote/__init__.py": "", "resemote/cli.py": "def main():\n    pass\n",
             "resemote/training/__init__.py": "", "resemote/training/loop.py": "def train():\n    pass\n",
             "resemote/book/__init__.py": "", "resemote/book/plan.py": "x = 1\n",
             "resemote/book/report/__init__.py": "", "resemote/perf/__init__.py": "", "resemote/perf/bench.py": "",
             "notebooks/run.ipynb": "{}", **planted}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert script_violations(tmp_path, folder) == expected


# --- where the leak experiment lives --------------------------------------------------------------------------------
LEAK_NAMES = re.compile(r"train_subset|leak_test_fraction|leak_copies|LeakExperiment|leak_block|leaked_into_train"
                        r"|LEAK_KEYS|\.leak\b|\bleak=")
LEAK_HOMES = {
    "resemote/leakage.py": "the mechanics: the spec's block, the subset, the leaked copies, clean-test scoring",
    "resemote/training/spec.py": "the run specification, whose optional block it is",
    "resemote/analysis/leak_inference.py": "its inference (the fit threshold, the share that prints a claim)",
    "resemote/book/report/leak_section.py": "the book's wording of its runs",
    "resemote/book/report/findings.py": "page one's inference section",
    "resemote/book/records.py": "a record's id and label name its settings",
    "resemote/cli.py": "the command line's --train-subset, --leak-test-fraction, --leak-copies",
    "notebooks/train.py": "the notebook's typed parameters",
}


def leak_mentions(repo: Path) -> dict[str, int]:
    """Python files whose code (docstrings left out; comments are not in the tree) names the leak experiment's
    settings or its block, with how often."""
    out = {}
    for f in sorted([*(repo / "resemote").rglob("*.py"), *(repo / "notebooks").glob("*.py"),
                     *(repo / "benchmarks").glob("*.py")]):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                    and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body[0] = ast.Pass()
        n = len(LEAK_NAMES.findall(ast.unparse(tree)))
        if n:
            out[f.relative_to(repo).as_posix()] = n
    return out


def test_the_leak_experiment_lives_in_a_few_modules():
    """Its settings travel as one block of the run specification: any other module goes through the spec
    (`RunSpec.leaks`, `experiment_label`, `training_images`, `cli_args`) and never names them. Adding an
    experiment of the same kind touches one block of runs.yml and `resemote/leakage.py`."""
    assert set(leak_mentions(REPO)) <= set(LEAK_HOMES), leak_mentions(REPO)
    assert len(LEAK_HOMES) <= 8
