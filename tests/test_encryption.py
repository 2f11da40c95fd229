"""Encryption at rest (CONVERSA_ENCRYPTION_KEY): round trips on SQLite and PostgreSQL, no clear customer
text in the raw columns, legacy clear rows, key rotation, a bad key, the Chat page's notice, the Costs page."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from agent.adapters import keys as key_ops
from agent.adapters.crypto import PREFIX, Cipher, DecryptionError, EncryptionKeyError, generate_key, is_sealed
from agent.adapters.inbox import Inbox
from agent.adapters.schema import chat_inbox, chats, messages, traces
from agent.adapters.store import CostRow, Store
from agent.analytics.costs import CostReport
from agent.config import Settings, load_settings
from agent.core.session import AgentSession
from agent.types import Attachment

ROOT = Path(__file__).resolve().parent.parent
NAME, CPF = "Maria Souza", "073.602.846-35"
STATE = {"step": "confirm_data", "attributes": {"name": NAME, "cpf": CPF}, "failures": 0,
         "results": {"consultar_fgts": {"outcome": "ok", "data": {"saldo": 1234.56}}}}
TRACE = {"customer_text": f"sou {NAME}, CPF {CPF}", "calls": [{"rendered_messages": [{"content": NAME}]}]}


def write_chat(store: Store) -> int:
    """One chat as a turn writes it: messages (with meta), state, trace; and a queued inbox message."""
    chat = store.create_chat("Conversa", pack="fgts", state={"step": "greeting", "attributes": {}})
    store.record_turn(chat, [
        {"role": "customer", "text": f"sou {NAME}, CPF {CPF}", "meta": {"transcript": NAME}},
        {"role": "agent", "text": f"Prazer, {NAME}!", "meta": {"step": "confirm_data"}},
    ], chat_values={"state": STATE, "status": "open"}, trace=TRACE, turn_index=1)
    Inbox(store).put(chat, f"meu CPF é {CPF}", [Attachment(kind="image", filename="rg.png", data=NAME.encode())])
    return chat


def raw_columns(store: Store) -> str:
    """Every encrypted column read with plain SQL, as one string."""
    with store.engine.connect() as conn:
        rows = [*conn.execute(select(messages.c.text, messages.c.meta)),
                *conn.execute(select(traces.c.trace)),
                *conn.execute(select(chats.c.state)),
                *conn.execute(select(chat_inbox.c.text, chat_inbox.c.attachments))]
    return json.dumps([list(r) for r in rows], default=str, ensure_ascii=False)


def assert_reads_back(store: Store, chat: int) -> None:
    texts = [m["text"] for m in store.list_messages(chat)]
    assert texts == [f"sou {NAME}, CPF {CPF}", f"Prazer, {NAME}!"]
    assert store.list_messages(chat)[0]["meta"] == {"transcript": NAME}
    assert store.get_chat(chat)["state"] == STATE  # type: ignore[index]
    assert store.list_traces(chat)[0]["trace"] == TRACE
    queued = Inbox(store).queued(chat)
    assert queued[0].text == f"meu CPF é {CPF}" and queued[0].attachments[0].data == NAME.encode()


def test_round_trip_and_no_clear_text_in_the_columns(database_url: str) -> None:
    store = Store(database_url, keys=generate_key())
    chat = write_chat(store)
    assert_reads_back(store, chat)
    raw = raw_columns(store)
    for secret in (NAME, "Maria", CPF, "07360284635", "1234.56", "rg.png"):
        assert secret not in raw
    assert PREFIX in raw
    # The step stays clear: the Costs page filters and groups chats by it in SQL.
    report = CostReport(store)
    assert [c["step"] for c in report.recent_chats()] == ["confirm_data"]
    assert store.list_chats()[0]["state"] == STATE
    assert {c.column: (c.clear, c.encrypted) for c in key_ops.status(store)} == {
        "messages.text": (0, 2), "messages.meta": (0, 2), "traces.trace": (0, 1), "chats.state": (0, 1),
        "chat_inbox.text": (0, 1), "chat_inbox.attachments": (0, 1), "chat_insights.insights": (0, 0),
        "chat_review.comment": (0, 0), "chat_review.corrections": (0, 0)}


def test_without_a_key_everything_is_clear_and_reads_the_same(database_url: str) -> None:
    store = Store(database_url, keys="")
    chat = write_chat(store)
    assert_reads_back(store, chat)
    assert NAME in raw_columns(store) and PREFIX not in raw_columns(store)


def test_legacy_clear_rows_still_read_with_a_key_and_rotate_encrypts_them(database_url: str) -> None:
    chat = write_chat(Store(database_url, keys=""))  # written before a key was set
    key = generate_key()
    store = Store(database_url, keys=key)
    assert_reads_back(store, chat)  # clear rows read as they are
    newer = write_chat(store)  # new rows are encrypted next to them
    assert_reads_back(store, newer)
    counts = {c.column: c for c in key_ops.rotate(store, batch=1)}
    assert counts["messages.text"].changed == 2 and counts["messages.text"].current == 2
    assert counts["chats.state"].changed == 1
    assert NAME not in raw_columns(store)
    assert_reads_back(store, chat)
    assert sum(c.changed for c in key_ops.rotate(store)) == 0  # idempotent


def test_rotation_with_two_keys_then_the_old_key_is_removed(database_url: str) -> None:
    old, new = generate_key(), generate_key()
    chat = write_chat(Store(database_url, keys=old))
    both = Store(database_url, keys=f"{new},{old}")
    assert_reads_back(both, chat)  # MultiFernet: the old key still decrypts
    before = {c.column: c for c in key_ops.status(both)}
    assert before["traces.trace"].old == 1 and before["traces.trace"].current == 0
    counts = key_ops.rotate(both)
    assert sum(c.changed for c in counts) == 8
    assert sum(c.changed for c in key_ops.rotate(both)) == 0
    only_new = Store(database_url, keys=new)
    assert_reads_back(only_new, chat)
    assert all(c.old == 0 and c.clear == 0 for c in key_ops.status(only_new))
    with only_new.engine.connect() as conn:
        token = conn.execute(select(messages.c.text)).scalars().first()
    assert is_sealed(token)
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(token[len(PREFIX):].encode())


def test_a_missing_or_wrong_key_is_a_clear_error_and_lists_still_work(database_url: str) -> None:
    chat = write_chat(Store(database_url, keys=generate_key()))
    for keys, words in (("", "is not set"), (generate_key(), "not in CONVERSA_ENCRYPTION_KEY")):
        store = Store(database_url, keys=keys)
        with pytest.raises(DecryptionError, match=words):
            store.list_messages(chat)
        with pytest.raises(DecryptionError, match="chat #"):
            store.get_chat(chat)
        listed = store.list_chats()
        assert listed[0]["state"] == {"step": "confirm_data", "unreadable": True}
    with pytest.raises(DecryptionError, match="not in CONVERSA_ENCRYPTION_KEY"):
        key_ops.rotate(Store(database_url, keys=generate_key()))


def test_a_malformed_key_says_what_to_write() -> None:
    with pytest.raises(EncryptionKeyError, match="key 2 of 2 is not a Fernet key"):
        Cipher.from_keys(f"{generate_key()}, not-a-key")
    assert Cipher.from_keys(" , ") is None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_keys_cli_generate_status_rotate_and_a_bad_key(base_env: dict[str, str], data_dir: Path) -> None:
    key = _cli("keys", "generate", env=base_env).stdout.strip()
    assert Cipher.from_keys(key) is not None
    url = f"sqlite:///{data_dir / 'conversa.db'}"
    write_chat(Store(url, keys=""))
    keyed = {**base_env, "CONVERSA_ENCRYPTION_KEY": key}
    status = _cli("keys", "status", env=keyed)
    assert status.returncode == 0, status.stderr
    assert any(line.split()[:3] == ["messages.text", "2", "0"] for line in status.stdout.splitlines())
    rotated = _cli("keys", "rotate", env=keyed)
    assert rotated.returncode == 0, rotated.stderr
    assert "done: 8 value(s)" in rotated.stdout
    assert "done: 0 value(s)" in _cli("keys", "rotate", env=keyed).stdout
    bad = _cli("keys", "status", env={**base_env, "CONVERSA_ENCRYPTION_KEY": "hunter2"})
    assert bad.returncode == 2
    assert "CONVERSA_ENCRYPTION_KEY: the key is not a Fernet key" in bad.stderr
    assert "Traceback" not in bad.stderr and "hunter2" not in bad.stderr
    chat = _cli("chat", env={**base_env, "CONVERSA_ENCRYPTION_KEY": ""})
    assert chat.returncode == 0 and chat.stderr.count("CONVERSA_ENCRYPTION_KEY") == 1
    assert "CONVERSA_ENCRYPTION_KEY" not in _cli("chat", env=keyed).stderr


def test_a_real_conversation_is_encrypted_end_to_end(settings: Settings) -> None:
    store = Store(settings.database_url, keys=generate_key())
    session = AgentSession.new(settings, store=store)
    for text in ("oi", "aceito", NAME, CPF):
        session.send(text)
    assert NAME not in raw_columns(store) and "073.602" not in raw_columns(store)
    again = AgentSession.load(settings, session.chat_id, store=store)
    assert [m.text for m in again.messages] == [m.text for m in session.messages]
    assert again.state == session.state and again.state.attributes["name"] == NAME
    assert len(again.traces) == len(session.traces) == 4


def test_overhead_per_message_write(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted: the cost of encrypting one turn's rows (two messages, state, trace)."""
    figures = {}
    for label, keys in (("clear", ""), ("encrypted", generate_key())):
        store = Store(settings.database_url.replace("conversa.db", f"{label}.db"), keys=keys)
        chat = store.create_chat("t")
        start = time.perf_counter()
        for _ in range(50):
            store.record_turn(chat, [{"role": "customer", "text": f"sou {NAME}"}, {"role": "agent", "text": "ok"}],
                              chat_values={"state": STATE}, trace=TRACE, turn_index=1)
        figures[label] = (time.perf_counter() - start) / 50 * 1000
    with capsys.disabled():
        print(f"\nrecord_turn: {figures['clear']:.2f} ms clear, {figures['encrypted']:.2f} ms encrypted")


