"""The public ``agent`` API: lazy at run time, fully typed for type checkers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import agent

ROOT = Path(__file__).resolve().parent.parent


def _type_checking_imports() -> dict[str, str]:
    """Name -> module of every import in ``agent/__init__.py``'s ``if TYPE_CHECKING:`` block."""
    tree = ast.parse((ROOT / "agent" / "__init__.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
                for alias in stmt.names:
                    assert alias.asname == alias.name, f"re-export {alias.name} as itself"
                    module = f"{stmt.module}.{alias.name}" if alias.name == "errors" else stmt.module
                    found[alias.name] = str(module)
    return found


def test_type_checking_block_matches_the_lazy_exports() -> None:
    assert _type_checking_imports() == agent._EXPORTS


def test_every_export_resolves_to_what_type_checkers_see() -> None:
    for name, module in agent._EXPORTS.items():
        value = getattr(agent, name)
        if name == "errors":
            assert value.__name__ == module
        else:
            assert getattr(sys.modules[module], name) is value


def test_importing_agent_stays_lazy() -> None:
    code = "import sys, agent; print(sorted(m for m in sys.modules if m.startswith(('agent.', 'litellm'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
