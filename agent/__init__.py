"""conversa-lab's agent: the public API pages, the CLI and evals use.

Imports are lazy so a page that only needs settings does not pay for litellm's ~3 s import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Settings": "agent.config",
    "RoleConfig": "agent.config",
    "ROLES": "agent.config",
    "load_settings": "agent.config",
    "available_models": "agent.config",
    "models_for_role": "agent.config",
    "Gateway": "agent.gateway",
    "Store": "agent.store",
    "errors": "agent.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = importlib.import_module(module)
    return value if name == "errors" else getattr(value, name)