# ---------------------------------------------------------------- the app


def test_chat_page_warns_once_without_a_key_in_both_languages(app_env: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSA_ENCRYPTION_KEY", "")
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "stored in clear" in w.value)
    assert "CONVERSA_ENCRYPTION_KEY" in warning and "keys generate" in warning
    next(b for b in at.button if b.label == "Got it").click().run()
    assert not any("stored in clear" in w.value for w in at.warning)
    at.run()
    assert not any("stored in clear" in w.value for w in at.warning)  # dismissed for this browser session

    monkeypatch.setenv("CONVERSA_UI_LANG", "pt")
    pt = AppTest.from_file("../app.py", default_timeout=120).run()
    assert any("gravadas em claro" in w.value for w in pt.warning)
    assert any(b.label == "Entendi" for b in pt.button)


def test_chat_page_with_a_key_has_no_notice_and_a_bad_key_is_an_error(app_env: dict[str, str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSA_ENCRYPTION_KEY", generate_key())
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    assert not any("stored in clear" in w.value for w in at.warning)
    monkeypatch.setenv("CONVERSA_ENCRYPTION_KEY", "nope")
    bad = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not bad.exception
    assert any("not a Fernet key" in e.value for e in bad.error)
    bad.switch_page("app_pages/costs.py").run()  # every page: an error, never a traceback
    assert not bad.exception
    assert any("not a Fernet key" in e.value for e in bad.error)


def test_costs_page_loads_with_encrypted_data(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("CONVERSA_ENCRYPTION_KEY", key)
    store = Store(load_settings(env=app_env, dotenv_path=None).database_url, keys=key)
    chat = write_chat(store)
    store.update_chat(chat, state={**STATE, "step": "eligible"})
    when = datetime(2024, 8, 28, 0, 43, tzinfo=UTC)
    store.record_cost(CostRow("Conversa", "gpt-4o-mini", 300, 20, Decimal("0.0001"), chat, created_at=when))
    assert NAME not in raw_columns(store)
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/costs.py")
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Calls"] == "1"
