"""The database: the Store and the few queries the app needs.

SQLite file under ``data/`` by default (WAL mode), any SQLAlchemy URL via ``DATABASE_URL``.
The tables are in :mod:`agent.adapters.schema`, the ordered schema changes in
:mod:`agent.adapters.migrations`; opening a Store applies the pending ones.

With ``CONVERSA_ENCRYPTION_KEY`` set (:mod:`agent.adapters.crypto`), the customer's words are
encrypted on write and decrypted on read here: ``messages.text`` and ``.meta``, ``traces.trace``,
``chats.state`` (its step stays clear) — and the inbox's texts and attachments in
:mod:`agent.adapters.inbox`. The ledger (tokens, cost, model, feature) stays clear.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, event, func, insert, inspect, or_, select, update
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from agent.adapters.crypto import (
    Cipher,
    DecryptionError,
    default_cipher,
    open_json,
    open_state,
    open_text,
    seal_json,
    seal_state,
    seal_text,
)
from agent.adapters.migrations import MIGRATIONS
from agent.adapters.pricing import Price
from agent.adapters.schema import (
    CHAT_SOURCES,
    access_log,
    channel_contact,
    chat_inbox,
    chat_insights,
    chat_review,
    chats,
    llm_cost,
    llm_model,
    messages,
    model_values,
    schema_migrations,
    traces,
    utcnow,
)
from agent.errors import StoreError
from agent.privacy import scrub

# A turn's answered inbox rows (built once: building a statement costs more than running it on SQLite).
_INBOX_TEXTS = select(chat_inbox.c.id_inbox, chat_inbox.c.text).where(
    chat_inbox.c.id_inbox.in_(bindparam("ids", expanding=True)))
# One answered row (a turn's usual case): no expanding IN, whose SQL is rendered again at every execution.
_INBOX_TEXT = select(chat_inbox.c.id_inbox, chat_inbox.c.text).where(chat_inbox.c.id_inbox == bindparam("row"))
_INBOX_ANSWERED = update(chat_inbox).where(chat_inbox.c.id_inbox == bindparam("row")).values(
    status="done", error=None, updated_at=bindparam("now"), text=bindparam("scrubbed"),
    attachments=bindparam("no_media"))
# A chat's erasure time: read twice a turn (before it runs and before it is written).
_FORGOTTEN_AT = select(chats.c.forgotten_at).where(chats.c.id_chat == bindparam("chat_id"))
# A turn's chat row (the columns to set are the keys of the parameters besides "chat_row") and its trace.
_CHAT_UPDATE = update(chats).where(chats.c.id_chat == bindparam("chat_row"))
_TRACE_INSERT = insert(traces)


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key of the row a one-row INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("the INSERT returned no primary key")
    return int(key[0])

# ---------------------------------------------------------------- the store


@dataclass
class CostRow:
    """One ledger row before it is written."""

    feature_name: str
    model: str
    input_tokens: int
    output_tokens: int
    price: Decimal
    fk_id_chat: int | None = None
    feat_request_id: str | None = None
    latency_ms: float | None = None
    status: str = "ok"
    error: str | None = None
    role: str | None = None
    usage_source: str | None = None
    audio_seconds: float | None = None
    model_price: Price | None = None
    temperature: float | None = None
    created_at: datetime = field(default_factory=utcnow)


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///"))
    return None


def _describe(exc: SQLAlchemyError, url: str) -> str:
    text = str(getattr(exc, "orig", exc))
    where = _sqlite_path(url) or url.split("@")[-1]
    if "readonly" in text or "read-only" in text:
        return f"The database {where} is read-only — fix its permissions or set DATABASE_URL to a writable place."
    if "locked" in text:
        return f"The database {where} is locked by another program — close it or retry in a moment."
    if "unable to open" in text:
        return f"The database {where} cannot be opened — check the folder exists and is writable."
    return f"Database error on {where}: {text.splitlines()[0] if text else type(exc).__name__}"


class Store:
    """Thread-safe access to the database. One per process (``Store.open`` caches by URL)."""

    _instances: dict[str, Store] = {}
    _lock = threading.Lock()
    _pending_lock = threading.Lock()  # guards pending_costs (held for a list swap only)

    def __init__(self, url: str, *, busy_timeout_s: float = 5.0, keys: str | None = None) -> None:
        """``keys``: the Fernet key list (``CONVERSA_ENCRYPTION_KEY``'s form); None reads it from the
        environment and ``.env``, "" stores in clear."""
        self.url = url
        self.cipher: Cipher | None = default_cipher() if keys is None else Cipher.from_keys(keys)
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_s}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, busy_timeout_s))
        self._model_ids: dict[str, int] = {}
        self._write_lock: Any = threading.RLock() if url.startswith("sqlite") else contextlib.nullcontext()
        # Ledger rows that could not be written yet (read-only or locked database): kept, retried.
        self.pending_costs: list[CostRow] = []
        self.migrate()

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction. SQLite has one writer at a time: threads of this process queue on a
        lock instead of failing with "database is locked" once the busy timeout runs out."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @classmethod
    def open(cls, url: str) -> Store:
        with cls._lock:
            if url not in cls._instances:
                cls._instances[url] = cls(url)
            return cls._instances[url]

    @classmethod
    def adopt(cls, store: Store) -> Store:
        """Make ``store`` the one :meth:`open` returns for its URL in this process (unless one is open
        already): a worker process built with its parent's keys shares it with everything it runs."""
        with cls._lock:
            return cls._instances.setdefault(store.url, store)

    # -- schema
    def migrate(self) -> list[int]:
        """Apply the migrations (:data:`agent.adapters.migrations.MIGRATIONS`) not yet recorded; return their versions."""
        applied: list[int] = []
        try:
            with self.begin() as conn:
                schema_migrations.create(conn, checkfirst=True)
                done = {row[0] for row in conn.execute(select(schema_migrations.c.version))}
            for version, name, apply in MIGRATIONS:
                if version in done:
                    continue
                with self.begin() as conn:
                    apply(conn)
                    conn.execute(insert(schema_migrations).values(version=version, name=name, applied_at=utcnow()))
                applied.append(version)
        except OperationalError as exc:
            raise StoreError(_describe(exc, self.url)) from exc
        return applied

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    # -- models
    def model_id(self, model: str, price: Price | None = None) -> int:
        """``id_llm_model`` for a model string, inserting the model (with its price) when new."""
        if model in self._model_ids:
            return self._model_ids[model]
        for attempt in range(3):
            try:
                found = self._find_or_add_model(model, price)
                break
            except (IntegrityError, OperationalError):
                # Another process added the same model between our SELECT and INSERT (or, on SQLite, wrote
                # since our snapshot): the next look finds its row. The name is unique: never two rows.
                if attempt == 2:
                    raise
        self._model_ids[model] = found
        return found

    def _find_or_add_model(self, model: str, price: Price | None) -> int:
        with self.begin() as conn:
            found = conn.execute(select(llm_model.c.id_llm_model).where(llm_model.c.name == model)).scalar()
            if found is None:
                from agent.adapters.pricing import price_for

                p = price or price_for(model)
                values = model_values(p)
                values.pop("id_llm_model", None)
                values["name"] = model
                now = utcnow()
                found = inserted_id(conn.execute(
                    insert(llm_model).values(**values, created_at=now, updated_at=now)
                ))
        return int(found)

    def models(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(llm_model).order_by(llm_model.c.id_llm_model))]

    def update_model_price(self, model: str, input_per_mtok: Decimal, output_per_mtok: Decimal, currency: str) -> None:
        model_pk = self.model_id(model)
        with self.begin() as conn:
            conn.execute(
                update(llm_model)
                .where(llm_model.c.id_llm_model == model_pk)
                .values(input_price_per_mtok=input_per_mtok, output_price_per_mtok=output_per_mtok,
                        currency=currency, price_source="custom", updated_at=utcnow())
            )

    def price_overrides(self) -> dict[str, Price]:
        """Prices edited by users in the UI (source ``custom``), which win over the data file."""
        out: dict[str, Price] = {}
        for row in self.models():
            if row["price_source"] == "custom":
                out[row["name"]] = Price(
                    model=row["name"], label=row["label"], provider=row["provider"],
                    input_per_mtok=Decimal(str(row["input_price_per_mtok"])),
                    output_per_mtok=Decimal(str(row["output_price_per_mtok"])),
                    currency=row["currency"], per_minute=Decimal(str(row["per_minute_price"])),
                    source="custom", id=row["id_llm_model"],
                )
        return out

    # -- ledger
    def _cost_values(self, row: CostRow) -> dict[str, Any]:
        return {
            "fk_id_chat": row.fk_id_chat,
            "feature_name": row.feature_name,
            "fk_id_llm_model": self.model_id(row.model, row.model_price),
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "feat_request_id": row.feat_request_id,
            "price": row.price,
            "created_at": row.created_at,
            "updated_at": row.created_at,
            "latency_ms": row.latency_ms,
            "status": row.status,
            "error": row.error,
            "role": row.role,
            "usage_source": row.usage_source,
            "audio_seconds": row.audio_seconds,
            "temperature": row.temperature,
        }

    def record_cost(self, row: CostRow) -> int:
        """Write one ledger row (and any rows that failed earlier). Raises StoreError, keeping the row."""
        batch = [*self._take_pending(), row]
        try:
            with self.begin() as conn:
                ids = [inserted_id(conn.execute(insert(llm_cost).values(**self._cost_values(r)))) for r in batch]
        except SQLAlchemyError as exc:
            self._keep_pending(batch)
            raise StoreError(_describe(exc, self.url)) from exc
        return int(ids[-1])

    def record_costs(self, rows: list[CostRow]) -> None:
        """Several ledger rows in one transaction (a turn's calls). Raises StoreError, keeping them."""
        batch = [*self._take_pending(), *rows]
        if not batch:
            return
        try:
            with self.begin() as conn:
                conn.execute(insert(llm_cost), [self._cost_values(r) for r in batch])
        except SQLAlchemyError as exc:
            self._keep_pending(batch)
            raise StoreError(_describe(exc, self.url)) from exc

    def _take_pending(self) -> list[CostRow]:
        """The rows kept from failed writes, now this writer's alone (two threads never both write them)."""
        with self._pending_lock:
            rows, self.pending_costs = self.pending_costs, []
        return rows

    def _keep_pending(self, rows: list[CostRow]) -> None:
        with self._pending_lock:
            self.pending_costs = [*rows, *self.pending_costs]

    def bulk_insert_costs(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Fast insert of raw ledger rows (benchmarks, imports)."""
        with self.begin() as conn:
            conn.execute(insert(llm_cost), list(rows))

    def cost_rows(self, *, chat_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest ledger rows in the deck's layout, with the model name."""
        query = (
            select(llm_cost, llm_model.c.name.label("model"))
            .join(llm_model, llm_model.c.id_llm_model == llm_cost.c.fk_id_llm_model)
            .order_by(llm_cost.c.id_llm_cost.desc())
            .limit(limit)
        )
        if chat_id is not None:
            query = query.where(llm_cost.c.fk_id_chat == chat_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def cost_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(llm_cost)).scalar() or 0)

    # -- chats, messages, traces
    def create_chat(self, title: str = "", pack: str = "", state: Mapping[str, Any] | None = None,
                    source: str = "playground") -> int:
        """A new chat; ``source`` says who started it (one of ``schema.CHAT_SOURCES``)."""
        if source not in CHAT_SOURCES:
            raise ValueError(f"unknown chat source {source!r}; one of {', '.join(CHAT_SOURCES)}")
        now = utcnow()
        with self.begin() as conn:
            return inserted_id(conn.execute(
                insert(chats).values(title=title, pack=pack, state=seal_state(self.cipher, state or {}), source=source,
                                     created_at=now, updated_at=now)
            ))

    def update_chat(self, chat_id: int, **values: Any) -> None:
        if "state" in values:
            values["state"] = seal_state(self.cipher, values["state"])
        with self.begin() as conn:
            conn.execute(update(chats).where(chats.c.id_chat == chat_id).values(**values, updated_at=utcnow()))

    def get_chat(self, chat_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(chats).where(chats.c.id_chat == chat_id)).first()
            return self._chat(dict(row._mapping)) if row else None

    def list_chats(self, limit: int = 50, sources: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Most recently updated chats; only those of ``sources`` when given (e.g. ``PEOPLE_SOURCES``)."""
        query = select(chats).order_by(chats.c.updated_at.desc()).limit(limit)
        if sources is not None:
            query = query.where(chats.c.source.in_(tuple(sources)))
        with self.engine.connect() as conn:
            rows = conn.execute(query)
            return [self._chat(dict(r._mapping), strict=False) for r in rows]

    def _chat(self, row: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
        """A chat row with its state decrypted. ``strict=False`` (lists): a state no configured key opens
        keeps its clear step and ``"unreadable": True`` instead of failing the whole list."""
        chat = dict(row)
        try:
            chat["state"] = open_state(self.cipher, chat.get("state"), f"chat #{chat['id_chat']}'s state")
        except DecryptionError:
            if strict:
                raise
            chat["state"] = {"step": (chat.get("state") or {}).get("step"), "unreadable": True}
        return chat

    def _message(self, row: Mapping[str, Any]) -> dict[str, Any]:
        message = dict(row)
        where = f"message #{message['id_message']}"
        message["text"] = open_text(self.cipher, message["text"], where)
        message["meta"] = open_json(self.cipher, message.get("meta"), where)
        return message

    def _message_values(self, text: str, meta: Mapping[str, Any] | None) -> dict[str, Any]:
        return {"text": seal_text(self.cipher, text),
                "meta": seal_json(self.cipher, json.loads(json.dumps(meta or {}, default=str)))}

    def _trace_value(self, trace: Mapping[str, Any]) -> Any:
        return seal_json(self.cipher, json.loads(json.dumps(trace, default=str)))

    def add_message(self, chat_id: int, role: str, text: str, source: str = "text",
                    meta: Mapping[str, Any] | None = None, created_at: datetime | None = None) -> int:
        with self.begin() as conn:
            return inserted_id(conn.execute(insert(messages).values(
                fk_id_chat=chat_id, role=role, source=source, **self._message_values(text, meta),
                created_at=created_at or utcnow(),
            )))

    def list_messages(self, chat_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.fk_id_chat == chat_id).order_by(messages.c.id_message))
            return [self._message(dict(r._mapping)) for r in rows]

    def record_turn(self, chat_id: int, new_messages: Iterable[Mapping[str, Any]], *,
                    chat_values: Mapping[str, Any] | None = None, trace: Mapping[str, Any] | None = None,
                    turn_index: int | None = None, costs: Sequence[CostRow] = (),
                    done_inbox: Sequence[int] = ()) -> None:
        """Messages, chat state, trace, ledger rows (``costs``) and the answered ``chat_inbox`` rows
        (``done_inbox``) of one turn in a single transaction: all or nothing, so a crash or a failed
        write never leaves half a turn, nor a written turn whose message is still queued (docs/design.md)."""
        now = utcnow()
        try:
            # Model ids first: a new model is its own short transaction, never nested in this one.
            cost_values = [self._cost_values(r) for r in costs]
            self._record_turn(chat_id, list(new_messages), chat_values, trace, turn_index, now, cost_values,
                              list(done_inbox))
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc

    def _record_turn(self, chat_id: int, new_messages: list[Mapping[str, Any]],
                     chat_values: Mapping[str, Any] | None, trace: Mapping[str, Any] | None,
                     turn_index: int | None, now: datetime, cost_values: list[dict[str, Any]],
                     done_inbox: list[int]) -> None:
        with self.begin() as conn:
            if cost_values:
                conn.execute(insert(llm_cost), cost_values)
            if done_inbox:
                self._answered_inbox(conn, done_inbox, now)
            rows = [{"fk_id_chat": chat_id, "role": m["role"], "source": m.get("source", "text"),
                     **self._message_values(m["text"], m.get("meta")),
                     "created_at": m.get("created_at") or now} for m in new_messages]
            if rows:
                conn.execute(insert(messages), rows)
            if chat_values:
                values = dict(chat_values)
                if "state" in values:
                    values["state"] = seal_state(self.cipher, values["state"])
                conn.execute(_CHAT_UPDATE, {**values, "updated_at": now, "chat_row": chat_id})
            if trace is not None:
                conn.execute(_TRACE_INSERT, {"fk_id_chat": chat_id, "turn_index": turn_index or 0,
                                             "trace": self._trace_value(trace), "created_at": now})

    def _answered_inbox(self, conn: Connection, ids: list[int], now: datetime) -> None:
        """A turn's answered ``chat_inbox`` rows, in its transaction: done, the text scrubbed (agent.privacy) and
        the attachments' bytes dropped — the queue keeps no raw text nor media once the turn is written."""
        rows = (conn.execute(_INBOX_TEXT, {"row": ids[0]}) if len(ids) == 1
                else conn.execute(_INBOX_TEXTS, {"ids": ids})).all()
        if rows:
            conn.execute(_INBOX_ANSWERED, [
                {"row": row.id_inbox, "now": now, "scrubbed": seal_text(self.cipher, scrub(open_text(
                    self.cipher, row.text or "", f"inbox message #{row.id_inbox}"))),
                 "no_media": seal_json(self.cipher, [])} for row in rows])

    def add_trace(self, chat_id: int, turn_index: int, trace: Mapping[str, Any]) -> int:
        with self.begin() as conn:
            return inserted_id(conn.execute(insert(traces).values(
                fk_id_chat=chat_id, turn_index=turn_index, trace=self._trace_value(trace), created_at=utcnow(),
            )))

    def list_traces(self, chat_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(traces).where(traces.c.fk_id_chat == chat_id).order_by(traces.c.turn_index))
            return [{**r._mapping, "trace": open_json(self.cipher, r.trace, f"trace #{r.id_trace}")} for r in rows]


    # -- the customer's rights (LGPD art. 18; agent/privacy_rights.py decides what, the store does it)
    def chat_ids(self, *, idle_before: datetime | None = None, sources: Iterable[str] | None = None) -> list[int]:
        """Every chat id, oldest first; ``idle_before``: only chats not updated since then that hold data
        written after their last erasure (never forgotten, or written to since)."""
        query = select(chats.c.id_chat).order_by(chats.c.id_chat)
        if idle_before is not None:
            query = query.where(chats.c.updated_at < idle_before,
                                or_(chats.c.forgotten_at.is_(None), chats.c.updated_at > chats.c.forgotten_at))
        if sources is not None:
            query = query.where(chats.c.source.in_(tuple(sources)))
        with self.engine.connect() as conn:
            return [int(r[0]) for r in conn.execute(query)]

    def forget_chat(self, chat_id: int, state: Mapping[str, Any]) -> dict[str, int]:
        """Erase one conversation's data in one transaction: its messages, traces and reviews are deleted, its queued
        messages emptied (text and attachments; one not answered yet is failed), its ledger rows keep tokens, cost, model and time but lose their chat link (and the
        provider's error text), and the chat row keeps only ``state`` (no personal data: the caller's),
        its title, pack, source, status and times, with ``forgotten_at``. Returns the counts per table."""
        now = utcnow()
        try:
            with self.begin() as conn:
                counts = {
                    "messages": conn.execute(delete(messages).where(messages.c.fk_id_chat == chat_id)).rowcount,
                    "traces": conn.execute(delete(traces).where(traces.c.fk_id_chat == chat_id)).rowcount,
                    "insights": conn.execute(delete(chat_insights).where(chat_insights.c.fk_id_chat == chat_id))
                    .rowcount,
                    "reviews": conn.execute(delete(chat_review).where(chat_review.c.fk_id_chat == chat_id)).rowcount,
                    # The channel's link (the customer's hashed phone → this chat): they start afresh if they write again.
                    "contacts": conn.execute(delete(channel_contact).where(channel_contact.c.fk_id_chat == chat_id))
                    .rowcount,
                    # Emptied, not deleted: a worker remembers the ids it has seen, and SQLite would reuse them.
                    "inbox": self._empty_inbox(conn, chat_id, now),
                    "ledger_unlinked": conn.execute(update(llm_cost).where(llm_cost.c.fk_id_chat == chat_id)
                                                    .values(fk_id_chat=None, error=None)).rowcount,
                }
                found = conn.execute(update(chats).where(chats.c.id_chat == chat_id).values(
                    state=seal_state(self.cipher, state), forgotten_at=now, updated_at=now)).rowcount
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc
        return {"chats": int(found), **{k: int(v) for k, v in counts.items()}}

    # -- insights cache (agent/insights.py)
    def chat_insights(self, chat_id: int, turns: int, models: str) -> dict[str, Any] | None:
        """The insights cached for ``chat_id`` at ``turns`` turns with ``models``, or None."""
        query = select(chat_insights).where(chat_insights.c.fk_id_chat == chat_id, chat_insights.c.turns == turns,
                                            chat_insights.c.models == models)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc
        if row is None:
            return None
        return dict(open_json(self.cipher, row.insights, f"insights #{row.id_chat_insights}"))

    def save_chat_insights(self, chat_id: int, turns: int, models: str, insights: Mapping[str, Any]) -> None:
        """Cache ``insights`` (sealed like a trace) for ``chat_id`` at ``turns`` turns with ``models``."""
        try:
            with self.begin() as conn:
                conn.execute(delete(chat_insights).where(chat_insights.c.fk_id_chat == chat_id,
                                                         chat_insights.c.turns == turns,
                                                         chat_insights.c.models == models))
                conn.execute(insert(chat_insights).values(fk_id_chat=chat_id, turns=turns, models=models,
                                                          insights=self._trace_value(insights), created_at=utcnow()))
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc

    def list_chat_insights(self, chat_id: int) -> list[dict[str, Any]]:
        """Every cached insights row of ``chat_id`` (turns, models, insights, created_at), oldest first."""
        query = select(chat_insights).where(chat_insights.c.fk_id_chat == chat_id).order_by(chat_insights.c.turns)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc
        return [{"turns": r.turns, "models": r.models, "created_at": r.created_at,
                 "insights": open_json(self.cipher, r.insights, f"insights #{r.id_chat_insights}")} for r in rows]

    def forgotten_at(self, chat_id: int) -> datetime | None:
        """When the chat's data were last erased (``forget_chat``), or None."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(_FORGOTTEN_AT, {"chat_id": chat_id}).scalar()
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.url)) from exc

    def _empty_inbox(self, conn: Connection, chat_id: int, now: datetime) -> int:
        """A forgotten chat's queued messages: text and attachments emptied; one not answered yet is failed."""
        erased = {"text": seal_text(self.cipher, ""), "attachments": seal_json(self.cipher, []), "updated_at": now}
        mine = chat_inbox.c.fk_id_chat == chat_id
        conn.execute(update(chat_inbox).where(mine, chat_inbox.c.status == "queued")
                     .values(status="failed", error="erased (LGPD: the customer's data were forgotten)"))
        return int(conn.execute(update(chat_inbox).where(mine).values(**erased)).rowcount)

    def log_access(self, operator: str, chat_id: int | None, action: str) -> int:
        """One ``access_log`` row: who (``operator``) saw which chat's personal data, how, now."""
        with self.begin() as conn:
            return inserted_id(conn.execute(insert(access_log).values(
                operator=operator, fk_id_chat=chat_id, action=action, created_at=utcnow())))

    def access_entries(self, chat_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``access_log`` rows (of one chat when given)."""
        query = select(access_log).order_by(access_log.c.id_access.desc()).limit(limit)
        if chat_id is not None:
            query = query.where(access_log.c.fk_id_chat == chat_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout_s: float) -> None:
    cursor = dbapi_conn.cursor()
    try:
        # WAL lets the Costs page read while the chat writes; busy_timeout waits out short locks.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    except Exception:  # noqa: BLE001  (a read-only file cannot switch to WAL; reads still work)
        pass
    finally:
        cursor.close()
