"""The ``local/*`` LiteLLM provider.

``local/rules`` is the deterministic offline brain: it reads the structured ``context`` the engine
passes in LiteLLM ``metadata`` (task, customer text, state, retrieved docs, API result) and answers
as a model would — JSON for decisions, Portuguese text for conversation — reporting token usage
counted with tiktoken so the ledger and cost views work offline too.
``local/adversary`` answers what an eval golden scripted for the turn and role, else as ``local/rules``
(``agent/adapters/adversary.py``); ``local/adversary:<model>`` is the same fake priced as ``<model>``,
reporting the fixed usage the golden gives (usage source ``scripted``).
``local/gguf`` runs any GGUF file through llama-cpp-python when it is installed (optional extra).
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

import tiktoken
from litellm import CustomLLM, ModelResponse
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import Usage as LiteUsage

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


def _response(model: str, reply: LocalReply, model_response: ModelResponse) -> ModelResponse:
    model_response.choices[0].message.content = reply.text
    model_response.model = f"local/{model}"
    prompt, completion = reply.prompt_tokens, reply.completion_tokens
    model_response.usage = LiteUsage(prompt_tokens=prompt, completion_tokens=completion,  # type: ignore[attr-defined]
                                     total_tokens=prompt + completion)
    if reply.usage_source != "provider":
        model_response.usage.usage_source = reply.usage_source  # type: ignore[attr-defined]
    model_response.created = int(time.time())
    return model_response


def local_reply(model: str, messages: list[dict[str, Any]], metadata: dict[str, Any],
                optional_params: dict[str, Any]) -> LocalReply:
    """Text and (prompt, completion) token counts of ``local/<model>`` — shared by the LiteLLM handler
    and the gateway's in-process fast path, so both report the same answer and usage."""
    if model == "rules":
        text = LocalProvider._rules(metadata, messages, optional_params)
    elif model == "gguf":
        text = LocalProvider._gguf(messages, optional_params, metadata)
    elif model == "adversary" or model.startswith("adversary:"):
        from agent.adapters.adversary import scripted_reply, usage_for

        scripted = scripted_reply(metadata)
        text = scripted if scripted is not None else LocalProvider._rules(metadata, messages, optional_params)
        fixed = usage_for(metadata) if model != "adversary" else None
        if fixed is not None:
            return LocalReply(text, fixed[0], fixed[1], "scripted")
    else:
        raise CustomLLMError(status_code=404, message=f"Unknown local model 'local/{model}' — use local/rules.")
    return LocalReply(text, _prompt_tokens(messages), _count(text))


class LocalProvider(CustomLLM):
    """Dispatches ``local/<name>`` models."""

    def completion(self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> ModelResponse:
        litellm_params = kwargs.get("litellm_params") or {}
        metadata = litellm_params.get("metadata") or {}
        model_response = kwargs.get("model_response") or ModelResponse()
        reply = local_reply(model, messages, metadata, kwargs.get("optional_params") or {})
        return _response(model, reply, model_response)

    async def acompletion(self, model: str, messages: list[dict[str, Any]], *args: Any,
                          **kwargs: Any) -> ModelResponse:
        return self.completion(model, messages, *args, **kwargs)

    @staticmethod
    def _rules(metadata: dict[str, Any], messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> str:
        from agent.brain.rules import answer

        result = answer(metadata.get("task") or "", metadata.get("context") or {}, messages)
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)

    @staticmethod
    def _gguf(messages: list[dict[str, Any]], optional_params: dict[str, Any], metadata: dict[str, Any]) -> str:
        from agent.adapters.providers.gguf import chat

        return chat(messages, temperature=float(optional_params.get("temperature", 0.2)),
                    model_path=(metadata.get("context") or {}).get("gguf_model_path"))
