"""The typed state of one turn, what it produces, and how it calls a model.

``TurnState`` is what every pipeline step (``agent/core/steps.py``) reads and extends; ``finish``
freezes it into the ``TurnTrace`` and the ``TurnOutcome`` the session persists.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.adapters.knowledge import KnowledgeBase
from agent.adapters.tools import ToolRegistry, ToolResult
from agent.brain import nlu
from agent.config import Settings
from agent.core.budget import (
    Compressor, RoleBudget, compress, compressor_unavailable, message_tokens, prompt_sections, summary_of_turns,
)
from agent.core.guardrails import fold
from agent.core.journey import Event, Journey, JourneyState, StateDict
from agent.core.pack import Pack, Reading, Rejected, get_pack
from agent.core.prompts import PromptPack
from agent.core.trace import Decision, EventRecord, GuardVerdict, ModelCall, Retrieval, ToolCall, TurnTrace
from agent.errors import GatewayError, MalformedResponse
from agent.privacy import conversation_salt, pseudonymise, restore, scrub
from agent.types import Completion, Message, Usage

if TYPE_CHECKING:  # the gateway imports LiteLLM (seconds): a page that lists chats must not wait for it
    from agent.adapters.gateway import Gateway

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
# Customer lines kept verbatim under the summary that replaces earlier turns (the budget's last trim).
SUMMARY_CUSTOMER_LINES = 2
NO_DOCS = "(nenhum)"
WHO = {"customer": "Cliente", "agent": "Agente", "operator": "Atendente"}
# A trim of the prompt budget: variables (and notes to add to) → trimmed variables, or None when it cannot run.
Trim = Callable[[Mapping[str, Any], list[str]], "dict[str, Any] | None"]


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
    scrubbed_inputs: list[str] = field(default_factory=list)  # each input message's text, scrubbed


@dataclass
class TurnState:
    """The working state of one turn: its inputs and services, then what each step adds."""

    chat_id: int | None
    before: JourneyState
    history: Sequence[Message]
    settings: Settings
    pack: Pack
    prompts: PromptPack
    journey: Journey
    pack_settings: Mapping[str, Any]
    gateway: Gateway
    tools: ToolRegistry
    knowledge: Callable[[], KnowledgeBase]
    max_message_chars: int
    inputs: Sequence[Message] = ()
    system_event: str | None = None
    customer_text: str = ""  # raw, in memory only: what the journey reads its attributes from
    # The same, scrubbed once at ingestion (agent.privacy): what is stored and shown (one per input message).
    scrubbed_text: str = ""
    scrubbed_inputs: list[str] = field(default_factory=list)
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
    # Per turn, what every model call of it reads again: the history text per window, the pseudonyms' salt.
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def settle(self, state: JourneyState, suggested: Sequence[str], *, use_model: bool) -> None:
        """The turn's outcome is known: later deciding steps are skipped."""
        self.after, self.suggested, self.use_model = state, list(suggested), use_model

    def masked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.pack.mask_attributes(values)

    def state_view(self, state: JourneyState) -> StateDict:
        data = state.to_dict()
        data["attributes"] = self.masked(state.attributes)
        return data

    # ------------------------------------------------------------------ model calls
    def call(self, role: str, kind: str, prompt_name: str, variables: Mapping[str, Any], context: dict[str, Any],
             *, expect_json: bool = False, extra_messages: Sequence[dict[str, Any]] = (), **opts: Any) -> Completion:
        """One gateway call with a rendered pack prompt (trimmed to the role's budget); recorded in the trace,
        with its tokens per section, success or not."""
        variables, budget = self.fit_budget(role, prompt_name, variables, extra_messages)
        rendered = self._render(prompt_name, variables)
        self._memo.pop("render", None)  # kept from the budget's measure to this render only
        messages = [{"role": "system", "content": rendered}, *extra_messages]
        version = self.prompts.content_hash(prompt_name)
        self.prompt_versions[prompt_name] = version
        sections = prompt_sections(self.prompts.get(prompt_name).text, {**self.prompts.globals, **variables},
                                   tuple(variables), extra_messages)
        base = ModelCall(role=role, feature=FEATURES[kind], prompt_name=prompt_name, prompt_version=version,
                         rendered_messages=tuple(messages), sections=sections, budget=budget)
        # The context (what local/rules reads, LiteLLM's metadata and its callbacks log) carries pseudonyms;
        # the model's answer comes back with the raw values (agent.privacy).
        back: dict[str, str] = {}
        salt = self._memo.get("salt")
        if salt is None:
            salt = self._memo["salt"] = conversation_salt(self.chat_id)
        hidden = {k: (v if k in PLAIN_CONTEXT_KEYS else pseudonymise(v, salt, back)) for k, v in context.items()}
        try:
            completion = _restored(self.gateway.complete(role, FEATURES[kind], messages, self.chat_id,
                                                         context=hidden, expect_json=expect_json, **opts), back)
        except GatewayError as exc:
            failed = getattr(exc, "completion", None)
            call = self._account(base, failed) if failed is not None else base
            self.calls.append(replace(call, error=exc.user_message, model=exc.model or self.settings.role(role).model,
                                      temperature=call.temperature if call.temperature is not None else
                                      opts.get("temperature", self.settings.role(role).temperature)))
            raise
        self.calls.append(self._account(base, completion))
        return completion

    def _account(self, call: ModelCall, c: Completion) -> ModelCall:
        self.usage = self.usage + c.usage
        return replace(call, model=c.model, temperature=c.temperature, output=c.text,
                       json=mask_deep(c.json, self.pack) if c.json else None,
                       tool_calls=tuple({"name": t.name, "arguments": mask_deep(t.arguments, self.pack)}
                                        for t in c.tool_calls),
                       input_tokens=c.usage.input_tokens, output_tokens=c.usage.output_tokens,
                       cost_usd=c.usage.cost_usd, latency_ms=round(c.latency_ms, 1), usage_source=c.usage.source,
                       request_id=c.request_id, fallback_used=c.fallback_used)

    def call_json(self, role: str, kind: str, prompt_name: str, variables: Mapping[str, Any],
                  context: dict[str, Any]) -> dict[str, Any] | None:
        """JSON call: on invalid JSON retry once; on any failure return None (caller falls back)."""
        for attempt in (1, 2):
            try:
                return self.call(role, kind, prompt_name, variables, context, expect_json=True).json
            except MalformedResponse as exc:
                self.notes.append(f"{FEATURES[kind]}: invalid JSON (attempt {attempt}): {exc.detail[:120]}")
            except GatewayError as exc:
                self.errors.append(f"{FEATURES[kind]} ({exc.model}): {exc.user_message}")
                break
        self.notes.append(f"{FEATURES[kind]}: fell back to the deterministic extractor")
        return None

    def variables(self, state: JourneyState | None = None) -> dict[str, Any]:
        """Prompt variables every model prompt may use: step, history, customer message, attributes."""
        state = state or self.before
        return {
            "step": state.step,
            "step_description": self.journey.steps[state.step].description,
            "history": self.history_text(),
            "customer_message": self.customer_text,
            "captured_attributes": json.dumps(self.masked(state.attributes), ensure_ascii=False),
        }

    def history_text(self, turns: int = HISTORY_TURNS) -> str:
        """The last ``turns`` exchanges (customer and agent messages), personal data masked."""
        key = ("history", turns, len(self.history))
        text: str | None = self._memo.get(key)
        if text is None:
            recent = self.history[-turns * 2:] if turns > 0 else ()
            lines = [f"{WHO[m.role]}: {scrub(m.text)}" for m in recent if m.role in WHO]
            text = self._memo[key] = "\n".join(lines) or "(início da conversa)"
        return text

    def docs_text(self, top_k: int | None = None) -> str:
        """The retrieved knowledge passages (the best ``top_k``) in the pack's ``doc_search_context``; "" if none."""
        hits = self.retrieved[:top_k] if top_k is not None else self.retrieved
        if not hits:
            return ""
        passages = "\n\n".join(f"[{i}] {h['question']} (faq_id: {h['faq_id']})\n{h['answer']}"
                               for i, h in enumerate(hits, 1))
        return self.prompts.render("doc_search_context", question=self.customer_text, passages=passages)

    # ------------------------------------------------------------------ the prompt budget
    def fit_budget(self, role: str, prompt_name: str, variables: Mapping[str, Any],
                   extra_messages: Sequence[Mapping[str, Any]] = ()) -> tuple[Mapping[str, Any], dict[str, Any] | None]:
        """``variables`` trimmed until the prompt fits the pack's budget for ``role`` (history window, top-k
        docs, summary of earlier turns, compressor — in that order, each only while still over), and what
        was done; unchanged (and no record) without a budget or with ``PROMPT_BUDGET=off``."""
        budget = self.pack.prompt_budget.get(role) if self.settings.prompt_budget else None
        if budget is None:
            return variables, None

        def size(values: Mapping[str, Any]) -> int:
            return message_tokens([{"role": "system", "content": self._render(prompt_name, values)},
                                   *extra_messages])

        before = tokens = size(variables)
        applied: list[dict[str, Any]] = []
        notes: list[str] = []
        for name, trim in self._trims(budget, variables):
            if tokens <= budget.max_tokens:
                break
            trimmed = trim(variables, notes)
            after = size(trimmed) if trimmed is not None else tokens
            if trimmed is not None and after < tokens:
                applied.append({"trim": name, "before": tokens, "after": after})
                variables, tokens = trimmed, after
        if tokens > budget.max_tokens:
            notes.append(f"still over the budget ({tokens} > {budget.max_tokens} tokens) after the trims allowed")
        self.notes.extend(f"{prompt_name}: {note}" for note in notes)
        return variables, {"max_tokens": budget.max_tokens, "before": before, "after": tokens,
                           "trims": applied, "notes": notes}

    def _render(self, prompt_name: str, variables: Mapping[str, Any]) -> str:
        """The prompt rendered with ``variables``; the budget's last measure is what the call sends (the same
        variables object: rendered once)."""
        last = self._memo.get("render")
        if last is not None and last[0] == prompt_name and last[1] is variables:
            return str(last[2])
        rendered = self.prompts.render(prompt_name, **variables)
        self._memo["render"] = (prompt_name, variables, rendered)
        return rendered

    def _trims(self, budget: RoleBudget, variables: Mapping[str, Any]) -> list[tuple[str, Trim]]:
        """The trims the budget allows and the prompt's variables make possible, in order."""
        trims: list[tuple[str, Trim]] = []
        if budget.history_turns is not None and "history" in variables:
            turns = budget.history_turns
            trims.append(("history_window", lambda v, _: {**v, "history": self.history_text(turns)}))
        if budget.top_k_docs is not None and "retrieved_docs" in variables and len(self.retrieved) > budget.top_k_docs:
            k = budget.top_k_docs
            trims.append(("top_k_docs", lambda v, _: {**v, "retrieved_docs": self.docs_text(k) or NO_DOCS}))
        if budget.summarize_earlier_turns and "history" in variables and self.history:
            trims.append(("summary", lambda v, _: {**v, "history": self.earlier_turns_summary(str(v.get("step") or ""))}))
        if budget.compressor is not None:
            compressor = budget.compressor
            trims.append(("compressor", lambda v, notes: self._compressed(v, compressor, notes)))
        return trims

    def earlier_turns_summary(self, step: str = "") -> str:
        """Earlier turns in a few words: step reached, names of the captured data, the customer's last lines."""
        lines = [scrub(m.text) for m in self.history if m.role == "customer"][-SUMMARY_CUSTOMER_LINES:]
        return summary_of_turns(step or self.before.step, sorted(self.before.attributes), lines)

    def _compressed(self, variables: Mapping[str, Any], compressor: Compressor,
                    notes: list[str]) -> dict[str, Any] | None:
        reason = compressor_unavailable(compressor, self.settings.env)
        if reason is not None:
            notes.append(reason)
            return None
        try:
            return {**variables, **{key: compress(str(variables[key]), compressor, self.settings.env)
                                    for key in ("history", "retrieved_docs") if variables.get(key)}}
        except Exception as exc:  # noqa: BLE001  (an optional extra never stops a turn)
            notes.append(f"compressor failed ({type(exc).__name__}): prompt kept as trimmed so far")
            return None


