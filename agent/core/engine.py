"""One turn of the agent, as a pipeline of named steps over one typed turn state.

    ingest  media → text, bursts merged
    guard   handoff / nothing usable / too long / injection: settle the turn without the models
    decide  emotion, classification, extraction (decision role, JSON, validated by the pack) → event
    act     journey.transition, then the step's tools (HTTP) and their events
    respond the journey's replies (message codes, retrieved knowledge), polished by the conversation role
    check   the output guard on every reply, media notices first → the frozen ``TurnTrace``

Every model call goes through the gateway (one ledger row each). A failing model never stops the
conversation: decisions fall back to the deterministic NLU, replies to the journey's own template,
and the reason is shown in plain words. Everything domain-specific comes from the ``Pack``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from agent.adapters.gateway import Gateway
from agent.adapters.knowledge import KnowledgeBase
from agent.adapters.tools import ToolArgumentError, ToolRegistry, ToolResult
from agent.brain import nlu
from agent.config import Settings
from agent.core.guardrails import check_input, check_output, mask_pii
from agent.core.journey import Event, Journey, JourneyState
from agent.core.pack import Pack, Reading, Rejected, ReplyContext, get_pack
from agent.core.prompts import PromptPack
from agent.core.trace import (
    Decision,
    EventRecord,
    GuardVerdict,
    ModelCall,
    Retrieval,
    ToolCall,
    TurnTrace,
)
from agent.errors import GatewayError, MalformedResponse
from agent.types import Attachment, Completion, Message, Usage

log = logging.getLogger(__name__)

FEATURES = {
    "emotion": "Analise de Emoção",
    "classify": "Classificação de jornada",
    "extract": "Extração de atributos",
    "tool": "API",
    "conversation": "Conversa",
    "transcription": "Transcrição de áudio",
    "vision": "Leitura de imagem",
}
HISTORY_TURNS = 6
WHO = {"customer": "Cliente", "agent": "Agente", "operator": "Atendente"}


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)))


@dataclass
class TurnOutcome:
    """What one turn produced; the session persists it."""

    state: JourneyState
    replies: list[str]
    customer_text: str
    trace: TurnTrace
    usage: Usage = field(default_factory=Usage)
    errors: list[str] = field(default_factory=list)
    message_codes: list[int | str] = field(default_factory=list)
    guard_violations: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TurnState:
    """The working state of one turn: each pipeline step reads and extends it."""

    chat_id: int | None
    before: JourneyState
    history: Sequence[Message]
    settings: Settings
    pack: Pack
    prompts: PromptPack
    journey: Journey
    pack_settings: Mapping[str, Any]
    inputs: Sequence[Message] = ()
    system_event: str | None = None
    customer_text: str = ""
    # Set by the step that settles the turn; later deciding steps skip.
    after: JourneyState | None = None
    suggested: list[str] = field(default_factory=list)
    use_model: bool = True
    replies: list[str] = field(default_factory=list)
    blocked: str | None = None
    emotion: dict[str, Any] | None = None
    reading: Reading | None = None
    event: Event | None = None
    usage: Usage = field(default_factory=Usage)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    guard_input: tuple[str, ...] = ()
    guard_output: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    calls: list[ModelCall] = field(default_factory=list)
    prompt_versions: dict[str, str] = field(default_factory=dict)
    tool_results: list[ToolResult] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    media_replies: list[str] = field(default_factory=list)

    def settle(self, state: JourneyState, suggested: Sequence[str], *, use_model: bool) -> None:
        """The turn's outcome is known: later deciding steps are skipped."""
        self.after, self.suggested, self.use_model = state, list(suggested), use_model

    def masked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.pack.mask_attributes(values)

    def state_view(self, state: JourneyState) -> dict[str, Any]:
        data = state.to_dict()
        data["attributes"] = self.masked(state.attributes)
        return data


def state_view(state: JourneyState, pack: Pack | None = None) -> dict[str, Any]:
    """JSON-able state with personal attributes masked (UI, CLI ``/state``, evals)."""
    data = state.to_dict()
    data["attributes"] = (pack or get_pack()).mask_attributes(state.attributes)
    return data


def deterministic_reading(text: str, pack: Pack, expecting: str | None = None) -> Reading:
    """What the offline NLU reads in ``text`` (intent over the pack's examples, validated attributes)."""
    intent = nlu.classify(text, pack.directory)
    return _reading(text, intent.intent, intent.confidence, nlu.extract(text, expecting), pack)


