"""Each chat records who started it (chats.source), and people-facing lists show people's chats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, select

from agent.adapters.migrations import MIGRATIONS
from agent.adapters.schema import CHAT_SOURCES, PEOPLE_SOURCES, chats, schema_migrations
from agent.adapters.store import Store


def test_sources_are_people_or_bench() -> None:
    assert set(PEOPLE_SOURCES) == {"playground", "cli", "server"}
    assert set(CHAT_SOURCES) - set(PEOPLE_SOURCES) == {"eval", "simulation"}
    assert MIGRATIONS[-1].version >= 30 and any(m.version == 30 for m in MIGRATIONS)


def test_chats_record_their_source_and_lists_filter_by_it(database_url: str) -> None:
    store = Store(database_url)
    mine = store.create_chat("Conversa 29/11 22:00")
    cli = store.create_chat("Conversa cli", source="cli")
    bench = [store.create_chat(f"eval case{i} [local]", source="eval") for i in range(3)]
    sim = store.create_chat("simulated: Maria", source="simulation")
    assert store.get_chat(mine)["source"] == "playground"  # the default: a person in the playground
    assert store.get_chat(bench[0])["source"] == "eval"
    people = [c["id_chat"] for c in store.list_chats(50, PEOPLE_SOURCES)]
    assert sorted(people) == sorted([mine, cli])
    assert len(store.list_chats(50)) == 6  # no filter: every chat
    assert [c["id_chat"] for c in store.list_chats(50, ["simulation"])] == [sim]
    with pytest.raises(ValueError, match="unknown chat source"):
        store.create_chat("x", source="robot")
    store.engine.dispose()


def test_migration_gives_existing_chats_a_source(database_url: str) -> None:
    # A database of a build before version 30: chats without the source column.
    engine = create_engine(database_url)
    old = Table("chats", MetaData(), *[c._copy() for c in chats.columns if c.name != "source"])
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        schema_migrations.create(conn)
        old.create(conn)
        for version in (m.version for m in MIGRATIONS if m.version != 30):  # only chats.source is missing
            conn.execute(insert(schema_migrations).values(version=version, name="old", applied_at=now))
        for title in ("Conversa 01/11 10:00", "eval saque_aniversario [local]", "simulated: Zé", "evaluation day"):
            conn.execute(insert(old).values(title=title, pack="fgts", status="open", state={},
                                            created_at=now, updated_at=now))
    engine.dispose()
    store = Store(database_url)
    with store.engine.connect() as conn:
        rows = dict(conn.execute(select(chats.c.title, chats.c.source)).all())
    assert rows == {"Conversa 01/11 10:00": "playground", "eval saque_aniversario [local]": "eval",
                    "simulated: Zé": "simulation", "evaluation day": "playground"}
    assert 30 not in store.migrate() and store.migrate() == []
    store.engine.dispose()


def test_past_conversations_default_to_peoples_chats(settings) -> None:  # type: ignore[no-untyped-def]
    from agent import list_conversations

    store = Store.open(settings.database_url)
    mine = store.create_chat("Conversa minha")
    store.create_chat("eval case [local]", source="eval")
    assert [c["chat_id"] for c in list_conversations(settings)] == [mine]
    assert list_conversations(settings)[0]["source"] == "playground"
    assert len(list_conversations(settings, sources=None)) == 2


def test_the_cli_marks_its_chats(base_env, settings) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "agent", "chat"], input="oi\n/quit\n", capture_output=True,
                            text=True, cwd=root, env={**base_env, "PYTHONPATH": str(root)}, timeout=120)
    assert result.returncode == 0, result.stderr
    chats = Store.open(settings.database_url).list_chats()
    assert [c["source"] for c in chats] == ["cli"]
