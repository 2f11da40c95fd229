"""The ``local/*`` LiteLLM provider.

``local/rules`` is the deterministic offline brain: it reads the structured ``context`` the engine
passes in LiteLLM ``metadata`` (task, customer text, state, retrieved docs, API result) and answers
as a model would — JSON for decisions, Portuguese text for conversation — reporting token usage
counted with tiktoken so the ledger and cost views work offline too.
``local/adversary`` answers what an eval golden scripted for the turn and role, else as ``local/rules``
(``agent/adapters/adversary.py``).
``local/gguf`` runs any GGUF file through llama-cpp-python when it is installed (optional extra).
"""

from __future__ import annotations

import json
import time
from typing import Any

import tiktoken
from litellm import CustomLLM, ModelResponse
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import Usage as LiteUsage

_ENCODING = "cl100k_base"


def preload() -> None:
    """Load the tokenizer local calls count with (~0.5 s; seconds on a busy machine), so that the first
    answer does not pay for it (the warm-up calls this)."""
    tiktoken.get_encoding(_ENCODING)


def _count(text: str) -> int:
    return len(tiktoken.get_encoding(_ENCODING).encode(text or "", disallowed_special=()))


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # Same framing overhead as OpenAI chat models (≈4 tokens per message + 3 for the reply).
    return sum(_count(str(m.get("content") or "")) + 4 for m in messages) + 3


def _response(model: str, text: str, messages: list[dict[str, Any]], model_response: ModelResponse) -> ModelResponse:
    model_response.choices[0].message.content = text
    model_response.model = f"local/{model}"
    prompt = _prompt_tokens(messages)
    completion = _count(text)
    model_response.usage = LiteUsage(prompt_tokens=prompt, completion_tokens=completion,  # type: ignore[attr-defined]
                                     total_tokens=prompt + completion)
    model_response.created = int(time.time())
    return model_response


def local_reply(model: str, messages: list[dict[str, Any]], metadata: dict[str, Any],
                optional_params: dict[str, Any]) -> tuple[str, int, int]:
    """Text and (prompt, completion) token counts of ``local/<model>`` — shared by the LiteLLM handler
    and the gateway's in-process fast path, so both report the same answer and usage."""
    if model == "rules":
        text = LocalProvider._rules(metadata, messages, optional_params)
    elif model == "gguf":
        text = LocalProvider._gguf(messages, optional_params, metadata)
    elif model == "adversary":
        from agent.adapters.adversary import scripted_reply

        scripted = scripted_reply(metadata)
        text = scripted if scripted is not None else LocalProvider._rules(metadata, messages, optional_params)
    else:
        raise CustomLLMError(status_code=404, message=f"Unknown local model 'local/{model}' — use local/rules.")
    return text, _prompt_tokens(messages), _count(text)


class LocalProvider(CustomLLM):
    """Dispatches ``local/<name>`` models."""

    def completion(self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> ModelResponse:
        litellm_params = kwargs.get("litellm_params") or {}
        metadata = litellm_params.get("metadata") or {}
        model_response = kwargs.get("model_response") or ModelResponse()
        text, _, _ = local_reply(model, messages, metadata, kwargs.get("optional_params") or {})
        return _response(model, text, messages, model_response)

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
