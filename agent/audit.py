"""Audit data: the conversations list, the journey funnel and the review queue (the Audit page's API).

Everything is read per pack from the stored chats, their traces and the ledger, and named by the pack's
journey (``journey.yaml``'s steps, in file order; ``pack.yaml``'s ``completed_steps`` / ``terminal_steps``):
no step name is written here, so the same functions serve any pack.

What a conversation *did* is read from its traces (the stored form of :class:`agent.core.trace.TurnTrace`):

- **steps reached** — every ``state_before`` / ``state_after`` step, in the order first reached;
- **outcome** — ``refusal``: the customer said no (``confirm_no`` / ``optin_refuse``, the core's own
  intents) and that moved the conversation to a terminal step; ``completed``: it reached one of the
  pack's completed steps; ``handoff``: a person took over; ``aborted``: none of these (the customer left
  mid-way, or the conversation is still open);
- **dropped at** — for a conversation that reached no completed step: the last funnel step it was at (exits —
  handoff steps and terminal steps that are not results — are not funnel steps);
- **consent** — the journey's ``consent`` flag after a turn (asked: the journey's consent step reached);
- **API outcomes** — each tool call's name, the API's own ``code`` (else the HTTP status) and outcome;
- **configuration** — the decision and conversation models of the turns' model calls.

Reviews (``chat_review``, :mod:`agent.adapters.reviews`): the comment and corrected replies are scrubbed
(``agent.privacy.scrub``) before they are stored, and sealed with the store's key like messages.
Costs come from the ledger (``llm_cost``), summed in SQL per chat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select

from agent.adapters.reviews import VERDICTS, Review, Reviews
from agent.adapters.schema import PEOPLE_SOURCES, chat_review, chats, llm_cost
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.pack import Pack, get_pack
from agent.privacy import scrub

Outcome = Literal["completed", "aborted", "refusal", "handoff"]
OUTCOMES: tuple[str, ...] = ("completed", "aborted", "refusal", "handoff")
# The core's own "no" intents (agent.core.pack.Reading.intent_at): a "no" that ends the conversation is a refusal.
REFUSAL_EVENTS = frozenset({"confirm_no", "optin_refuse"})
GroupBy = Literal["day", "config"]

__all__ = ["OUTCOMES", "VERDICTS", "ConversationRow", "Funnel", "FunnelReport", "FunnelStep", "Review",
           "ToolOutcome", "conversations", "funnel", "review", "review_queue", "reviews", "transcript"]


# ---------------------------------------------------------------- one conversation, read from its traces


@dataclass(frozen=True)
class ConversationRow:
    """One conversation as the Audit list shows it."""

    chat_id: int
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    source: str
    pack: str
    step: str  # where it is now (chats.state)
    steps: tuple[str, ...]  # every step reached, in order
    step_reached: str  # the furthest funnel step reached (journey.yaml order)
    turns: int  # the customer's turns (system events not counted)
    handoff: bool
    consent_asked: bool
    consent: bool
    outcome: str  # one of OUTCOMES
    completed: bool  # reached one of the pack's completed steps
    dropped_at: str | None  # the last funnel step of a conversation that did not complete
    cost_usd: float
    config: str  # "decision=… · conversation=…"
    tool_outcomes: tuple[tuple[str, str, str], ...] = ()  # (tool, API code, outcome)
    verdict: str | None = None  # the review's, None: not reviewed
    reviewer: str = ""

    def to_row(self) -> dict[str, Any]:
        """A flat dict for a table (``st.dataframe``, CSV)."""
        return {"chat_id": self.chat_id, "title": self.title, "created_at": self.created_at,
                "updated_at": self.updated_at, "source": self.source, "pack": self.pack, "step": self.step,
                "step_reached": self.step_reached, "turns": self.turns,
                "handoff": self.handoff, "consent": self.consent, "outcome": self.outcome,
                "dropped_at": self.dropped_at or "", "cost_usd": self.cost_usd, "config": self.config,
                "verdict": self.verdict or "", "reviewer": self.reviewer}


def funnel_steps(pack: Pack) -> tuple[str, ...]:
    """The funnel's steps: the journey's, in ``journey.yaml`` order, without exits (handoff steps and terminal
    steps that are not results)."""
    journey = pack.journey
    exits = {s for s in pack.terminal_steps if s not in pack.completed_steps}
    return tuple(name for name, step in journey.steps.items() if not step.handoff and name not in exits)


@dataclass(frozen=True)
class TurnFacts:
    """What the audit needs of one stored trace (read from its JSON without building a whole TurnTrace: the
    funnel reads every trace of thousands of conversations)."""

    step_before: str
    step_after: str
    passed: str  # the step the turn went through on the way (a tool step), "" when none
    handoff: bool
    consent: bool
    event: str
    system_event: bool
    tools: tuple[tuple[str, str, str], ...]  # (tool, API code, outcome)
    models: tuple[tuple[str, str], ...]  # (role, model) of each model call

    @classmethod
    def read(cls, trace: Mapping[str, Any]) -> TurnFacts:
        before, after = trace.get("state_before") or {}, trace.get("state_after") or {}
        step_before, step_after = str(before.get("step") or ""), str(after.get("step") or "")
        passed = str(after.get("previous_step") or "")
        if step_after == step_before or passed == step_before:
            passed = ""
        return cls(step_before, step_after, passed, bool(after.get("handoff")), bool(after.get("consent")),
                   str((trace.get("event") or {}).get("name") or ""), bool(trace.get("system_event")),
                   tuple((str(c.get("name") or ""), _api_code(c), str(c.get("outcome") or ""))
                         for c in trace.get("tool_calls") or ()),
                   tuple((str(c.get("role") or ""), str(c.get("model") or "")) for c in trace.get("calls") or ()))

    @property
    def steps(self) -> list[str]:
        """The steps the turn went through: before, the one passed on the way, after."""
        return [s for s in (self.step_before, self.passed, self.step_after) if s]


def _api_code(call: Mapping[str, Any]) -> str:
    data = call.get("data") if isinstance(call.get("data"), Mapping) else {}
    code = (data or {}).get("code")
    if code is None:
        code = call.get("http_status")
    return str(code) if code is not None else str(call.get("status") or "")


def _config(turns: Sequence[TurnFacts]) -> str:
    models: dict[str, Counter[str]] = {"decision": Counter(), "conversation": Counter()}
    for turn in turns:
        for role, model in turn.models:
            if role in models and model:
                models[role][model] += 1
    parts = [f"{role}={c.most_common(1)[0][0]}" for role, c in models.items() if c]
    return " · ".join(parts) or "(no model call)"


def _read(chat: Mapping[str, Any], turns: Sequence[TurnFacts], pack: Pack, cost: float,
          review: Review | None) -> ConversationRow:
    state = chat.get("state") or {}
    current = str(state.get("step") or "")
    path = visited_in_order(turns, current)
    visited = list(dict.fromkeys(path))
    journey = pack.journey
    handoff = bool(state.get("handoff")) or any(t.handoff for t in turns) or any(
        journey.steps[s].handoff for s in visited if s in journey.steps)
    refused = any(t.event in REFUSAL_EVENTS and t.step_after in pack.terminal_steps and t.step_after != t.step_before
                  for t in turns)
    completed = any(s in pack.completed_steps for s in visited)
    outcome: str = "refusal" if refused else "completed" if completed else "handoff" if handoff else "aborted"
    stages = funnel_steps(pack)
    funnel_path = [s for s in path if s in stages]
    furthest = max((stages.index(s) for s in funnel_path), default=-1)
    return ConversationRow(
        chat_id=int(chat["id_chat"]), title=str(chat.get("title") or ""), created_at=chat.get("created_at"),
        updated_at=chat.get("updated_at"), source=str(chat.get("source") or ""), pack=str(chat.get("pack") or ""),
        step=current, steps=tuple(visited), step_reached=stages[furthest] if furthest >= 0 else current,
        turns=sum(1 for t in turns if not t.system_event), handoff=handoff,
        consent_asked=journey.consent_step in visited,
        consent=bool(state.get("consent")) or any(t.consent for t in turns), outcome=outcome, completed=completed,
        dropped_at=None if completed else (funnel_path[-1] if funnel_path else None),
        cost_usd=cost, config=_config(turns), tool_outcomes=tuple(o for t in turns for o in t.tools),
        verdict=review.verdict if review else None, reviewer=review.reviewer if review else "")


def visited_in_order(turns: Sequence[TurnFacts], current: str = "") -> list[str]:
    """Every step the conversation was at, in time order (repeats kept)."""
    path: list[str] = []
    for turn in turns:
        for step in turn.steps:
            if not path or path[-1] != step:
                path.append(step)
    if current and (not path or path[-1] != current):
        path.append(current)
    return path


# ---------------------------------------------------------------- loading


def _instant(value: date | datetime | None, end: bool = False) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC) if isinstance(value, datetime) else None
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def _chat_query(pack: Pack, sources: Iterable[str] | None) -> Any:
    query = select(chats.c.id_chat).where(chats.c.pack == pack.name).order_by(chats.c.updated_at.desc(),
                                                                              chats.c.id_chat.desc())
    return query.where(chats.c.source.in_(tuple(sources))) if sources is not None else query


def _chat_rows(store: Store, pack: Pack, sources: Iterable[str] | None, since: date | datetime | None,
               until: date | datetime | None, limit: int | None,
               chat_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    query = _chat_query(pack, sources)
    if chat_ids is not None:
        query = query.where(chats.c.id_chat.in_([int(c) for c in chat_ids]))
    start, end = _instant(since), _instant(until, end=True)
    if start is not None:
        query = query.where(chats.c.created_at >= start)
    if end is not None:
        query = query.where(chats.c.created_at <= end)
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(query)]
    rows = []
    for chat_id in ids:
        chat = store.get_chat(chat_id)
        if chat is not None:
            rows.append(chat)
    return rows


def _costs(store: Store, chat_ids: Sequence[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for i in range(0, len(chat_ids), 500):
        part = list(chat_ids[i:i + 500])
        query = (select(llm_cost.c.fk_id_chat, func.sum(llm_cost.c.price))
                 .where(llm_cost.c.fk_id_chat.in_(part)).group_by(llm_cost.c.fk_id_chat))
        with store.engine.connect() as conn:
            out.update({int(k): float(Decimal(str(v or 0))) for k, v in conn.execute(query)})
    return out


def _load(settings: Settings, *, sources: Iterable[str] | None, since: date | datetime | None,
          until: date | datetime | None, limit: int | None,
          chat_ids: Iterable[int] | None = None) -> tuple[Pack, list[ConversationRow]]:
    pack = get_pack(settings.pack_dir)
    store = Store.open(settings.database_url)
    rows = _chat_rows(store, pack, sources, since, until, limit, chat_ids)
    ids = [int(r["id_chat"]) for r in rows]
    costs = _costs(store, ids)
    found = {r.chat_id: r for r in Reviews(store).list(chat_ids=ids)} if ids else {}
    out = []
    for chat in rows:
        chat_id = int(chat["id_chat"])
        turns = [TurnFacts.read(t["trace"]) for t in store.list_traces(chat_id)]
        out.append(_read(chat, turns, pack, costs.get(chat_id, 0.0), found.get(chat_id)))
    return pack, out


def conversations(settings: Settings, *, sources: Iterable[str] | None = PEOPLE_SOURCES,
                  since: date | datetime | None = None, until: date | datetime | None = None,
                  step: str | None = None, handoff: bool | None = None, outcome: str | None = None,
                  verdict: str | None = None, chat_ids: Iterable[int] | None = None,
                  limit: int | None = 500) -> list[ConversationRow]:
    """The settings' pack's conversations, most recently updated first: people's and the server's by default
    (``sources=None``: every chat, the bench's eval and simulation runs included). ``step``: only those that
    reached it; ``handoff``/``outcome``: only those; ``verdict``: a review verdict, or ``"unreviewed"``;
    ``chat_ids``: only these. ``limit`` bounds the chats read (the newest), before those filters."""
    _, rows = _load(settings, sources=sources, since=since, until=until, limit=limit, chat_ids=chat_ids)
    if step is not None:
        rows = [r for r in rows if step in r.steps]
    if handoff is not None:
        rows = [r for r in rows if r.handoff == handoff]
    if outcome is not None:
        rows = [r for r in rows if r.outcome == outcome]
    if verdict is not None:
        rows = [r for r in rows if (r.verdict or "unreviewed") == verdict]
    return rows


def transcript(settings: Settings, chat_id: int) -> list[dict[str, Any]]:
    """A conversation's messages as stored (scrubbed at ingestion), each with its ``index`` — the index a
    review's corrections refer to."""
    store = Store.open(settings.database_url)
    return [{"index": i, "role": m["role"], "text": m["text"], "source": m["source"], "created_at": m["created_at"],
             "turn": (m.get("meta") or {}).get("turn")} for i, m in enumerate(store.list_messages(chat_id))]


# ---------------------------------------------------------------- the funnel


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel: conversations that reached it, and those that stopped there."""

    step: str
    description: str
    reached: int
    dropped: int
    dropped_chat_ids: tuple[int, ...]
    started: int  # conversations in the funnel

    @property
    def share_of_start(self) -> float:
        return self.reached / self.started if self.started else 0.0

    @property
    def continued(self) -> int:
        """Conversations that reached this step and went on (to a later step or a result)."""
        return self.reached - self.dropped

    @property
    def drop_rate(self) -> float:
        """The drop-off at this step: of the conversations that reached it, the share that stopped there. (A
        journey branches — an offer or a refusal after the same step — so the drop-off is measured where the
        conversations stopped, not as the difference between two consecutive steps' counts.)"""
        return self.dropped / self.reached if self.reached else 0.0


@dataclass(frozen=True)
class ToolOutcome:
    """How many conversations' tool calls came back with one API code and outcome."""

    tool: str
    code: str
    outcome: str
    calls: int
    conversations: int


@dataclass(frozen=True)
class Funnel:
    """The funnel of one group of conversations (all of them, one day, or one model configuration)."""

    group: str
    conversations: int
    steps: tuple[FunnelStep, ...]
    consent_asked: int
    consent_granted: int
    handoffs: int
    handoff_chat_ids: tuple[int, ...]
    completed: int
    outcomes: Mapping[str, int]
    tool_outcomes: tuple[ToolOutcome, ...]
    total_cost_usd: float
    completed_cost_usd: float

    @property
    def optin_rate(self) -> float:
        """Consents over conversations that were asked for it (reached the journey's consent step)."""
        return self.consent_granted / self.consent_asked if self.consent_asked else 0.0

    @property
    def handoff_rate(self) -> float:
        return self.handoffs / self.conversations if self.conversations else 0.0

    @property
    def avg_cost_per_completed_usd(self) -> float:
        """Mean cost of the conversations that completed the journey (reached a completed step)."""
        return self.completed_cost_usd / self.completed if self.completed else 0.0

    @property
    def cost_per_completion_usd(self) -> float:
        """Everything spent (the conversations that did not complete too) per completed journey."""
        return self.total_cost_usd / self.completed if self.completed else 0.0

    def dropped(self, step: str) -> tuple[int, ...]:
        """The chat ids that stopped at ``step``."""
        return next((s.dropped_chat_ids for s in self.steps if s.step == step), ())

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per step: the table and chart of the funnel."""
        return [{"group": self.group, "step": s.step, "reached": s.reached,
                 "share_of_start": round(s.share_of_start, 4),
                 "continued": s.continued, "dropped_here": s.dropped, "drop_rate": round(s.drop_rate, 4),
                 "dropped_chat_ids": list(s.dropped_chat_ids)} for s in self.steps]

    def outcome_rows(self) -> list[dict[str, Any]]:
        """One row per (tool, API code, outcome): eligibility outcomes by API code."""
        return [{"group": self.group, "tool": o.tool, "code": o.code, "outcome": o.outcome, "calls": o.calls,
                 "conversations": o.conversations} for o in self.tool_outcomes]

    def summary(self) -> dict[str, Any]:
        """The headline figures as one row."""
        return {"group": self.group, "conversations": self.conversations, "completed": self.completed,
                "optin_rate": round(self.optin_rate, 4), "consent_asked": self.consent_asked,
                "consent_granted": self.consent_granted, "handoffs": self.handoffs,
                "handoff_rate": round(self.handoff_rate, 4), "total_cost_usd": self.total_cost_usd,
                "avg_cost_per_completed_usd": self.avg_cost_per_completed_usd,
                "cost_per_completion_usd": self.cost_per_completion_usd, **{f"outcome_{k}": v
                                                                            for k, v in self.outcomes.items()}}


@dataclass(frozen=True)
class FunnelReport:
    """The funnel of every group (one group, ``all``, when not grouped)."""

    pack: str
    by: str | None
    groups: tuple[Funnel, ...]
    steps: tuple[str, ...] = field(default=())

    @property
    def overall(self) -> Funnel:
        return self.groups[0]

    def to_rows(self) -> list[dict[str, Any]]:
        return [row for g in self.groups for row in g.to_rows()]

    def summary_rows(self) -> list[dict[str, Any]]:
        return [g.summary() for g in self.groups]

    def outcome_rows(self) -> list[dict[str, Any]]:
        return [row for g in self.groups for row in g.outcome_rows()]


def _funnel(group: str, rows: Sequence[ConversationRow], pack: Pack) -> Funnel:
    stages = funnel_steps(pack)
    journey = pack.journey
    steps: list[FunnelStep] = []
    for name in stages:
        reached = sum(1 for r in rows if name in r.steps)
        dropped = tuple(r.chat_id for r in rows if r.dropped_at == name)
        steps.append(FunnelStep(name, journey.steps[name].description, reached, len(dropped), dropped, len(rows)))
    calls: Counter[tuple[str, str, str]] = Counter()
    chats_with: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        calls.update(r.tool_outcomes)
        chats_with.update(set(r.tool_outcomes))
    tools = tuple(ToolOutcome(t, c, o, n, chats_with[(t, c, o)]) for (t, c, o), n in sorted(calls.items()))
    completed = [r for r in rows if r.completed]
    mix = Counter(r.outcome for r in rows)
    return Funnel(
        group=group, conversations=len(rows), steps=tuple(steps),
        consent_asked=sum(1 for r in rows if r.consent_asked), consent_granted=sum(1 for r in rows if r.consent),
        handoffs=sum(1 for r in rows if r.handoff), handoff_chat_ids=tuple(r.chat_id for r in rows if r.handoff),
        completed=len(completed), outcomes={k: mix.get(k, 0) for k in OUTCOMES}, tool_outcomes=tools,
        total_cost_usd=sum(r.cost_usd for r in rows), completed_cost_usd=sum(r.cost_usd for r in completed))


def _group_key(row: ConversationRow, by: GroupBy) -> str:
    if by == "day":
        return row.created_at.date().isoformat() if row.created_at else "?"
    return row.config


def funnel(settings: Settings, *, sources: Iterable[str] | None = PEOPLE_SOURCES,
           since: date | datetime | None = None, until: date | datetime | None = None,
           by: GroupBy | None = None, limit: int | None = 5000) -> FunnelReport:
    """The journey funnel of the settings' pack: per step (``journey.yaml`` order) how many conversations
    reached it and which stopped there; opt-in and handoff rates, API outcomes by code, cost per completed
    journey. ``by="day"`` (creation day, UTC) or ``"config"`` (decision/conversation models) adds one funnel
    per group after the overall one."""
    if by not in (None, "day", "config"):
        raise ValueError(f"funnel by {by!r}: use None, 'day' or 'config'")
    pack, rows = _load(settings, sources=sources, since=since, until=until, limit=limit)
    groups = [_funnel("all", rows, pack)]
    if by is not None:
        keyed: dict[str, list[ConversationRow]] = {}
        for row in rows:
            keyed.setdefault(_group_key(row, by), []).append(row)
        groups += [_funnel(key, keyed[key], pack) for key in sorted(keyed)]
    return FunnelReport(pack.name, by, tuple(groups), funnel_steps(pack))


# ---------------------------------------------------------------- the review queue


def review(settings: Settings, chat_id: int, verdict: str, comment: str = "",
           corrections: Mapping[int, str] | None = None, reviewer: str = "") -> Review:
    """Record a reviewer's verdict (``approved`` / ``rejected``) on a conversation, with a comment and corrected
    agent replies (message index, as :func:`transcript` numbers them, → the reply the agent should have sent).
    Text is scrubbed (personal data masked) before it is stored. A new verdict replaces the previous one."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    store = Store.open(settings.database_url)
    if store.get_chat(chat_id) is None:
        raise ValueError(f"no conversation #{chat_id}")
    messages = store.list_messages(chat_id)
    fixed: dict[int, str] = {}
    for index, text in (corrections or {}).items():
        i = int(index)
        if not 0 <= i < len(messages) or messages[i]["role"] != "agent":
            raise ValueError(f"correction for message {i}: conversation #{chat_id} has no agent message there "
                             f"(agent messages: {[n for n, m in enumerate(messages) if m['role'] == 'agent']})")
        if str(text).strip():
            fixed[i] = scrub(str(text).strip())
    name = " ".join((reviewer or "").split())[:120]
    return Reviews(store).save(chat_id, verdict, scrub(comment or ""), fixed, name)


def reviews(settings: Settings, *, verdict: str | None = None, chat_ids: Iterable[int] | None = None,
            limit: int | None = None) -> list[Review]:
    """Stored reviews, newest first (of ``verdict`` / ``chat_ids`` when given)."""
    return Reviews(Store.open(settings.database_url)).list(chat_ids=chat_ids, verdict=verdict, limit=limit)


def review_queue(settings: Settings, *, sources: Iterable[str] | None = PEOPLE_SOURCES, limit: int | None = 100,
                 include_reviewed: bool = True) -> list[ConversationRow]:
    """Conversations to review: the unreviewed ones first (most recently updated first), then the reviewed
    (most recently updated first); at most ``limit`` (chosen in SQL: only those are read)."""
    pack = get_pack(settings.pack_dir)
    store = Store.open(settings.database_url)
    reviewed = select(chat_review.c.fk_id_chat)
    with store.engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(_chat_query(pack, sources).where(chats.c.id_chat.not_in(reviewed))
                                               .limit(limit))]
        room = None if limit is None else limit - len(ids)
        if include_reviewed and (room is None or room > 0):
            ids += [int(r[0]) for r in conn.execute(_chat_query(pack, sources).where(chats.c.id_chat.in_(reviewed))
                                                    .limit(room))]
    order = {chat_id: i for i, chat_id in enumerate(ids)}
    rows = conversations(settings, sources=sources, chat_ids=ids, limit=None) if ids else []
    return sorted(rows, key=lambda r: order[r.chat_id])
