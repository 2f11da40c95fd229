"""The ``local/*`` models, answered in process.

``local/rules`` is the deterministic offline brain: it reads the structured ``context`` the engine
passes in LiteLLM ``metadata`` (task, customer text, state, retrieved docs, API result) and answers
as a model would — JSON for decisions, Portuguese text for conversation — reporting token usage
counted with tiktoken so the ledger and cost views work offline too.
``local/adversary`` answers what an eval golden scripted for the turn and role, else as ``local/rules``
(``agent/adapters/adversary.py``); ``local/adversary:<model>`` is the same fake priced as ``<model>``,
reporting the fixed usage the golden gives (usage source ``scripted``).
``local/gguf`` runs any GGUF file through llama-cpp-python when it is installed (optional extra).

Nothing here imports LiteLLM (≈ 3 s): the gateway answers ``local/*`` in process (:func:`local_reply`), so an
offline engine, an eval worker on ``local/rules`` and the app's warm-up never pay for it. The LiteLLM
handler over the same function is ``agent/adapters/providers/litellm_handler.py``, registered when LiteLLM
is first loaded (for ``Gateway.local_fast_path = False`` and any direct ``litellm.completion``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import tiktoken

import agent.adapters.offline  # noqa: F401  (the bundled tokenizer files, before tiktoken loads one)
from agent.core.budget import ENCODING as _ENCODING
from agent.core.budget import count_tokens


def preload() -> None:
    """Load the tokenizer local calls count with (~0.5 s; seconds on a busy machine), so that the first
    answer does not pay for it (the warm-up calls this)."""
    tiktoken.get_encoding(_ENCODING)


def _count(text: str) -> int:
    # The prompt budget's counter (same encoding, cached): the engine has counted this turn's prompts already.
    return count_tokens(text or "")


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # Same framing overhead as OpenAI chat models (≈4 tokens per message + 3 for the reply).
    return sum(_count(str(m.get("content") or "")) + 4 for m in messages) + 3


class LocalReply(NamedTuple):
    """What a ``local/*`` model answers, with its token usage and where the counts came from."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    usage_source: str = "provider"  # counted with tiktoken like a provider would; "scripted": a golden's


def local_reply(model: str, messages: list[dict[str, Any]], metadata: dict[str, Any],
                optional_params: dict[str, Any]) -> LocalReply:
    """Text and (prompt, completion) token counts of ``local/<model>`` — shared by the LiteLLM handler
    and the gateway's in-process fast path, so both report the same answer and usage."""
    if model == "rules":
        text = rules_answer(metadata, messages, optional_params)
    elif model == "gguf":
        text = gguf_answer(messages, optional_params, metadata)
    elif model == "adversary" or model.startswith("adversary:"):
        from agent.adapters.adversary import scripted_reply, usage_for

        scripted = scripted_reply(metadata)
        text = scripted if scripted is not None else rules_answer(metadata, messages, optional_params)
        fixed = usage_for(metadata) if model != "adversary" else None
        if fixed is not None:
            return LocalReply(text, fixed[0], fixed[1], "scripted")
    else:
        from litellm.llms.custom_llm import CustomLLMError  # an unknown model: LiteLLM's own 404, as it would say

        raise CustomLLMError(status_code=404, message=f"Unknown local model 'local/{model}' — use local/rules.")
    return LocalReply(text, _prompt_tokens(messages), _count(text))


def rules_answer(metadata: dict[str, Any], messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> str:
    """``local/rules``: the offline brain's answer (JSON text for a decision)."""
    from agent.brain.rules import answer

    result = answer(metadata.get("task") or "", metadata.get("context") or {}, messages)
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


def gguf_answer(messages: list[dict[str, Any]], optional_params: dict[str, Any], metadata: dict[str, Any]) -> str:
    """``local/gguf``: a GGUF file through llama-cpp-python."""
    from agent.adapters.providers.gguf import chat

    return chat(messages, temperature=float(optional_params.get("temperature", 0.2)),
                model_path=(metadata.get("context") or {}).get("gguf_model_path"))
