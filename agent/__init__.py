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
    "AgentSession": "agent.session",
    "TurnResult": "agent.session",
    "list_conversations": "agent.session",
    "warm_up": "agent.session",
    "is_warm": "agent.session",
    "Attachment": "agent.types",
    "Message": "agent.types",
    "Usage": "agent.types",
    "media_status": "agent.media_input",
    # Costs page
    "COMPLETED_STEPS": "agent.costs",
    "CostFilter": "agent.costs",
    "CostReport": "agent.costs",
    "format_money": "agent.costs",
    "project": "agent.costs",
    "to_currency": "agent.costs",
    # Prompts page
    "PromptVersions": "agent.prompt_versions",
    "current_versions": "agent.prompt_versions",
    "count_tokens_offline": "agent.prompt_versions",
    "highlight_variables": "agent.prompt_versions",
    "diff_lines": "agent.prompt_versions",
    "render_text": "agent.prompt_versions",
    "sample_values": "agent.prompt_versions",
    "SAMPLE_VALUES": "agent.prompt_versions",
    "text_hash": "agent.prompt_versions",
    "pack_variant": "agent.prompt_versions",
    "whatsapp_markdown": "agent.display",
    "load_pack": "agent.prompts",
    "placeholders": "agent.prompts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = importlib.import_module(module)
    return value if name == "errors" else getattr(value, name)
