"""Conversation insights: emotion per customer message, satisfaction, objections, a summary with actionable
insights and the assertiveness score (deck: "Score de assertividade"), for a live ``AgentSession`` or a
stored conversation.

The deterministic part (objections from the pack's trigger phrases, satisfaction, summary, the rubric) is in
:mod:`agent.core.assess`. On top of it, the insights role is asked through the gateway — so every call is in
the ledger under its own feature name — with the pack's JSON prompts (``insights_satisfaction.txt``,
``insights_summary.txt``); its answer is validated (scores in range, known categories, non-empty text) and the
deterministic reading is kept when it is not valid. ``local/rules`` answers with that deterministic reading
(recorded in the ledger like the engine's emotion call). The judge component of the score is asked of the
judge role only when it is a real model; offline it says so. Per-message emotion is the engine's own reading
of each turn ("Analise de Emoção", already paid for), never asked again.

Results are cached per chat and number of turns (table ``chat_insights``, sealed like traces), so a page that
shows them does not pay for them on every render. Every text excerpt goes through :func:`agent.privacy.scrub`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agent.core import assess
from agent.core.trace import TurnTrace
from agent.errors import GatewayError, MalformedResponse, StoreError
from agent.privacy import scrub

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.core.pack import Pack
    from agent.core.session import AgentSession

FEATURES = {"satisfaction": "Satisfação e objeções", "summary": "Resumo da conversa",
            "judge": "Score de assertividade"}
PROMPTS = {"satisfaction": "insights_satisfaction", "summary": "insights_summary", "judge": "insights_judge"}
TRANSCRIPT_MESSAGES = 40
WHO = {"customer": "Cliente", "agent": "Agente", "operator": "Atendente"}


@dataclass(frozen=True)
class MessageEmotion:
    """The emotion of one customer message: label, intensity 0–1, polarity -1..1, strongly negative."""

    turn: int | None
    text: str
    emotion: str
    intensity: float
    polarity: float
    strong_negative: bool = False
    irony: bool = False
    source: str = "engine"  # engine (the turn's "Analise de Emoção") | lexicon


@dataclass(frozen=True)
class Satisfaction:
    """Satisfaction 1–5 with its label and the evidence behind it."""

    score: int
    label: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Objection:
    """An objection category the customer raised, where and how."""

    category: str
    label: str
    turn: int | None = None
    excerpt: str = ""
    trigger: str = ""
    action: str = ""


@dataclass(frozen=True)
class Summary:
    """What happened and what to do about it."""

    text: str
    actions: tuple[str, ...] = ()
    step_reached: str = ""
    completed: bool = False
    handoff: str | None = None


@dataclass(frozen=True)
class ScoreComponent:
    """One rubric component: value 0–1 (None: not available), its weight and why."""

    name: str
    value: float | None
    weight: float
    why: str


@dataclass(frozen=True)
class AssertivenessScore:
    """The assertiveness score 0–100 (None without any component) and its components."""

    score: float | None
    components: tuple[ScoreComponent, ...] = ()


@dataclass(frozen=True)
class ConversationInsights:
    """Everything the insights engine says about one conversation."""

    chat_id: int | None
    pack: str
    turns: int
    emotions: tuple[MessageEmotion, ...]
    satisfaction: Satisfaction
    objections: tuple[Objection, ...]
    summary: Summary
    score: AssertivenessScore
    alerts: tuple[Mapping[str, Any], ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (tuples as lists)."""
        return json.loads(json.dumps(asdict(self), ensure_ascii=False, default=str))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversationInsights:
        """Read back :meth:`to_json`'s form (the cache)."""
        score = data.get("score") or {}
        return cls(
            chat_id=data.get("chat_id"), pack=str(data.get("pack") or ""), turns=int(data.get("turns") or 0),
            emotions=tuple(MessageEmotion(**e) for e in data.get("emotions") or ()),
            satisfaction=Satisfaction(**{**data["satisfaction"], "evidence": tuple(data["satisfaction"]["evidence"])}),
            objections=tuple(Objection(**o) for o in data.get("objections") or ()),
            summary=Summary(**{**data["summary"], "actions": tuple(data["summary"]["actions"])}),
            score=AssertivenessScore(score.get("score"), tuple(ScoreComponent(**c) for c in score.get("components") or ())),
            alerts=tuple(data.get("alerts") or ()), models=dict(data.get("models") or {}),
            notes=tuple(data.get("notes") or ()), cached=bool(data.get("cached")))


def message_emotion(text: str) -> MessageEmotion:
    """The lexicon's reading of one message (no model call): for a message typed but not yet sent, a preview."""
    from agent.br.sentiment import analyse

    reading = analyse(text)
    return MessageEmotion(None, scrub(text), reading.label, reading.intensity, reading.polarity,
                          reading.strong_negative, reading.irony, "lexicon")


