"""Turns off the UI thread: one background worker per chat, fed by a queue persisted in the database.

A page (or any front end) only *enqueues* a customer message (:meth:`Workers.enqueue`: one INSERT into
``chat_inbox``) and renders; the chat's :class:`ChatWorker` thread builds the engine if needed, feeds the
queued messages to its :class:`~agent.core.session.AgentSession` in order, applies the burst rules
(messages within ``burst_window_s`` of the previous one are answered once, together; with
``burst_mode=False`` one turn per message) and runs the turns. A message leaves the queue only once
the turn that answers it is written, so a busy page, a reload or a new worker never loses one; a turn
that raises keeps its messages in the conversation with the error, and the next message still runs.

This module never imports streamlit; the app owns one :class:`Workers` (``st.cache_resource``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from agent.adapters.inbox import Inbox, QueuedMessage
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.session import AgentSession, TurnResult
from agent.errors import StoreError
from agent.privacy import scrubbed_logger
from agent.text import clean_text
from agent.types import Attachment, Message, MessageSource

log = scrubbed_logger(__name__)  # agent.privacy: no raw value in a log line

SWITCH_INTERVAL_S = 0.0005


@dataclass
class WorkerStatus:
    """What a page needs to draw a chat's progress, read at one moment."""

    loading: bool = False
    feeding: bool = False
    answering: list[Message] = field(default_factory=list)
    pending: list[Message] = field(default_factory=list)
    queued: list[QueuedMessage] = field(default_factory=list)
    seconds_left: float = 0.0
    version: int = 0
    error: str | None = None

    @property
    def typing(self) -> bool:
        """The agent is at work: building the engine, reading queued messages or running a turn."""
        return (self.loading or self.feeding or bool(self.answering) or bool(self.queued)
                or (bool(self.pending) and self.seconds_left <= 0))

    @property
    def waiting(self) -> list[Message]:
        """Customer messages not answered yet, oldest first: in the running turn, the open burst, the queue."""
        return [*self.answering, *self.pending, *(as_message(r) for r in self.queued)]

    @property
    def busy(self) -> bool:
        """Something is still to come (a turn, or an open burst): worth following."""
        return self.typing or bool(self.pending)


def as_message(row: QueuedMessage) -> Message:
    """A queued row as the customer message it will be (for display and for a failed turn)."""
    kind = row.source or (row.attachments[0].kind if row.attachments else "text")
    return Message("customer", clean_text(row.text), created_at=row.created_at.timestamp(),
                   source=cast(MessageSource, kind), attachments=row.attachments)


