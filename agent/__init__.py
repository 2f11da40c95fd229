"""conversa-lab's agent: the public API pages, the CLI and evals use.

Imports are lazy so a page that only needs settings does not pay for litellm's ~3 s import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Settings": "agent.config",
    "RoleConfig": "agent.config",
    "ModelOption": "agent.config",
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
    "warm_up_error": "agent.core.session",
    "ChatWorker": "agent.worker",
    "Workers": "agent.worker",
    "WorkerStatus": "agent.worker",
    "Attachment": "agent.types",
    "Message": "agent.types",
    "Usage": "agent.types",
    "media_status": "agent.adapters.media_input",
    "encryption_status": "agent.adapters.crypto",
    "EncryptionStatus": "agent.adapters.crypto",
    "clean_text": "agent.text",
    # The customer's rights (LGPD art. 18) and operator access
    "access_entries": "agent.privacy_rights",
    "enforce_retention": "agent.privacy_rights",
    "mask_for_display": "agent.privacy_rights",
    # Costs page
    "CostFilter": "agent.analytics.costs",
    "CostReport": "agent.analytics.costs",
    "format_money": "agent.analytics.costs",
    "project": "agent.analytics.costs",
    "to_currency": "agent.analytics.costs",
    "chart_measure": "agent.analytics.costs",
    "CHAT_SOURCES": "agent.analytics.costs",
    "PEOPLE_SOURCES": "agent.analytics.costs",
    "TrafficPrice": "agent.analytics.costs",
    # Prompts page
    "PromptVersions": "agent.analytics.prompt_versions",
    "current_versions": "agent.analytics.prompt_versions",
    "count_tokens_offline": "agent.analytics.prompt_versions",
    "diff_lines": "agent.analytics.prompt_versions",
    "render_text": "agent.analytics.prompt_versions",
    "sample_values": "agent.analytics.prompt_versions",
    "text_hash": "agent.analytics.prompt_versions",
    "pack_variant": "agent.analytics.prompt_versions",
    "load_pack": "agent.core.prompts",
    "prompt_sections": "agent.core.budget",
    "placeholders": "agent.core.prompts",
    "load_contracts": "agent.core.contracts",
    "check_prompt": "agent.core.contracts",
    # Insights (emotion, satisfaction, objections, summary, assertiveness score)
    "ConversationInsights": "agent.insights",
    "conversation_insights": "agent.insights",
    "session_insights": "agent.insights",
    "message_emotion": "agent.insights",
    "cached_insights": "agent.insights",
    # Audit page: conversations, journey funnel, review queue, fine-tuning dataset (DESAFIO 4)
    "ConversationRow": "agent.audit",
    "Funnel": "agent.audit",
    "FunnelReport": "agent.audit",
    "Review": "agent.audit",
    "conversations": "agent.audit",
    "funnel": "agent.audit",
    "review": "agent.audit",
    "reviews": "agent.audit",
    "review_queue": "agent.audit",
    "transcript": "agent.audit",
    "FinetuneReport": "agent.finetune",
    "export_finetune": "agent.finetune",
    "validate_finetune_file": "agent.finetune",
}

if TYPE_CHECKING:
    # The real types for type checkers and editors (``X as X`` re-exports); at run time each name is
    # imported on first use by ``__getattr__``. tests/test_api.py keeps this block and _EXPORTS equal.
    from agent import errors as errors
    from agent.adapters.crypto import EncryptionStatus as EncryptionStatus, encryption_status as encryption_status
    from agent.adapters.gateway import Gateway as Gateway
    from agent.adapters.media_input import media_status as media_status
    from agent.adapters.store import Store as Store
    from agent.analytics.costs import (
        CHAT_SOURCES as CHAT_SOURCES, PEOPLE_SOURCES as PEOPLE_SOURCES, CostFilter as CostFilter,
        CostReport as CostReport, TrafficPrice as TrafficPrice, chart_measure as chart_measure,
        format_money as format_money, project as project, to_currency as to_currency,
    )
    from agent.analytics.prompt_versions import (
        PromptVersions as PromptVersions, count_tokens_offline as count_tokens_offline,
        current_versions as current_versions, diff_lines as diff_lines,
        pack_variant as pack_variant, render_text as render_text, sample_values as sample_values,
        text_hash as text_hash,
    )
    from agent.audit import (
        ConversationRow as ConversationRow, Funnel as Funnel, FunnelReport as FunnelReport, Review as Review,
        conversations as conversations, funnel as funnel, review as review, review_queue as review_queue,
        reviews as reviews, transcript as transcript,
    )
    from agent.config import (
        ROLES as ROLES, ModelOption as ModelOption, RoleConfig as RoleConfig, Settings as Settings,
        available_models as available_models, load_settings as load_settings, models_for_role as models_for_role,
    )
    from agent.core.budget import prompt_sections as prompt_sections
    from agent.core.contracts import check_prompt as check_prompt, load_contracts as load_contracts
    from agent.core.pack import Pack as Pack, get_pack as get_pack, list_packs as list_packs
    from agent.core.prompts import load_pack as load_pack, placeholders as placeholders
    from agent.core.session import (
        AgentSession as AgentSession, TurnResult as TurnResult, is_warm as is_warm,
        list_conversations as list_conversations, warm_up as warm_up, warm_up_error as warm_up_error,
    )
    from agent.core.trace import TurnTrace as TurnTrace
    from agent.insights import (
        ConversationInsights as ConversationInsights, cached_insights as cached_insights,
        conversation_insights as conversation_insights,
        message_emotion as message_emotion, session_insights as session_insights,
    )
    from agent.finetune import (
        FinetuneReport as FinetuneReport, export_finetune as export_finetune,
        validate_finetune_file as validate_finetune_file,
    )
    from agent.privacy_rights import (
        access_entries as access_entries, enforce_retention as enforce_retention, mask_for_display as mask_for_display,
    )
    from agent.text import clean_text as clean_text
    from agent.types import Attachment as Attachment, Message as Message, Usage as Usage
    from agent.worker import ChatWorker as ChatWorker, WorkerStatus as WorkerStatus, Workers as Workers

__all__ = sorted(_EXPORTS)


if not TYPE_CHECKING:  # hidden from type checkers: a name missing from the block above is an error there, not Any

    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'agent' has no attribute {name!r}")
        value = importlib.import_module(module)
        return value if name == "errors" else getattr(value, name)