# ---------------------------------------------------------------------- reading the customer


IDENTIFIER_DIGITS = 6  # a value with this many digits is an identifier (document, account), not a count


# Digits a customer may spell out ("dois zero zero…"), as they read after ``fold``.
_SPOKEN_DIGITS = {"zero": "0", "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4",
                  "cinco": "5", "seis": "6", "meia": "6", "sete": "7", "oito": "8", "nove": "9"}
_SPOKEN = re.compile(r"\b(" + "|".join(_SPOKEN_DIGITS) + r")\b")


def digits_written(value: Any, text: str) -> bool:
    """False when ``value`` holds an identifier (``IDENTIFIER_DIGITS``+ digits) that ``text`` does not
    (typed or spelled out)."""
    digits = re.sub(r"\D", "", str(value))
    if len(digits) < IDENTIFIER_DIGITS:
        return True
    spoken = _SPOKEN.sub(lambda m: _SPOKEN_DIGITS[m.group(1)], fold(text or ""))
    return any(digits in re.sub(r"\D", "", t) for t in (text or "", spoken))


def deterministic_reading(text: str, pack: Pack, expecting: str | None = None) -> Reading:
    """What the offline NLU reads in ``text`` (intent over the pack's examples, validated attributes)."""
    intent = nlu.classify(text, pack.directory)
    return reading_of(text, intent.intent, intent.confidence, nlu.extract(text, expecting), pack)


