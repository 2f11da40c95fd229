"""The store on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from agent.errors import StoreError
from agent.adapters.migrations import MIGRATIONS
from agent.adapters.schema import schema_migrations, utcnow
from agent.adapters.store import CostRow, Store


def test_migrations_create_ledger_with_deck_columns(database_url: str) -> None:
    store = Store(database_url)
    assert {"llm_cost", "llm_model", "chats", "messages", "traces", "schema_migrations"} <= set(store.table_names())
    columns = {c["name"] for c in __import__("sqlalchemy").inspect(store.engine).get_columns("llm_cost")}
    assert {"id_llm_cost", "fk_id_chat", "feature_name", "fk_id_llm_model", "input_tokens", "output_tokens",
            "feat_request_id", "price", "created_at", "updated_at", "latency_ms", "status", "error"} <= columns
    assert store.migrate() == []  # idempotent


def test_one_ordered_migration_list_keeps_recorded_versions() -> None:
    # Databases in use recorded these versions and names: never renumber or rename one.
    assert [(m.version, m.name) for m in MIGRATIONS[:5]] == [
        (1, "initial ledger, chats, messages, traces"), (10, "price_versions"),
        (11, "covering indexes for the cost page"), (12, "prompt_versions"), (20, "eval runs and results")]
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(set(versions))


def test_database_of_an_older_build_gets_the_missing_migrations(database_url: str) -> None:
    # A build that knew only version 1 created this database (schema_migrations holds just 1).
    engine = create_engine(database_url)
    with engine.begin() as conn:
        schema_migrations.create(conn)
        MIGRATIONS[0].apply(conn)
        conn.execute(insert(schema_migrations).values(version=1, name=MIGRATIONS[0].name, applied_at=utcnow()))
    engine.dispose()
    store = Store(database_url)
    assert {"price_versions", "prompt_versions", "eval_run", "eval_result"} <= set(store.table_names())
    with store.engine.connect() as conn:
        recorded = conn.execute(select(schema_migrations.c.version, schema_migrations.c.name)
                                .order_by(schema_migrations.c.version)).all()
    assert [tuple(r) for r in recorded] == [(m.version, m.name) for m in MIGRATIONS]
    assert store.migrate() == []


def test_deck_model_ids_are_kept(database_url: str) -> None:
    store = Store(database_url)
    names = {m["id_llm_model"]: m["name"] for m in store.models()}
    assert names[1] == "gpt-3.5-turbo-0125" and names[6] == "claude-3-haiku-20240307"


def test_ledger_round_trip_and_new_model(database_url: str) -> None:
    store = Store(database_url)
    chat = store.create_chat("teste")
    row_id = store.record_cost(CostRow("Analise de Emoção", "claude-3-haiku-20240307", 345, 15,
                                       Decimal("0.000105"), fk_id_chat=chat))
    store.record_cost(CostRow("API", "ollama_chat/llama3", 10, 5, Decimal(0), fk_id_chat=chat, status="timeout",
                              error="did not answer"))
    rows = store.cost_rows(chat_id=chat)
    assert rows[-1]["id_llm_cost"] == row_id
    assert rows[-1]["price"] == Decimal("0.000105") and rows[-1]["fk_id_llm_model"] == 6
    assert rows[0]["model"] == "ollama_chat/llama3" and rows[0]["status"] == "timeout"


def test_chats_messages_traces(database_url: str) -> None:
    store = Store(database_url)
    chat = store.create_chat("c1", state={"step": "greeting"})
    store.add_message(chat, "customer", "oi", meta={"burst": 1})
    store.add_message(chat, "agent", "Olá!")
    store.add_trace(chat, 0, {"step_before": "greeting", "calls": [{"cost": Decimal("0.1")}]})
    store.update_chat(chat, state={"step": "optin"})
    assert [m["text"] for m in store.list_messages(chat)] == ["oi", "Olá!"]
    assert store.list_traces(chat)[0]["trace"]["step_before"] == "greeting"
    assert store.get_chat(chat)["state"] == {"step": "optin"}
    assert store.list_chats()[0]["id_chat"] == chat


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions; see test_readonly_database_as_root")
def test_readonly_database_file(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    Store(f"sqlite:///{db}")
    db.chmod(stat.S_IREAD)
    _assert_readonly_keeps_row(f"sqlite:///{db}")


def test_readonly_database_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own read-only mode stands in for file permissions, which root bypasses."""
    db = tmp_path / "ro.db"
    Store(f"sqlite:///{db}")
    # A URI relative to tmp_path: Store creates the folder of what follows "sqlite:///", and for
    # "file:/abs/ro.db" that is a relative "file:/abs" — a stray folder in the working directory.
    monkeypatch.chdir(tmp_path)
    _assert_readonly_keeps_row("sqlite:///file:ro.db?mode=ro&uri=true")
    assert not (tmp_path / "file:").exists()


def _assert_readonly_keeps_row(url: str) -> None:
    store = Store.__new__(Store)
    try:
        Store.__init__(store, url)
    except StoreError:
        pass  # migrations may already fail: the write below must fail the same way
    with pytest.raises(StoreError, match="read-only"):
        store.record_cost(CostRow("Conversa", "local/rules", 1, 1, Decimal(0)))
    assert len(store.pending_costs) == 1  # kept for the next write, not lost


def test_locked_database_gives_clear_error(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "locked.db"
    store = Store(f"sqlite:///{db}", busy_timeout_s=0.2)
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store.engine.dispose()
        with pytest.raises(StoreError, match="locked"):
            store.record_cost(CostRow("Conversa", "local/rules", 1, 1, Decimal(0)))
    finally:
        holder.rollback()
        holder.close()
    # Once the lock is gone the kept row is written with the next one.
    store.record_cost(CostRow("Conversa", "local/rules", 2, 2, Decimal(0)))
    assert store.cost_count() == 2
