"""The customer's rights (LGPD art. 18) and operator access: export, forget, retention, access log.

A *holder* is found by CPF: a conversation is theirs when a captured attribute of its journey state
(``chats.state``, decrypted by the store) has the CPF's 11 digits, or when its messages, queued messages
or traces hold them in a CPF-shaped run (``073.602.846-35``, ``07360284635``…). Matching is by digits.

- :func:`export_holder` — everything stored about a holder, as one JSON-ready dict.
- :func:`forget_holder` / :func:`forget_chat` — erase: messages, traces and reviews are deleted, queued messages
  emptied (text, attachments);
  the chat row stays as an empty placeholder (its id, title, pack, source, times, ``forgotten_at`` and a
  state with no attribute, consent revoked); the ledger (``llm_cost``) keeps every row's tokens, cost,
  model, feature and time but its chat link is set to NULL (and the provider's error text removed).
- :func:`apply_retention` — forget every people's conversation idle for more than ``days``
  (``RETENTION_DAYS``; the app does it at start-up, ``python -m agent privacy retention`` on demand).
- :func:`log_access` / :func:`access_entries` — the ``access_log`` table: who saw which chat's data
  unmasked (the Chat page's operator view), when.

Everything goes through :class:`agent.adapters.store.Store` (encryption at rest stays its business).
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agent.adapters.inbox import Inbox
from agent.adapters.reviews import Reviews
from agent.adapters.schema import PEOPLE_SOURCES, utcnow
from agent.adapters.store import Store
from agent.config import Settings
from agent.errors import StoreError
from agent.privacy import scrub_deep

if TYPE_CHECKING:
    from agent.core.pack import Pack

_NON_DIGITS = re.compile(r"\D")
# 11 digits shaped like a CPF, with or without its punctuation (the same shape agent.privacy detects).
_CPF_RUN = re.compile(r"(?<!\d)(\d{3})[.\s]?(\d{3})[.\s]?(\d{3})[-.\s/]?(\d{2})(?!\d)")
ACCESS_ACTIONS = ("operator_view", "export", "forget")


class HolderError(ValueError):
    """The CPF given is not 11 digits."""


def cpf_digits(cpf: str) -> str:
    """The 11 digits of ``cpf``; raises HolderError otherwise (a typo must not match someone else)."""
    number = _NON_DIGITS.sub("", cpf or "")
    if len(number) != 11:
        raise HolderError(f"a CPF has 11 digits; got {len(number)} in {cpf!r}")
    return number


def _text_has(text: str, number: str) -> bool:
    if not text or number[3:6] not in text or number[6:9] not in text:  # fast: the middle groups are never split
        return False
    return any("".join(m.groups()) == number for m in _CPF_RUN.finditer(text))


def _attributes_have(state: Mapping[str, Any], number: str) -> bool:
    for value in (state.get("attributes") or {}).values():
        if isinstance(value, (str, int)) and _NON_DIGITS.sub("", str(value)) == number:
            return True
    return False


@dataclass
class ChatData:
    """One conversation's stored data, decrypted."""

    chat: dict[str, Any]
    messages: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    inbox: list[dict[str, Any]]


def _chat_data(store: Store, chat_id: int) -> ChatData | None:
    chat = store.get_chat(chat_id)
    if chat is None:
        return None
    inbox = [{"id": q.id, "text": q.text, "source": q.source, "status": q.status, "created_at": q.created_at,
              "attachments": [{"kind": a.kind, "filename": a.filename, "mime": a.mime,
                               "data_base64": base64.b64encode(a.data).decode("ascii")} for a in q.attachments]}
             for q in Inbox(store).all(chat_id)]
    return ChatData(chat, store.list_messages(chat_id), store.list_traces(chat_id), inbox)


def _belongs(data: ChatData, number: str) -> bool:
    if _attributes_have(data.chat.get("state") or {}, number):
        return True
    texts: Iterable[str] = (
        *(m["text"] + " " + json.dumps(m.get("meta") or {}, ensure_ascii=False, default=str) for m in data.messages),
        *(q["text"] for q in data.inbox),
        *(json.dumps(t["trace"], ensure_ascii=False, default=str) for t in data.traces),
    )
    return any(_text_has(text, number) for text in texts)


