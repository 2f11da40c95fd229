"""AgentSession: one conversation — burst buffer, turns, handoff, re-engagement, persistence.

Customers write "oi" / "tudo bem?" / "queria uma informação" as three messages (deck 2.6). In burst
mode the session holds messages that arrive within ``burst_window_s`` of the previous one and
answers once for the merged burst; with ``burst_mode=False`` it answers each message ("old school").
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from agent.config import Settings
from agent.core.engine import Engine, TurnOutcome, state_view
from agent.core.pack import get_pack
from agent.core.trace import TurnTrace
from agent.errors import StoreError
from agent.privacy import mask_secrets, scrub, scrub_deep
from agent.core.journey import JourneyState, StateDict
from agent.adapters.schema import PEOPLE_SOURCES
from agent.adapters.store import CostRow, Store
from agent.text import clean_text, json_storable, storable
from agent.types import Attachment, Message, MessageSource, Usage

class EngineCache:
    """Built engines by what they are built from (``Settings.engine_key``), least recently used first.

    Engines are cheap to reuse and costly to build (pack, journey, indexes, HTTP pools). Models and
    temperatures are per call, so switching them reuses the engine; a dropped engine is closed.
    """

    def __init__(self, maxsize: int = 8) -> None:
        self.maxsize = maxsize
        self._engines: OrderedDict[tuple[Any, ...], Engine] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(settings: Settings, store: Store) -> tuple[Any, ...]:
        pack = get_pack(settings.pack_dir)
        return (id(store), settings.engine_key(), tuple(sorted(pack.resolve_settings(settings).items())))

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self._engines

    def get(self, settings: Settings, store: Store) -> Engine:
        from agent.adapters.gateway import Gateway

        key = self.key(settings, store)
        with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._engines.move_to_end(key)
                return engine
            engine = self._engines[key] = Engine(settings, Gateway(settings, store))
            while len(self._engines) > self.maxsize:
                _, dropped = self._engines.popitem(last=False)
                dropped.close()
            return engine

    def clear(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.close()
            self._engines.clear()


ENGINES = EngineCache()


def is_warm(settings: Settings) -> bool:
    """True when the engine for ``settings`` is built, so a first message is answered at once."""
    return ENGINES.key(settings, Store.open(settings.database_url)) in ENGINES


def _engine_for(settings: Settings, store: Store) -> Engine:
    return ENGINES.get(settings, store)


@dataclass
class TurnResult:
    """What the UI, CLI and evals get back from one answered turn."""

    replies: list[Message]
    trace: TurnTrace
    step_before: str
    step_after: str
    attributes: dict[str, Any]
    tool_calls: list[dict[str, Any]]
    message_codes: list[int]
    usage: Usage
    errors: list[str] = field(default_factory=list)
    guard_violations: list[str] = field(default_factory=list)
    customer_text: str = ""
    turn_index: int = 0
    # The live detractor alert ({kind, reason, action, score}; agent/core/assess.py), or None.
    alert: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(m.text for m in self.replies)


class AgentSession:
    """One conversation with the agent. Not thread-safe: one per browser session / eval case."""

    def __init__(self, settings: Settings, chat_id: int, *, store: Store | None = None,
                 state: JourneyState | None = None, messages: Sequence[Message] = (),
                 traces: Sequence[TurnTrace] = (), engine: Engine | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store or Store.open(settings.database_url)
        self.engine = engine or _engine_for(settings, self.store)
        self.chat_id = chat_id
        self.state: JourneyState = state or self.engine.journey.initial_state()
        self.messages: list[Message] = list(messages)
        self.traces: list[TurnTrace] = list(traces)
        self.pending: list[Message] = []
        self._unsaved: list[Message] = []
        self._unsaved_traces: list[tuple[int | None, TurnTrace]] = []
        # What the customer typed (secrets masked) where it differs from the scrubbed message (position in
        # ``messages``): memory only, never written; "Record as golden" replays it (evals/record.py).
        self.typed: dict[int, str] = {}
        self._unsaved_costs: list[CostRow] = []  # the ledger rows of turns not yet written
        self._unsaved_inbox: list[int] = []  # their chat_inbox rows, marked done with them
        self.save_error: str | None = None
        self.burst_deadline: float | None = None
        self.clock = clock
        self.last_activity = self.messages[-1].created_at if self.messages else clock()
        # When this conversation's data were last erased, as this session knows it: an erasure made elsewhere
        # (``python -m agent privacy forget``) is noticed before the next turn and write (``_notice_erasure``).
        self.forgotten_at: datetime | None = None
        # Set by a caller that has just read ``forgotten_at`` from the database itself (the server's freshness
        # check, under the chat's turn lock): the next turn skips its own first read of it.
        self.erasure_checked = False

    # ---------------------------------------------------------------- construction
    @classmethod
    def new(cls, settings: Settings, *, title: str = "", store: Store | None = None,
            engine: Engine | None = None, clock: Callable[[], float] = time.time,
            source: str = "playground") -> AgentSession:
        """A new conversation (a new ``chats`` row); ``source`` says who started it (see ``CHAT_SOURCES``)."""
        store = store or Store.open(settings.database_url)
        engine = engine or _engine_for(settings, store)
        state = engine.journey.initial_state()
        chat_id = store.create_chat(title or time.strftime("Conversa %d/%m %H:%M"), pack=engine.pack.name,
                                    state=state.to_dict(), source=source)
        return cls(settings, chat_id, store=store, state=state, engine=engine, clock=clock)

    @classmethod
    def load(cls, settings: Settings, chat_id: int, *, store: Store | None = None,
             clock: Callable[[], float] = time.time) -> AgentSession:
        """Restore a conversation (messages, state, traces) from the database."""
        store = store or Store.open(settings.database_url)
        chat = store.get_chat(chat_id)
        if chat is None:
            raise KeyError(f"No conversation #{chat_id} in {store.url}")
        messages = [
            Message(role=row["role"], text=row["text"], created_at=row["created_at"].timestamp(),
                    source=row["source"], meta=dict(row["meta"] or {}))
            for row in store.list_messages(chat_id)
        ]
        traces = [TurnTrace.from_json(row["trace"]) for row in store.list_traces(chat_id)]
        state = JourneyState.from_dict(chat["state"]) if chat.get("state") else None
        session = cls(settings, chat_id, store=store, state=state, messages=messages, traces=traces, clock=clock)
        session.forgotten_at = chat.get("forgotten_at")
        return session

    def update_settings(self, settings: Settings) -> None:
        """Switch models/temperatures live: applies from the next turn on."""
        self.settings = settings
        self.engine = _engine_for(settings, self.store)

    # ---------------------------------------------------------------- customer side
    def send(self, text: str = "", attachments: Sequence[Attachment] = (), *, now: float | None = None,
             source: MessageSource | None = None, inbox_id: int | None = None) -> TurnResult | None:
        """A customer message. Returns the turn's result, or None while a burst window is open.
        ``inbox_id``: its ``chat_inbox`` row, marked ``done`` in the transaction that writes the turn."""
        now = self.clock() if now is None else now
        kind: MessageSource = source or (attachments[0].kind if attachments else "text")
        # One entry for every channel: invalid UTF-8, NUL, control characters never reach the queue.
        cleaned = clean_text(text)
        meta: dict[str, Any] = {"unreadable_text": True} if text.strip() and not cleaned else {}
        if inbox_id is not None:
            meta["inbox_id"] = inbox_id
        message = Message("customer", cleaned, created_at=now, source=kind, attachments=tuple(attachments),
                          meta=meta)
        self.pending.append(message)
        self.last_activity = now
        if not self.settings.burst_mode or self.settings.burst_window_s <= 0:
            return self.flush(now=now, force=True)
        self.burst_deadline = now + self.settings.burst_window_s
        return None

    def due(self, now: float | None = None) -> bool:
        """True when a pending burst's window has closed."""
        now = self.clock() if now is None else now
        return bool(self.pending) and self.burst_deadline is not None and now >= self.burst_deadline

    def seconds_left(self, now: float | None = None) -> float:
        if not self.pending or self.burst_deadline is None:
            return 0.0
        return max(0.0, self.burst_deadline - (self.clock() if now is None else now))

    def flush(self, *, now: float | None = None, force: bool = False) -> TurnResult | None:
        """Answer the pending burst (when its window closed, or at once with ``force``)."""
        now = self.clock() if now is None else now
        if not self.pending or (not force and not self.due(now)):
            return None
        burst, self.pending, self.burst_deadline = self.pending, [], None
        before = self.state
        with self._turn_ledger():
            outcome = self.engine.run_turn(self.chat_id, self.state, self.messages, burst, self.settings)
        self._unsaved_inbox.extend(int(m.meta["inbox_id"]) for m in burst if m.meta.get("inbox_id") is not None)
        self._record_customer(burst, outcome, before)
        result = self._apply(outcome, before, now)
        alert = result.alert or {}
        if alert.get("kind") == "low_score" and alert.get("action") == "handoff" and not self.state.handoff:
            # The pack hands a detractor to a person (insights.yaml): the handoff's replies join this turn's.
            handed = self.request_handoff(now=now)
            result.replies += handed.replies
            result.message_codes += handed.message_codes
            result.step_after, result.usage = handed.step_after, result.usage + handed.usage
        return result

    def record_failed_turn(self, burst: Sequence[Message], error: str, *, now: float | None = None) -> None:
        """A burst whose turn raised: its messages stay in the conversation with the error under them
        (masked like any customer message), so nothing vanishes and the next message still runs."""
        now = self.clock() if now is None else now
        for i, message in enumerate(burst):
            text = scrub(clean_text(message.text))  # the turn's ingestion never ran
            meta = {"burst_size": len(burst), "burst_index": i, "failed": True,
                    **({"filename": message.attachments[0].filename} if message.attachments else {})}
            self._persist_message(replace(message, text=text, attachments=(), meta=meta))
        self._persist_message(Message("system", error, created_at=now, source="template",
                                      meta={"errors": [error], "failed": True}))
        self.last_activity = now
        self._save()

    # ---------------------------------------------------------------- operator side
    @property
    def in_handoff(self) -> bool:
        return self.state.handoff

    def operator_reply(self, text: str, *, now: float | None = None) -> Message:
        """A human operator answers the customer during handoff."""
        message = Message("operator", text.strip(), created_at=self.clock() if now is None else now,
                          source="operator")
        self._persist_message(message)
        self._save()
        return message

    def request_handoff(self, *, now: float | None = None) -> TurnResult:
        """The operator takes over (e.g. from the UI), as if the customer had asked for a person."""
        before = self.state
        with self._turn_ledger():
            outcome = self.engine.system_event(self.chat_id, self.state, "ask_human", self.messages, self.settings)
        return self._apply(outcome, before, self.clock() if now is None else now)

    def hand_back(self, *, now: float | None = None) -> TurnResult | None:
        """The operator hands the conversation back to the agent, which resumes the journey."""
        if not self.state.handoff:
            return None
        before = self.state
        with self._turn_ledger():
            outcome = self.engine.system_event(self.chat_id, self.state, "operator_handback", self.messages,
                                               self.settings)
        return self._apply(outcome, before, self.clock() if now is None else now)

    def reengage(self, now: float | None = None) -> TurnResult | None:
        """Follow up with a customer idle past ``reengagement_after_s`` (simulated clock welcome)."""
        now = self.clock() if now is None else now
        if self.state.handoff or self.pending or now - self.last_activity < self.settings.reengagement_after_s:
            return None
        if self.messages and self.messages[-1].meta.get("reengagement"):
            return None  # one follow-up per silence, not one per check
        before = self.state
        with self._turn_ledger():
            outcome = self.engine.system_event(self.chat_id, self.state, "idle_timeout", self.messages,
                                               self.settings)
        if not outcome.replies:
            return None
        return self._apply(outcome, before, now, meta={"reengagement": True})

    # ---------------------------------------------------------------- the customer's rights (LGPD)
    def forget(self, *, keep: Sequence[Message] = ()) -> dict[str, Any]:
        """Erase this conversation's data (``agent.privacy_rights.forget_chat``): its messages and traces are
        deleted, its queued messages emptied, the captured attributes and API results dropped, consent revoked;
        the ledger keeps its rows (tokens, cost) without the chat link. ``keep``: messages (the agent's
        "I erased your data") written again afterwards. Returns the counts per table."""
        from agent.privacy_rights import forget_chat, forgotten_state

        kept = {**forgotten_state(self.state.to_dict()), "previous_step": self.state.previous_step}
        counts = forget_chat(self.store, self.chat_id, kept).as_dict()
        self.forgotten_at = self._erased_at()
        self.state = JourneyState.from_dict(kept)
        self.messages, self.traces, self.typed = [], [], {}
        self._unsaved, self._unsaved_traces = [], []
        self._unsaved_costs = [replace(c, fk_id_chat=None) for c in self._unsaved_costs]  # kept, unlinked
        for message in keep:
            self._persist_message(replace(message, meta={k: v for k, v in message.meta.items() if k != "turn"}))
        self._save()
        return counts

    def _erased_at(self) -> datetime | None:
        try:
            return self.store.forgotten_at(self.chat_id)
        except StoreError:  # the write that follows reports the database's trouble
            return self.forgotten_at

    def _notice_erasure(self) -> None:
        """This conversation was erased elsewhere since this session read it (the ``privacy forget`` command
        while the app holds it): drop what memory still holds from before — the captured attributes, API
        results and consent, the written messages and traces — so the next write does not bring them back."""
        erased = self._erased_at()
        if erased is None or erased == self.forgotten_at:
            return
        from agent.privacy_rights import forgotten_state

        self.forgotten_at = erased
        self.state = JourneyState.from_dict({**forgotten_state(self.state.to_dict()),
                                             "previous_step": self.state.previous_step})
        unsaved = {id(m) for m in self._unsaved}
        self.messages = [m for m in self.messages if id(m) in unsaved]
        self.traces = [t for _, t in self._unsaved_traces]
        self.typed = {}

    def log_operator_access(self, operator: str) -> int:
        """Record in ``access_log`` that ``operator`` sees this conversation's data unmasked (the Chat page's
        operator view, before it shows ``state.attributes``). Raises ValueError without a name."""
        from agent.privacy_rights import log_access

        return log_access(self.store, operator, self.chat_id, "operator_view")

    # ---------------------------------------------------------------- views
    def state_view(self) -> StateDict:
        return state_view(self.state, self.engine.pack)

    @property
    def total_usage(self) -> Usage:
        total = Usage()
        for trace in self.traces:
            total = total + Usage(input_tokens=trace.input_tokens, output_tokens=trace.output_tokens,
                                  cost_usd=trace.cost_usd, calls=1, source="provider")
        return total

    # ---------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _turn_ledger(self) -> Iterator[None]:
        """The turn's ledger rows wait to be written with its messages, state and trace (``_save``: one
        transaction). A turn that raises has its rows written on their own by the gateway. An erasure made
        elsewhere since the last turn is noticed first: the turn never runs on data already forgotten."""
        if self.erasure_checked:
            self.erasure_checked = False
        else:
            self._notice_erasure()
        with self.engine.gateway.deferred_ledger() as rows:
            yield
        self._unsaved_costs.extend(rows)

    def _record_customer(self, burst: list[Message], outcome: TurnOutcome, before: JourneyState) -> None:
        media = iter(outcome.media)
        for i, message in enumerate(burst):
            meta: dict[str, Any] = {"turn": len(self.traces), "burst_size": len(burst), "burst_index": i}
            for attachment in message.attachments:
                info = next(media, {})
                meta.setdefault("media", []).append({k: v for k, v in info.items() if k != "bytes"})
                meta["filename"] = attachment.filename
            # Scrubbed at ingestion (agent.privacy): no secret or personal identifier is kept, consent or not.
            text = outcome.scrubbed_inputs[i] if i < len(outcome.scrubbed_inputs) else ""
            if not text and meta.get("media"):
                text = " ".join(str(m.get("text") or "") for m in meta["media"]).strip()
            typed = mask_secrets(clean_text(message.text))  # a secret is never kept, even in memory
            if text != typed:
                self.typed[len(self.messages)] = typed
            self._persist_message(replace(message, text=text, attachments=(), meta=meta))

    def _apply(self, outcome: TurnOutcome, before: JourneyState, now: float,
               meta: dict[str, Any] | None = None) -> TurnResult:
        turn_index = len(self.traces)
        trace = outcome.trace.evolve(turn=turn_index)
        if trace.system_event is None:
            trace = trace.evolve(alert=self._alert(trace))
        replies = []
        codes = [c for c in outcome.message_codes if isinstance(c, int)]
        for text in outcome.replies:
            message = Message("agent", text, created_at=now, source="model", meta={
                "turn": turn_index, "message_codes": outcome.message_codes, "errors": outcome.errors,
                "step": outcome.state.step, **(meta or {})})
            self._persist_message(message)
            replies.append(message)
        if outcome.errors and not outcome.replies:
            self._persist_message(Message("system", " · ".join(outcome.errors), created_at=now, source="template",
                                          meta={"turn": turn_index, "errors": outcome.errors}))
        self.state = outcome.state
        self.traces.append(trace)
        self.last_activity = now
        self._save(trace=trace, turn_index=turn_index)
        if outcome.state.forget and not self.save_error:
            # The journey says the customer asked to erase this conversation's data (``forget: true``): the
            # turn is written (its ledger rows with it), then erased; its replies stay, they say so.
            self.forget(keep=replies)
        if self.save_error:
            outcome.errors.append(self.save_error)
        return TurnResult(
            replies=replies, trace=trace, step_before=before.step, step_after=outcome.state.step,
            attributes=state_view(outcome.state, self.engine.pack)["attributes"], tool_calls=outcome.tool_calls,
            message_codes=codes, usage=outcome.usage, errors=outcome.errors,
            guard_violations=outcome.guard_violations, customer_text=outcome.customer_text, turn_index=turn_index,
            alert=dict(trace.alert) if trace.alert else None)

    def _alert(self, trace: TurnTrace) -> dict[str, Any] | None:
        """The detractor alert of this turn (strongly negative message, running score under the pack's threshold)."""
        from agent.core import assess

        pack = self.engine.pack
        return assess.alert(pack, assess.load_spec(pack.directory), [*self.traces, trace])

    def _status(self) -> str:
        if self.state.handoff:
            return "handoff"
        return "finalized" if self.state.step in self.engine.pack.terminal_steps else "open"

    def _persist_message(self, message: Message) -> None:
        """Queue a message; ``_save`` writes the turn's messages, state and trace in one transaction."""
        self.messages.append(message)
        self._unsaved.append(message)

    def _save(self, *, trace: TurnTrace | None = None, turn_index: int | None = None) -> None:
        """Write queued messages, the state and the turn's trace; on a database error keep them queued."""
        if trace is not None:
            self._unsaved_traces.append((turn_index, trace))
        self._notice_erasure()
        chat_values = {"state": self.state.to_dict(), "status": self._status()}
        try:
            if not self._unsaved_traces:
                self.store.record_turn(self.chat_id, self._rows(), chat_values=chat_values, costs=self._unsaved_costs,
                                       done_inbox=self._unsaved_inbox)
                self._unsaved, self._unsaved_costs, self._unsaved_inbox = [], [], []
            while self._unsaved_traces:
                index, pending = self._unsaved_traces[0]
                self.store.record_turn(self.chat_id, self._rows(), chat_values=chat_values,
                                       trace=pending.to_json(), turn_index=index,
                                       costs=self._unsaved_costs, done_inbox=self._unsaved_inbox)
                self._unsaved, self._unsaved_costs, self._unsaved_inbox = [], [], []
                self._unsaved_traces.pop(0)
        except StoreError as exc:
            # Kept in memory and written with the next turn: the conversation goes on, nothing is lost.
            self.save_error = f"{exc} — this turn is kept and saved with the next message."
            return
        self.save_error = None

    def _rows(self) -> list[dict[str, Any]]:
        # storable: a NUL or a lone surrogate would fail every later write (the queue would never empty).
        # scrub: the agent's and the operator's words too (a reply may echo an address, an operator a document number).
        return [{"role": m.role, "text": storable(scrub(m.text)), "source": m.source,
                 "meta": json_storable(scrub_deep(m.meta)),
                 "created_at": datetime.fromtimestamp(m.created_at or time.time(), UTC)} for m in self._unsaved]


