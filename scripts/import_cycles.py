"""Import cycles among the project's modules: `python scripts/import_cycles.py [package ...]`.

Counts every import that can run — module level and lazy (inside a function) — and skips
``if TYPE_CHECKING:`` blocks. Prints each cycle with its edges; exits 1 when there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(packages: list[str]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def edges(name: str, path: Path, known: dict[str, Path]) -> dict[str, tuple[int, bool]]:
    """``{imported module: (line, at module level)}``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for sub in node.body for n in ast.walk(sub)}
    top = {id(n) for n in tree.body}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: dict[str, tuple[int, bool]] = {}
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names]
            # "from pkg import module" depends on the module, not on the package's __init__.
            targets = subs if all(t in known for t in subs) else [base, *subs]
        for target in targets:
            parts = target.split(".")
            hit = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in known), None)
            if hit and hit != name:
                out.setdefault(hit, (node.lineno, id(node) in top))
    return out


def cycles(graph: dict[str, dict[str, tuple[int, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(packages: list[str]) -> int:
    known = modules(packages)
    graph = {name: edges(name, path, known) for name, path in known.items()}
    found = cycles(graph)
    for component in found:
        print("cycle:", " ↔ ".join(component))
        for a in component:
            for b, (line, top) in sorted(graph[a].items()):
                if b in component:
                    print(f"  {a} → {b}  (line {line}, {'module level' if top else 'lazy'})")
    if not found:
        print(f"no import cycles among {len(known)} modules of {', '.join(packages)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["agent", "evals", "sandbox", "app_pages", "bench"]))