def session_insights(session: AgentSession, *, use_cache: bool = True,
                     model_calls: bool = True) -> ConversationInsights:
    """Insights of a live conversation (its turns so far, unsaved ones included). ``model_calls=False``: the
    deterministic reading only — no call, no ledger row, no cache (e.g. a list of many conversations on a paid
    insights model); the per-message emotion is still the engine's."""
    transcript = [(m.role, m.text) for m in session.messages]
    if not model_calls:
        return _compute(session.settings, session.engine, session.chat_id, list(session.traces), transcript,
                        {"insights": "", "judge": ""}, calls=False)
    return _insights(session.settings, session.engine, session.chat_id, session.traces, transcript,
                     session.store if use_cache else None)


def conversation_insights(settings: Settings, chat_id: int, *, use_cache: bool = True,
                          model_calls: bool = True) -> ConversationInsights:
    """Insights of a stored conversation (messages and traces read through the store)."""
    from agent.core.session import AgentSession

    return session_insights(AgentSession.load(settings, chat_id), use_cache=use_cache, model_calls=model_calls)


def cached_insights(settings: Settings, chat_id: int) -> ConversationInsights | None:
    """The newest insights cached for ``chat_id`` with the configured models, without computing anything (its
    ``turns`` may be fewer than the conversation has now); None when none is cached."""
    from agent.adapters.store import Store

    models = _models(settings)
    rows = [r for r in Store.open(settings.database_url).list_chat_insights(chat_id)
            if r["models"] == f"{models['insights']}|{models['judge']}"]
    return ConversationInsights.from_json({**rows[-1]["insights"], "cached": True}) if rows else None


# ---------------------------------------------------------------------- the work


def _models(settings: Settings) -> dict[str, str]:
    return {role: settings.role(role).model for role in ("insights", "judge")}


def _insights(settings: Settings, engine: Any, chat_id: int | None, traces: Sequence[TurnTrace],
              transcript: Sequence[tuple[str, str]], store: Any) -> ConversationInsights:
    models = _models(settings)
    key = f"{models['insights']}|{models['judge']}"
    if store is not None and chat_id is not None:
        try:
            cached = store.chat_insights(chat_id, len(traces), key)
        except StoreError:
            cached = None
        if cached is not None:
            return ConversationInsights.from_json({**cached, "cached": True})
    result = _compute(settings, engine, chat_id, list(traces), transcript, models)
    if store is not None and chat_id is not None:
        try:
            store.save_chat_insights(chat_id, len(traces), key, result.to_json())
        except StoreError:
            pass  # shown anyway; computed again next time
    return result


def _compute(settings: Settings, engine: Any, chat_id: int | None, traces: list[TurnTrace],
             transcript: Sequence[tuple[str, str]], models: Mapping[str, str], *,
             calls: bool = True) -> ConversationInsights:
    pack: Pack = engine.pack
    spec = assess.load_spec(pack.directory)
    turns = assess.customer_turns(traces)
    readings = [assess.emotion_of(t) for t in turns]
    emotions = tuple(MessageEmotion(t.turn, scrub(t.customer_text), str(r.get("emotion") or "neutro"),
                                    float(r.get("intensity") or 0.0), float(r.get("polarity") or 0.0),
                                    bool(r.get("strong_negative")), bool(r.get("irony")), str(r["source"]))
                     for t, r in zip(turns, readings, strict=True))
    result = assess.outcome(pack, traces)
    found = assess.objections(spec, traces)
    satisfied = assess.satisfaction(readings, result)
    summary = assess.summary(pack, traces, readings, result, found)
    notes: list[str] = []
    text = _transcript(transcript)
    ask = _Asker(settings, engine, chat_id, notes, enabled=calls)
    menu = "\n".join(f"- {o.key}: {o.label}" for o in spec.objections)
    suggested = {"satisfaction": satisfied["score"], "evidence": satisfied["evidence"],
                 "objections": [{"category": o["category"], "excerpt": o["excerpt"]} for o in found]}
    answer = ask("insights", "satisfaction", {"transcript": text, "objection_menu": menu}, suggested,
                 lambda a: _valid_satisfaction(a, {o.key for o in spec.objections}))
    if answer is not None and answer != suggested:
        satisfied = {"score": int(answer["satisfaction"]),
                     "label": assess.SATISFACTION_LABELS[int(answer["satisfaction"])],
                     "evidence": [str(e) for e in answer.get("evidence") or ()][:3]}
        found = _model_objections(spec, answer, found)
    facts = json.dumps({k: summary[k] for k in ("text", "step_reached", "completed", "handoff")}, ensure_ascii=False)
    suggested_summary = {"summary": summary["text"], "actions": summary["actions"]}
    answer = ask("insights", "summary", {"transcript": text, "facts": facts}, suggested_summary, _valid_summary)
    if answer is not None and answer != suggested_summary:
        summary = {**summary, "text": str(answer["summary"]), "actions": [str(a) for a in answer.get("actions") or ()]}
    parts = assess.components(pack, spec, traces, readings, result)
    parts.append({**_judge(settings, ask, text), "weight": spec.weights.get("judge", 0.0)})
    return ConversationInsights(
        chat_id=chat_id, pack=pack.name, turns=len(traces), emotions=emotions,
        satisfaction=Satisfaction(int(satisfied["score"]), str(satisfied["label"]),
                                  tuple(scrub(str(e)) for e in satisfied["evidence"])),
        objections=tuple(Objection(o["category"], o["label"], o.get("turn"), scrub(str(o.get("excerpt") or "")),
                                   str(o.get("trigger") or ""), str(o.get("action") or "")) for o in found),
        summary=Summary(scrub(summary["text"]), tuple(scrub(a) for a in summary["actions"]), summary["step_reached"],
                        bool(summary["completed"]), summary["handoff"]),
        score=AssertivenessScore(assess.combine(parts), tuple(
            ScoreComponent(c["name"], c["value"], float(c["weight"]), scrub(str(c["why"]))) for c in parts)),
        alerts=tuple(dict(t.alert) for t in traces if t.alert),
        models=dict(models), notes=tuple(scrub(n) for n in notes))  # a note may quote a model's answer


