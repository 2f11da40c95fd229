"""Chat page through AppTest from app.py: journey, burst, handoff, re-engagement, media, reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

MEDIA = Path(__file__).parent / "fixtures" / "media"


@pytest.fixture
def app_env(base_env, monkeypatch):
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    for key, value in base_env.items():  # BURST_WINDOW_SECONDS=0: every message is answered at once
        monkeypatch.setenv(key, value)
    return base_env


def open_chat(**query: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def say(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def agent_texts(at: AppTest) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "assistant" and m.markdown]


def step(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Journey step")


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_journey_to_eligibility_with_masked_attributes_and_trace(app_env) -> None:
    at = open_chat()
    assert not at.exception
    assert step(at) == "greeting"
    say(at, "oi")
    assert "Clara" in agent_texts(at)[-1]
    assert step(at) == "optin"
    say(at, "sim, aceito")
    say(at, "Maria Souza, CPF 073.602.846-35, nasci em março")
    assert step(at) == "confirm_data"
    say(at, "sim")
    assert step(at) == "not_authorized"  # the deck's CPF: code 701, explained in plain Portuguese
    reply = agent_texts(at)[-1]
    assert "701" not in reply and "autoriza" in reply.lower()
    attributes = next(d.value for d in at.dataframe if "attribute" in d.value)
    values = dict(zip(attributes["attribute"], attributes["value"], strict=True))
    assert values["name"] == "Maria Souza"
    assert "073.602.846-35" not in values["cpf"] and "*" in values["cpf"]
    traces = [e for e in at.expander if e.label.startswith("Trace · turn")]
    assert len(traces) == 4
    assert "→ not_authorized" in traces[-1].label
    tools = " ".join(str(j.value) for j in traces[-1].json)
    assert "consultar_fgts" in " ".join(md.value for md in traces[-1].markdown) and "701" in tools
    assert next(m.value for m in at.metric if m.label == "Turns") == "4"


def test_burst_is_pending_with_countdown_then_answered_once(app_env, monkeypatch) -> None:
    monkeypatch.setenv("BURST_WINDOW_SECONDS", "30")
    at = open_chat()
    assert at.toggle(key="chat_burst_mode").value is True
    say(at, "oi")
    say(at, "tudo bem?")
    assert agent_texts(at) == []
    assert any("2 message(s) pending" in p.proto.text for p in at.get("progress"))
    button(at, "Answer now").click().run()
    assert not at.exception
    assert len(agent_texts(at)) == 1
    assert sum(1 for m in at.chat_message if m.name == "user") == 2


def test_one_reply_per_message_mode(app_env, monkeypatch) -> None:
    monkeypatch.setenv("BURST_WINDOW_SECONDS", "30")
    at = open_chat()
    at.toggle(key="chat_burst_mode").set_value(False).run()
    say(at, "oi")
    assert len(agent_texts(at)) == 1
    assert not at.get("progress")


def test_handoff_operator_reply_and_hand_back(app_env) -> None:
    at = say(open_chat(), "oi")
    button(at, "Hand over to a human").click().run()
    assert any("Handoff" in w.value for w in at.warning)
    at.text_input[0].set_value("Olá, sou a Ana, atendente humana.")
    next(b for b in at.button if b.label == "Send as operator").click().run()
    assert not at.exception
    assert any(m.markdown and "Ana" in m.markdown[-1].value for m in at.chat_message)
    button(at, "Hand back to the agent").click().run()
    assert not any("Handoff" in w.value for w in at.warning)
    assert step(at) == "optin"


def test_simulated_idle_sends_one_follow_up(app_env) -> None:
    at = say(open_chat(), "oi")
    before = len(agent_texts(at))
    button(at, "Simulate 24 h idle").click().run()
    assert not at.exception
    assert len(agent_texts(at)) > before
    assert any("follow-up after silence" in c.value for c in at.caption)


def test_image_is_read_and_shown_under_the_message(app_env) -> None:
    at = say(open_chat(), "oi")
    at.chat_input[0].upload("fgts_app.png", (MEDIA / "fgts_app.png").read_bytes(), "image/png").run()
    assert not at.exception
    notes = [c.value for c in at.caption if "image" in c.value and "fgts_app.png" in c.value]
    assert notes, [c.value for c in at.caption]


def test_conversation_survives_a_reload_and_new_starts_fresh(app_env) -> None:
    at = say(open_chat(), "oi")
    chat_id = at.query_params["chat"]
    chat_id = chat_id[0] if isinstance(chat_id, list) else chat_id
    again = open_chat(chat=chat_id)  # a new browser session with the same URL
    assert not again.exception
    assert "Clara" in agent_texts(again)[-1]
    assert step(again) == "optin"
    button(again, "New conversation").click().run()
    assert agent_texts(again) == []
    assert step(again) == "greeting"


def test_switching_model_settings_keeps_the_conversation(app_env) -> None:
    at = say(open_chat(), "oi")
    at.sidebar.slider(key="temperature_conversation").set_value(0.9).run()
    assert not at.exception
    assert at.session_state.agent_session.settings.role("conversation").temperature == pytest.approx(0.9)
    say(at, "sim, aceito")
    assert step(at) == "collect_data"
