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
    "Gateway": "agent.adapters.gateway",
    "Store": "agent.adapters.store",
    "errors": "agent.errors",
    "AgentSession": "agent.core.session",
    "TurnResult": "agent.core.session",
    "TurnTrace": "agent.core.trace",
    "Pack": "agent.core.pack",
    "get_pack": "agent.core.pack",
    "list_packs": "agent.core.pack",
    "list_conversations": "agent.core.session",
    "warm_up": "agent.core.session",
    "is_warm": "agent.core.session",
    "Attachment": "agent.types",
    "Message": "agent.types",
    "Usage": "agent.types",
    "media_status": "agent.adapters.media_input",
    # Costs page
    "COMPLETED_STEPS": "agent.analytics.costs",
    "CostFilter": "agent.analytics.costs",
    "CostReport": "agent.analytics.costs",
    "format_money": "agent.analytics.costs",
    "project": "agent.analytics.costs",
    "to_currency": "agent.analytics.costs",
    # Prompts page
    "PromptVersions": "agent.analytics.prompt_versions",
    "current_versions": "agent.analytics.prompt_versions",
    "count_tokens_offline": "agent.analytics.prompt_versions",
    "diff_lines": "agent.analytics.prompt_versions",
    "render_text": "agent.analytics.prompt_versions",
    "sample_values": "agent.analytics.prompt_versions",
    "SAMPLE_VALUES": "agent.analytics.prompt_versions",
    "text_hash": "agent.analytics.prompt_versions",
    "pack_variant": "agent.analytics.prompt_versions",
    "load_pack": "agent.core.prompts",
    "placeholders": "agent.core.prompts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = importlib.import_module(module)
    return value if name == "errors" else getattr(value, name)
