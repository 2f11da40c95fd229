"""agent/worker.py: the chat queue persisted in the store, one background worker per chat, burst rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.adapters.inbox import Inbox
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.session import AgentSession
from agent.worker import ChatWorker, Workers


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers()
    yield pool
    pool.shutdown()


def burst_settings(settings: Settings, window: float = 4.0, burst: bool = True) -> Settings:
    return settings.with_changes(burst_mode=burst, burst_window_s=window)


def customer_texts(session: AgentSession) -> list[str]:
    return [m.text for m in session.messages if m.role == "customer"]


def put_at(store: Store, chat_id: int, texts_and_offsets: list[tuple[str, float]]) -> list[int]:
    """Queue messages as if typed at these offsets (seconds) from a moment in the past."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    inbox = Inbox(store)
    return [inbox.put(chat_id, text, created_at=start + timedelta(seconds=offset))
            for text, offset in texts_and_offsets]


def answered(workers: Workers, settings: Settings, chat_id: int) -> ChatWorker:
    worker = workers.get(settings, chat_id)
    assert worker.wait_idle(60)
    return worker


def test_a_queued_message_survives_a_new_worker(settings: Settings, workers: Workers, database_url: str) -> None:
    settings = burst_settings(settings.with_changes(database_url=database_url), burst=False)
    chat_id = workers.new_chat(settings)
    store = Store.open(settings.database_url)
    # Queued by a worker (or a process) that is gone before answering it.
    queue_id = Inbox(store).put(chat_id, "oi")
    assert [r.id for r in Inbox(store).queued(chat_id)] == [queue_id]
    fresh = Workers()
    try:
        worker = answered(fresh, settings, chat_id)
        assert worker.session is not None
        assert customer_texts(worker.session) == ["oi"]
        assert any("Clara" in m.text for m in worker.session.messages if m.role == "agent")
        assert Inbox(store).queued(chat_id) == []
        assert [r.status for r in Inbox(store).all(chat_id)] == ["done"]
        # Also in the database: a reload shows the same conversation.
        again = AgentSession.load(settings, chat_id)
        assert customer_texts(again) == ["oi"] and len(again.traces) == 1
    finally:
        fresh.shutdown()


def test_one_turn_per_message_in_order_without_burst(settings: Settings, workers: Workers) -> None:
    settings = burst_settings(settings, burst=False)
    chat_id = workers.new_chat(settings)
    texts = ["oi", "sim, aceito", "Maria Souza, CPF 073.602.846-35, nasci em março", "sim"]
    for text in texts:
        workers.enqueue(settings, chat_id, text)
    worker = answered(workers, settings, chat_id)
    session = worker.session
    assert session is not None
    # Stored scrubbed (agent.privacy), the CPF too: the journey captured it from the raw text in memory.
    assert customer_texts(session) == [*texts[:2], "Maria Souza, CPF •••.602.846-••, nasci em março", "sim"]
    assert len(session.traces) == 4
    assert session.state.step == "not_authorized"
    # Each customer message is followed by its own answer.
    roles = [m.role for m in session.messages]
    assert roles[0] == "customer" and roles.count("customer") == 4
    assert [m.meta["turn"] for m in session.messages if m.role == "customer"] == [0, 1, 2, 3]


def test_messages_within_the_window_are_one_turn_and_a_late_one_another(settings: Settings,
                                                                         workers: Workers) -> None:
    settings = burst_settings(settings, window=4.0)
    chat_id = workers.new_chat(settings)
    store = Store.open(settings.database_url)
    # Three within 4 s of each other, then one 30 s later: two bursts, two turns.
    put_at(store, chat_id, [("oi", 0), ("tudo bem?", 1.5), ("quero sacar meu fgts", 3), ("aceito", 33)])
    worker = answered(workers, settings, chat_id)
    session = worker.session
    assert session is not None
    assert customer_texts(session) == ["oi", "tudo bem?", "quero sacar meu fgts", "aceito"]
    assert len(session.traces) == 2
    turns = [m.meta["turn"] for m in session.messages if m.role == "customer"]
    assert turns == [0, 0, 0, 1]
    first = [m for m in session.messages if m.role == "customer"][0]
    assert first.meta["burst_size"] == 3
    assert [r.status for r in Inbox(store).all(chat_id)] == ["done"] * 4


