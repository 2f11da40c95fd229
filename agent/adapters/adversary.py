"""``local/adversary``: a misbehaving model that goldens script, per chat and per turn.

A golden turn's ``model:`` maps a role (``decision``, ``conversation``, ``insights``…) or a role and
task (``decision/get_attribute``) to what the model answers on that turn: a text (an invented amount,
a password request, the prompt revealed, prose instead of JSON…) or a failure (``{timeout: true}``,
``{error: 429 | 401 | 500}``). The runner registers the turn's script under the chat id
(:func:`scripted`); the provider reads the chat id, role and task from the call's LiteLLM metadata.
A role or turn without a script is answered exactly like ``local/rules``, so the journey goes on.
The registry is keyed by chat and guarded by a lock: concurrent eval cases never see each other's script.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from agent.config import ROLES

ADVERSARY_MODEL = "local/adversary"
# The tasks the agent's calls carry in their metadata (a script may name one after its role).
TASKS = ("emotion", "journey_classification", "get_attribute", "tool_call", "conversation", "vision", "judge")
ERROR_CODES = (401, 429, 500)

_lock = threading.Lock()
_scripts: dict[int, dict[str, Any]] = {}


def validate_script(script: Any) -> dict[str, Any]:
    """A turn's ``model:`` as plain data; ValueError (the message says what is wrong) when malformed."""
    if not isinstance(script, Mapping) or not script:
        raise ValueError("'model' maps a role (decision, conversation, insights…) or role/task to a scripted reply")
    out: dict[str, Any] = {}
    for key, reply in script.items():
        role, _, task = str(key).partition("/")
        if role not in ROLES:
            raise ValueError(f"unknown role {key!r} in 'model'; roles: {', '.join(ROLES)} (or role/task)")
        if task and task not in TASKS:
            raise ValueError(f"unknown task {task!r} in 'model' key {key!r}; tasks: {', '.join(TASKS)}")
        if isinstance(reply, str):
            out[str(key)] = reply
            continue
        if not isinstance(reply, Mapping) or len(reply) != 1 or not ({"timeout", "error"} & set(reply)):
            raise ValueError(f"'model' {key!r}: a reply is a text, {{timeout: true}} or {{error: 429|401|500}}")
        if "timeout" in reply and reply["timeout"] is not True:
            raise ValueError(f"'model' {key!r}: write {{timeout: true}}")
        if "error" in reply and reply["error"] not in ERROR_CODES:
            raise ValueError(f"'model' {key!r}: error must be one of {', '.join(map(str, ERROR_CODES))}")
        out[str(key)] = dict(reply)
    return out


def set_script(chat_id: int, script: Mapping[str, Any]) -> None:
    """Calls for ``chat_id`` answer from ``script`` until :func:`clear_script`."""
    checked = validate_script(script)
    with _lock:
        _scripts[chat_id] = checked


def clear_script(chat_id: int) -> None:
    with _lock:
        _scripts.pop(chat_id, None)


@contextlib.contextmanager
def scripted(chat_id: int | None, script: Mapping[str, Any] | None) -> Iterator[None]:
    """``script`` applies to ``chat_id``'s calls inside the block (nothing to do without one)."""
    if chat_id is None or not script:
        yield
        return
    set_script(chat_id, script)
    try:
        yield
    finally:
        clear_script(chat_id)


def script_for(metadata: Mapping[str, Any]) -> Any:
    """The scripted reply for this call (``role/task`` before ``role``), or None."""
    chat_id = metadata.get("chat_id")
    if chat_id is None:
        return None
    with _lock:
        script = _scripts.get(chat_id)
    if not script:
        return None
    role, task = str(metadata.get("role") or ""), str(metadata.get("task") or "")
    return script.get(f"{role}/{task}", script.get(role))


def scripted_reply(metadata: Mapping[str, Any]) -> str | None:
    """The scripted text for this call, the scripted failure raised as LiteLLM raises it, or None
    (no script for this chat, turn and role: the provider answers as ``local/rules``)."""
    reply = script_for(metadata)
    if reply is None or isinstance(reply, str):
        return reply
    raise _failure(reply)


def _failure(reply: Mapping[str, Any]) -> Exception:
    import httpx

    import agent.adapters.offline  # noqa: F401  (before litellm)
    import litellm

    request = httpx.Request("POST", "http://local.adversary/chat")
    code = 408 if reply.get("timeout") else int(reply["error"])
    # "retry-after: 0": the gateway's retries are as real as with a provider, without waiting.
    response = httpx.Response(code, headers={"retry-after": "0"}, request=request)
    provider, model = "local", ADVERSARY_MODEL
    if reply.get("timeout"):
        exc: Exception = litellm.Timeout("scripted timeout (local/adversary)", model=model, llm_provider=provider)
        exc.response = response  # type: ignore[attr-defined]
        return exc
    if code == 429:
        return litellm.RateLimitError("scripted rate limit (local/adversary)", llm_provider=provider, model=model,
                                      response=response)
    if code == 401:
        return litellm.AuthenticationError("scripted bad key (local/adversary)", llm_provider=provider, model=model,
                                           response=response)
    return litellm.InternalServerError("scripted server error (local/adversary)", llm_provider=provider,
                                       model=model, response=response)
