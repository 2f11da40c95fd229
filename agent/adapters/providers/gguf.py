"""Optional ``local/gguf``: any GGUF chat model through llama-cpp-python (not installed by default).

Install with ``pip install llama-cpp-python`` (compiles for ~5 min) and set ``GGUF_MODEL_PATH``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from litellm.llms.custom_llm import CustomLLMError


@lru_cache(maxsize=2)
def _load(path: str) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise CustomLLMError(
            status_code=400,
            message="local/gguf needs llama-cpp-python — run `pip install llama-cpp-python` or pick local/rules.",
        ) from exc
    return Llama(model_path=path, n_ctx=4096, verbose=False)


def chat(messages: list[dict[str, Any]], *, temperature: float, model_path: str | None) -> str:
    """One chat completion with the GGUF model at ``model_path`` (or ``GGUF_MODEL_PATH``)."""
    path = model_path or os.environ.get("GGUF_MODEL_PATH")
    if not path or not os.path.exists(path):
        raise CustomLLMError(status_code=400, message="GGUF_MODEL_PATH is not set to a .gguf file — set it in .env.")
    result = _load(path).create_chat_completion(messages=messages, temperature=temperature)
    return str(result["choices"][0]["message"]["content"] or "")