class ConversationSummary(TypedDict):
    """One row of :func:`list_conversations`."""

    chat_id: int
    title: str
    status: str
    step: str | None
    updated_at: datetime
    source: str  # playground, cli, server, eval, simulation


def list_conversations(settings: Settings, limit: int = 50,
                       sources: Iterable[str] | None = PEOPLE_SOURCES) -> list[ConversationSummary]:
    """Recent conversations for the "load a past conversation" picker: people's chats by default
    (``sources=None`` for every chat, the bench's eval and simulation runs included)."""
    store = Store.open(settings.database_url)
    return [{"chat_id": c["id_chat"], "title": c["title"], "status": c["status"],
             "step": (c.get("state") or {}).get("step"), "updated_at": c["updated_at"],
             "source": c.get("source") or "playground"}
            for c in store.list_chats(limit, sources)]


# Warm-ups by engine key: the one running (or waiting for its delay), and the last failure with its time.
_WARMING: dict[tuple[Any, ...], threading.Thread] = {}
_WARM_FAILED: dict[tuple[Any, ...], tuple[float, str]] = {}
_WARM_LOCK = threading.Lock()
WARM_RETRY_AFTER_S = 30.0


def _done() -> threading.Thread:
    thread = threading.Thread(target=lambda: None, daemon=True)
    thread.start()
    return thread


