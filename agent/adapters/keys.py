"""``python -m agent keys status|rotate``: which stored values are encrypted, and re-encrypting them.

The encrypted columns are listed once in :data:`ENCRYPTED_COLUMNS`. ``rotate`` walks each one by primary
key in batches, in its own transaction per batch (rows locked on PostgreSQL): a clear value is encrypted
with the current (first) key, a value of an older key is re-encrypted with it, a current one is left as
it is — so a second run changes nothing, and an interrupted run is finished by running it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, Table, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from agent.adapters.crypto import (
    KEY_ENV,
    STATE_TOKEN,
    Cipher,
    DecryptionError,
    EncryptionKeyError,
    is_sealed,
    seal_json,
    seal_state,
    seal_text,
)
from agent.adapters.schema import chat_inbox, chat_insights, chat_review, chats, messages, traces
from agent.adapters.store import Store

Kind = Literal["text", "json", "state"]


@dataclass(frozen=True)
class EncryptedColumn:
    """A column the store encrypts: ``text`` (a text column), ``json`` (a JSON column holding a sealed
    string), ``state`` (``chats.state``: the step clear, the rest sealed)."""

    table: Table
    key: Column[Any]
    column: Column[Any]
    kind: Kind

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(messages, messages.c.id_message, messages.c.text, "text"),
    EncryptedColumn(messages, messages.c.id_message, messages.c.meta, "json"),
    EncryptedColumn(traces, traces.c.id_trace, traces.c.trace, "json"),
    EncryptedColumn(chats, chats.c.id_chat, chats.c.state, "state"),
    EncryptedColumn(chat_inbox, chat_inbox.c.id_inbox, chat_inbox.c.text, "text"),
    EncryptedColumn(chat_inbox, chat_inbox.c.id_inbox, chat_inbox.c.attachments, "json"),
    EncryptedColumn(chat_insights, chat_insights.c.id_chat_insights, chat_insights.c.insights, "json"),
    EncryptedColumn(chat_review, chat_review.c.id_review, chat_review.c.comment, "text"),
    EncryptedColumn(chat_review, chat_review.c.id_review, chat_review.c.corrections, "json"),
)


def _token(spec: EncryptedColumn, value: Any) -> str | None:
    """The stored ``enc:v1:`` token of a value, or None when the value is clear (or empty)."""
    if spec.kind == "state":
        value = value.get(STATE_TOKEN) if isinstance(value, dict) else None
    return value if is_sealed(value) else None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


@dataclass
class ColumnCount:
    """Rows of one encrypted column by what they hold."""

    column: str
    clear: int = 0
    current: int = 0  # encrypted with the first key (or, with no key configured: encrypted)
    old: int = 0  # encrypted with another configured key
    unreadable: int = 0  # encrypted with no configured key
    empty: int = 0
    changed: int = 0  # rotate: rows rewritten

    @property
    def encrypted(self) -> int:
        return self.current + self.old + self.unreadable

    def add(self, other: ColumnCount) -> None:
        for name in ("clear", "current", "old", "unreadable", "empty", "changed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _walk(store: Store, spec: EncryptedColumn, batch: int, *, lock: bool,
          handle: Callable[[Connection, list[tuple[int, Any]], ColumnCount], None]) -> ColumnCount:
    """Every row of one column, batch by batch, each batch in its own write transaction; ``handle`` counts
    (and may write) a batch. A batch that fails on a lock (SQLite: the app rewrote one of its rows
    meanwhile) is read and handled again, at most three times."""
    total = ColumnCount(spec.name)
    last: int | None = None
    while True:
        for attempt in range(3):
            part = ColumnCount(spec.name)
            try:
                with store.begin() as conn:
                    query = select(spec.key, spec.column).order_by(spec.key).limit(batch)
                    if last is not None:
                        query = query.where(spec.key > last)
                    if lock:
                        query = query.with_for_update()
                    rows = [(int(r[0]), r[1]) for r in conn.execute(query)]
                    if not rows:
                        return total
                    handle(conn, rows, part)
                break
            except OperationalError:
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        total.add(part)
        last = rows[-1][0]


def _classify(count: ColumnCount, spec: EncryptedColumn, value: Any, cipher: Cipher | None) -> str | None:
    """Count one value; return its token when it is sealed."""
    if _empty(value):
        count.empty += 1
        return None
    token = _token(spec, value)
    if token is None:
        count.clear += 1
    elif cipher is None or cipher.is_current(token):
        count.current += 1
    elif _opens(cipher, token):
        count.old += 1
    else:
        count.unreadable += 1
    return token


def _opens(cipher: Cipher, token: str) -> bool:
    try:
        cipher.decrypt(token)
    except DecryptionError:
        return False
    return True


def status(store: Store, batch: int = 1000) -> list[ColumnCount]:
    """How many rows of each encrypted column are clear, encrypted (current / older / unknown key), empty."""
    def handle(spec: EncryptedColumn) -> Callable[[Connection, list[tuple[int, Any]], ColumnCount], None]:
        def count_rows(_conn: Connection, rows: list[tuple[int, Any]], count: ColumnCount) -> None:
            for _pk, value in rows:
                _classify(count, spec, value, store.cipher)
        return count_rows

    return [_walk(store, spec, batch, lock=False, handle=handle(spec)) for spec in ENCRYPTED_COLUMNS]


def _sealed(spec: EncryptedColumn, value: Any, token: str | None, cipher: Cipher, where: str) -> Any:
    """The value encrypted with the current key."""
    if token is None:  # clear
        if spec.kind == "text":
            return seal_text(cipher, value)
        if spec.kind == "json":
            return seal_json(cipher, value)
        return seal_state(cipher, value)
    rotated = cipher.rotate(token, where)
    return {**value, STATE_TOKEN: rotated} if spec.kind == "state" else rotated


def rotate(store: Store, batch: int = 500,
           progress: Callable[[ColumnCount], None] | None = None) -> list[ColumnCount]:
    """Encrypt every clear value and re-encrypt every older-key value with the store's first key.

    Idempotent; raises DecryptionError (before writing that batch) on a value no configured key opens."""
    cipher = store.cipher
    if cipher is None:
        raise EncryptionKeyError(f"{KEY_ENV} is not set: generate a key with `python -m agent keys generate`, "
                                 "put it in .env and run this again.")
    lock = store.engine.dialect.name != "sqlite"
    counts: list[ColumnCount] = []
    for spec in ENCRYPTED_COLUMNS:
        statement = (update(spec.table).where(spec.key == bindparam("b_key"))
                     .values({spec.column.name: bindparam("b_value", type_=spec.column.type)}))

        def reseal(conn: Connection, rows: list[tuple[int, Any]], count: ColumnCount,
                   spec: EncryptedColumn = spec, statement: Any = statement) -> None:
            changes: list[dict[str, Any]] = []
            for pk, value in rows:
                current = count.current
                token = _classify(count, spec, value, cipher)
                if _empty(value) or count.current > current:
                    continue
                changes.append({"b_key": pk, "b_value": _sealed(spec, value, token, cipher, f"{spec.name} #{pk}")})
            if changes:
                conn.execute(statement, changes)
                count.changed += len(changes)

        count = _walk(store, spec, batch, lock=lock, handle=reseal)
        counts.append(count)
        if progress is not None:
            progress(count)
    return counts
