"""Provider and tool faults through the local fault servers (issue 13), on a real AgentSession and store.

The model roles under test talk HTTP to the OpenAI-compatible stub on 127.0.0.1 (``sandbox/openai_stub.py``:
429 with ``Retry-After: 0``/``1``, a 429 that never ends, a 200 cut in the middle of its JSON, a decision
model that answers prose) or to a port nobody listens on; the FGTS tool talks to the sandbox API with a
malformed body or an answer slower than the tool timeout. Every other role is ``local/rules``, and a
reference session on ``local/rules`` alone says what the deterministic fallback must do.

For each fault: the customer gets the journey's pt-BR reply (never a traceback, never empty), the journey
state is the fallback's (as on ``local/rules``), the customer's message is stored, the ledger has one row
per call — a failed one with its status and, when it was retried, "after N attempts" — and the retries
are bounded (the stub counts the requests it received; the gateway's back-off sleep is recorded, not slept,
so a Retry-After is checked without waiting for it).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from agent.adapters.gateway import Gateway
from agent.adapters.schema import messages
from agent.adapters.store import Store
from agent.config import load_settings
from agent.core.engine import Engine
from agent.core.session import AgentSession, TurnResult
from sandbox import SandboxServer
from sandbox.openai_stub import StubServer, start_stub

LINES = ("oi", "aceito", "Maria Souza")  # optin → collect_data → the name captured
SCRIPT = ("oi", "aceito", "Maria Souza", "200.000.002-99", "julho", "sim")  # up to the FGTS consultation
LOCAL = {f"{role.upper()}_MODEL": "local/rules" for role in ("decision", "conversation", "insights", "judge")}
MAX_RETRIES = 2
BACKOFF_S = 5.0  # never slept (recorded): a Retry-After must win over it


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = start_stub()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Played:
    """A session on its own SQLite store, the gateway's back-off sleeps recorded instead of slept."""

    def __init__(self, base_env: dict[str, str], name: str, **env: str) -> None:
        values = {**base_env, **LOCAL, "OPENAI_API_KEY": "sk-test", "MAX_RETRIES": str(MAX_RETRIES),
                  "RETRY_BACKOFF_SECONDS": str(BACKOFF_S), "REQUEST_TIMEOUT_SECONDS": "3",
                  "DATABASE_URL": f"sqlite:///{base_env['CONVERSA_DATA_DIR']}/{name}.db", **env}
        self.settings = load_settings(env=values, dotenv_path=None)
        self.store = Store.open(self.settings.database_url)
        self.slept: list[float] = []
        engine = Engine(self.settings, Gateway(self.settings, self.store, sleep=self.slept.append))
        self.session = AgentSession.new(self.settings, store=self.store, engine=engine, source="simulation")
        self.results: list[TurnResult] = []

    def send(self, line: str) -> TurnResult:
        result = self.session.send(line)
        assert result is not None and self.session.save_error is None, self.session.save_error
        self.results.append(result)
        return result

    def play(self, lines: tuple[str, ...]) -> list[TurnResult]:
        return [self.send(line) for line in lines]

    def customer_lines(self) -> list[str]:
        with self.store.engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(
                select(messages.c.text).where(messages.c.fk_id_chat == self.session.chat_id,
                                              messages.c.role == "customer").order_by(messages.c.id_message))]

    def ledger(self) -> list[dict[str, Any]]:
        return list(reversed(self.store.cost_rows(chat_id=self.session.chat_id, limit=1000)))


def reference(base_env: dict[str, str], lines: tuple[str, ...]) -> list[TurnResult]:
    """The same lines on ``local/rules`` alone: what the deterministic fallback must do."""
    return Played(base_env, "reference").play(lines)


def texts(result: TurnResult) -> list[str]:
    return [m.text for m in result.replies]


def assert_clear_reply(result: TurnResult) -> None:
    """The customer reads Portuguese from the journey, not an error."""
    assert result.replies and all(m.text.strip() for m in result.replies)
    shown = " ".join(texts(result))
    for leak in ("Traceback", "Exception", "litellm", "Error", "provider", "http://127.0.0.1"):
        assert leak not in shown, shown


