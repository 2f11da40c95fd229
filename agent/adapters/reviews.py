"""The review queue's table (``chat_review``, version 52): one verdict per conversation.

The comment and the corrected replies are sealed with the store's cipher like messages (and read back
clear); callers scrub them first (:mod:`agent.audit`). The verdict, the reviewer and the times stay clear
so the queue filters in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from agent.adapters.crypto import open_json, open_text, seal_json, seal_text
from agent.adapters.schema import chat_review, utcnow
from agent.adapters.store import Store, _describe
from agent.errors import StoreError

VERDICTS: tuple[str, ...] = ("approved", "rejected")


@dataclass(frozen=True)
class Review:
    """A reviewer's verdict on one conversation; ``corrections``: agent message index → corrected reply."""

    chat_id: int
    verdict: str
    comment: str = ""
    corrections: Mapping[int, str] = field(default_factory=dict)
    reviewer: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "verdict": self.verdict, "comment": self.comment,
                "corrections": {str(k): v for k, v in self.corrections.items()}, "reviewer": self.reviewer,
                "created_at": self.created_at, "updated_at": self.updated_at}


class Reviews:
    """Reads and writes ``chat_review`` through a :class:`Store` (its engine and cipher)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, chat_id: int, verdict: str, comment: str, corrections: Mapping[int, str], reviewer: str) -> Review:
        """Write (or replace) the chat's review; the text is sealed here."""
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; one of {', '.join(VERDICTS)}")
        cipher = self.store.cipher
        now = utcnow()
        values = {"verdict": verdict, "comment": seal_text(cipher, comment),
                  "corrections": seal_json(cipher, {str(k): v for k, v in corrections.items()}),
                  "reviewer": reviewer[:120], "updated_at": now}
        try:
            with self.store.begin() as conn:
                found = conn.execute(update(chat_review).where(chat_review.c.fk_id_chat == chat_id)
                                     .values(**values)).rowcount
                if not found:
                    conn.execute(insert(chat_review).values(fk_id_chat=chat_id, created_at=now, **values))
        except SQLAlchemyError as exc:
            raise StoreError(_describe(exc, self.store.url)) from exc
        saved = self.get(chat_id)
        assert saved is not None
        return saved

    def get(self, chat_id: int) -> Review | None:
        found = self.list(chat_ids=[chat_id])
        return found[0] if found else None

    def list(self, *, chat_ids: Iterable[int] | None = None, verdict: str | None = None,
             limit: int | None = None) -> list[Review]:
        """Reviews, newest first; of ``chat_ids`` / with ``verdict`` when given."""
        query = select(chat_review).order_by(chat_review.c.updated_at.desc(), chat_review.c.id_review.desc())
        if chat_ids is not None:
            query = query.where(chat_review.c.fk_id_chat.in_([int(c) for c in chat_ids]))
        if verdict is not None:
            query = query.where(chat_review.c.verdict == verdict)
        if limit is not None:
            query = query.limit(limit)
        with self.store.engine.connect() as conn:
            return [self._review(dict(r._mapping)) for r in conn.execute(query)]

    def _review(self, row: Mapping[str, Any]) -> Review:
        where = f"review of chat #{row['fk_id_chat']}"
        corrections = open_json(self.store.cipher, row.get("corrections"), where) or {}
        if isinstance(corrections, str):  # a clear JSON string written by another driver
            corrections = json.loads(corrections)
        return Review(int(row["fk_id_chat"]), str(row["verdict"]),
                      open_text(self.store.cipher, row.get("comment") or "", where) or "",
                      {int(k): str(v) for k, v in corrections.items()}, str(row.get("reviewer") or ""),
                      row.get("created_at"), row.get("updated_at"))
