"""Chat page, the customer's rights (LGPD): the operator view (named, logged, unmasked attributes; masked
otherwise, traces too) and "Erase this conversation's data" with its confirmation."""

from __future__ import annotations

import json

from test_page_chat import agent_texts, button, open_chat, say

from agent import load_settings
from agent.adapters.store import Store

CPF = "073.602.846-35"


def attributes(at) -> dict[str, str]:  # noqa: ANN001
    table = next(d.value for d in at.dataframe if "attribute" in d.value)
    return dict(zip(table["attribute"], table["value"], strict=True))


def trace_json(at) -> str:  # noqa: ANN001
    return json.dumps([j.value for e in at.expander if e.label.startswith("Trace · turn") for j in e.json],
                      ensure_ascii=False, default=str)


def store() -> Store:
    return Store.open(load_settings().database_url)


def test_operator_view_is_named_logged_and_off_by_default(app_env) -> None:
    at = open_chat()
    for text in ("oi", "sim, aceito", f"Maria Souza, CPF {CPF}, nasci em março"):
        say(at, text)
    chat_id = int(at.query_params["chat"][0] if isinstance(at.query_params["chat"], list) else at.query_params["chat"])
    assert at.toggle(key="chat_operator_view").value is False
    assert "•" in attributes(at)["cpf"] and "07360284635" not in trace_json(at) and CPF not in trace_json(at)

    at.toggle(key="chat_operator_view").set_value(True).run()
    assert not at.exception
    assert "•" in attributes(at)["cpf"]  # no name yet: still masked, nothing logged
    assert store().access_entries(chat_id) == []
    at.text_input(key="chat_operator_name").set_value("Ana Operadora").run()
    assert not at.exception
    assert attributes(at)["cpf"] == "07360284635"
    assert any("Ana Operadora" in c.value and "logged" in c.value for c in at.caption)
    log = store().access_entries(chat_id)
    assert [(r["operator"], r["action"], r["fk_id_chat"]) for r in log] == [("Ana Operadora", "operator_view", chat_id)]
    at.run()  # a rerun is the same opening: not logged again
    assert len(store().access_entries(chat_id)) == 1

    at.toggle(key="chat_operator_view").set_value(False).run()
    assert "•" in attributes(at)["cpf"] and "07360284635" not in trace_json(at)
    at.toggle(key="chat_operator_view").set_value(True).run()  # opened again: the name is asked again
    assert "•" in attributes(at)["cpf"]
    at.text_input(key="chat_operator_name").set_value("Bruno").run()
    assert attributes(at)["cpf"] == "07360284635"
    assert [r["operator"] for r in store().access_entries(chat_id)] == ["Bruno", "Ana Operadora"]


def test_erase_this_conversation_asks_then_erases(app_env) -> None:
    at = open_chat()
    for text in ("oi", "sim, aceito", f"Maria Souza, CPF {CPF}"):
        say(at, text)
    chat_id = int(at.query_params["chat"][0] if isinstance(at.query_params["chat"], list) else at.query_params["chat"])
    assert len(store().list_messages(chat_id)) == 6

    button(at, "Erase this conversation's data").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    button(at, "Cancel").click().run()
    assert not any("cannot be undone" in w.value for w in at.warning)
    assert len(store().list_messages(chat_id)) == 6

    button(at, "Erase this conversation's data").click().run()
    button(at, "Yes, erase").click().run()
    assert not at.exception
    assert any("6 message(s) and 3 trace(s) deleted" in s.value for s in at.success)
    assert store().list_messages(chat_id) == [] and store().list_traces(chat_id) == []
    assert store().get_chat(chat_id)["state"]["attributes"] == {}  # type: ignore[index]
    assert agent_texts(at) == [] and not any(d for d in at.dataframe if "attribute" in d.value)
    # The conversation goes on, asking for consent again.
    say(at, "oi")
    assert "Você autoriza?" in agent_texts(at)[-1]


def test_retention_is_enforced_when_the_app_starts(app_env, monkeypatch) -> None:  # noqa: ANN001
    from datetime import timedelta

    from sqlalchemy import update

    from agent.adapters.schema import chats, utcnow
    from agent.core.session import AgentSession

    settings = load_settings()
    old = AgentSession.new(settings)
    for text in ("oi", "aceito", "Maria Souza", CPF):
        old.send(text)
    with store().begin() as conn:
        conn.execute(update(chats).where(chats.c.id_chat == old.chat_id).values(updated_at=utcnow() - timedelta(days=8)))
    monkeypatch.setenv("RETENTION_DAYS", "7")
    at = open_chat()
    assert not at.exception and not any("RETENTION_DAYS" in w.value for w in at.warning)
    assert store().list_messages(old.chat_id) == []
    assert store().get_chat(old.chat_id)["forgotten_at"] is not None  # type: ignore[index]
