"""Off the script (issue 10): consent after the notice, results kept across turns, step-aware reading,
withdrawal, and what a real decision model is told (intents with descriptions, the pending question in words)."""

from __future__ import annotations

import json

import pytest

from agent.config import load_settings
from agent.core.engine import deterministic_reading
from agent.core.journey import JourneyState
from agent.core.pack import get_pack
from agent.core.session import AgentSession

PACK = get_pack()
MODULE = PACK.module
ELIGIBLE = "200.000.002-99"
NOT_AUTHORIZED = "701.000.001-85"


def new_session(base_env) -> AgentSession:
    settings = load_settings(env={**base_env, "BURST_MODE": "false"}, dotenv_path=None)
    return AgentSession.new(settings)


def walk(session: AgentSession, *texts: str):
    result = None
    for text in texts:
        result = session.send(text)
    return result


def event(text: str, step: str, expecting: str | None = None) -> str:
    return PACK.to_event(deterministic_reading(text, PACK, expecting), step).name


# ---------------------------------------------------------------------- consent (class 6)


def test_a_yes_before_any_notice_shows_the_notice_and_records_nothing(base_env) -> None:
    session = new_session(base_env)
    result = walk(session, "sim")
    assert result.step_after == "optin" and result.message_codes == [10]
    assert session.state.consent is False and session.state.consent_notice is None
    assert session.state.notice and session.state.notice.startswith("10@")


def test_consent_records_the_version_of_the_notice_it_answered(base_env) -> None:
    session = new_session(base_env)
    walk(session, "oi", "aceito")
    version = PACK.prompts.content_hash("message_code_10")
    assert session.state.consent is True
    assert session.state.consent_notice == f"10@{version}"
    # The version travels with the state (stored with the chat, in the trace).
    assert JourneyState.from_dict(session.state.to_dict()).consent_notice == f"10@{version}"
    assert session.traces[-1].state_after["consent_notice"] == f"10@{version}"


def test_a_refusal_without_notice_then_aceito_shows_the_notice_first(base_env) -> None:
    session = new_session(base_env)
    walk(session, "não")
    assert session.state.step == "optout"
    result = walk(session, "aceito")
    assert result.step_after == "optin" and session.state.consent is False
    assert "LGPD" in result.text
    assert walk(session, "aceito").step_after == "collect_data"


@pytest.mark.parametrize("text", ["%s %s %s", "{0} aceito {1}", "sim sim sim sim sim", "${jndi:ldap}",
                                  "aceito aceito aceito aceito"])
def test_garbage_is_never_consent(text: str) -> None:
    assert not MODULE.explicit_consent(text)
    assert event(text, "optin") != "optin_accept"


@pytest.mark.parametrize("text", ["aceito", "sim, pode usar meus dados", "ok autorizo", "sim sim"])
def test_plain_consent_is_explicit(text: str) -> None:
    assert MODULE.explicit_consent(text)


# ---------------------------------------------------------------------- results kept (class 2)


def test_the_api_result_is_kept_and_a_later_amount_question_is_answered_from_it(base_env) -> None:
    session = new_session(base_env)
    offer = walk(session, "oi", "aceito", "Maria Souza", ELIGIBLE, "julho", "sim")
    assert offer.step_after == "offer"
    kept = session.state.results["consultar_fgts"]
    assert kept["outcome"] == "eligible" and kept["data"]["balance"] == 4000.0
    answer = walk(session, "quanto cai na minha conta?")
    assert answer.message_codes == [79] and answer.tool_calls == []
    amount = next(line for line in offer.text.splitlines() if "Antecipação" in line or "antecipa" in line.lower())
    assert any(word.startswith("R$") for word in answer.text.split()) or "R$" in answer.text
    assert amount  # the offer shows an advance line; the answer quotes money, from the kept result
    # The kept result round-trips through the stored state.
    restored = JourneyState.from_dict(json.loads(json.dumps(session.state.to_dict())))
    assert restored.results["consultar_fgts"]["outcome"] == "eligible"


# ---------------------------------------------------------------------- reading by step


@pytest.mark.parametrize(("text", "step", "expected"), [
    ("por que não deu certo?", "not_authorized", "ask_reason"),
    ("como assim operação ativa?", "active_operation", "ask_reason"),
    ("pronto, autorizei", "not_authorized", "done_in_app"),
    ("quanto eu recebo?", "offer", "ask_amount"),
    ("quanto tempo demora pra cair?", "offer", "faq"),
    ("sim, tenta de novo", "api_unavailable", "confirm_yes"),
    ("não quero não", "offer", "confirm_no"),
    ("não quero mais", "collect_data", "quit"),
    ("brigadão", "collect_data", "thanks"),
    ("valeu, tchau", "collect_data", "goodbye"),
    ("isso é golpe?", "optin", "security_question"),
    ("não aceito os termos", "optin", "optin_refuse"),
    ("fiz no app, vê de novo", "not_opted_in", "done_in_app"),
])
def test_a_message_is_read_by_the_pending_question(text: str, step: str, expected: str) -> None:
    assert event(text, step) == expected


def test_thanks_with_data_keeps_the_data() -> None:
    reading = deterministic_reading(f"valeu moça, meu cpf é {ELIGIBLE}", PACK, "cpf")
    ev = PACK.to_event(reading, "collect_data")
    assert ev.name == "provide_data" and ev.attributes["cpf"] == "20000000299"


def test_a_question_about_fraud_is_never_turned_into_a_handoff(base_env) -> None:
    session = new_session(base_env)
    result = walk(session, "oi", "isso é golpe?")
    assert result.step_after == "optin" and 80 in result.message_codes
    angry = walk(new_session(base_env), "oi", "aceito", "seus golpistas, ladrões!")
    assert angry.step_after == "handoff"


# ---------------------------------------------------------------------- withdrawal (class 7)


def test_withdrawal_stops_and_deleting_clears_the_data_and_the_consent(base_env) -> None:
    session = new_session(base_env)
    stopped = walk(session, "oi", "aceito", "Maria Souza", ELIGIBLE, "desisto")
    assert stopped.step_after == "withdrawn" and stopped.message_codes == [71, 85]
    assert stopped.tool_calls == []
    deleted = walk(session, "sim")
    assert deleted.step_after == "optout" and deleted.message_codes == [72]
    assert dict(session.state.attributes) == {} and session.state.consent is False


# ---------------------------------------------------------------------- what a model is told


def test_the_decision_model_gets_intent_descriptions_and_the_pending_question_in_words(base_env) -> None:
    session = new_session(base_env)
    result = walk(session, "oi", "aceito", "Maria Souza")
    classify = next(c for c in result.trace.calls if c.prompt_name == "journey_classification")
    prompt = classify.rendered_messages[0]["content"]
    assert "- thanks: Agradece" in prompt and "- quit: Desiste" in prompt
    # "Maria Souza" answered the name question: that is what was pending, in words.
    assert "Pergunta pendente do agente: pede: Nome completo" in prompt