def _reading(text: str, intent: str, confidence: float, extraction: nlu.Extraction, pack: Pack,
             model_values: Mapping[str, Any] | None = None, notes: list[str] | None = None) -> Reading:
    """Deterministic findings, completed by the model's values where they pass the pack's validators."""
    found = {k: v for k, v in extraction.attributes().items() if k in pack.attributes}
    rejected = [Rejected(attr, str(pack.mask_value(attr, raw)), reason)
                for attr, raw, reason in extraction.rejected() if attr in pack.attributes]
    for name, value in (model_values or {}).items():
        attribute = pack.attributes.get(name)
        if attribute is None or value in (None, ""):
            continue
        try:
            accepted = attribute.validate(value)
            if accepted is None:  # the validator found nothing there (e.g. no digits at all)
                continue
        except (ValueError, TypeError) as exc:
            reason = getattr(exc, "reason", type(exc).__name__)
            if notes is not None:
                notes.append(f"{name} {pack.mask_value(name, value)!r} rejected by validation ({reason})")
            if name not in found:
                rejected.append(Rejected(name, str(_mask_safely(pack, name, value)), reason))
            continue
        # A value the deterministic pass did not see stays only if valid (above).
        if found.get(name) in (None, ""):
            found[name] = accepted
    confirmation = extraction.confirmation
    return Reading(text, intent, confidence, found, tuple(rejected), confirmation)


def _mask_safely(pack: Pack, name: str, value: Any) -> Any:
    try:
        return pack.mask_value(name, value)
    except (ValueError, TypeError):
        return "***"


