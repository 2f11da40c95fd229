"""Approved conversation → golden: the review queue's last click (the Audit page calls this; ``agent/`` never
imports ``evals/``).

The golden is :func:`evals.record.golden_from_chat`'s (what the agent did, as expectations), tagged
``approved``; a reviewer's corrected reply replaces what the agent said at that turn: the turn's
``message_code`` expectation (the code of the reply that was corrected) is dropped and the corrected text
becomes its ``similar`` reference, so a replay passes when the agent says (about) what the reviewer wrote.
Without corrections the golden replays as recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.adapters.reviews import Review
from agent.audit import reviews
from agent.config import Settings
from evals.record import golden_from_session, save_golden

SIMILAR_THRESHOLD = 0.5  # the lexical similarity a replay must reach with the corrected reply


class NotApproved(ValueError):
    """The conversation has no approved review."""


def _customer_turns(messages: Sequence[Any]) -> list[int]:
    """The turn numbers of the customer's messages, in the order the golden lists their turns."""
    seen: list[int] = []
    for message in messages:
        turn = message.meta.get("turn") if isinstance(message.meta, Mapping) else None
        if message.role == "customer" and isinstance(turn, int) and turn not in seen:
            seen.append(turn)
    return seen


def apply_corrections(data: dict[str, Any], messages: Sequence[Any], corrections: Mapping[int, str]) -> dict[str, Any]:
    """``data`` (a golden) with each corrected agent message (index into ``messages``) as its turn's reference."""
    if not corrections:
        return data
    by_turn: dict[int, list[str]] = {}
    for index, text in sorted(corrections.items()):
        if 0 <= index < len(messages):
            turn = messages[index].meta.get("turn") if isinstance(messages[index].meta, Mapping) else None
            if isinstance(turn, int):
                by_turn.setdefault(turn, []).append(text)
    customer_items = [t for t in data["turns"] if "customer" in t or "burst" in t]
    for turn, item in zip(_customer_turns(messages), customer_items, strict=False):
        if turn in by_turn:
            expect = dict(item.get("expect") or {})
            expect.pop("message_code", None)
            expect["similar"] = {"reference": "\n\n".join(by_turn[turn]), "threshold": SIMILAR_THRESHOLD}
            item["expect"] = expect
    return data


def golden_from_review(settings: Settings, chat_id: int, *, case_id: str = "") -> dict[str, Any]:
    """The approved conversation ``chat_id`` as golden data, its corrections applied. Raises NotApproved."""
    from agent.core.session import AgentSession

    found: list[Review] = reviews(settings, chat_ids=[chat_id])
    if not found or found[0].verdict != "approved":
        raise NotApproved(f"conversation #{chat_id} is not approved: approve it in the review queue first")
    review = found[0]
    session = AgentSession.load(settings, chat_id)
    note = f"Approved in the review queue by {review.reviewer or 'a reviewer'}"
    if review.comment:
        note += f": {review.comment}"
    data = golden_from_session(session, case_id=case_id or f"approved_chat_{chat_id}",
                               description=f"{note} (conversation #{chat_id}).", tags=("recorded", "approved"))
    return apply_corrections(data, session.messages, review.corrections)


def save_approved_golden(settings: Settings, chat_id: int, directory: Path | str | None = None, *,
                         case_id: str = "", overwrite: bool = False) -> Path:
    """Write the approved conversation's golden (see :func:`golden_from_review`); returns its path."""
    return save_golden(golden_from_review(settings, chat_id, case_id=case_id), directory, overwrite=overwrite)
