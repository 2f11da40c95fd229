"""The chat inbox: customer messages queued in the database for the chat's background worker.

A message is written here first (``put``) and leaves the queue only once the turn that answers it has
been written (``mark``): a busy page, a reload or a restart of the worker never loses one.
Attachments (voice notes, images) travel as base64 in a JSON column. With ``CONVERSA_ENCRYPTION_KEY``
set, the text and the attachments are stored encrypted (:mod:`agent.adapters.crypto`). The text is raw
while queued (the journey reads the customer's data from it); the transaction that writes the answering turn
(``Store.record_turn``) marks it done, keeps only the scrubbed text (:mod:`agent.privacy`) and drops the
attachments' bytes (the messages keep their transcript).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from agent.adapters.crypto import Cipher, open_json, open_text, seal_json, seal_text
from agent.adapters.schema import chat_inbox, utcnow
from agent.adapters.store import Store, _describe, inserted_id
from agent.errors import StoreError
from agent.privacy import scrub
from agent.types import Attachment

STATUSES = ("queued", "done", "failed")

# Built once: building a statement costs more than running it on SQLite (~0.1 ms a call, on the server's hot path).
_PUT = insert(chat_inbox)
_QUEUED = (select(chat_inbox).where(chat_inbox.c.fk_id_chat == bindparam("chat"), chat_inbox.c.status == "queued")
           .order_by(chat_inbox.c.id_inbox))


@dataclass(frozen=True)
class QueuedMessage:
    """One row of the inbox."""

    id: int
    chat_id: int
    text: str
    source: str | None
    attachments: tuple[Attachment, ...]
    status: str
    error: str | None
    created_at: datetime


def _encode(attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    return [{"kind": a.kind, "filename": a.filename, "mime": a.mime,
             "data": base64.b64encode(a.data).decode("ascii")} for a in attachments]


def _decode(items: Iterable[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    return tuple(Attachment(kind=i["kind"], filename=i["filename"], mime=i.get("mime") or "",
                            data=base64.b64decode(i["data"])) for i in items or ())


def _row(r: Any, cipher: Cipher | None) -> QueuedMessage:
    where = f"inbox message #{r.id_inbox}"
    return QueuedMessage(id=int(r.id_inbox), chat_id=int(r.fk_id_chat), text=open_text(cipher, r.text or "", where),
                         source=r.source, attachments=_decode(open_json(cipher, r.attachments, where)),
                         status=r.status, error=r.error,
                         # SQLite hands back naive datetimes: they were written in UTC.
                         created_at=r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC))


class Inbox:
    """Queue queries over a :class:`Store` (its engine and write lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, chat_id: int, text: str, attachments: Sequence[Attachment] = (), *,
            source: str | None = None, created_at: datetime | None = None) -> int:
        try:
            with self.store.begin() as conn:
                return self.put_in(conn, chat_id, text, attachments, source=source, created_at=created_at)
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.store.url)) from exc

    def put_in(self, conn: Connection, chat_id: int, text: str, attachments: Sequence[Attachment] = (), *,
               source: str | None = None, created_at: datetime | None = None) -> int:
        """``put`` inside the caller's transaction (the server queues a message with its delivery id)."""
        now = created_at or utcnow()
        return inserted_id(conn.execute(_PUT, {
            "fk_id_chat": chat_id, "text": seal_text(self.store.cipher, text), "source": source,
            "attachments": seal_json(self.store.cipher, _encode(attachments)),
            "status": "queued", "created_at": now, "updated_at": now}))

    def queued(self, chat_id: int) -> list[QueuedMessage]:
        """Messages not yet answered, oldest first."""
        with self.store.engine.connect() as conn:
            return self.queued_in(conn, chat_id)

    def queued_in(self, conn: Connection, chat_id: int) -> list[QueuedMessage]:
        """``queued`` inside the caller's transaction."""
        return [_row(r, self.store.cipher) for r in conn.execute(_QUEUED, {"chat": chat_id})]

    def all(self, chat_id: int) -> list[QueuedMessage]:
        query = select(chat_inbox).where(chat_inbox.c.fk_id_chat == chat_id).order_by(chat_inbox.c.id_inbox)
        with self.store.engine.connect() as conn:
            return [_row(r, self.store.cipher) for r in conn.execute(query)]

    def mark(self, ids: Iterable[int], status: str, error: str | None = None) -> None:
        """The rows' status; ``error`` is scrubbed (agent.privacy): an exception may quote the customer's words,
        and the column is never encrypted."""
        if status not in STATUSES:
            raise ValueError(f"unknown inbox status {status!r}")
        ids = list(ids)
        if not ids:
            return
        try:
            with self.store.begin() as conn:
                conn.execute(update(chat_inbox).where(chat_inbox.c.id_inbox.in_(ids))
                             .values(status=status, error=scrub(error) if error else error, updated_at=utcnow()))
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.store.url)) from exc