@dataclass
class HolderScan:
    """The conversations of a holder, and the ones that could not be read (a key missing)."""

    chats: list[ChatData] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)


def find_holder(store: Store, cpf: str) -> HolderScan:
    """Every conversation holding ``cpf`` (see the module's docstring). Reads every chat: a command's job."""
    number = cpf_digits(cpf)
    scan = HolderScan()
    for chat_id in store.chat_ids():
        try:
            data = _chat_data(store, chat_id)
        except StoreError:  # encrypted with a key that is not configured: said, never skipped silently
            scan.unreadable.append(chat_id)
            continue
        if data is not None and _belongs(data, number):
            scan.chats.append(data)
    return scan


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def export_holder(store: Store, cpf: str) -> dict[str, Any]:
    """Everything stored about the holder of ``cpf``: each conversation with its journey state (unmasked:
    it is theirs), messages, traces, queued messages, ledger rows and who accessed it."""
    number = cpf_digits(cpf)
    scan = find_holder(store, number)
    chats = []
    for data in scan.chats:
        chat_id = int(data.chat["id_chat"])
        ledger = [{k: row[k] for k in ("id_llm_cost", "feature_name", "model", "input_tokens", "output_tokens",
                                       "price", "status", "created_at")}
                  for row in store.cost_rows(chat_id=chat_id, limit=100_000)]
        chats.append({
            "chat": {k: data.chat.get(k) for k in ("id_chat", "title", "pack", "source", "status", "created_at",
                                                   "updated_at", "forgotten_at")},
            "state": data.chat.get("state"),
            "messages": [{k: m.get(k) for k in ("id_message", "role", "text", "source", "meta", "created_at")}
                         for m in data.messages],
            "traces": [{"turn_index": t["turn_index"], "created_at": t["created_at"], "trace": t["trace"]}
                       for t in data.traces],
            "queued_messages": data.inbox,
            "ledger": ledger,
            "access_log": store.access_entries(chat_id, limit=100_000),
            "insights": store.list_chat_insights(chat_id),
            "reviews": [r.to_dict() for r in Reviews(store).list(chat_ids=[chat_id])],
        })
    return _jsonable({
        "holder": {"cpf": number},
        "exported_at": utcnow(),
        "database": store.url.split("@")[-1],
        "conversations": chats,
        "unreadable_conversations": scan.unreadable,
    })


def forgotten_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a forgotten chat keeps of its journey state: the step, nothing the customer said."""
    return {"step": (state or {}).get("step") or "greeting", "previous_step": None, "attributes": {},
            "failures": 0, "handoff": False, "consent": False, "last_event": None, "replies": [],
            "results": {}, "notice": None, "consent_notice": None}


@dataclass
class ForgetCounts:
    """What an erasure did, per table (``chats``: conversations forgotten)."""

    chats: int = 0
    messages: int = 0
    traces: int = 0
    insights: int = 0
    reviews: int = 0
    inbox: int = 0
    ledger_unlinked: int = 0
    chat_ids: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)

    def add(self, counts: Mapping[str, int], chat_id: int) -> None:
        self.chats += counts.get("chats", 0)
        self.messages += counts.get("messages", 0)
        self.traces += counts.get("traces", 0)
        self.insights += counts.get("insights", 0)
        self.reviews += counts.get("reviews", 0)
        self.inbox += counts.get("inbox", 0)
        self.ledger_unlinked += counts.get("ledger_unlinked", 0)
        self.chat_ids.append(chat_id)

    def as_dict(self) -> dict[str, Any]:
        return {"chats": self.chats, "messages": self.messages, "traces": self.traces, "reviews": self.reviews,
                "inbox": self.inbox,
                "insights": self.insights,
                "ledger_unlinked": self.ledger_unlinked, "chat_ids": self.chat_ids, "unreadable": self.unreadable}


def forget_chat(store: Store, chat_id: int, state: Mapping[str, Any] | None = None) -> ForgetCounts:
    """Erase one conversation (see the module's docstring). ``state``: the journey state to keep (no
    attribute in it is kept either); default: the stored one's step, consent revoked."""
    counts = ForgetCounts()
    if state is None:
        chat = store.get_chat(chat_id)
        if chat is None:
            return counts
        state = chat.get("state")
    kept = {**forgotten_state(state), **{k: v for k, v in (state or {}).items() if k in ("step", "previous_step")}}
    counts.add(store.forget_chat(chat_id, kept), chat_id)
    return counts