def _judge(settings: Settings, ask: _Asker, transcript: str) -> dict[str, Any]:
    if not ask.enabled:
        return {"name": "judge", "value": None, "why": "não pedido (somente a leitura determinística)"}
    if settings.role("judge").is_local:
        return {"name": "judge", "value": None, "why": "não disponível offline (papel judge em local/rules)"}
    answer = ask("judge", "judge", {"transcript": transcript}, None, _valid_judge)
    if answer is None:
        return {"name": "judge", "value": None, "why": "o modelo juiz não deu uma nota válida"}
    return {"name": "judge", "value": round(float(answer["score"]), 3), "why": str(answer.get("reason") or "")[:300]}


def _transcript(messages: Sequence[tuple[str, str]]) -> str:
    lines = [f"{WHO[role]}: {scrub(text)}" for role, text in messages if role in WHO and text][-TRANSCRIPT_MESSAGES:]
    return "\n".join(lines) or "(sem mensagens)"


class _Asker:
    """One JSON call on a role with a pack prompt: validated, retried once on invalid JSON, None on failure."""

    def __init__(self, settings: Settings, engine: Any, chat_id: int | None, notes: list[str], *,
                 enabled: bool = True) -> None:
        self.settings, self.engine, self.chat_id, self.notes = settings, engine, chat_id, notes
        self.enabled = enabled

    def __call__(self, role: str, kind: str, variables: Mapping[str, Any], suggested: Mapping[str, Any] | None,
                 valid: Callable[[Mapping[str, Any]], bool]) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        prompts = self.engine.pack.prompts
        if PROMPTS[kind] not in prompts.names():
            self.notes.append(f"{FEATURES[kind]}: the pack has no {PROMPTS[kind]}.txt; deterministic reading kept")
            return None
        messages = [{"role": "system", "content": prompts.render(PROMPTS[kind], **variables)}]
        context = {"task": "insights", "kind": kind, "suggested": dict(suggested or {})}
        for attempt in (1, 2):
            try:
                completion = self.engine.gateway.complete(role, FEATURES[kind], messages, self.chat_id,
                                                          context=context, expect_json=True)
            except MalformedResponse as exc:
                self.notes.append(f"{FEATURES[kind]}: invalid JSON (attempt {attempt}): {exc.detail[:120]}")
                continue
            except GatewayError as exc:
                self.notes.append(f"{FEATURES[kind]} ({exc.model}): {exc.user_message}")
                return None
            if completion.json is not None and valid(completion.json):
                return dict(completion.json)
            self.notes.append(f"{FEATURES[kind]}: the answer did not pass validation; deterministic reading kept")
            return None
        return None


def _valid_satisfaction(answer: Mapping[str, Any], categories: set[str]) -> bool:
    score = answer.get("satisfaction")
    objections = answer.get("objections") or []
    return (isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5
            and isinstance(answer.get("evidence") or [], list) and isinstance(objections, list)
            and all(isinstance(o, Mapping) and o.get("category") in categories for o in objections))


def _model_objections(spec: assess.InsightsSpec, answer: Mapping[str, Any],
                      found: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    known = {o.key: o for o in spec.objections}
    mine = {o["category"]: o for o in found}
    out: list[dict[str, Any]] = []
    for item in answer.get("objections") or ():
        key = str(item["category"])
        if key in {o["category"] for o in out}:
            continue
        base = mine.get(key, {})
        out.append({"category": key, "label": known[key].label, "turn": base.get("turn"),
                    "excerpt": str(item.get("excerpt") or base.get("excerpt") or ""),
                    "trigger": base.get("trigger", ""), "action": known[key].action})
    return out


def _valid_summary(answer: Mapping[str, Any]) -> bool:
    return isinstance(answer.get("summary"), str) and bool(answer["summary"].strip()) \
        and isinstance(answer.get("actions") or [], list)


def _valid_judge(answer: Mapping[str, Any]) -> bool:
    score = answer.get("score")
    return isinstance(score, int | float) and not isinstance(score, bool) and 0 <= float(score) <= 1
