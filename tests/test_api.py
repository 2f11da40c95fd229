"""The public ``agent`` and ``evals`` APIs: lazy at run time, fully typed for type checkers."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["agent", "evals"]


def _type_checking_imports(package: str) -> dict[str, tuple[str, str]]:
    """Exported name -> (module, attribute) of every import in the package's ``if TYPE_CHECKING:`` block."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
                for alias in stmt.names:
                    name = alias.asname or alias.name
                    if stmt.module == package:  # ``from agent import errors as errors``: a submodule
                        found[name] = (f"{package}.{alias.name}", "")
                    else:
                        found[name] = (str(stmt.module), alias.name)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_type_checking_block_matches_the_lazy_exports(package: str) -> None:
    api = importlib.import_module(package)
    aliases = getattr(api, "_ALIASES", {})
    expected = {name: (module, "" if module == f"{package}.{name}" else aliases.get(name, name))
                for name, module in api._EXPORTS.items()}
    assert _type_checking_imports(package) == expected


@pytest.mark.parametrize("package", PACKAGES)
def test_every_export_resolves_to_what_type_checkers_see(package: str) -> None:
    api = importlib.import_module(package)
    for name, (module, attribute) in _type_checking_imports(package).items():
        value = getattr(api, name)
        expected = importlib.import_module(module)
        assert value is (getattr(expected, attribute) if attribute else expected), name


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_the_package_stays_lazy(package: str) -> None:
    code = (f"import sys, {package}; "
            f"print(sorted(m for m in sys.modules if m.startswith(('{package}.', 'agent.', 'litellm'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