def assert_same_journey(played: Played, expected: list[TurnResult]) -> None:
    """Turn by turn: the same step, attributes and replies as the deterministic reference."""
    assert [r.step_after for r in played.results] == [r.step_after for r in expected]
    assert [r.attributes for r in played.results] == [r.attributes for r in expected]
    # The template may come as separate messages where local/rules sends them as one: the same words.
    assert ["\n\n".join(texts(r)) for r in played.results] == ["\n\n".join(texts(r)) for r in expected]
    for result in played.results:
        assert_clear_reply(result)


def assert_one_row_per_call(played: Played) -> list[dict[str, Any]]:
    """Every call of every turn has its ledger row (a call that fell back: the failed primary's row too);
    returns the rows that are not ``ok``."""
    rows = played.ledger()
    calls = [c for r in played.results for c in r.trace.calls]
    ids = [str(r["feat_request_id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    assert {c.request_id for c in calls if c.request_id} <= set(ids)
    assert len(rows) == len(calls) + sum(1 for c in calls if c.fallback_used)
    return [r for r in rows if r["status"] != "ok"]


# ---------------------------------------------------------------- 429 with Retry-After


@pytest.mark.parametrize(("model", "wait"), [("429-once", 0.0), ("429-wait-1", 1.0)])
def test_a_429_is_retried_after_the_providers_retry_after_and_the_reply_is_the_models(
        base_env: dict[str, str], stub: StubServer, model: str, wait: float) -> None:
    played = Played(base_env, "p", CONVERSATION_MODEL=f"openai/{model}", CONVERSATION_API_BASE=stub.url)
    result = played.send("oi")
    assert stub.calls[model] == 2  # the 429, then the answer
    assert played.slept == [wait]  # the provider's Retry-After, not our back-off (5 s)
    assert texts(result) == ["eco: oi"] and not result.errors  # the retry carried the turn
    assert assert_one_row_per_call(played) == []  # one row for the call, ok: the 429 was an attempt of it
    assert played.customer_lines() == ["oi"]


@pytest.mark.parametrize("fallback", [None, "local/rules"])
def test_a_role_that_stays_rate_limited_is_retried_a_bounded_number_of_times_then_falls_back(
        base_env: dict[str, str], stub: StubServer, fallback: str | None) -> None:
    env = {"CONVERSATION_MODEL": "openai/429", "CONVERSATION_API_BASE": stub.url}
    if fallback:
        env["CONVERSATION_FALLBACK_MODEL"] = fallback
    played = Played(base_env, "p", **env)
    played.play(LINES)
    assert_same_journey(played, reference(base_env, LINES))
    conversation = [c for r in played.results for c in r.trace.calls if c.role == "conversation"]
    assert stub.calls["429"] == len(conversation) * (MAX_RETRIES + 1)  # bounded: no retry storm
    assert played.slept == [0.0] * (len(conversation) * MAX_RETRIES)  # Retry-After: 0, honoured
    failed = assert_one_row_per_call(played)
    assert len(failed) == len(conversation)
    assert all(r["status"] == "rate_limited" and "(429)" in r["error"]
               and f"after {MAX_RETRIES + 1} attempts" in r["error"] for r in failed)
    if fallback:  # the role's fallback answered: no error for the customer's turn
        assert all(c.fallback_used and c.model == fallback for c in conversation)
        assert not any(r.errors for r in played.results)
    else:  # the journey's template answered, and the turn says why
        assert all(c.error and not c.fallback_used for c in conversation)
        assert all(any("rate-limiting" in e for e in r.errors) for r in played.results)
    assert played.customer_lines()[:2] == list(LINES[:2]) and len(played.customer_lines()) == len(LINES)


# ---------------------------------------------------------------- connection refused


def test_connection_refused_is_not_retried_and_the_turn_runs_on_the_deterministic_rules(
        base_env: dict[str, str], closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    played = Played(base_env, "p", DECISION_MODEL="openai/ok", DECISION_API_BASE=base,
                    CONVERSATION_MODEL="openai/ok", CONVERSATION_API_BASE=base)
    played.play(LINES)
    assert_same_journey(played, reference(base_env, LINES))
    assert played.slept == []  # nobody listens: nothing to wait for
    failed = assert_one_row_per_call(played)
    calls = [c for r in played.results for c in r.trace.calls if c.role in ("decision", "conversation")]
    assert len(failed) == len(calls) > 0
    assert all(r["status"] == "unreachable" and "Cannot reach" in r["error"] and "attempts" not in r["error"]
               for r in failed)
    assert all(any("Cannot reach" in e for e in r.errors) for r in played.results)
    assert len(played.customer_lines()) == len(LINES)


# ---------------------------------------------------------------- a 200 that is not a completion


@pytest.mark.parametrize("model", ["truncated", "malformed"])
def test_a_reply_cut_short_is_named_retried_a_bounded_number_of_times_and_the_rules_carry_the_turn(
        base_env: dict[str, str], stub: StubServer, model: str) -> None:
    played = Played(base_env, "p", DECISION_MODEL=f"openai/{model}", DECISION_API_BASE=stub.url,
                    CONVERSATION_MODEL=f"openai/{model}", CONVERSATION_API_BASE=stub.url)
    played.play(LINES)
    assert_same_journey(played, reference(base_env, LINES))
    calls = [c for r in played.results for c in r.trace.calls if c.role in ("decision", "conversation")]
    assert stub.calls[model] == len(calls) * (MAX_RETRIES + 1)
    assert played.slept == [BACKOFF_S * 2**i for _ in calls for i in range(MAX_RETRIES)]  # no Retry-After
    failed = assert_one_row_per_call(played)
    assert len(failed) == len(calls)
    assert all(r["status"] == "unreadable_reply" and "truncated or not JSON" in r["error"]
               and f"after {MAX_RETRIES + 1} attempts" in r["error"] for r in failed)
    assert len(played.customer_lines()) == len(LINES)


# ---------------------------------------------------------------- a decision model that answers prose


def test_a_decision_model_that_answers_prose_is_asked_once_more_then_the_rules_decide(
        base_env: dict[str, str], stub: StubServer) -> None:
    played = Played(base_env, "p", DECISION_MODEL="openai/badjson", DECISION_API_BASE=stub.url)
    played.play(LINES)
    assert_same_journey(played, reference(base_env, LINES))
    decision = [c for r in played.results for c in r.trace.calls if c.role == "decision"]
    assert decision and stub.calls["badjson"] == len(decision)  # each JSON task: asked twice, no more
    assert all(" ".join(r.trace.notes).count("invalid JSON (attempt 2)") >= 1 for r in played.results)
    assert played.slept == []  # an answer in prose is not a provider fault: no back-off
    failed = assert_one_row_per_call(played)
    # Each prose answer was a paid call: its own row, its tokens, its status.
    assert len(failed) == len(decision)
    assert all(r["status"] == "malformed_json" and "invalid JSON" in r["error"] and r["input_tokens"] > 0
               for r in failed)
    assert len(played.customer_lines()) == len(LINES)


# ---------------------------------------------------------------- the FGTS tool


@pytest.mark.parametrize("fault", [{"fail": "malformed"}, {"fail": "timeout", "hang_s": 5}, {"delay_ms": 5000}],
                         ids=["malformed", "hang", "slow"])
def test_a_tool_that_answers_garbage_or_hangs_leaves_the_data_and_the_journey_goes_on(
        base_env: dict[str, str], fault: dict[str, Any]) -> None:
    """The consultation API answers a truncated JSON body, or holds its answer (the ``timeout`` fault, a
    ``delay_ms``) longer than the tool timeout: the journey's error step, every captured datum kept, the
    message stored, one ledger row per call, one request (a timeout is not retried); once the API is back,
    "sim" runs it again."""
    with SandboxServer(**fault) as api:
        played = Played(base_env, "p", FGTS_API_URL=api.url, TOOL_TIMEOUT_SECONDS="0.3")
        played.play(SCRIPT[:-1])
        before = dict(played.session.state.attributes)
        result = played.send(SCRIPT[-1])
        assert result.step_after == "api_unavailable"
        assert_clear_reply(result)
        assert dict(played.session.state.attributes) == before  # nothing captured is lost
        (call,) = result.trace.tool_calls
        assert call.status != "ok" and call.error
        said = call.error.lower()
        assert ("malformed json" in said) if fault.get("fail") == "malformed" else ("timed out" in said
                                                                                  or "timeout" in said), said
        assert call.attempts == 1  # a read timeout or a garbled body is not retried: no retry storm
        if "delay_ms" not in fault:  # a delayed request is logged when it is answered; these on arrival
            assert len(api.consultas()) == 1
        assert assert_one_row_per_call(played) == []  # the models were fine; every call has its row
        assert len(played.customer_lines()) == len(SCRIPT)
        api.config.fail = None
        api.config.delay_ms = 0
        again = played.send("sim")
    assert again.step_after == "offer"
    assert_clear_reply(again)