def test_an_open_burst_waits_then_answer_now_closes_it(settings: Settings, workers: Workers) -> None:
    settings = burst_settings(settings, window=600.0)  # a window that never closes in this test
    chat_id = workers.new_chat(settings)
    workers.enqueue(settings, chat_id, "oi")
    workers.enqueue(settings, chat_id, "tudo bem?")
    worker = answered(workers, settings, chat_id)
    status = worker.status()
    assert [m.text for m in status.pending] == ["oi", "tudo bem?"] and not status.typing and status.busy
    assert [r.status for r in Inbox(Store.open(settings.database_url)).all(chat_id)] == ["queued"] * 2
    worker.answer_now()
    for _ in range(500):
        if worker.session is not None and worker.session.traces:
            break
        worker.wait_idle(0.05)
    assert worker.wait_idle(60)
    assert worker.session is not None and len(worker.session.traces) == 1
    assert not worker.status().busy


def test_a_failing_turn_keeps_the_message_with_the_error_and_the_next_one_runs(
        settings: Settings, workers: Workers, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = burst_settings(settings, burst=False)
    session = AgentSession.new(settings)
    real = session.engine.run_turn
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model exploded")
        return real(*args, **kwargs)

    monkeypatch.setattr(session.engine, "run_turn", flaky)
    worker = workers.get(settings, session.chat_id, session=session)
    workers.enqueue(settings, session.chat_id, "oi")
    workers.enqueue(settings, session.chat_id, "oi de novo")
    assert worker.wait_idle(60)
    assert customer_texts(session) == ["oi", "oi de novo"]
    errors = [m for m in session.messages if m.role == "system"]
    assert len(errors) == 1 and "model exploded" in errors[0].text
    assert session.messages.index(errors[0]) == 1  # right under the message it failed on
    assert any("Clara" in m.text for m in session.messages if m.role == "agent")
    assert "model exploded" in (worker.status().error or "")
    rows = Inbox(Store.open(settings.database_url)).all(session.chat_id)
    assert [r.status for r in rows] == ["failed", "done"]
    # Nothing lost after a reload either.
    again = AgentSession.load(settings, session.chat_id)
    assert customer_texts(again) == ["oi", "oi de novo"]
    assert [m.role for m in again.messages][:2] == ["customer", "system"]


def test_attachments_travel_through_the_queue(settings: Settings) -> None:
    from agent.types import Attachment

    store = Store.open(settings.database_url)
    chat_id = store.create_chat("t")
    image = Attachment(kind="image", filename="a.png", data=b"\x89PNG\x00\x01", mime="image/png")
    Inbox(store).put(chat_id, "", [image], source="image")
    (row,) = Inbox(store).queued(chat_id)
    assert row.attachments == (image,) and row.source == "image"


def test_a_settings_switch_never_waits_for_a_running_turn(settings: Settings, workers: Workers,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A page calls update_settings on every run: it must not block on a turn waiting for a slow model."""
    import threading

    settings = burst_settings(settings, burst=False)
    session = AgentSession.new(settings)
    started, release = threading.Event(), threading.Event()
    real = session.engine.run_turn

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(session.engine, "run_turn", held)
    worker = workers.get(settings, session.chat_id, session=session)
    workers.enqueue(settings, session.chat_id, "oi")
    assert started.wait(60)
    warmer = settings.with_changes(reengagement_after_s=settings.reengagement_after_s + 1)
    worker.update_settings(warmer)  # returns while the turn holds the session
    status = worker.status()
    assert status.typing and [m.text for m in status.answering] == ["oi"]
    release.set()
    workers.enqueue(settings, session.chat_id, "aceito")
    assert worker.wait_idle(60)
    assert session.settings == warmer  # applied by the worker before the next turn
    assert customer_texts(session) == ["oi", "aceito"] and len(session.traces) == 2


def test_a_page_waiting_on_the_worker_wakes_when_the_reply_is_written(settings: Settings, workers: Workers) -> None:
    """``wait_changed``: a page following a turn is woken by the worker, not by its next poll."""
    settings = burst_settings(settings, burst=False)
    chat_id = workers.new_chat(settings)
    worker = answered(workers, settings, chat_id)
    session = worker.session
    assert session is not None
    version = worker.version
    assert not worker.wait_changed(version, 0.05)  # nothing to do: times out, False
    shown = len(session.messages)
    workers.enqueue(settings, chat_id, "oi")
    seen = version
    while len(session.messages) == shown:
        assert worker.wait_changed(seen, 30), "the worker never moved"
        assert worker.version != seen
        seen = worker.version
    assert worker.wait_idle(30)
    assert [m.role for m in session.messages][-2:] == ["customer", "agent"]