def warm_up(settings: Settings, delay_s: float = 0.0) -> threading.Thread:
    """Build the engine for ``settings`` in the background (loads the pack and indexes, and LiteLLM when a role
    uses a provider's model),
    so the customer's first message is answered at once instead of after several seconds.

    Cheap to call on every script run: an engine already built returns a finished thread, a warm-up
    under way is returned as is, and a warm-up starts again when its engine was dropped from the cache
    or its build failed (after ``WARM_RETRY_AFTER_S``: :func:`warm_up_error` says why meanwhile)."""
    store = Store.open(settings.database_url)
    key = ENGINES.key(settings, store)
    with _WARM_LOCK:
        if key in ENGINES:
            return _done()
        running = _WARMING.get(key)
        if running is not None and running.is_alive():
            return running
        failed = _WARM_FAILED.get(key)
        if failed is not None and time.monotonic() - failed[0] < WARM_RETRY_AFTER_S:
            return _done()

        def build() -> None:
            try:
                _preload(settings)
                ENGINES.get(settings, store)
            except Exception as exc:  # noqa: BLE001  (kept for warm_up_error; the first turn raises it again)
                with _WARM_LOCK:
                    _WARM_FAILED[key] = (time.monotonic(), f"{type(exc).__name__}: {exc}")
                raise
            with _WARM_LOCK:
                _WARM_FAILED.pop(key, None)

        for done in [k for k, t in _WARMING.items() if not t.is_alive()]:
            del _WARMING[done]
        thread = threading.Timer(delay_s, build)
        thread.daemon = True
        thread.start()
        _WARMING[key] = thread
        return thread


def _preload(settings: Settings) -> None:
    """What a first turn loads besides the engine: the pack's intents (the decision prompt's menu) and,
    for local/rules, its tokenizer and intent classifier. Before the engine, so "ready" means a first
    answer at full speed (they cost more than a second of the first turn otherwise)."""
    from agent.brain import nlu

    nlu.load_intents(settings.pack_dir)
    if not settings.all_local:
        # A provider's model: LiteLLM (≈ 3 s to import) loads now, not during the first answer. With local/*
        # models only it never loads (the gateway answers them in process).
        from agent.adapters.gateway import load_litellm

        load_litellm()
    if any(cfg.is_local for cfg in settings.roles.values()):
        from agent.adapters.providers import local

        local.preload()
        nlu.load_classifier(settings.pack_dir)


def warm_up_error(settings: Settings) -> str | None:
    """Why the last warm-up of the engine for ``settings`` failed, or None."""
    key = ENGINES.key(settings, Store.open(settings.database_url))
    with _WARM_LOCK:
        failed = _WARM_FAILED.get(key)
    return failed[1] if failed else None
