"""LiteLLM custom providers: ``local/rules`` (offline deterministic brain), ``local/adversary`` (a misbehaving
model goldens script), optional ``local/gguf``."""

from __future__ import annotations

from typing import Any

_registered = False


def register_local_providers(litellm: Any) -> None:
    """Register the ``local/*`` models with the loaded LiteLLM module, once per process."""
    global _registered
    if _registered:
        return
    from agent.adapters.providers.litellm_handler import LocalProvider

    existing = [p for p in litellm.custom_provider_map if p.get("provider") != "local"]
    litellm.custom_provider_map = [*existing, {"provider": "local", "custom_handler": LocalProvider()}]
    litellm.utils.custom_llm_setup()
    # Known, free models: otherwise LiteLLM searches its whole price map on every call (~1 ms).
    litellm.register_model({
        name: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "local",
               "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
               "mode": "chat", "max_tokens": 8192, "max_input_tokens": 32768, "max_output_tokens": 8192}
        for name in ("local/rules", "local/adversary", "local/gguf")
    })
    _registered = True
