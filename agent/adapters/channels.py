"""The server's channel tables: who a channel's customer is (hashed), which deliveries were already taken,
the per-chat burst schedule across requests, and the replies sent (:mod:`agent.adapters.schema`, version 54).

Everything that must hold across processes (a second server, Lambda instances) is a database constraint or a
conditional UPDATE, never process memory: a delivery id is unique, a burst is answered by the one flush whose
generation is still the newest, a reply row is unique per (chat, generation, position).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from agent.adapters.inbox import Inbox
from agent.adapters.schema import channel_contact, channel_message, channel_reply, chat_flush, chats, utcnow
from agent.adapters.store import Store, _describe, inserted_id
from agent.errors import StoreError
from agent.privacy import scrub
from agent.types import Attachment


def contact_hash(key: str, channel: str, contact: str) -> str:
    """HMAC-SHA256 of a channel's user id (a phone number) under ``key``: the same customer finds the same chat,
    and the stored value cannot be reversed by hashing every phone number without the key."""
    if not key:
        raise ValueError("a contact hash needs a key")
    return hmac.new(key.encode(), f"{channel}:{contact}".encode(), hashlib.sha256).hexdigest()


# A reply's status after a channel's callback, and the statuses it may follow (never backwards).
_EARLIER: dict[str, tuple[str, ...]] = {
    "sent": ("sending",),
    "delivered": ("sending", "sent"),
    "read": ("sending", "sent", "delivered"),
    "failed": ("sending", "sent", "delivered"),
}


@dataclass(frozen=True)
class Accepted:
    """A delivery taken: its inbox row and the burst generation it opened (the flush to schedule)."""

    chat_id: int
    inbox_id: int
    generation: int
    due_at: datetime


class Channels:
    """Queries over a :class:`Store` for the server's channels."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.inbox = Inbox(store)

    def _error(self, exc: SQLAlchemyError) -> StoreError:
        return StoreError(_describe(exc, self.store.url))

    # ---------------------------------------------------------------- contacts
    def chat_for(self, channel: str, hashed: str, new_chat: Callable[[], int]) -> int:
        """The contact's chat, created with ``new_chat`` the first time (a race between two deliveries keeps one)."""
        found = self._contact(channel, hashed)
        if found is not None:
            return found
        chat_id = new_chat()
        now = utcnow()
        try:
            with self.store.begin() as conn:
                conn.execute(insert(channel_contact).values(channel=channel, contact_hash=hashed, fk_id_chat=chat_id,
                                                            created_at=now))
                conn.execute(insert(chat_flush).values(fk_id_chat=chat_id, generation=0, flushed=0, due_at=now,
                                                       updated_at=now))
            return chat_id
        except IntegrityError:
            with self.store.begin() as conn:  # another delivery created it first: drop the empty chat made here
                conn.execute(delete(chats).where(chats.c.id_chat == chat_id))
            found = self._contact(channel, hashed)
            if found is None:
                raise
            return found
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc

    def _contact(self, channel: str, hashed: str) -> int | None:
        query = select(channel_contact.c.fk_id_chat).where(channel_contact.c.channel == channel,
                                                           channel_contact.c.contact_hash == hashed)
        try:
            with self.store.engine.connect() as conn:
                value = conn.execute(query).scalar()
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        return int(value) if value is not None else None

    # ---------------------------------------------------------------- deliveries
    def accept(self, channel: str, external_id: str, chat_id: int, text: str,
               attachments: Sequence[Attachment] = (), *, kind: str = "text", source: str | None = None,
               window_s: float = 0.0, now: datetime | None = None) -> Accepted | None:
        """Queue a delivered message, once: the delivery id, the inbox row and the chat's new burst generation
        in one transaction. None when the delivery id was already taken (a retried delivery: nothing changes)."""
        now = now or utcnow()
        due = now + timedelta(seconds=max(0.0, window_s))
        try:
            with self.store.begin() as conn:
                message_id = inserted_id(conn.execute(insert(channel_message).values(
                    channel=channel, external_id=external_id, fk_id_chat=chat_id, kind=kind, created_at=now)))
                inbox_id = self.inbox.put_in(conn, chat_id, text, attachments, source=source, created_at=now)
                conn.execute(update(channel_message).where(channel_message.c.id_channel_message == message_id)
                             .values(fk_id_inbox=inbox_id))
                bumped = conn.execute(update(chat_flush).where(chat_flush.c.fk_id_chat == chat_id).values(
                    generation=chat_flush.c.generation + 1, due_at=due, updated_at=now))
                if bumped.rowcount == 0:  # a chat from before its contact row (or made elsewhere)
                    conn.execute(insert(chat_flush).values(fk_id_chat=chat_id, generation=1, flushed=0, due_at=due,
                                                           updated_at=now))
                generation = conn.execute(select(chat_flush.c.generation)
                                          .where(chat_flush.c.fk_id_chat == chat_id)).scalar_one()
        except IntegrityError:
            if self.taken(channel, external_id):
                return None
            raise
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        return Accepted(chat_id=chat_id, inbox_id=inbox_id, generation=int(generation), due_at=due)

    def taken(self, channel: str, external_id: str) -> bool:
        query = select(channel_message.c.id_channel_message).where(channel_message.c.channel == channel,
                                                                   channel_message.c.external_id == external_id)
        with self.store.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def claim(self, chat_id: int, generation: int) -> bool:
        """The flush of ``generation`` may answer: no newer message moved the burst on, and no other flush of it
        ran. One conditional UPDATE, so exactly one caller wins, whatever the process."""
        try:
            with self.store.begin() as conn:
                result = conn.execute(update(chat_flush).where(
                    chat_flush.c.fk_id_chat == chat_id, chat_flush.c.generation == generation,
                    chat_flush.c.flushed < generation).values(flushed=generation, updated_at=utcnow()))
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        return result.rowcount == 1

    # ---------------------------------------------------------------- replies
    def start_reply(self, channel: str, chat_id: int, generation: int, position: int) -> int | None:
        """The row of one reply about to be sent; None when it exists already (never sent twice)."""
        now = utcnow()
        try:
            with self.store.begin() as conn:
                return inserted_id(conn.execute(insert(channel_reply).values(
                    channel=channel, fk_id_chat=chat_id, generation=generation, position=position, status="sending",
                    attempts=0, created_at=now, updated_at=now)))
        except IntegrityError:
            return None
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc

    def finish_reply(self, reply_id: int, status: str, attempts: int, external_id: str | None = None,
                     error: str | None = None) -> None:
        try:
            with self.store.begin() as conn:
                conn.execute(update(channel_reply).where(channel_reply.c.id_channel_reply == reply_id).values(
                    status=status, attempts=attempts, external_id=external_id,
                    error=scrub(error) if error else None, updated_at=utcnow()))
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc

    def reply_status(self, channel: str, external_id: str, status: str, error: str | None = None) -> bool:
        """A status callback on the reply the channel knows as ``external_id``: the status only moves forward
        (sent → delivered → read; sent or delivered → failed), whatever order the callbacks arrive in. True when
        a reply row changed."""
        return self.reply_statuses(channel, [(external_id, status, error)])[0]

    def reply_statuses(self, channel: str, callbacks: Sequence[tuple[str, str, str | None]]) -> list[bool]:
        """:meth:`reply_status` for each ``(external_id, status, error)`` of one delivery, in order, in one
        transaction; for each, True when a reply row changed."""
        changed: list[bool] = []
        try:
            with self.store.begin() as conn:
                for external_id, status, error in callbacks:
                    earlier = _EARLIER.get(status)
                    if earlier is None:
                        changed.append(False)
                        continue
                    values: dict[str, object] = {"status": status, "updated_at": utcnow()}
                    if error:
                        values["error"] = scrub(error)
                    result = conn.execute(update(channel_reply).where(
                        channel_reply.c.channel == channel, channel_reply.c.external_id == external_id,
                        channel_reply.c.status.in_(earlier)).values(**values))
                    changed.append(result.rowcount > 0)
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        return changed

    def replies(self, chat_id: int) -> list[dict[str, object]]:
        query = select(channel_reply).where(channel_reply.c.fk_id_chat == chat_id).order_by(
            channel_reply.c.id_channel_reply)
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def deliveries(self, chat_id: int) -> list[dict[str, object]]:
        query = select(channel_message).where(channel_message.c.fk_id_chat == chat_id).order_by(
            channel_message.c.id_channel_message)
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