def forget_holder(store: Store, cpf: str, scan: HolderScan | None = None) -> ForgetCounts:
    """Erase every conversation of the holder of ``cpf`` (``scan``: :func:`find_holder`'s, when already run)."""
    scan = scan if scan is not None else find_holder(store, cpf)
    counts = ForgetCounts(unreadable=scan.unreadable)
    for data in scan.chats:
        chat_id = int(data.chat["id_chat"])
        counts.add(store.forget_chat(chat_id, forgotten_state(data.chat.get("state"))), chat_id)
    return counts


def apply_retention(store: Store, days: float, *, now: datetime | None = None,
                    sources: Iterable[str] | None = PEOPLE_SOURCES) -> ForgetCounts:
    """Forget every conversation (people's by default: the bench's customers are scripted) not updated
    for more than ``days``; one already forgotten and not written to since is left alone."""
    if days < 0:
        raise ValueError(f"retention days must be 0 or more, got {days}")
    cutoff = (now or utcnow()) - timedelta(days=days)
    counts = ForgetCounts()
    for chat_id in store.chat_ids(idle_before=cutoff, sources=sources):
        try:
            chat = store.get_chat(chat_id)
        except StoreError:  # unreadable state: erase it anyway, keeping only its clear step
            counts.unreadable.append(chat_id)
            chat = None
        counts.add(store.forget_chat(chat_id, forgotten_state(chat.get("state") if chat else None)), chat_id)
    return counts


def enforce_retention(settings: Settings) -> ForgetCounts | None:
    """``RETENTION_DAYS`` applied to the settings' database (app start-up); None when it is not set."""
    if settings.retention_days is None:
        return None
    counts = apply_retention(Store.open(settings.database_url), settings.retention_days)
    if counts.chats:
        print(f"conversa-lab: retention ({settings.retention_days:g} days): {counts.chats} conversation(s) "
              f"forgotten, {counts.messages} message(s) and {counts.traces} trace(s) deleted", file=sys.stderr)
    return counts


def log_access(store: Store, operator: str, chat_id: int | None, action: str = "operator_view") -> int:
    """Record that ``operator`` saw ``chat_id``'s personal data unmasked (``action``) now."""
    name = " ".join((operator or "").split())[:120]
    if not name:
        raise ValueError("an operator name is required to see personal data")
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown access action {action!r}; one of {', '.join(ACCESS_ACTIONS)}")
    return store.log_access(name, chat_id, action)


def access_entries(settings: Settings, chat_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest access-log rows (of one chat when given): operator, action, time."""
    return Store.open(settings.database_url).access_entries(chat_id, limit)


def mask_for_display(value: Any, pack: Pack | None = None) -> Any:
    """``value`` (a trace's states, a decision) as a non-operator may see it: personal data in any text
    masked (``agent.privacy.scrub_deep``) and, in a mapping's ``attributes``, the pack's masks applied."""
    if isinstance(value, Mapping):
        out = {k: mask_for_display(v, pack) for k, v in value.items()}
        attributes = value.get("attributes")
        if pack is not None and isinstance(attributes, Mapping):
            out["attributes"] = scrub_deep(pack.mask_attributes(attributes))
        return out
    if isinstance(value, (list, tuple)):
        return [mask_for_display(v, pack) for v in value]
    return scrub_deep(value)
