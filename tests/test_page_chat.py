"""Chat page through AppTest from app.py: journey, burst, handoff, re-engagement, media, reload."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

MEDIA = Path(__file__).parent / "fixtures" / "media"


def open_chat(**query: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def settle(at: AppTest, timeout: float = 60) -> AppTest:
    """Turns run in the chat's background worker: rerun (as the page's fragment does) until it has
    read and answered every message, then once more to draw the result."""
    deadline = time.monotonic() + timeout
    idle = 0  # the worker may not have picked the message up yet: idle on three runs in a row
    while idle < 3 and time.monotonic() < deadline:
        idle = 0 if any("digitando" in c.value for c in at.caption) else idle + 1
        time.sleep(0.05)
        at.run()
    assert not at.exception, at.exception
    return at.run()


def say(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return settle(at)


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
    assert "073.602.846-35" not in values["cpf"] and "•" in values["cpf"]
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
    settle(button(at, "Answer now").click().run())
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
    settle(at.chat_input[0].upload("fgts_app.png", (MEDIA / "fgts_app.png").read_bytes(), "image/png").run())
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


def test_record_as_golden_edits_validates_and_saves_a_replayable_golden(app_env, monkeypatch, tmp_path) -> None:
    import evals

    golden_dir = tmp_path / "golden"
    monkeypatch.setenv("CONVERSA_GOLDEN_DIR", str(golden_dir))  # never the real evals/golden
    at = open_chat()
    assert at.button(key="chat_record_golden").disabled  # nothing answered yet
    say(at, "oi")
    say(at, "sim, aceito")
    say(at, "Maria Souza, CPF 073.602.846-35, nasci em março")
    say(at, "sim")
    assert step(at) == "not_authorized"
    assert not at.button(key="chat_record_golden").disabled
    at.button(key="chat_record_golden").click().run()
    assert not at.exception, at.exception

    # The draft: one turn per customer message, expectations = what the agent actually did.
    text = at.text_area(key="chat_golden_text").value
    case = evals.parse_case(evals.parse_yaml(text))
    assert [t.label for t in case.turns] == ["oi", "sim, aceito", "Maria Souza, CPF 073.602.846-35, nasci em março",
                                             "sim"]
    by_turn = [{("not-" if e.negate else "") + e.type: e.value for e in t.expect} for t in case.turns]
    assert [e["step"] for e in by_turn] == ["optin", "collect_data", "confirm_data", "not_authorized"]
    assert [e["message_code"] for e in by_turn] == [10, [12, 13], 17, 21]
    assert {"name": "cpf", "value": "073.602.846-35"} in by_turn[2]["attribute"]  # in clear, not masked
    assert "not-tool_called" in by_turn[0]
    assert by_turn[3]["tool_called"][0]["name"] == "consultar_fgts"
    assert "outcome: not_authorized" in text
    assert {e.type: e.value for e in case.expect}["final_step"] == "not_authorized"

    # The id field rewrites the YAML's id (and names the file).
    at.text_input(key="chat_golden_id").set_value("chat recorded 1").run()
    assert at.text_input(key="chat_golden_id").value == "chat_recorded_1"
    assert "id: chat_recorded_1\n" in at.text_area(key="chat_golden_text").value

    # An invalid edit is refused with file:line and the offending line; nothing is written.
    broken = at.text_area(key="chat_golden_text").value.replace("turns:", "turnz:")
    at.text_area(key="chat_golden_text").set_value(broken).run()
    at.button(key="chat_golden_save").click().run()
    assert not at.exception, at.exception
    reported = re.search(r"`chat_recorded_1\.yaml:(\d+)`: unknown field 'turnz'", at.error[0].value)
    assert reported, at.error[0].value
    assert abs(int(reported.group(1)) - (broken.splitlines().index("turnz:") + 1)) <= 1  # the key or its value
    assert "turnz:" in at.code[-1].value
    assert not golden_dir.exists()

    # A valid one is saved into the configured folder, loads, and replays green on local/rules.
    at.text_area(key="chat_golden_text").set_value(broken.replace("turnz:", "turns:")).run()
    at.button(key="chat_golden_save").click().run()
    assert not at.exception, at.exception
    saved = golden_dir / "chat_recorded_1.yaml"
    assert saved.is_file() and not at.text_area  # the dialog closed
    assert any("chat_recorded_1.yaml" in c.value for c in at.caption)
    cases = evals.load_suite(golden_dir)
    assert [c.id for c in cases] == ["chat_recorded_1"]
    result = evals.run_case(cases[0], evals.RunConfig.parse("decision=local/rules"), at.session_state.settings)
    assert result.passed, result.failures

    # Recording again with the same id: refused unless the overwrite box is ticked.
    at.button(key="chat_record_golden").click().run()
    at.text_input(key="chat_golden_id").set_value("chat_recorded_1").run()
    assert any("already exists" in w.value for w in at.warning)
    at.button(key="chat_golden_save").click().run()
    assert "already exists" in at.error[0].value
    at.checkbox(key="chat_golden_overwrite").check().run()
    at.button(key="chat_golden_save").click().run()
    assert not at.exception and not at.text_area