def reading_of(text: str, intent: str, confidence: float, extraction: nlu.Extraction, pack: Pack,
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
            shown = _mask_safely(pack, name, value)
            if notes is not None:
                notes.append(f"{name} {shown!r} rejected by validation ({reason})")
            if name not in found:
                rejected.append(Rejected(name, str(shown), reason))
            continue
        # A value the deterministic pass did not see stays only if valid (above) and, for a number such
        # as a document, only if the customer wrote its digits: a model never invents an identifier.
        if found.get(name) in (None, ""):
            if not digits_written(accepted, text):
                if notes is not None:
                    notes.append(f"{name} {_mask_safely(pack, name, accepted)!r} from the model is not in the "
                                 "customer's message; ignored")
                continue
            found[name] = accepted
    return Reading(text, intent, confidence, found, tuple(rejected), extraction.confirmation)


def _mask_safely(pack: Pack, name: str, value: Any) -> Any:
    try:
        return pack.mask_value(name, value)
    except (ValueError, TypeError):
        return "***"


# ---------------------------------------------------------------------- the record


def state_view(state: JourneyState, pack: Pack | None = None) -> StateDict:
    """JSON-able state with personal attributes masked (UI, CLI ``/state``, evals)."""
    data = state.to_dict()
    data["attributes"] = (pack or get_pack()).mask_attributes(state.attributes)
    return data


def finish(ts: TurnState, started: float) -> TurnOutcome:
    """Freeze the turn: its trace (masked) and what the session persists."""
    assert ts.after is not None
    state, reading = ts.after, ts.reading
    codes = list(state.replies)
    trace = TurnTrace(
        customer_text=ts.scrubbed_text,
        system_event=ts.system_event,
        state_before=ts.state_view(ts.before),
        state_after=ts.state_view(state),
        event=EventRecord(ts.event.name, ts.masked(ts.event.attributes)) if ts.event else None,
        decision=Decision(reading.intent, round(reading.confidence, 3), ts.masked(reading.attributes),
                          tuple({"attribute": r.attribute, "masked": r.masked, "reason": r.reason}
                                for r in reading.rejected)) if reading else None,
        emotion=ts.emotion or None,
        calls=tuple(ts.calls),
        tool_calls=tuple(ToolCall(**json_safe(r.to_dict())) for r in ts.tool_results),
        retrieved=tuple(Retrieval(h["faq_id"], h["question"], h["score"]) for h in ts.retrieved),
        guard=GuardVerdict(ts.guard_input, ts.guard_output),
        media=tuple(ts.media),
        notes=tuple(ts.notes),
        prompt_versions=dict(ts.prompt_versions),
        message_codes=tuple(codes),
        replies=tuple(ts.replies),
        cost_usd=ts.usage.cost_usd,
        input_tokens=ts.usage.input_tokens,
        output_tokens=ts.usage.output_tokens,
        errors=tuple(ts.errors),
        guard_violations=tuple(ts.violations),
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    # The trace is recorded scrubbed, whole (prompts, outputs, notes, replies): agent.privacy, once.
    scrubbed = trace.to_json(text=scrub)  # scrub_deep of the stored form, in the one pass that builds it
    # Except the calls' request ids: random hex, no personal data, the link to their ledger rows
    # (llm_cost.feat_request_id) — one with 11 digits in a row was masked as a CPF.
    for stored, call in zip(scrubbed.get("calls") or (), trace.calls, strict=True):
        stored["request_id"] = call.request_id
    trace = TurnTrace.from_stored(scrubbed)  # its to_json: what the session stores and the runner observes
    return TurnOutcome(state=state, replies=list(ts.replies), customer_text=ts.scrubbed_text, trace=trace,
                       usage=ts.usage, errors=list(ts.errors), message_codes=codes,
                       guard_violations=list(ts.violations),
                       tool_calls=[json_safe(r.to_dict()) for r in ts.tool_results], media=list(ts.media),
                       scrubbed_inputs=list(ts.scrubbed_inputs))


# Context entries that are never personal (the task, the step, a folder): passed as they are.
PLAIN_CONTEXT_KEYS = frozenset({"task", "step", "pack_dir", "expecting", "allowed_tools"})


def _restored(completion: Completion, back: Mapping[str, str]) -> Completion:
    """``completion`` with the pseudonyms of ``back`` turned back into the raw values."""
    if not back:
        return completion
    return replace(completion, text=restore(completion.text, back), json=restore(completion.json, back),
                   tool_calls=tuple(replace(t, arguments=restore(t.arguments, back)) for t in completion.tool_calls))


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types (Decimals as strings)."""
    return json.loads(json.dumps(value, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)))


def mask_deep(value: Any, pack: Pack) -> Any:
    """Deep copy with personal attributes masked by name and PII masked inside text (for traces)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: (pack.mask_value(k, v) if k in pack.attributes and v else mask_deep(v, pack))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_deep(v, pack) for v in value]
    return value