class ChatWorker:
    """The background worker of one chat. Holds the chat's session; ``lock`` guards it (a page that
    calls the session directly, e.g. for a handoff, does so under ``with worker.lock``)."""

    def __init__(self, settings: Settings, chat_id: int, *, store: Store | None = None,
                 session: AgentSession | None = None, idle_exit_s: float = 60.0,
                 clock: Callable[[], float] = time.time,
                 on_turn: Callable[[TurnResult], None] | None = None) -> None:
        self.settings = settings
        self.chat_id = chat_id
        self.on_turn = on_turn  # told every answered turn (the server returns them with POST /chat's trace)
        self.store = store or Store.open(settings.database_url)
        self.inbox = Inbox(self.store)
        self.session = session
        self.idle_exit_s = idle_exit_s
        self.clock = clock
        self.lock = threading.RLock()
        self.version = 0
        self.error: str | None = None
        self.loading = session is None
        self.answering: list[Message] = []
        self._rows: dict[int, QueuedMessage] = {}  # fed to the session, turn not yet written
        self._seen: set[int] = set()
        self._wake = threading.Event()
        self._answer_now = False
        self._feeding = False
        self._stopped = False
        self._running = False
        self._state = threading.Lock()
        self._version_changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        """Run the worker thread (again, when it stopped after being idle)."""
        with self._state:
            if self._running:
                self._wake.set()
                return
            self._running, self._stopped = True, False
            self._thread = threading.Thread(target=self._run, name=f"chat-worker-{self.chat_id}", daemon=True)
            self._thread.start()

    @property
    def alive(self) -> bool:
        return self._running

    def wake(self) -> None:
        self._wake.set()

    def answer_now(self) -> None:
        """Close the open burst at once (the "Answer now" button)."""
        self._answer_now = True
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def update_settings(self, settings: Settings) -> None:
        """Model/temperature/burst switches: from the next turn on. Never waits for a running turn (a page
        calls this on every run): when the worker is busy, it applies them itself before the next turn."""
        self.settings = settings
        if self.lock.acquire(blocking=False):
            try:
                self._apply_settings()
            finally:
                self.lock.release()
        else:
            self._wake.set()

    def _apply_settings(self) -> None:
        if self.session is not None and self.session.settings != self.settings:
            self.session.update_settings(self.settings)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until nothing is being read or answered (an open burst may remain). For tests and scripts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.status().typing:
                return True
            time.sleep(0.02)
        return False

    def wait_changed(self, version: int, timeout: float) -> bool:
        """Block until the worker's ``version`` moves past ``version`` (a message fed, a turn started or
        written), at most ``timeout`` s: a page following a turn draws its reply the moment it is written
        instead of at its next poll. True when it moved."""
        with self._version_changed:
            return self._version_changed.wait_for(lambda: self.version != version, timeout=max(timeout, 0.0))

    # ---------------------------------------------------------------- views
    def status(self) -> WorkerStatus:
        # Read in this order (the worker writes in the opposite one): a message is always in at least
        # one of queued / feeding / answering / pending until its turn is written.
        try:
            queued = [r for r in self.inbox.queued(self.chat_id) if r.id not in self._seen]
        except Exception as exc:  # noqa: BLE001  (a page must draw even when the database hiccups)
            queued, self.error = [], str(exc)
        session = self.session
        return WorkerStatus(
            loading=self.loading, feeding=self._feeding or (self._answer_now and bool(session and session.pending)),
            answering=list(self.answering),
            pending=list(session.pending) if session else [], queued=queued,
            seconds_left=session.seconds_left() if session else 0.0, version=self.version, error=self.error)

    # ---------------------------------------------------------------- the thread
    def _changed(self) -> None:
        with self._version_changed:
            self.version += 1
            self._version_changed.notify_all()

    def _run(self) -> None:
        try:
            if self.session is None:
                try:
                    self.session = AgentSession.load(self.settings, self.chat_id, store=self.store,
                                                     clock=self.clock)
                except Exception as exc:  # noqa: BLE001  (the messages stay queued for the next start)
                    log.exception("chat %s: the session could not be loaded", self.chat_id)
                    self.error = f"The agent could not start: {exc}"
                    return
                finally:
                    self.loading = False
                    self._changed()
            idle_since = time.monotonic()
            while not self._stopped:
                self._wake.clear()
                if self.step():
                    idle_since = time.monotonic()
                session = self.session
                if session.pending:
                    timeout = min(max(session.seconds_left(), 0.01), 0.25)
                else:
                    if time.monotonic() - idle_since >= self.idle_exit_s and self._exit_if_idle():
                        return
                    timeout = 0.5
                self._wake.wait(timeout)
        finally:
            with self._state:
                self._running = False

    def _exit_if_idle(self) -> bool:
        with self._state:
            if self._wake.is_set() or any(r.id not in self._seen for r in self.inbox.queued(self.chat_id)):
                return False
            self._running = False
            return True

    def step(self, queued: Sequence[QueuedMessage] | None = None) -> bool:
        """Feed newly queued messages to the session, in order, and run the turns that are due.
        ``queued``: the chat's queued messages as the caller just read them (the server reads them in the
        transaction that queues its own); None reads them. True when something happened."""
        session = self.session
        if session is None:
            return False
        worked = False
        try:
            rows = [r for r in (self.inbox.queued(self.chat_id) if queued is None else queued) if r.id not in self._seen]
        except StoreError as exc:
            self.error = str(exc)
            return False
        with self.lock:
            self._apply_settings()
        try:
            for row in rows:
                worked = True
                self._feeding = True
                with self.lock:
                    now = row.created_at.timestamp()
                    if session.pending and session.burst_deadline is not None and now >= session.burst_deadline:
                        # Written after the open burst's window closed: that burst is answered first.
                        self._turn(lambda: session.flush(force=True))
                    self._seen.add(row.id)
                    self._rows[row.id] = row
                    burst = session.settings.burst_mode and session.settings.burst_window_s > 0
                    send = self._sender(session, row)
                    if burst:
                        send()
                    else:
                        self._turn(send)  # answered at once: one turn per message
                    self._changed()
        finally:
            self._feeding = False
        if session.pending and (self._answer_now or session.due()):
            with self.lock:
                self._answer_now = False
                self._turn(lambda: session.flush(force=True))
            worked = True
        elif not session.pending:
            self._answer_now = False
        return worked

    @staticmethod
    def _sender(session: AgentSession, row: QueuedMessage) -> Callable[[], TurnResult | None]:
        source = cast(MessageSource | None, row.source)
        inbox_id = row.id if row.id > 0 else None  # <= 0: never queued (a server request answered in the request)
        return lambda: session.send(row.text, row.attachments, now=row.created_at.timestamp(), source=source,
                                    inbox_id=inbox_id)

    def _turn(self, run: Callable[[], Any]) -> None:
        """Run one turn over every fed message; mark them done, or keep them with the error."""
        session = self.session
        assert session is not None
        ids = sorted(self._rows)
        self.answering = [as_message(self._rows[i]) for i in ids]
        self._changed()
        try:
            result = run()
        except Exception as exc:  # noqa: BLE001  (one failing turn must not stop the chat)
            log.exception("chat %s: a turn failed", self.chat_id)
            error = f"The agent could not answer this message ({type(exc).__name__}: {exc}). Send it again."
            session.pending, session.burst_deadline = [], None
            session.record_failed_turn(self.answering, error)
            self.error = error
            self._mark(ids, "failed", error)
        else:
            # The turn's own transaction marked them done and scrubbed them (``Store.record_turn``). When it could
            # not be written, they stay queued: the session writes them with its next turn, or, if this process
            # dies first, the next worker answers them again — never a written turn whose message is still
            # queued, nor the reverse.
            if result is not None and self.on_turn is not None:
                self.on_turn(result)
        finally:
            for i in ids:
                self._rows.pop(i, None)
            self.answering = []
            self._changed()

    def _mark(self, ids: list[int], status: str, error: str | None = None) -> None:
        ids = [i for i in ids if i > 0]
        if not ids:
            return
        try:
            self.inbox.mark(ids, status, error)
        except StoreError as exc:
            self.error = str(exc)


