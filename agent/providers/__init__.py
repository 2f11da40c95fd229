"""LiteLLM custom providers: ``local/rules`` (offline deterministic brain), optional ``local/gguf``."""

from __future__ import annotations

import agent.offline  # noqa: F401  (must precede litellm)
import litellm

from agent.providers.local import LocalProvider

_registered = False


def register_local_providers() -> None:
    """Register the ``local/*`` models with LiteLLM once per process."""
    global _registered
    if _registered:
        return
    existing = [p for p in litellm.custom_provider_map if p.get("provider") != "local"]
    litellm.custom_provider_map = [*existing, {"provider": "local", "custom_handler": LocalProvider()}]
    litellm.utils.custom_llm_setup()
    _registered = True
