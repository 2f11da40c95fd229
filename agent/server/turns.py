"""Answering a chat's queued messages for the server: the chat worker's own path, run on demand.

Every customer message is first written to the chat's persistent inbox (``chat_inbox``), then a
:class:`~agent.worker.ChatWorker` over the chat's :class:`~agent.core.session.AgentSession` feeds every
queued message to the session and answers them in one turn (a burst). The server decides when a burst
closes (``POST /chat``: at once; WhatsApp: the flush queue), so the worker's own window is made long
enough never to split one. Blocking: call it from a thread, never on the event loop.

Loaded sessions are kept per chat (least recently used first) and reused only while the chat in the database is
still the one the session holds — the same message and trace counts, state and erasure time, checked by one query
under the chat's turn lock — so a turn another process wrote (a second server, a Lambda, the playground) is
always read before the next one here.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import IO, Any

try:
    import fcntl
except ImportError:  # not on Windows: there, one server process per SQLite file
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from agent.adapters.crypto import open_state
from agent.adapters.inbox import Inbox, QueuedMessage
from agent.adapters.schema import CHAT_SOURCES, chat_inbox, chats, messages, traces, utcnow
from agent.adapters.store import Store, _describe, _sqlite_path
from agent.config import Settings
from agent.core.engine import Engine
from agent.core.pack import get_pack
from agent.core.session import ENGINES, AgentSession, TurnResult
from agent.core.turn import json_safe
from agent.errors import StoreError
from agent.types import Attachment, Message
from agent.worker import ChatWorker

# The server closes bursts itself; a day is longer than any request or flush delay.
_NEVER_S = 24 * 3600.0
LOCK_STRIPES = 256
# Never changed per chat: where the data live, the server's burst handling, files on the server.
_FIXED = frozenset({"database_url", "burst_window_s", "whisper_model_dir", "gguf_model_path"})
ADVISORY_SPACE = 0x636F6E  # pg_advisory_lock's first key: this project's chat turns
KEPT_SESSIONS = 64  # loaded chats kept per server process (a long chat holds its traces in memory)


class UnknownChat(LookupError):
    """No such conversation."""


def _operator_reply(session: AgentSession, text: str) -> None:
    session.operator_reply(text)


# The journey events of ``POST /chat`` (the eval bench's), by name: what each does to the chat's session.
_EVENTS: dict[str, Callable[[AgentSession, str], TurnResult | None]] = {
    "idle": lambda session, text: session.reengage(),  # the re-engagement follow-up, when due
    "request_handoff": lambda session, text: session.request_handoff(),
    "hand_back": lambda session, text: session.hand_back(),
    "operator_reply": _operator_reply,
}
EVENTS = tuple(_EVENTS)


def _written(table: Any) -> Any:
    return select(func.count()).select_from(table).where(table.c.fk_id_chat == bindparam("chat")).scalar_subquery()


# What says whether a kept session is still the chat in the database, and how many of its messages wait in the
# inbox (built once: building a statement costs more than running it on SQLite).
_QUEUED_COUNT = select(func.count()).select_from(chat_inbox).where(
    chat_inbox.c.fk_id_chat == bindparam("chat"), chat_inbox.c.status == "queued").scalar_subquery()
_STAMP = select(chats.c.state, chats.c.forgotten_at, _written(messages), _written(traces), _QUEUED_COUNT).where(
    chats.c.id_chat == bindparam("chat"))


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
    # With ``trace``: every turn this request ran, as stored (masked), and the chat's ledger rows.
    turns: list[dict[str, Any]] | None = None
    ledger: list[dict[str, Any]] | None = None
    # Eval hooks on and an eval chat: the captured attributes unmasked (what the scorers compare).
    raw_attributes: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The fields set (JSON values already: no copy)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class Incoming:
    """One customer message for the inbox."""

    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    source: str | None = None
    at: float | None = None  # when it was written (seconds since the epoch; None: now)


class Turns:
    """The server's access to chats: new chats, queued messages, one turn per closed burst."""

    def __init__(self, settings: Settings, store: Store | None = None, *, eval_hooks: bool = False) -> None:
        self.eval_hooks = eval_hooks
        self.settings = settings.with_changes(burst_mode=True, burst_window_s=_NEVER_S)
        self.store = store or Store.open(settings.database_url)
        self.inbox = Inbox(self.store)
        # Striped, so the set stays bounded however many chats a long-running server sees.
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._kept: OrderedDict[int, AgentSession] = OrderedDict()  # loaded chats, least recently used first
        self._kept_lock = threading.Lock()
        self._lock_files: dict[int, IO[bytes]] = {}  # SQLite: each stripe's lock file, opened once

    def settings_for(self, overrides: Mapping[str, Any]) -> Settings:
        """The server's settings with a chat's overrides (the eval bench's ``settings``): plain Settings fields by
        name, ``pack`` (a pack next to the server's), anything else a pack setting. The server still closes
        bursts itself."""
        if not overrides:
            return self.settings
        values = dict(overrides)
        changes: dict[str, Any] = {}
        pack = values.pop("pack", None)
        if pack is not None:
            directory = self.settings.pack_dir.parent / str(pack)
            if not str(pack).isidentifier() or not (directory / "pack.yaml").is_file():
                raise ValueError(f"unknown pack {pack!r}")
            changes["pack_dir"] = directory
        current = {name: getattr(self.settings, name) for name in Settings.__dataclass_fields__}
        for name in [n for n in values if n in current]:
            if name in _FIXED or not (current[name] is None or isinstance(current[name], str | int | float | bool)):
                raise ValueError(f"setting {name!r} cannot be changed per chat")
            changes[name] = values.pop(name)
        settings = self.settings.with_changes(**changes) if changes else self.settings
        settings = settings.with_pack_settings(**values) if values else settings
        return settings.with_changes(burst_window_s=_NEVER_S) if settings.burst_mode else settings

    def new_chat(self, source: str = "server", title: str = "", settings: Settings | None = None) -> int:
        """A new ``chats`` row. With the server's own settings its session is kept at once (the first request
        then loads nothing); with a chat's overrides the first turn loads it."""
        if source not in CHAT_SOURCES:
            raise ValueError(f"unknown chat source {source!r}; one of: {', '.join(CHAT_SOURCES)}")
        title = title or time.strftime("Conversa %d/%m %H:%M")
        if settings is None or settings is self.settings:
            session = AgentSession.new(self.settings, title=title, store=self.store, source=source)
            self._keep(session)
            return session.chat_id
        return self.store.create_chat(title, pack=get_pack(settings.pack_dir).name, state={}, source=source)

    @contextlib.contextmanager
    def exclusive(self, chat_id: int) -> Iterator[None]:
        """One turn at a time per chat: this process's lock, then one every process sees — on PostgreSQL an
        advisory lock, on a SQLite file an ``flock`` on a lock file next to it — held for the turn, so two
        processes (servers, Lambda instances) never answer the same queued messages. Both die with their
        process: a killed server never leaves a chat locked."""
        stripe = chat_id % LOCK_STRIPES
        with self._locks[stripe]:
            if self.store.engine.dialect.name != "postgresql":
                with self._file_lock(stripe):
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

    @contextlib.contextmanager
    def _file_lock(self, stripe: int) -> Iterator[None]:
        """The stripe's lock file, locked (``fcntl.flock``: SQLite's processes share one machine); nothing for an
        in-memory database or where ``fcntl`` is missing. Called under the stripe's thread lock."""
        handle = self._lock_files.get(stripe)
        if handle is None:
            path = _sqlite_path(self.store.url)
            if path is None or fcntl is None:
                yield
                return
            folder = path.with_name(path.name + ".turn-locks")
            folder.mkdir(parents=True, exist_ok=True)
            handle = self._lock_files[stripe] = open(folder / f"{stripe}.lock", "a+b")  # noqa: SIM115  (kept open)
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def post(self, chat_id: int, messages: Sequence[Incoming], *, settings: Settings | None = None,
             at: float | None = None, trace: bool = False,
             api_responses: Mapping[str, Mapping[str, Any]] | None = None) -> ChatAnswer:
        """Queue ``messages`` and answer them at once, as one burst (``POST /chat``). ``at``: the clock of the
        turn (eval hooks; a message's own ``at`` is when it was written); ``trace``: the turns' traces too;
        ``api_responses``: fixed answers of the pack's API for this turn (a golden's, eval hooks).
        Raises :class:`UnknownChat`, queueing nothing, when there is no such chat."""
        with self.exclusive(chat_id):
            stamp = self._stamp(chat_id)
            if stamp is None:
                raise UnknownChat(chat_id)
            waiting = bool(stamp[4])
            if waiting:  # messages wait in the chat's inbox (a webhook's): these join them there, one burst
                stamp, queued = self._queue(chat_id, messages, at)
            else:  # answered within this request, never queued: the turn's own transaction writes them with their
                # replies (a failed turn, with its error), and the caller has its answer only then
                queued = [QueuedMessage(-i, chat_id, m.text, m.source, tuple(m.attachments), "queued", None,
                                        _written_at(m, at)) for i, m in enumerate(messages, 1)]
            session = self._session(chat_id, settings, at, api_responses, stamp=stamp)
            answer = self._answer(session, trace=trace, queued=queued)
            if not waiting and session.save_error is not None:  # not written: queued now, answered again later
                self._queue(chat_id, messages, at)
            return answer

    def answer(self, chat_id: int) -> ChatAnswer:
        """Answer every queued message of the chat in one turn (nothing queued: no turn, no reply)."""
        with self.exclusive(chat_id):
            return self._answer(self._session(chat_id, None, None))

    def event(self, chat_id: int, name: str, text: str = "", *, settings: Settings | None = None,
              at: float | None = None, trace: bool = False,
              api_responses: Mapping[str, Mapping[str, Any]] | None = None) -> ChatAnswer:
        """A journey event on the chat (the eval bench's), one of :data:`EVENTS`: ``idle`` (the re-engagement
        follow-up, when due), ``request_handoff``, ``hand_back``, ``operator_reply`` (``text``)."""
        run = _EVENTS.get(name)
        if run is None:
            raise ValueError(f"unknown event {name!r}")
        with self.exclusive(chat_id):
            session = self._session(chat_id, settings, at, api_responses)
            before = len(session.messages)
            result = run(session, text)
            answer = self._summary(session, before, [result] if result is not None else [], None, trace)
            self._keep(session)
            return answer

    def _queue(self, chat_id: int, messages: Sequence[Incoming], at: float | None) -> tuple[Any,
                                                                                            list[QueuedMessage]]:
        """One transaction: the chat's stamp (:class:`UnknownChat`, nothing queued, when there is no such chat),
        ``messages`` queued, and every queued message of the chat, oldest first (when none waited before, the ones
        just written, as written)."""
        try:
            with self.store.begin() as conn:
                stamp = conn.execute(_STAMP, {"chat": chat_id}).first()
                if stamp is None:
                    raise UnknownChat(chat_id)
                queued = []
                for message in messages:
                    created = _written_at(message, at)
                    row_id = self.inbox.put_in(conn, chat_id, message.text, message.attachments,
                                               source=message.source, created_at=created)
                    queued.append(QueuedMessage(row_id, chat_id, message.text, message.source,
                                                tuple(message.attachments), "queued", None, created))
                return stamp, self.inbox.queued_in(conn, chat_id) if stamp[4] else queued
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.store.url)) from exc

    # ---------------------------------------------------------------- loaded sessions
    def _session(self, chat_id: int, settings: Settings | None, at: float | None,
                 api_responses: Mapping[str, Mapping[str, Any]] | None = None, *, stamp: Any = None) -> AgentSession:
        """The chat's session: the kept one while nobody else wrote the chat, else loaded afresh (another process —
        a second server, a Lambda, the playground — may have answered it since). ``stamp``: the chat's, read under
        the same lock (None: read here). Call under ``exclusive``."""
        with self._kept_lock:
            kept = self._kept.pop(chat_id, None)
        plain = (settings is None or settings is self.settings) and at is None and not api_responses
        row = self._stamp(chat_id) if stamp is None else stamp
        if row is None:
            raise UnknownChat(chat_id)
        if kept is not None and plain and self._unchanged(kept, row):
            kept.engine = ENGINES.get(kept.settings, self.store)  # the one a load would take (never a closed one)
            kept.erasure_checked = True  # the stamp, read under this lock, has the erasure time: no second read
            return kept
        session = self._load(chat_id, settings, at, api_responses)
        session.erasure_checked = True  # the load read it, under this lock too
        return session

    def _stamp(self, chat_id: int) -> Any:
        """The chat's state, erasure time and written message and trace counts (None: no such chat)."""
        with self.store.engine.connect() as conn:
            return conn.execute(_STAMP, {"chat": chat_id}).first()

    def _unchanged(self, session: AgentSession, row: Any) -> bool:
        state, forgotten_at, written_messages, written_traces = row[:4]
        if (written_messages, written_traces) != (len(session.messages), len(session.traces)):
            return False
        if _naive(forgotten_at) != _naive(session.forgotten_at):
            return False
        stored = open_state(self.store.cipher, state, f"chat #{session.chat_id}'s state")
        return bool(stored == json.loads(json.dumps(session.state.to_dict(), default=str)))

    def _keep(self, session: AgentSession) -> None:
        """Keep a session for the chat's next request: a plain one (the server's settings and clock, no pinned API
        answers) whose turns are all written."""
        if session.settings is not self.settings or session.clock is not time.time or session.pending \
                or session.save_error is not None:
            return
        session.erasure_checked = False  # checked again, by the stamp, when the session is taken back
        with self._kept_lock:
            self._kept[session.chat_id] = session
            while len(self._kept) > KEPT_SESSIONS:
                self._kept.popitem(last=False)

    def _load(self, chat_id: int, settings: Settings | None, at: float | None,
              api_responses: Mapping[str, Mapping[str, Any]] | None = None) -> AgentSession:
        clock = time.time if at is None else (lambda: at)
        session = AgentSession.load(settings or self.settings, chat_id, store=self.store, clock=clock)
        if api_responses:
            # The runner's own way (evals/runner.py): the pack's tools answering from the golden's table.
            base = session.engine
            tools = base.pack.tool_registry(session.settings, fixed_responses=api_responses)
            session.engine = Engine(session.settings, base.gateway, tools=tools, knowledge=base.knowledge)
        return session

    def _answer(self, session: AgentSession, *, trace: bool = False,
                queued: Sequence[QueuedMessage] | None = None) -> ChatAnswer:
        results: list[TurnResult] = []
        worker = ChatWorker(session.settings, session.chat_id, store=self.store, session=session,
                            clock=session.clock, on_turn=results.append)
        before = len(session.messages)
        worker.answer_now()
        worker.step(queued)
        answer = self._summary(session, before, results, worker.error, trace)
        if worker.error is None:
            self._keep(session)
        return answer

    def _summary(self, session: AgentSession, before: int, results: list[TurnResult], failure: str | None,
                 trace: bool) -> ChatAnswer:
        new = session.messages[before:] if len(session.messages) >= before else list(session.messages)
        answer = _summary(session.chat_id, session, new, failure)
        if not trace:
            return answer
        chat = self.store.get_chat(session.chat_id) or {}
        unmasked = self.eval_hooks and chat.get("source") == "eval"
        turns = [_turn_json(r, unmasked) for r in results]
        keys = ("feature_name", "model", "role", "status", "error", "input_tokens", "output_tokens", "price",
                "usage_source")
        rows = self.store.cost_rows(chat_id=session.chat_id, limit=100_000)
        ledger = json_safe([{k: row.get(k) for k in keys} for row in reversed(rows)])  # prices: exact strings
        raw = json_safe(dict(session.state.attributes)) if unmasked else None
        return replace(answer, turns=turns, ledger=ledger, raw_attributes=raw)


def _written_at(message: Incoming, at: float | None) -> datetime:
    """When a request's message was written: its own ``at``, else the request's, else now."""
    written = message.at if message.at is not None else at
    return utcnow() if written is None else datetime.fromtimestamp(written, UTC)


def _turn_json(result: TurnResult, unmasked: bool) -> dict[str, Any]:
    """One answered turn for ``POST /chat``'s trace: its trace as stored (masked) and what the TurnResult says
    (the replies as sent; the API calls unmasked only for an eval chat with the eval hooks on)."""
    stored = result.trace.to_json()
    return json_safe({
        "trace": stored, "replies": [m.text for m in result.replies], "step_before": result.step_before,
        "step_after": result.step_after, "message_codes": result.message_codes, "customer_text": result.customer_text,
        "tool_calls": result.tool_calls if unmasked else stored.get("tool_calls") or [], "errors": result.errors,
        "guard_violations": result.guard_violations,
        "usage": {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens,
                  "cost_usd": result.usage.cost_usd}})


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


def _naive(moment: Any) -> Any:
    """A time without its zone (SQLite hands back naive UTC datetimes, PostgreSQL aware ones)."""
    return moment.replace(tzinfo=None) if moment is not None and getattr(moment, "tzinfo", None) else moment