class Workers:
    """Every chat's worker in this process (the app keeps one, e.g. in ``st.cache_resource``)."""

    def __init__(self, *, idle_exit_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        # A worker building an engine (imports, indexes) holds the GIL in 5 ms slices by default; the page's
        # thread, which releases it at every database call, then waits up to 5 ms each time and a script run
        # takes long enough for Streamlit to coalesce two quick submits into one. Shorter slices keep the
        # page responsive while a worker is busy.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.idle_exit_s = idle_exit_s
        self.clock = clock
        self._workers: dict[tuple[str, int], ChatWorker] = {}
        self._lock = threading.Lock()

    def find(self, settings: Settings, chat_id: int) -> ChatWorker | None:
        return self._workers.get((settings.database_url, chat_id))

    def get(self, settings: Settings, chat_id: int, *, session: AgentSession | None = None) -> ChatWorker:
        """The chat's worker, started (with ``session`` when it has none yet, else it loads the chat)."""
        key = (settings.database_url, chat_id)
        with self._lock:
            worker = self._workers.get(key)
            if worker is None:
                worker = self._workers[key] = ChatWorker(settings, chat_id, session=session,
                                                         idle_exit_s=self.idle_exit_s, clock=self.clock)
        worker.start()
        return worker

    def new_chat(self, settings: Settings, title: str = "", source: str = "playground") -> int:
        """A new ``chats`` row, without waiting for the engine (the worker builds it)."""
        from agent.core.pack import get_pack

        store = Store.open(settings.database_url)
        title = title or time.strftime("Conversa %d/%m %H:%M")
        return store.create_chat(title, pack=get_pack(settings.pack_dir).name, state={}, source=source)

    def enqueue(self, settings: Settings, chat_id: int, text: str = "", attachments: Sequence[Attachment] = (),
                *, source: str | None = None) -> int:
        """Persist a customer message in the chat's queue and wake its worker; returns the queue id."""
        queue_id = Inbox(Store.open(settings.database_url)).put(chat_id, text, attachments, source=source)
        self.get(settings, chat_id).wake()
        return queue_id

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop(timeout)


WORKERS = Workers()


def enqueue(settings: Settings, chat_id: int, text: str = "", attachments: Sequence[Attachment] = (),
            *, source: str | None = None) -> int:
    """:meth:`Workers.enqueue` on this process's default :data:`WORKERS`."""
    return WORKERS.enqueue(settings, chat_id, text, attachments, source=source)
