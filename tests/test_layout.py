"""The dependency direction written in README's Layout section holds, and no module reaches
into another package's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import valuealign

ROOT = Path(valuealign.__file__).parent

# README "Layout": a package may import only packages of a lower rank (and itself).
RANK = {
    "redact": 0,
    "testing": 0,
    "console": 0,
    "errors": 1,
    "aio": 2,
    "configs": 2,
    "labels": 2,
    "lang": 2,
    "yamlfile": 2,
    "records": 2,
    "backends": 3,
    "charter": 3,
    "judging": 4,
    "runs": 4,
    "values": 5,
    "curate": 6,
    "generate": 6,
    "evaluate": 6,
    "consensus": 6,
    "report": 7,
    "review": 7,
    "agreement": 8,
    "visa": 8,
    "train": 9,
    "decontam": 10,
    "demo": 11,
    "cli": 12,
    "__main__": 13,
}
# The decontamination guard reads the benchmark, the VISA queries and the training data, and the
# runners call it before they start: these calls go up, inside the function that runs the guard.
CALLS_UP = {("evaluate", "decontam"), ("generate", "decontam"), ("train", "decontam")}


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path):
    """(target package, imported names, module-level?) for each valuealign import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "valuealign":
                yield parts[1:], [a.name for a in node.names], id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "valuealign":
                    yield parts[1:], [], id(node) in top


def test_every_package_has_a_rank() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")} - {"__init__"}
    assert packages <= set(RANK), f"add {packages - set(RANK)} to README's layout and RANK"


def test_imports_point_down() -> None:
    wrong = []
    for path in ROOT.rglob("*.py"):
        src = _package(path)
        if src == "__init__":
            continue  # the package root re-exports the public API
        for parts, names, module_level in _imports(path):
            # `from valuealign import decontam`: the names are the packages (bar __version__)
            targets = [parts[0]] if parts else [n for n in names if n != "__version__"]
            for dst in targets:
                if dst == src or RANK[dst] < RANK[src]:
                    continue
                if (src, dst) in CALLS_UP and not module_level:
                    continue
                wrong.append(f"{path.relative_to(ROOT)}: {src} (rank {RANK[src]}) imports {dst}")
    assert not wrong, "\n".join(wrong)


def test_no_private_names_across_packages() -> None:
    wrong = []
    for path in ROOT.rglob("*.py"):
        src = _package(path)
        for parts, names, _ in _imports(path):
            if not parts or parts[0] == src:
                continue
            private = [p for p in parts[1:] if p.startswith("_")]
            private += [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}: {'.'.join(parts)} {private}")
    assert not wrong, "\n".join(wrong)
