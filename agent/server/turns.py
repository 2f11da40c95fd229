"""Answering a chat's queued messages for the server: the chat worker's own path, run on demand.

Every customer message is first written to the chat's persistent inbox (``chat_inbox``), then a
:class:`~agent.worker.ChatWorker` over the chat's :class:`~agent.core.session.AgentSession` feeds every
queued message to the session and answers them in one turn (a burst). The server decides when a burst
closes (``POST /chat``: at once; WhatsApp: the flush queue), so the worker's own window is made long
enough never to split one. Blocking: call it from a thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text

from agent.adapters.inbox import Inbox
from agent.adapters.schema import CHAT_SOURCES
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.pack import get_pack
from agent.core.session import AgentSession
from agent.types import Attachment, Message
from agent.worker import ChatWorker

# The server closes bursts itself; a day is longer than any request or flush delay.
_NEVER_S = 24 * 3600.0
LOCK_STRIPES = 256
ADVISORY_SPACE = 0x636F6E  # pg_advisory_lock's first key: this project's chat turns


@dataclass(frozen=True)
class ChatAnswer:
    """One answered burst, as ``POST /chat`` returns it (the state masked like ``state_view``)."""

    chat_id: int
    replies: list[str]
    step: str
    state: dict[str, Any]
    message_codes: list[int]
    errors: list[str]
    answered: int = 0  # customer messages this turn answered (0: nothing was queued)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Incoming:
    """One customer message for the inbox."""

    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    source: str | None = None


class Turns:
    """The server's access to chats: new chats, queued messages, one turn per closed burst."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings.with_changes(burst_mode=True, burst_window_s=_NEVER_S)
        self.store = store or Store.open(settings.database_url)
        self.inbox = Inbox(self.store)
        # Striped, so the set stays bounded however many chats a long-running server sees.
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def new_chat(self, source: str = "server", title: str = "") -> int:
        """A new ``chats`` row (the engine is built by the first turn)."""
        if source not in CHAT_SOURCES:
            raise ValueError(f"unknown chat source {source!r}; one of: {', '.join(CHAT_SOURCES)}")
        title = title or time.strftime("Conversa %d/%m %H:%M")
        return self.store.create_chat(title, pack=get_pack(self.settings.pack_dir).name, state={}, source=source)

    def exists(self, chat_id: int) -> bool:
        return self.store.get_chat(chat_id) is not None

    @contextlib.contextmanager
    def exclusive(self, chat_id: int) -> Iterator[None]:
        """One turn at a time per chat: this process's lock, and on PostgreSQL an advisory lock held for the
        turn, so two processes (servers, Lambda instances) never answer the same queued messages. On SQLite,
        run one server process."""
        with self._locks[chat_id % LOCK_STRIPES]:
            if self.store.engine.dialect.name != "postgresql":
                yield
                return
            key = {"space": ADVISORY_SPACE, "chat": chat_id % 2**31}
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:space, :chat)"), key)
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:space, :chat)"), key)
                    conn.commit()

    def post(self, chat_id: int, messages: Sequence[Incoming]) -> ChatAnswer:
        """Queue ``messages`` and answer them at once, as one burst (``POST /chat``)."""
        with self.exclusive(chat_id):
            for message in messages:
                self.inbox.put(chat_id, message.text, message.attachments, source=message.source)
            return self._answer(chat_id)

    def answer(self, chat_id: int) -> ChatAnswer:
        """Answer every queued message of the chat in one turn (nothing queued: no turn, no reply)."""
        with self.exclusive(chat_id):
            return self._answer(chat_id)

    def _answer(self, chat_id: int) -> ChatAnswer:
        # Loaded afresh: another process (a second server, a Lambda) may have answered this chat since.
        session = AgentSession.load(self.settings, chat_id, store=self.store)
        worker = ChatWorker(self.settings, chat_id, store=self.store, session=session)
        before = len(session.messages)
        worker.answer_now()
        worker.step()
        new = session.messages[before:] if len(session.messages) >= before else list(session.messages)
        return _summary(chat_id, session, new, worker.error)


def _summary(chat_id: int, session: AgentSession, new: list[Message], failure: str | None) -> ChatAnswer:
    replies = [m for m in new if m.role == "agent"]
    codes: list[int] = []
    errors: list[str] = []
    turns: set[Any] = set()
    for message in replies:
        if message.meta.get("turn") not in turns:  # every reply of a turn repeats the turn's codes
            turns.add(message.meta.get("turn"))
            codes += [c for c in message.meta.get("message_codes") or () if isinstance(c, int)]
        errors += [str(e) for e in message.meta.get("errors") or () if str(e) not in errors]
    errors += [m.text for m in new if m.role == "system" and m.text not in errors]
    if failure and failure not in errors:
        errors.append(failure)
    view = session.state_view()
    return ChatAnswer(chat_id=chat_id, replies=[m.text for m in replies], step=str(view.get("step") or ""),
                      state=dict(view), message_codes=codes, errors=errors,
                      answered=sum(1 for m in new if m.role == "customer"))
