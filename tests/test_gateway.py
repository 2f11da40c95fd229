"""The gateway against local/rules and a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent import errors
from agent.config import load_settings
from agent.adapters.gateway import Gateway, encoding_tokens, parse_json_reply
from agent.adapters.store import Store

MSG = [{"role": "user", "content": "quero sacar meu FGTS"}]


def _gateway(base_env, stub=None, **env):
    values = dict(base_env)
    if stub is not None:
        values.update({"OPENAI_API_KEY": "sk-test", "CONVERSATION_API_BASE": stub.url,
                       "CONVERSATION_MODEL": "openai/ok", "DECISION_API_BASE": stub.url})
    values.update({"REQUEST_TIMEOUT_SECONDS": "2", "RETRY_BACKOFF_SECONDS": "0", **env})
    settings = load_settings(env=values, dotenv_path=None)
    slept: list[float] = []
    gw = Gateway(settings, Store(settings.database_url), sleep=slept.append)
    return gw, slept


def test_local_rules_answers_and_writes_one_row(base_env) -> None:
    gw, _ = _gateway(base_env)
    c = gw.complete("conversation", "Conversa", MSG, chat_id=7)
    assert c.text and c.model == "local/rules" and c.usage.input_tokens > 0
    rows = gw.store.cost_rows()
    assert len(rows) == 1 and rows[0]["fk_id_chat"] == 7 and rows[0]["status"] == "ok"
    assert rows[0]["feat_request_id"] == c.request_id


def test_async_completion(base_env) -> None:
    gw, _ = _gateway(base_env)
    c = asyncio.run(gw.acomplete("decision", "Classificação", MSG, expect_json=True,
                                 context={"task": "journey_classification", "text": "oi"}))
    assert isinstance(c.json, dict) and "intent" in c.json


def test_real_http_success_with_provider_usage(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub)
    c = gw.complete("conversation", "Conversa", MSG)
    assert c.text == "eco: quero sacar meu FGTS"
    assert c.usage.source == "provider" and c.usage.input_tokens > 0


def test_blocking_calls_from_many_threads_and_from_inside_an_event_loop(base_env, openai_stub) -> None:
    # complete() awaits LiteLLM's acompletion on the gateway's own loop: callers on threads and callers inside
    # a running loop (a coroutine calling the blocking API) all get their answer and their ledger row.
    from concurrent.futures import ThreadPoolExecutor

    gw, _ = _gateway(base_env, openai_stub)
    texts = [f"pedido {i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda t: gw.complete("conversation", "Conversa", [{"role": "user", "content": t}]).text,
                                texts))
    assert replies == [f"eco: {t}" for t in texts]

    async def inside_a_loop() -> str:
        return gw.complete("conversation", "Conversa", MSG).text

    assert asyncio.run(inside_a_loop()) == "eco: quero sacar meu FGTS"
    assert len(gw.store.cost_rows()) == 13 and {r["status"] for r in gw.store.cost_rows()} == {"ok"}


def test_missing_key_is_actionable_and_ledgered(base_env) -> None:
    gw, _ = _gateway(base_env, CONVERSATION_MODEL="gpt-4o")
    with pytest.raises(errors.MissingKeyError, match="OPENAI_API_KEY is missing — add it to .env or pick local/rules"):
        gw.complete("conversation", "Conversa", MSG)
    assert gw.store.cost_rows()[0]["status"] == "missing_key"


def test_unknown_model(base_env) -> None:
    gw, _ = _gateway(base_env, CONVERSATION_MODEL="nonsense-model-xyz")
    with pytest.raises(errors.UnknownModelError, match="Unknown model"):
        gw.complete("conversation", "Conversa", MSG)
    assert gw.store.cost_rows()[0]["status"] == "unknown_model"


def test_bad_key(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/401")
    with pytest.raises(errors.AuthenticationFailed, match="refused the key"):
        gw.complete("conversation", "Conversa", MSG)
    assert gw.store.cost_rows()[0]["status"] == "bad_key"


def test_429_retries_with_backoff_then_succeeds(base_env, openai_stub) -> None:
    gw, slept = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/429-once")
    c = gw.complete("conversation", "Conversa", MSG)
    assert c.text.startswith("eco:") and slept == [0.0]  # Retry-After: 0 honoured
    assert openai_stub.calls["429-once"] == 2


def test_429_exhausted_gives_rate_limited(base_env, openai_stub) -> None:
    gw, slept = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/429", MAX_RETRIES="2")
    with pytest.raises(errors.RateLimited, match="429"):
        gw.complete("conversation", "Conversa", MSG)
    assert len(slept) == 2 and openai_stub.calls["429"] == 3
    row = gw.store.cost_rows()[0]
    assert row["status"] == "rate_limited" and "after 3 attempts" in row["error"]


def test_500_then_ok(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/500-once")
    assert gw.complete("conversation", "Conversa", MSG).text.startswith("eco:")


def test_timeout(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/slow-3000",
                     REQUEST_TIMEOUT_SECONDS="0.5", MAX_RETRIES="0")
    with pytest.raises(errors.ProviderTimeout, match="did not answer in time"):
        gw.complete("conversation", "Conversa", MSG)
    assert gw.store.cost_rows()[0]["status"] == "timeout"


def test_malformed_body(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/malformed", MAX_RETRIES="0")
    with pytest.raises(errors.GatewayError) as info:
        gw.complete("conversation", "Conversa", MSG)
    assert info.value.user_message and gw.store.cost_rows()[0]["status"] != "ok"


def test_unreachable_api_base(base_env) -> None:
    gw, _ = _gateway(base_env, OPENAI_API_KEY="sk-test", CONVERSATION_MODEL="openai/ok",
                     CONVERSATION_API_BASE="http://127.0.0.1:9/v1", MAX_RETRIES="0")
    with pytest.raises(errors.ProviderUnreachable, match="Cannot reach"):
        gw.complete("conversation", "Conversa", MSG)
    assert gw.store.cost_rows()[0]["status"] == "unreachable"


def test_invalid_json_from_decision_model(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, DECISION_MODEL="openai/badjson")
    with pytest.raises(errors.MalformedResponse) as info:
        gw.complete("decision", "Classificação", MSG, expect_json=True)
    assert info.value.completion.usage.input_tokens > 0  # billed tokens are still counted
    assert info.value.model == "openai/badjson" and info.value.completion.model == "openai/badjson"
    assert gw.store.cost_rows()[0]["status"] == "malformed_json"
    ok = _gateway(base_env, openai_stub, DECISION_MODEL="openai/json")[0].complete(
        "decision", "Classificação", MSG, expect_json=True)
    assert ok.json == {"intent": "greeting", "confidence": 0.9}


def test_fallback_model(base_env, openai_stub) -> None:
    gw, _ = _gateway(base_env, openai_stub, CONVERSATION_MODEL="openai/500", MAX_RETRIES="0",
                     CONVERSATION_FALLBACK_MODEL="local/rules")
    c = gw.complete("conversation", "Conversa", MSG)
    assert c.fallback_used and c.model == "local/rules"
    statuses = [r["status"] for r in gw.store.cost_rows()]
    assert statuses == ["ok", "server_error"]


def test_ledger_failure_does_not_lose_the_reply(base_env, tmp_path, caplog) -> None:
    gw, _ = _gateway(base_env)
    gw.store.engine.dispose()
    gw.store.url = gw.store.url  # same store, but make writes fail:
    from sqlalchemy import create_engine
    db = tmp_path / "ro.db"
    from agent.adapters.store import Store as S
    S(f"sqlite:///{db}")
    gw.store = S.__new__(S)
    gw.store.__dict__.update(url=f"sqlite:///{db}", pending_costs=[], _model_ids={}, _write_lock=__import__("threading").RLock(),
                             engine=create_engine(f"sqlite:///file:{db}?mode=ro&uri=true"))
    with caplog.at_level(logging.WARNING, logger="agent.adapters.gateway"):
        c = gw.complete("conversation", "Conversa", MSG)
    assert c.text and c.ledger_id is None
    assert "ledger write failed, 1 row(s) kept" in caplog.text and len(gw.store.pending_costs) == 1


def test_tiktoken_encodings_offline() -> None:
    assert encoding_tokens("Olá, quero antecipar meu saque-aniversário", "o200k_base") > 3
    assert encoding_tokens("Olá, quero antecipar meu saque-aniversário", "cl100k_base") > 3


def test_parse_json_reply_tolerates_fences() -> None:
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(errors.MalformedResponse):
        parse_json_reply("sem json aqui")


def test_price_edits_apply_without_restart(base_env) -> None:
    from decimal import Decimal

    gw, _ = _gateway(base_env, CONVERSATION_MODEL="local/rules")
    gw.PRICE_REFRESH_S = 0.0
    assert gw.complete("conversation", "Conversa", MSG).usage.cost_usd == 0
    gw.store.update_model_price("local/rules", Decimal("1000"), Decimal("1000"), "USD")
    assert gw.complete("conversation", "Conversa", MSG).usage.cost_usd > 0



def test_unreadable_price_edits_are_logged_and_the_call_goes_on(base_env, caplog, monkeypatch) -> None:
    gw, _ = _gateway(base_env, CONVERSATION_MODEL="local/rules")

    def locked() -> dict:
        raise errors.StoreError("The database is locked by another program — close it or retry in a moment.")

    monkeypatch.setattr(gw.store, "price_overrides", locked)
    with caplog.at_level(logging.WARNING, logger="agent.adapters.gateway"):
        assert gw.complete("conversation", "Conversa", MSG).text
    assert "could not read edited prices" in caplog.text and "locked" in caplog.text

def test_local_fast_path_matches_litellm_dispatch(base_env) -> None:
    gw, _ = _gateway(base_env)
    context = {"task": "journey_classification", "customer_message": "quero sacar meu fgts"}
    fast = gw.complete("decision", "Classificação", MSG, expect_json=True, context=context)
    gw.local_fast_path = False
    slow = gw.complete("decision", "Classificação", MSG, expect_json=True, context=context)
    assert fast.json == slow.json and fast.text == slow.text
    assert (fast.usage.input_tokens, fast.usage.output_tokens) == (slow.usage.input_tokens, slow.usage.output_tokens)
    with pytest.raises(errors.UnknownModelError):
        gw.complete("decision", "x", MSG, model="local/nope")
