"""``local/adversary``: a misbehaving model that goldens script, per chat and per turn.

A golden turn's ``model:`` maps a role (``decision``, ``conversation``, ``insights``…) or a role and
task (``decision/get_attribute``) to what the model answers on that turn: a text (an invented amount,
a password request, the prompt revealed, prose instead of JSON…) or a failure (``{timeout: true}``,
``{error: 429 | 401 | 500}``). The runner registers the turn's script under the chat id
(:func:`scripted`); the provider reads the chat id, role and task from the call's LiteLLM metadata.
A role or turn without a script is answered exactly like ``local/rules``, so the journey goes on.
The registry is keyed by chat and guarded by a lock: concurrent eval cases never see each other's script.

A golden's ``price_as: {role: model}`` runs the role on ``local/adversary:<model>``: the same fake, with
the fixed token usage the golden gives (``usage:``, per role or role/task; registered for the whole
conversation with :func:`fixed_usage`), priced by the gateway's own pricing as ``<model>`` — so a
cost golden sees the price table and the BRL conversion as a real call would, and the ledger row
says which fake it was (model ``local/adversary:gpt-4o-mini``, usage source ``scripted``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from agent.adapters.pricing import PRICED_FAKE_PREFIX, deck_prices
from agent.config import ROLES

ADVERSARY_MODEL = "local/adversary"
# The tasks the agent's calls carry in their metadata (a script may name one after its role).
TASKS = ("emotion", "journey_classification", "get_attribute", "tool_call", "conversation", "vision", "judge")
ERROR_CODES = (401, 429, 500)

USAGE_KEYS = ("prompt_tokens", "completion_tokens")

_lock = threading.Lock()
_scripts: dict[int, dict[str, Any]] = {}
_usages: dict[int, dict[str, tuple[int, int]]] = {}


def is_adversary(model: str | None) -> bool:
    """``local/adversary`` itself or a priced fake ``local/adversary:<model>``."""
    return bool(model) and (model == ADVERSARY_MODEL or str(model).startswith(PRICED_FAKE_PREFIX))


def priced_model(model: str) -> str:
    """The fake model priced as ``model``: ``local/adversary:<model>``."""
    return f"{PRICED_FAKE_PREFIX}{model}"


def _role_key(key: Any, where: str) -> tuple[str, str]:
    role, _, task = str(key).partition("/")
    if role not in ROLES:
        raise ValueError(f"unknown role {key!r} in {where!r}; roles: {', '.join(ROLES)}")
    if task and task not in TASKS:
        raise ValueError(f"unknown task {task!r} in {where!r} key {key!r}; tasks: {', '.join(TASKS)}")
    return role, task


def priceable_models() -> list[str]:
    """The models a golden may price its fake as: the priced entries of the price table (data file)."""
    return sorted({name for name, p in deck_prices().items()
                   if p.provider != "local" and (p.input_per_mtok or p.output_per_mtok)})


def validate_price_as(value: Any) -> dict[str, str]:
    """A golden's ``price_as: {role: model}`` as plain data; ValueError naming the bad role or model."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError("'price_as' maps a role (decision, conversation, insights…) to a model of "
                         "agent/adapters/data/prices.yaml, e.g. {conversation: gpt-4o-mini}")
    known = priceable_models()
    out: dict[str, str] = {}
    for key, model in value.items():
        role, task = _role_key(key, "price_as")
        if task:
            raise ValueError(f"'price_as' {key!r}: price a whole role ({role!r}), not a task")
        if not isinstance(model, str) or model not in known:
            raise ValueError(f"unknown model {model!r} in 'price_as' {key!r}; priced models in "
                             f"agent/adapters/data/prices.yaml: {', '.join(known)}")
        out[role] = model
    return out


def usage_entry(key: Any, tokens: Any, price_as: Mapping[str, str]) -> dict[str, int]:
    """One ``usage`` entry (``role`` or ``role/task`` → tokens) checked; ValueError saying what is wrong."""
    role, _ = _role_key(key, "usage")
    if role not in price_as:
        raise ValueError(f"'usage' {key!r}: role {role!r} is not in 'price_as' (only a priced fake reports "
                         "a fixed usage)")
    if not isinstance(tokens, Mapping) or set(tokens) != set(USAGE_KEYS) or not all(
            isinstance(tokens[k], int) and not isinstance(tokens[k], bool) and tokens[k] >= 0 for k in USAGE_KEYS):
        raise ValueError(f"'usage' {key!r}: write {{prompt_tokens: N, completion_tokens: N}} (whole numbers ≥ 0)")
    return {k: int(tokens[k]) for k in USAGE_KEYS}


def validate_usage(value: Any, price_as: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """A golden's ``usage: {role or role/task: {prompt_tokens, completion_tokens}}``, for priced roles only;
    every priced role needs its own entry (a call's tokens must not depend on the prompt's length)."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError("'usage' maps each role of 'price_as' (or role/task) to "
                         "{prompt_tokens: N, completion_tokens: N}")
    out = {str(key): usage_entry(key, tokens, price_as) for key, tokens in value.items()}
    missing = sorted(set(price_as) - set(out))
    if missing:
        raise ValueError(f"'usage' needs an entry for each priced role (role/task entries refine it); "
                         f"missing: {', '.join(missing)}")
    return out


@contextlib.contextmanager
def fixed_usage(chat_id: int | None, usage: Mapping[str, Mapping[str, int]] | None) -> Iterator[None]:
    """Inside the block, ``chat_id``'s calls on a priced fake report ``usage`` (per role or role/task)."""
    if chat_id is None or not usage:
        yield
        return
    table = {str(k): (int(v["prompt_tokens"]), int(v["completion_tokens"])) for k, v in usage.items()}
    with _lock:
        _usages[chat_id] = table
    try:
        yield
    finally:
        with _lock:
            _usages.pop(chat_id, None)


def usage_for(metadata: Mapping[str, Any]) -> tuple[int, int] | None:
    """The fixed (prompt, completion) tokens registered for this call (``role/task`` before ``role``), or None."""
    return _for_call(_usages, metadata)


def _for_call(registry: Mapping[int, Mapping[str, Any]], metadata: Mapping[str, Any]) -> Any:
    """What ``registry`` holds for this call's chat, ``role/task`` before ``role``; None when nothing."""
    chat_id = metadata.get("chat_id")
    if chat_id is None:
        return None
    with _lock:
        table = registry.get(chat_id)
    if not table:
        return None
    role, task = str(metadata.get("role") or ""), str(metadata.get("task") or "")
    return table.get(f"{role}/{task}", table.get(role))


def validate_script(script: Any) -> dict[str, Any]:
    """A turn's ``model:`` as plain data; ValueError (the message says what is wrong) when malformed."""
    if not isinstance(script, Mapping) or not script:
        raise ValueError("'model' maps a role (decision, conversation, insights…) or role/task to a scripted reply")
    out: dict[str, Any] = {}
    for key, reply in script.items():
        _role_key(key, "model")
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
    return _for_call(_scripts, metadata)


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
