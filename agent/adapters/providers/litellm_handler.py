"""The ``local/*`` models as a LiteLLM custom provider: the same answers as the gateway's in-process path
(:func:`agent.adapters.providers.local.local_reply`), for a direct ``litellm.completion(model="local/…")``
and for ``Gateway.local_fast_path = False`` (tests check both give the same answer). Imported only once
LiteLLM is loaded (``register_local_providers``)."""

from __future__ import annotations

import time
from typing import Any

from litellm import CustomLLM, ModelResponse
from litellm.types.utils import Usage as LiteUsage

from agent.adapters.providers.local import LocalReply, local_reply


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