class Engine:
    """Runs turns for one pack and its adapters. Stateless between turns: state comes in and goes out.

    Built from the settings that shape it (``Settings.engine_key``); models and temperatures are per
    call (``run_turn(settings=…)``), so moving a slider reuses the engine.
    """

    def __init__(self, settings: Settings, gateway: Gateway, tools: ToolRegistry | None = None,
                 knowledge: KnowledgeBase | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self.pack_dir = settings.pack_dir
        self.pack.journey  # noqa: B018  (load now: a broken pack fails at start-up, not mid-conversation)
        self.tools = tools or self.pack.tool_registry(settings)
        self._knowledge = knowledge

    @property
    def pack(self) -> Pack:
        """The pack (its prompts and journey are re-read when a file changes)."""
        return get_pack(self.pack_dir)

    @property
    def journey(self) -> Journey:
        return self.pack.journey

    @property
    def knowledge(self) -> KnowledgeBase:
        if self._knowledge is None:
            from agent.adapters.knowledge import load_knowledge

            embed = None
            if self.settings.embedding_model:
                # Hybrid ranking (BM25 ⊕ embeddings) only when an embeddings model is configured.
                embed = lambda texts: self.gateway.embed(texts, feature="Embeddings RAG")  # noqa: E731
            self._knowledge = load_knowledge(self.pack_dir, embed=embed)
        return self._knowledge

    def close(self) -> None:
        """Release pooled connections (the engine cache calls this when it drops an engine)."""
        self.tools.close()

    # ------------------------------------------------------------------ public
    def run_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                 inputs: Sequence[Message], settings: Settings | None = None) -> TurnOutcome:
        """Answer the customer's (merged) messages."""
        started = time.perf_counter()
        ts = self._new_turn(chat_id, state, history, settings)
        ts.inputs = inputs
        with self.gateway.batch(), self.gateway.using_roles(ts.settings.roles):
            for step in (self.ingest, self.guard, self.decide, self.act, self.respond, self.check):
                step(ts)
        return self._outcome(ts, started)

    def system_event(self, chat_id: int | None, state: JourneyState, event: str,
                     history: Sequence[Message] = (), settings: Settings | None = None) -> TurnOutcome:
        """A turn with no customer text: re-engagement after idle, operator hand-back."""
        started = time.perf_counter()
        ts = self._new_turn(chat_id, state, history, settings)
        ts.system_event = event
        with self.gateway.using_roles(ts.settings.roles):
            after = ts.journey.transition(state, event)
            ts.settle(after, [r for r in self.render_replies(ts, after) if r], use_model=False)
            self.respond(ts)
            self.check(ts)
        return self._outcome(ts, started)

    def _new_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                  settings: Settings | None) -> TurnState:
        settings = settings or self.settings
        pack = self.pack
        # Read once per turn: both re-check the pack's files (edits apply to the next turn).
        return TurnState(chat_id, state, list(history), settings, pack, pack.prompts, pack.journey,
                         pack.resolve_settings(settings))

    # ------------------------------------------------------------------ steps
    def ingest(self, ts: TurnState) -> None:
        """Media → text; the burst's texts joined in order."""
        texts = []
        for message in ts.inputs:
            for attachment in message.attachments:
                text = self.read_media(ts, attachment)
                if text:
                    texts.append(text)
            if message.text.strip():
                texts.append(message.text.strip())
        ts.customer_text = "\n".join(texts)

    def guard(self, ts: TurnState) -> None:
        """Turns the models must not see: handoff, nothing usable, too long; injection is flagged."""
        silent = replace(ts.before, replies=())
        if ts.before.handoff:
            ts.notes.append("handoff: a human operator is in charge; the agent stays silent")
            return ts.settle(silent, [], use_model=False)
        if not ts.customer_text:
            # Only unusable media: the media error already told the customer what to do.
            return ts.settle(silent, [], use_model=False)
        check = check_input(ts.customer_text, max_chars=self.settings.max_message_chars)
        ts.guard_input = tuple(check.violations)
        ts.blocked = check.blocked_reason
        if check.blocked_reason == "too_long" and ts.pack.codes.too_long is not None:
            code = ts.pack.codes.too_long
            text = ts.prompts.message(code, max_message_chars=self.settings.max_message_chars)
            return ts.settle(replace(ts.before, replies=(code,)), [text], use_model=False)
        return None

    def decide(self, ts: TurnState) -> None:
        """Emotion, then classification + extraction on the decision role, turned into an event."""
        if ts.after is not None:
            return
        if ts.blocked is None:
            ts.emotion = self.emotion(ts)
        if ts.blocked == "injection":
            ts.event = Event("injection")
            ts.notes.append("prompt injection caught by the input guard; models not consulted")
            return
        event = self.classify_and_extract(ts)
        emotion = ts.emotion or {}
        if emotion.get("strong_negative") and event.name not in {"ask_human", "goodbye"}:
            ts.notes.append(f"strong negative emotion ({emotion.get('emotion')}) → handoff")
            event = Event("strong_negative", event.attributes)
        ts.event = event

    def act(self, ts: TurnState) -> None:
        """The journey moves; while the new step is a tool step, its tools run and move it again."""
        if ts.after is not None:
            return
        assert ts.event is not None
        state = ts.journey.transition(ts.before, ts.event)
        for _ in range(3):
            allowed = ts.journey.allowed_tools(state.step)
            if not allowed:
                break
            result = self.call_tool(ts, state, allowed)
            state = ts.journey.transition(state, result.event)
        ts.settle(state, self.render_replies(ts, state), use_model=True)

    def respond(self, ts: TurnState) -> None:
        """The conversation role polishes the journey's reply; the output guard keeps it grounded."""
        assert ts.after is not None
        ts.replies = self.polish(ts, ts.after, ts.suggested) if ts.use_model else list(ts.suggested)

    def check(self, ts: TurnState) -> None:
        """Media notices first; a reply that asks for a secret becomes the pack's safe reply."""
        assert ts.after is not None
        replies = ts.replies
        if ts.media_replies and not ts.after.handoff:
            replies = [*ts.media_replies, *replies]
        for reply in replies:
            verdict = check_output(reply, [*ts.suggested, ts.customer_text])
            if "asks_for_secret" in verdict.violations:
                ts.violations.append("asks_for_secret")
                safe = ts.pack.codes.safe
                replies = [ts.prompts.message(safe)] if safe is not None else []
        ts.replies = replies

    # ------------------------------------------------------------------ model calls
    def call(self, ts: TurnState, role: str, kind: str, prompt_name: str, variables: Mapping[str, Any],
             context: dict[str, Any], *, expect_json: bool = False,
             extra_messages: Sequence[dict[str, Any]] = (), **opts: Any) -> Completion:
        """One gateway call with a rendered pack prompt; recorded in the trace, success or not."""
        rendered = ts.prompts.render(prompt_name, **variables)
        messages = [{"role": "system", "content": rendered}, *extra_messages]
        version = ts.prompts.content_hash(prompt_name)
        ts.prompt_versions[prompt_name] = version
        base = ModelCall(role=role, feature=FEATURES[kind], prompt_name=prompt_name, prompt_version=version,
                         rendered_messages=tuple(_mask_deep(messages, ts.pack)))
        try:
            completion = self.gateway.complete(role, FEATURES[kind], messages, ts.chat_id, context=context,
                                               expect_json=expect_json, **opts)
        except GatewayError as exc:
            failed = getattr(exc, "completion", None)
            call = self._account(ts, base, failed) if failed is not None else base
            ts.calls.append(replace(call, error=exc.user_message,
                                    model=exc.model or ts.settings.role(role).model))
            raise
        ts.calls.append(self._account(ts, base, completion))
        return completion

    def _account(self, ts: TurnState, call: ModelCall, c: Completion) -> ModelCall:
        ts.usage = ts.usage + c.usage
        return replace(call, model=c.model, output=mask_pii(c.text),
                       json=_mask_deep(c.json, ts.pack) if c.json else None,
                       tool_calls=tuple({"name": t.name, "arguments": _mask_deep(t.arguments, ts.pack)}
                                        for t in c.tool_calls),
                       input_tokens=c.usage.input_tokens, output_tokens=c.usage.output_tokens,
                       cost_usd=c.usage.cost_usd, latency_ms=round(c.latency_ms, 1), usage_source=c.usage.source,
                       request_id=c.request_id, fallback_used=c.fallback_used)

    def call_json(self, ts: TurnState, role: str, kind: str, prompt_name: str, variables: Mapping[str, Any],
                  context: dict[str, Any]) -> dict[str, Any] | None:
        """JSON call: on invalid JSON retry once; on any failure return None (caller falls back)."""
        for attempt in (1, 2):
            try:
                return self.call(ts, role, kind, prompt_name, variables, context, expect_json=True).json
            except MalformedResponse as exc:
                ts.notes.append(f"{FEATURES[kind]}: invalid JSON (attempt {attempt}): {exc.detail[:120]}")
            except GatewayError as exc:
                ts.errors.append(f"{FEATURES[kind]} ({exc.model}): {exc.user_message}")
                break
        ts.notes.append(f"{FEATURES[kind]}: fell back to the deterministic extractor")
        return None

    # ------------------------------------------------------------------ decide
    def common_variables(self, ts: TurnState, state: JourneyState | None = None) -> dict[str, Any]:
        state = state or ts.before
        return {
            "step": state.step,
            "step_description": ts.journey.steps[state.step].description,
            "history": self.history_text(ts),
            "customer_message": ts.customer_text,
            "captured_attributes": json.dumps(ts.masked(state.attributes), ensure_ascii=False),
        }

    @staticmethod
    def history_text(ts: TurnState) -> str:
        lines = [f"{WHO[m.role]}: {mask_pii(m.text)}" for m in ts.history[-HISTORY_TURNS * 2:] if m.role in WHO]
        return "\n".join(lines) or "(início da conversa)"

    def emotion(self, ts: TurnState) -> dict[str, Any]:
        result = self.call_json(ts, "insights", "emotion", "emotion_analysis", self.common_variables(ts),
                                {"task": "emotion", "customer_message": ts.customer_text,
                                 "history": [m.text for m in ts.history[-4:] if m.role == "customer"]})
        return result or {}

    def classify_and_extract(self, ts: TurnState) -> Event:
        """Classification + extraction on the decision role, validated, turned into a journey event."""
        journey, pack = ts.journey, ts.pack
        variables = self.common_variables(ts)
        pending = journey.steps[ts.before.step].prompt
        intents = "\n".join(f"- {i}" for i in journey.intents)
        raw = self.call_json(ts, "decision", "classify", "journey_classification",
                             {**variables, "intents": intents, "pending_question": str(pending or "")},
                             {"task": "journey_classification", "customer_message": ts.customer_text,
                              "step": ts.before.step, "pack_dir": str(pack.directory)})
        if raw and raw.get("intent") in journey.intents:
            intent, confidence = str(raw["intent"]), float(raw.get("confidence") or 0.0)
        else:
            if raw is not None:
                ts.notes.append(f"classification {raw!r} is not a known intent; used the deterministic one")
            found = nlu.classify(ts.customer_text, pack.directory)
            intent, confidence = found.intent, found.confidence

        missing = journey.missing_attributes(ts.before)
        expecting = missing[0] if missing else None
        extraction = nlu.extract(ts.customer_text, expecting)
        captures = journey.steps[ts.before.step].captures
        model_values: Mapping[str, Any] = {}
        if captures or intent == "provide_data" or extraction.has_data:
            schema = "\n".join(f"- {name}: {spec.description}" for name, spec in journey.attributes.items())
            model = self.call_json(ts, "decision", "extract", "get_attribute_template",
                                   {**variables, "attributes_schema": schema},
                                   {"task": "get_attribute", "customer_message": ts.customer_text,
                                    "expecting": expecting})
            if model is not None:
                model_values = model.get("attributes") or {}
        reading = _reading(ts.customer_text, intent, confidence, extraction, pack, model_values, ts.notes)
        ts.reading = reading
        event = pack.to_event(reading, ts.before.step)
        return event

    # ------------------------------------------------------------------ act
    def call_tool(self, ts: TurnState, state: JourneyState, allowed: Sequence[str]) -> ToolResult:
        """The decision role picks the call (schema from the pack's typed tools); checked before HTTP."""
        step = ts.journey.steps[state.step]
        name = allowed[0]
        fallback_args = ts.pack.default_tool_args(name, state)
        args = dict(fallback_args)
        try:
            c = self.call(ts, "decision", "tool", "tool_decision",
                          {"step": state.step, "step_description": step.description,
                           "captured_attributes": json.dumps(ts.masked(state.attributes), ensure_ascii=False),
                           "allowed_tools": ", ".join(allowed)},
                          {"task": "tool_call", "allowed_tools": list(allowed), "arguments": fallback_args},
                          tools=self.tools.schemas(),
                          extra_messages=[{"role": "user", "content": ts.customer_text or "consultar"}])
            chosen = c.tool_calls[0] if c.tool_calls else None
            if chosen is not None and chosen.name in allowed:
                name, args = chosen.name, dict(chosen.arguments)
            else:
                parsed = c.json or self._loose_json(ts, c.text)
                if parsed and parsed.get("tool") in allowed:
                    name, args = parsed["tool"], dict(parsed.get("arguments") or {})
        except GatewayError as exc:
            ts.errors.append(f"{FEATURES['tool']} ({exc.model}): {exc.user_message}")
            ts.notes.append("tool decision failed; calling the step's tool with the captured attributes")
        try:
            self.tools.tools.validate_args(name, args)
        except ToolArgumentError as exc:
            # The model's arguments are checked before any HTTP call; the captured ones are already valid.
            ts.notes.append(f"tool arguments rejected ({mask_pii(str(exc))}); used the captured attributes")
            name, args = allowed[0], ts.pack.default_tool_args(allowed[0], state)
        result = self.tools.call(name, args)
        ts.tool_results.append(result)
        return result

    @staticmethod
    def _loose_json(ts: TurnState, text: str) -> dict[str, Any] | None:
        from agent.adapters.gateway import parse_json_reply

        try:
            return parse_json_reply(text)
        except MalformedResponse as exc:
            ts.notes.append(f"tool decision was neither a tool call nor JSON ({exc.detail[:80]})")
            return None

    # ------------------------------------------------------------------ respond
    def template_variables(self, ts: TurnState, state: JourneyState) -> dict[str, Any]:
        context = ReplyContext(state, tuple(ts.tool_results), ts.reading, ts.pack_settings)
        return {"max_message_chars": self.settings.max_message_chars, **ts.pack.reply_variables(context)}

    def render_replies(self, ts: TurnState, state: JourneyState) -> list[str]:
        variables = self.template_variables(ts, state)
        codes = ts.pack.codes
        out: list[str] = []
        for token in state.replies:
            if token == codes.faq and codes.faq_miss is not None:
                answer = self.retrieve_answer(ts)
                out.append(ts.prompts.message(token, answer=answer) if answer else
                           ts.prompts.message(codes.faq_miss, **variables))
            elif isinstance(token, int):
                out.append(ts.prompts.message(token, **variables))
            else:
                out.append(ts.prompts.render(str(token), **variables))
        return out

    def retrieve_answer(self, ts: TurnState) -> str | None:
        hits = self.knowledge.search(ts.customer_text, k=3)
        ts.retrieved = [{"faq_id": h.faq_id, "question": h.question, "score": round(float(h.score), 4),
                         "answer": h.answer} for h in hits]
        return hits[0].answer if hits else None

    def polish(self, ts: TurnState, state: JourneyState, suggested: list[str]) -> list[str]:
        draft = "\n\n".join(suggested)
        codes = [r for r in state.replies if isinstance(r, int)]
        if not draft or any(c in ts.pack.fixed_codes for c in codes):
            return suggested
        api = [r.to_dict() for r in ts.tool_results]
        passages = "\n\n".join(f"[{i}] {h['question']} (faq_id: {h['faq_id']})\n{h['answer']}"
                               for i, h in enumerate(ts.retrieved, 1))
        docs = ts.prompts.render("doc_search_context", question=ts.customer_text,
                                 passages=passages) if ts.retrieved else ""
        variables = {**self.common_variables(ts, state),
                     "missing_attributes": ", ".join(ts.journey.missing_attributes(state)) or "nenhum",
                     "api_result": json.dumps(_json_safe(api), ensure_ascii=False) if api else "(sem consulta)",
                     "retrieved_docs": docs or "(nenhum)", "suggested_reply": draft}
        try:
            c = self.call(ts, "conversation", "conversation", "conversation_prompt", variables,
                          {"task": "conversation", "suggested_reply": draft, "step": state.step,
                           "customer_message": ts.customer_text},
                          extra_messages=[{"role": "user", "content": ts.customer_text or "(sem mensagem)"}])
        except GatewayError as exc:
            ts.errors.append(f"{FEATURES['conversation']} ({exc.model}): {exc.user_message} "
                             "— answered with the journey's template instead.")
            return suggested
        reply = c.text.strip()
        if not reply:
            return suggested
        sources = [draft, docs, json.dumps(_json_safe(api)), ts.customer_text,
                   *(m.text for m in ts.history if m.role == "customer")]
        verdict = check_output(reply, sources)
        ts.guard_output = tuple(verdict.violations)
        if not verdict.ok:
            ts.violations.extend(verdict.violations)
            ts.notes.append("output guard replaced the model's reply with the journey's template")
            return suggested
        return [reply]

    # ------------------------------------------------------------------ media
    def read_media(self, ts: TurnState, attachment: Attachment) -> str:
        from agent.adapters.media_input import read_attachment

        result = read_attachment(ts.settings, self.gateway, ts.prompts, attachment, ts.chat_id,
                                 transcription_prompt=str(ts.pack_settings.get("transcription_prompt") or ""))
        ts.usage = ts.usage + result.usage
        ts.media.append(result.trace)
        if result.customer_reply:
            ts.media_replies.append(result.customer_reply)
        return result.text

    # ------------------------------------------------------------------ the record
    def _outcome(self, ts: TurnState, started: float) -> TurnOutcome:
        assert ts.after is not None
        state = ts.after
        codes = list(state.replies)
        reading = ts.reading
        trace = TurnTrace(
            customer_text=mask_pii(ts.customer_text),
            system_event=ts.system_event,
            state_before=ts.state_view(ts.before),
            state_after=ts.state_view(state),
            event=EventRecord(ts.event.name, ts.masked(ts.event.attributes)) if ts.event else None,
            decision=Decision(reading.intent, round(reading.confidence, 3), ts.masked(reading.attributes),
                              tuple({"attribute": r.attribute, "masked": r.masked, "reason": r.reason}
                                    for r in reading.rejected)) if reading else None,
            emotion=ts.emotion or None,
            calls=tuple(ts.calls),
            tool_calls=tuple(ToolCall(**_json_safe(r.to_dict())) for r in ts.tool_results),
            retrieved=tuple(Retrieval(h["faq_id"], h["question"], h["score"]) for h in ts.retrieved),
            guard=GuardVerdict(ts.guard_input, ts.guard_output),
            media=tuple(ts.media),
            notes=tuple(ts.notes),
            prompt_versions=dict(ts.prompt_versions),
            message_codes=tuple(codes),
            replies=tuple(mask_pii(r) for r in ts.replies),
            cost_usd=ts.usage.cost_usd,
            input_tokens=ts.usage.input_tokens,
            output_tokens=ts.usage.output_tokens,
            errors=tuple(ts.errors),
            guard_violations=tuple(ts.violations),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return TurnOutcome(state=state, replies=list(ts.replies), customer_text=ts.customer_text, trace=trace,
                           usage=ts.usage, errors=list(ts.errors), message_codes=codes,
                           guard_violations=list(ts.violations),
                           tool_calls=[_json_safe(r.to_dict()) for r in ts.tool_results], media=list(ts.media))


def _mask_deep(value: Any, pack: Pack) -> Any:
    """Deep copy with personal attributes masked by name and PII masked inside text (for traces)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Mapping):
        return {k: (pack.mask_value(k, v) if k in pack.attributes and v else _mask_deep(v, pack))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_deep(v, pack) for v in value]
    return value

