"""The customer's rights (LGPD art. 18): export and forget by CPF, retention, the withdrawal flow's erasure,
the ``privacy`` CLI, the access log — on SQLite and PostgreSQL, with and without encryption at rest."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from agent import privacy_rights as rights
from agent.adapters.crypto import generate_key
from agent.adapters.schema import chats, llm_cost, utcnow
from agent.adapters.store import Store
from agent.config import Settings, load_settings
from agent.core.pack import get_pack
from agent.core.session import AgentSession
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
MARIA, JOAO = "200.000.002-99", "073.602.846-35"


def settings_for(base_env: dict[str, str], url: str, **extra: str) -> Settings:
    return load_settings(env={**base_env, "DATABASE_URL": url, "BURST_MODE": "false", **extra}, dotenv_path=None)


def conversation(settings: Settings, store: Store, name: str, cpf: str) -> AgentSession:
    session = AgentSession.new(settings, store=store)
    for text in ("oi", "aceito", name, cpf):
        session.send(text)
    assert session.state.attributes.get("cpf"), session.state
    return session


def ledger(store: Store) -> tuple[int, Decimal, int]:
    """Rows, total price and tokens of the whole ledger."""
    with store.engine.connect() as conn:
        rows, price, tokens = conn.execute(select(
            func.count(), func.sum(llm_cost.c.price),
            func.sum(llm_cost.c.input_tokens + llm_cost.c.output_tokens))).one()
    return int(rows), Decimal(str(price or 0)), int(tokens or 0)


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_export_then_forget_a_holder_keeps_the_ledger_and_the_others(base_env: dict[str, str], database_url: str,
                                                                   encrypted: bool) -> None:
    settings = settings_for(base_env, database_url)
    store = Store(database_url, keys=generate_key() if encrypted else "")
    maria = conversation(settings, store, "Maria Souza", MARIA)
    joao = conversation(settings, store, "João Lima", JOAO)

    exported = rights.export_holder(store, "20000000299")  # digits match whatever the punctuation
    assert [c["chat"]["id_chat"] for c in exported["conversations"]] == [maria.chat_id]
    mine = exported["conversations"][0]
    assert mine["state"]["attributes"]["cpf"] == "20000000299" and mine["state"]["attributes"]["name"] == "Maria Souza"
    assert len(mine["messages"]) == len(maria.messages) and len(mine["traces"]) == 4 and mine["ledger"]
    assert "João" not in json.dumps(exported, ensure_ascii=False)
    json.dumps(exported)  # JSON-ready as it is
    with pytest.raises(rights.HolderError):
        rights.export_holder(store, "200.000.002")

    before = ledger(store)
    counts = rights.forget_holder(store, MARIA)
    assert counts.chat_ids == [maria.chat_id] and counts.chats == 1
    assert counts.messages == len(maria.messages) and counts.traces == 4 and counts.ledger_unlinked > 0
    assert store.list_messages(maria.chat_id) == [] and store.list_traces(maria.chat_id) == []
    chat = store.get_chat(maria.chat_id)
    assert chat is not None and chat["forgotten_at"] is not None
    assert chat["state"]["attributes"] == {} and chat["state"]["consent"] is False
    assert "Maria" not in json.dumps(chat, default=str)
    assert store.cost_rows(chat_id=maria.chat_id) == []
    assert ledger(store) == before  # every row, its cost and tokens kept: only the link is gone
    assert rights.export_holder(store, MARIA)["conversations"] == []
    assert rights.forget_holder(store, MARIA).chats == 0
    # The other holder is untouched.
    assert len(store.list_messages(joao.chat_id)) == len(joao.messages)
    assert store.get_chat(joao.chat_id)["state"]["attributes"]["name"] == "João Lima"  # type: ignore[index]


def test_a_cpf_only_in_a_message_is_found_and_a_typo_matches_nobody(base_env: dict[str, str],
                                                                    database_url: str) -> None:
    store = Store(database_url, keys="")
    chat = store.create_chat("Conversa", pack="fgts", state={"step": "greeting", "attributes": {}})
    store.add_message(chat, "customer", "meu cpf é 200 000 002 99")
    assert [c.chat["id_chat"] for c in rights.find_holder(store, MARIA).chats] == [chat]
    assert rights.find_holder(store, "200.000.002-98").chats == []
    assert rights.find_holder(store, "1200.000.002-99".replace("1", "", 1)).chats  # same 11 digits
    with pytest.raises(rights.HolderError):
        rights.cpf_digits("1200000000299")


def test_retention_forgets_idle_conversations_once(base_env: dict[str, str], database_url: str) -> None:
    settings = settings_for(base_env, database_url, RETENTION_DAYS="30")
    store = Store.open(database_url)
    old = conversation(settings, store, "Maria Souza", MARIA)
    recent = conversation(settings, store, "João Lima", JOAO)
    with store.begin() as conn:
        conn.execute(update(chats).where(chats.c.id_chat == old.chat_id)
                     .values(updated_at=utcnow() - timedelta(days=31)))
    counts = rights.enforce_retention(settings)
    assert counts is not None and counts.chat_ids == [old.chat_id] and counts.messages > 0
    assert store.list_messages(old.chat_id) == [] and store.list_messages(recent.chat_id)
    assert rights.apply_retention(store, 30).chats == 0  # forgotten and not written to since: left alone
    assert rights.apply_retention(store, 0, now=utcnow() + timedelta(seconds=1)).chat_ids == [recent.chat_id]
    assert rights.enforce_retention(settings_for(base_env, database_url)) is None  # RETENTION_DAYS unset: keep


def test_retention_days_setting() -> None:
    assert load_settings(env={}, dotenv_path=None).retention_days is None
    assert load_settings(env={"RETENTION_DAYS": "90"}, dotenv_path=None).retention_days == 90
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        load_settings(env={"RETENTION_DAYS": "-1"}, dotenv_path=None)


def test_the_withdrawal_golden_path_erases_the_conversation(base_env: dict[str, str], database_url: str) -> None:
    settings = settings_for(base_env, database_url)
    store = Store.open(database_url)
    session = conversation(settings, store, "Maria Souza", MARIA)
    stopped = session.send("não quero mais")
    assert stopped is not None and stopped.step_after == "withdrawn"
    rows_before = ledger(store)[0]
    deleted = session.send("sim")
    assert deleted is not None and deleted.step_after == "optout" and deleted.message_codes == [72]
    assert "apaguei" in deleted.text
    # Only the agent's "I erased your data" is left; no trace, no attribute, no ledger link.
    assert [(m["role"], m["text"]) for m in store.list_messages(session.chat_id)] == [("agent", deleted.text)]
    assert store.list_traces(session.chat_id) == []
    assert store.get_chat(session.chat_id)["state"]["attributes"] == {}  # type: ignore[index]
    assert store.cost_rows(chat_id=session.chat_id) == []
    assert ledger(store)[0] == rows_before + len(deleted.trace.calls)  # this turn's calls still paid for
    assert [m.text for m in session.messages] == [deleted.text] and session.traces == []
    assert rights.find_holder(store, MARIA).chats == []
    # The conversation goes on from there: a new greeting asks for consent again.
    again = session.send("oi")
    assert again is not None and again.step_after == "optin"
    reloaded = AgentSession.load(settings, session.chat_id, store=store)
    assert len(reloaded.messages) == len(session.messages) and len(reloaded.traces) == 1


def test_keeping_the_data_at_withdrawal_erases_nothing(base_env: dict[str, str]) -> None:
    settings = settings_for(base_env, f"sqlite:///{base_env['CONVERSA_DATA_DIR']}/keep.db")
    store = Store.open(settings.database_url)
    session = conversation(settings, store, "Maria Souza", MARIA)
    session.send("desisto")
    kept = session.send("não")
    assert kept is not None and kept.step_after == "finalized"
    assert len(store.list_messages(session.chat_id)) == len(session.messages) == 12
    assert rights.find_holder(store, MARIA).chats


def test_forget_from_the_session_and_the_access_log(settings: Settings) -> None:
    session = conversation(settings, Store.open(settings.database_url), "Maria Souza", MARIA)
    with pytest.raises(ValueError, match="operator name"):
        session.log_operator_access("   ")
    session.log_operator_access("  Ana   Operadora ")
    log = rights.access_entries(settings, session.chat_id)
    assert [(r["operator"], r["action"], r["fk_id_chat"]) for r in log] == [("Ana Operadora", "operator_view",
                                                                            session.chat_id)]
    counts = session.forget()
    assert counts["messages"] == 8 and counts["traces"] == 4
    assert session.messages == [] and dict(session.state.attributes) == {} and not session.state.consent
    assert session.store.list_messages(session.chat_id) == []
    assert rights.access_entries(settings, session.chat_id)  # the log outlives the data it was about


def test_mask_for_display_masks_attributes_and_text(settings: Settings) -> None:
    pack = get_pack(settings.pack_dir)
    shown = rights.mask_for_display({"attributes": {"cpf": "20000000299", "name": "Maria Souza"},
                                     "notes": [f"cpf {MARIA}"]}, pack)
    assert "20000000299" not in json.dumps(shown) and "002" in shown["attributes"]["cpf"]
    assert MARIA not in shown["notes"][0]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "privacy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_privacy_cli_export_forget_retention(base_env: dict[str, str], data_dir: Path) -> None:
    settings = load_settings(env={**base_env, "BURST_MODE": "false"}, dotenv_path=None)
    store = Store.open(settings.database_url)
    maria = conversation(settings, store, "Maria Souza", MARIA)
    env = {**base_env, "USER": "dpo"}

    exported = _cli("export", "--cpf", MARIA, env=env)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["conversations"][0]["chat"]["id_chat"] == maria.chat_id and "exported: 1 conversation" in exported.stderr
    assert _cli("export", "--cpf", JOAO, env=env).returncode == 1  # nobody
    assert _cli("export", "--cpf", "123", env=env).returncode == 2  # not a CPF
    refused = _cli("forget", "--cpf", MARIA, env=env)
    assert refused.returncode == 2 and "--yes" in refused.stderr and store.list_messages(maria.chat_id)
    done = _cli("forget", "--cpf", MARIA, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert f"forgotten: 1 conversation(s) [{maria.chat_id}]" in done.stderr and done.stdout == ""
    assert store.list_messages(maria.chat_id) == []
    assert [r["action"] for r in store.access_entries(maria.chat_id)] == ["forget", "export"]
    assert {r["operator"] for r in store.access_entries(maria.chat_id)} == {"dpo"}
    assert _cli("forget", "--chat-id", "999", "--yes", env=env).returncode == 1
    assert _cli("retention", env=env).returncode == 2  # no RETENTION_DAYS, no --days
    kept = _cli("retention", "--days", "30", env=env)
    assert kept.returncode == 0 and "retention 30 days: 0 conversation(s)" in kept.stderr


def test_an_erasure_made_elsewhere_is_not_undone_by_an_open_session(base_env: dict[str, str],
                                                                    database_url: str) -> None:
    """The command forgets a conversation the app holds in memory: its next turn must not write the old
    attributes back."""
    settings = settings_for(base_env, database_url)
    store = Store.open(database_url)
    session = conversation(settings, store, "Maria Souza", MARIA)
    assert rights.forget_holder(store, MARIA).chat_ids == [session.chat_id]  # "elsewhere": not through the session
    result = session.send("março")
    assert result is not None and result.step_after == "optin"  # consent asked again: nothing from before is used
    assert "Maria" not in json.dumps(store.list_messages(session.chat_id), ensure_ascii=False, default=str)
    stored = store.get_chat(session.chat_id)["state"]  # type: ignore[index]
    assert "cpf" not in stored["attributes"] and "name" not in stored["attributes"]
    assert rights.find_holder(store, MARIA).chats == []
    assert [m.text for m in session.messages] == [m["text"] for m in store.list_messages(session.chat_id)]
    assert len(session.traces) == 1 and len(store.list_traces(session.chat_id)) == 1
    again = session.send("oi")  # and the conversation goes on
    assert again is not None and len(store.list_traces(session.chat_id)) == 2
