"""One turn of the agent.

ingest (media → text) → input guard → decide (emotion, classification, extraction: decision role,
JSON, validated) → journey.transition → tools (HTTP) → retrieve (RAG) → respond (message templates,
polished by the conversation role) → output guard → trace.

Every model call goes through the gateway (one ledger row each). A failing model never stops the
conversation: decisions fall back to the deterministic NLU, replies to the journey's own template,
and the reason is shown in plain words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from agent.brain import nlu
from agent.config import Settings
from agent.br.cpf import format_cpf
from agent.br.cpf import is_valid as cpf_is_valid
from agent.br.cpf import mask as mask_cpf
from agent.errors import GatewayError, MalformedResponse
from agent.fgts import advance_estimate, brl, yearly_withdrawal
from agent.core.guardrails import check_input, check_output, mask_pii
from agent.core.journey import Event, Journey, JourneyState, load_journey
from agent.core.prompts import PromptPack, load_pack
from agent.adapters.tools import ToolArgumentError, ToolRegistry, ToolResult, validate_args
from agent.types import Attachment, Completion, Message, Usage

FEATURES = {
    "emotion": "Analise de Emoção",
    "classify": "Classificação de jornada",
    "extract": "Extração de atributos",
    "tool": "API",
    "conversation": "Conversa",
    "transcription": "Transcrição de áudio",
    "vision": "Leitura de imagem",
}

# Replies sent as written, never rephrased by a model: handoff, guard refusals, safe fallback.
FIXED_CODES = frozenset({0, 2, 3, 40, 41, 50})
FAQ_CODE, FAQ_MISS_CODE, SAFE_CODE, TOO_LONG_CODE = 30, 31, 0, 2
MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
          "outubro", "novembro", "dezembro")
HISTORY_TURNS = 6


@dataclass
class TurnOutcome:
    """What one turn produced; the session persists it."""

    state: JourneyState
    replies: list[str]
    customer_text: str
    trace: dict[str, Any]
    usage: Usage = field(default_factory=Usage)
    errors: list[str] = field(default_factory=list)
    message_codes: list[int | str] = field(default_factory=list)
    guard_violations: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)))


def masked(value: Any) -> Any:
    """Deep copy with every CPF masked (for traces)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Mapping):
        return {k: (mask_cpf(str(v)) if k == "cpf" and v else masked(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    return value


def state_view(state: JourneyState) -> dict[str, Any]:
    """JSON-able state with the CPF masked (UI, CLI ``/state``, evals)."""
    data = state.to_dict()
    data["attributes"] = masked(dict(state.attributes))
    return data


class Engine:
    """Runs turns for one settings/pack. Stateless between turns: state comes in and goes out."""

    def __init__(self, settings: Settings, gateway: Any, tools: ToolRegistry | None = None,
                 knowledge: Any | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self._loaded: dict[str, tuple[float, Any]] = {}
        self.pack  # noqa: B018  (load now: a broken pack fails at start-up, not mid-conversation)
        self.tools = tools or ToolRegistry.from_settings(settings)
        self._knowledge = knowledge

    # ----------------------------------------------------------------- public
    # How often to look at the pack's files for edits (each look stats every file).
    PACK_RECHECK_S = 1.0

    @property
    def pack(self) -> PromptPack:
        """The prompt pack, re-read when a file changes (a prompt written back applies to the next turn)."""
        return self._fresh("pack", load_pack)

    @property
    def journey(self) -> Journey:
        return self._fresh("journey", load_journey)

    def _fresh(self, name: str, loader: Any) -> Any:
        now = time.monotonic()
        cached = self._loaded.get(name)
        if cached is None or now - cached[0] > self.PACK_RECHECK_S:
            cached = self._loaded[name] = (now, loader(self.settings.pack_dir))
        return cached[1]

    @property
    def knowledge(self) -> Any:
        if self._knowledge is None:
            from agent.adapters.knowledge import load_knowledge

            embed = None
            if self.settings.embedding_model:
                # Hybrid ranking (BM25 ⊕ embeddings) only when an embeddings model is configured.
                embed = lambda texts: self.gateway.embed(texts, feature="Embeddings RAG")  # noqa: E731
            self._knowledge = load_knowledge(self.settings.pack_dir, embed=embed)
        return self._knowledge

    def run_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                 inputs: Sequence[Message]) -> TurnOutcome:
        """Answer the customer's (merged) messages."""
        started = time.perf_counter()
        with self.gateway.batch():
            return self._run_turn(chat_id, state, history, inputs, started)

    def _run_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                  inputs: Sequence[Message], started: float) -> TurnOutcome:
        turn = _Turn(self, chat_id, state, history)
        texts = []
        for message in inputs:
            for attachment in message.attachments:
                text = turn.read_media(attachment)
                if text:
                    texts.append(text)
            if message.text.strip():
                texts.append(message.text.strip())
        customer_text = "\n".join(texts)
        turn.customer_text = customer_text
        outcome = turn.run()
        outcome.trace["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return outcome

    def system_event(self, chat_id: int | None, state: JourneyState, event: str,
                     history: Sequence[Message] = ()) -> TurnOutcome:
        """A turn with no customer text: re-engagement after idle, operator hand-back."""
        turn = _Turn(self, chat_id, state, history)
        turn.trace["system_event"] = event
        new_state = turn.journey.transition(state, event)
        replies = turn.render_replies(new_state)
        return turn.finish(new_state, [r for r in replies if r], use_model=False)


class _Turn:
    """Working state of one turn (kept apart from the Engine so the engine stays reusable)."""

    def __init__(self, engine: Engine, chat_id: int | None, state: JourneyState, history: Sequence[Message]):
        self.e = engine
        # Read once per turn: both re-check the pack's files on access (edits apply to the next turn).
        self.pack = engine.pack
        self.journey = engine.journey
        self.chat_id = chat_id
        self.state = state
        self.history = list(history)
        self.customer_text = ""
        self.usage = Usage()
        self.errors: list[str] = []
        self.violations: list[str] = []
        self.tool_results: list[ToolResult] = []
        self.retrieved: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.media_replies: list[str] = []
        self.trace: dict[str, Any] = {
            "state_before": state_view(state),
            "calls": [],
            "tool_calls": [],
            "retrieved": [],
            "guard": {"input": [], "output": []},
            "media": [],
            "notes": [],
            "prompt_versions": {},
        }

    # ------------------------------------------------------------- flow
    def run(self) -> TurnOutcome:
        journey = self.journey
        if self.state.handoff:
            self.trace["notes"].append("handoff: a human operator is in charge; the agent stays silent")
            return self.finish(replace(self.state, replies=()), [], use_model=False)
        if not self.customer_text:
            # Only unusable media: the media error already told the customer what to do.
            return self.finish(replace(self.state, replies=()), [], use_model=False)
        check = check_input(self.customer_text, max_chars=self.e.settings.max_message_chars)
        self.trace["guard"]["input"] = list(check.violations)
        if check.blocked_reason == "too_long":
            text = self.pack.message(TOO_LONG_CODE, max_message_chars=self.e.settings.max_message_chars)
            return self.finish(replace(self.state, replies=(TOO_LONG_CODE,)), [text], use_model=False)

        emotion = self.emotion() if check.blocked_reason is None else {}
        if check.blocked_reason == "injection":
            event = Event("injection")
            self.trace["notes"].append("prompt injection caught by the input guard; models not consulted")
        else:
            event = self.decide()
            if emotion.get("strong_negative") and event.name not in {"ask_human", "goodbye"}:
                self.trace["notes"].append(f"strong negative emotion ({emotion.get('emotion')}) → handoff")
                event = Event("strong_negative", event.attributes)
        self.trace["event"] = {"name": event.name, "attributes": masked(dict(event.attributes))}
        new_state = journey.transition(self.state, event)
        new_state = self.run_tools(new_state)
        replies = self.render_replies(new_state)
        return self.finish(new_state, replies, use_model=True)

    # ------------------------------------------------------------- model calls
    def call(self, role: str, kind: str, prompt_name: str, variables: Mapping[str, Any], context: dict[str, Any],
             *, expect_json: bool = False, extra_messages: Sequence[dict[str, Any]] = (), **opts: Any) -> Completion:
        """One gateway call with a rendered pack prompt; recorded in the trace, success or not."""
        rendered = self.pack.render(prompt_name, **variables)
        messages = [{"role": "system", "content": rendered}, *extra_messages]
        version = self.pack.content_hash(prompt_name)
        self.trace["prompt_versions"][prompt_name] = version
        entry: dict[str, Any] = {"role": role, "feature": FEATURES[kind], "prompt_name": prompt_name,
                                 "prompt_version": version, "rendered_messages": masked(messages)}
        self.trace["calls"].append(entry)
        try:
            completion = self.e.gateway.complete(role, FEATURES[kind], messages, self.chat_id, context=context,
                                                 expect_json=expect_json, **opts)
        except GatewayError as exc:
            completion_failed = getattr(exc, "completion", None)
            if completion_failed is not None:
                self._account(entry, completion_failed)
            entry.update(error=exc.user_message, model=exc.model or self.e.settings.role(role).model)
            raise
        self._account(entry, completion)
        return completion

    def _account(self, entry: dict[str, Any], c: Completion) -> None:
        self.usage = self.usage + c.usage
        entry.update(model=c.model, output=mask_pii(c.text), json=masked(c.json) if c.json else None,
                     tool_calls=[{"name": t.name, "arguments": masked(t.arguments)} for t in c.tool_calls],
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
                self.trace["notes"].append(f"{FEATURES[kind]}: invalid JSON (attempt {attempt}): {exc.detail[:120]}")
            except GatewayError as exc:
                self.errors.append(f"{FEATURES[kind]} ({exc.model}): {exc.user_message}")
                break
        self.trace["notes"].append(f"{FEATURES[kind]}: fell back to the deterministic extractor")
        return None

    # ------------------------------------------------------------- decide
    def _common_vars(self) -> dict[str, Any]:
        step = self.journey.steps[self.state.step]
        return {
            "step": self.state.step,
            "step_description": step.description,
            "history": self.history_text(),
            "customer_message": self.customer_text,
            "captured_attributes": json.dumps(masked(dict(self.state.attributes)), ensure_ascii=False),
        }

    def history_text(self) -> str:
        lines = []
        for m in self.history[-HISTORY_TURNS * 2:]:
            who = {"customer": "Cliente", "agent": "Agente", "operator": "Atendente"}.get(m.role)
            if who:
                lines.append(f"{who}: {mask_pii(m.text)}")
        return "\n".join(lines) or "(início da conversa)"

    def emotion(self) -> dict[str, Any]:
        result = self.call_json("insights", "emotion", "emotion_analysis", self._common_vars(),
                                {"task": "emotion", "customer_message": self.customer_text,
                                 "history": [m.text for m in self.history[-4:] if m.role == "customer"]})
        if result is None:
            return {}
        self.trace["emotion"] = result
        return result

    def expecting(self) -> str | None:
        missing = self.journey.missing_attributes(self.state)
        return missing[0] if missing else None

    def decide(self) -> Event:
        """Classification + extraction on the decision role, validated, turned into a journey event."""
        journey = self.journey
        variables = self._common_vars()
        pending = journey.steps[self.state.step].prompt
        intents = "\n".join(f"- {i}" for i in journey.intents)
        raw = self.call_json("decision", "classify", "journey_classification",
                             {**variables, "intents": intents, "pending_question": str(pending or "")},
                             {"task": "journey_classification", "customer_message": self.customer_text,
                              "step": self.state.step, "pack_dir": str(self.e.settings.pack_dir)})
        if raw and raw.get("intent") in journey.intents:
            intent = nlu.IntentResult(intent=raw["intent"], confidence=float(raw.get("confidence") or 0.0))
        else:
            if raw is not None:
                self.trace["notes"].append(f"classification {raw!r} is not a known intent; used the deterministic one")
            intent = nlu.classify(self.customer_text, self.e.settings.pack_dir)

        expecting = self.expecting()
        extraction = nlu.extract(self.customer_text, expecting)
        captures = journey.steps[self.state.step].captures
        wants_data = bool(captures) or intent.intent == "provide_data" or extraction.has_data
        if wants_data:
            schema = "\n".join(f"- {name}: {spec.description}" for name, spec in journey.attributes.items())
            model = self.call_json("decision", "extract", "get_attribute_template",
                                   {**variables, "attributes_schema": schema},
                                   {"task": "get_attribute", "customer_message": self.customer_text,
                                    "expecting": expecting})
            if model is not None:
                extraction = self.merge_extraction(extraction, model.get("attributes") or {})
        self.trace["decision"] = {"intent": intent.intent, "confidence": round(intent.confidence, 3),
                                  "attributes": masked(extraction.attributes()),
                                  "invalid_cpfs": [c.masked for c in extraction.invalid_cpfs]}
        return nlu.to_event(nlu.NluResult(self.customer_text, intent, extraction), self.state.step)

    def merge_extraction(self, base: nlu.Extraction, model_attrs: Mapping[str, Any]) -> nlu.Extraction:
        """Model values, validated (CPF check digits, month range); the deterministic ones fill gaps."""
        changes: dict[str, Any] = {}
        cpf_value = nlu.words_to_digits(str(model_attrs.get("cpf") or ""))
        digits = "".join(ch for ch in cpf_value if ch.isdigit())
        if digits:
            if cpf_is_valid(digits):
                changes["cpf"] = digits
            elif not base.cpf:
                reason = "length" if len(digits) != 11 else "check_digits"
                candidate = nlu.CpfCandidate(raw=cpf_value, digits=digits, valid=False, reason=reason)
                changes["cpf_candidates"] = (*base.cpf_candidates, candidate)
        name = model_attrs.get("name")
        if isinstance(name, str) and 2 <= len(name.strip()) <= 120 and not any(c.isdigit() for c in name):
            changes["name"] = name.strip()
        month = model_attrs.get("birth_month")
        try:
            if month is not None and 1 <= int(month) <= 12:
                changes["birth_month"] = int(month)
        except (TypeError, ValueError):
            self.trace["notes"].append(f"birth_month {month!r} rejected by validation")
        if model_attrs.get("birth_date"):
            changes["birth_date"] = str(model_attrs["birth_date"])
        try:
            if model_attrs.get("balance") is not None:
                changes["balance"] = float(model_attrs["balance"])
        except (TypeError, ValueError):
            pass
        # A value the model produced that the deterministic pass did not see stays only if valid (above).
        return replace(base, **{k: v for k, v in changes.items() if getattr(base, k, None) in (None, (), "")
                                or k == "cpf_candidates"})

    # ------------------------------------------------------------- tools
    def run_tools(self, state: JourneyState) -> JourneyState:
        """While the step is a tool step, let the decision role pick the call, run it, feed the result back."""
        for _ in range(3):
            allowed = self.journey.allowed_tools(state.step)
            if not allowed:
                return state
            result = self.call_tool(state, allowed)
            state = self.journey.transition(state, result.event)
        return state

    def call_tool(self, state: JourneyState, allowed: Sequence[str]) -> ToolResult:
        cpf_value = str(state.attributes.get("cpf") or "")
        step = self.journey.steps[state.step]
        name, args = allowed[0], {"cpf": cpf_value}
        try:
            c = self.call("decision", "tool", "tool_decision",
                          {"step": state.step, "step_description": step.description,
                           "captured_attributes": json.dumps(masked(dict(state.attributes)), ensure_ascii=False),
                           "allowed_tools": ", ".join(allowed)},
                          {"task": "tool_call", "allowed_tools": list(allowed), "cpf": cpf_value},
                          tools=self.e.tools.schemas(), extra_messages=[{"role": "user", "content": self.customer_text
                                                                        or "consultar"}])
            chosen = c.tool_calls[0] if c.tool_calls else None
            if chosen is not None and chosen.name in allowed:
                name, args = chosen.name, dict(chosen.arguments)
            else:
                parsed = c.json or _loose_json(c.text)
                if parsed and parsed.get("tool") in allowed:
                    name, args = parsed["tool"], dict(parsed.get("arguments") or {})
        except GatewayError as exc:
            self.errors.append(f"{FEATURES['tool']} ({exc.model}): {exc.user_message}")
            self.trace["notes"].append("tool decision failed; calling the step's tool with the captured CPF")
        try:
            validate_args(name, args)
        except ToolArgumentError as exc:
            # The model's arguments are checked before any HTTP call; the captured CPF is already valid.
            self.trace["notes"].append(f"tool arguments rejected ({exc}); used the captured CPF")
            args = {"cpf": cpf_value}
        result = self.e.tools.call(name, args)
        self.tool_results.append(result)
        self.trace["tool_calls"].append(_json_safe(result.to_dict()))
        return result

    # ------------------------------------------------------------- replies
    def template_vars(self, state: JourneyState) -> dict[str, Any]:
        attrs = state.attributes
        name = str(attrs.get("name") or "")
        month = attrs.get("birth_month")
        values: dict[str, Any] = {
            "name": name,
            "first_name": name.split()[0] if name else "",
            "cpf_formatted": format_cpf(str(attrs.get("cpf") or "")),
            "cpf_masked": mask_cpf(str(attrs.get("cpf") or "")),
            "birth_month_name": MONTHS[int(month) - 1] if month else "",
            "max_message_chars": self.e.settings.max_message_chars,
        }
        invalid = self.trace.get("decision", {}).get("invalid_cpfs") or []
        if invalid:
            values["cpf_masked"] = invalid[0]
        result = next((r for r in reversed(self.tool_results) if r.ok), None)
        if result is not None and result.outcome == "eligible":
            values.update(self.eligibility_vars(result.data, month))
        return values

    def eligibility_vars(self, data: Mapping[str, Any], month: Any) -> dict[str, Any]:
        """Amounts come from the API; the estimate is recomputed with the law's table only if missing."""
        balance = Decimal(str(data.get("balance", 0)))
        yearly = Decimal(str(data.get("yearly_withdrawal"))) if data.get("yearly_withdrawal") is not None \
            else yearly_withdrawal(balance)
        advance = data.get("available_advance")
        years = (data.get("advance") or {}).get("years") or self.e.settings.advance_years
        if advance is None:
            estimate = advance_estimate(balance, years=int(years),
                                        monthly_rate=Decimal(str(self.e.settings.advance_monthly_rate)))
            advance = estimate.total_net
        api_month = data.get("birth_month") or month
        return {
            "balance": brl(balance),
            "yearly_amount": brl(yearly),
            "advance_amount": brl(Decimal(str(advance))),
            "advance_years": str(years),
            "birth_month_name": MONTHS[int(api_month) - 1] if api_month else "",
        }

    def render_replies(self, state: JourneyState) -> list[str]:
        variables = self.template_vars(state)
        out: list[str] = []
        for token in state.replies:
            if token == FAQ_CODE:
                answer = self.retrieve_answer()
                out.append(self.pack.message(FAQ_CODE, answer=answer) if answer else
                           self.pack.message(FAQ_MISS_CODE, **variables))
            elif isinstance(token, int):
                out.append(self.pack.message(token, **variables))
            else:
                out.append(self.pack.render(str(token), **variables))
        return out

    def _passages_text(self) -> str:
        return "\n\n".join(f"[{i}] {h['question']} (faq_id: {h['faq_id']})\n{h['answer']}"
                           for i, h in enumerate(self.retrieved, 1))

    def retrieve_answer(self) -> str | None:
        hits = self.e.knowledge.search(self.customer_text, k=3)
        self.retrieved = [{"faq_id": h.faq_id, "question": h.question, "score": round(float(h.score), 4),
                           "answer": h.answer} for h in hits]
        self.trace["retrieved"] = [{k: v for k, v in h.items() if k != "answer"} for h in self.retrieved]
        if not hits:
            return None
        return hits[0].answer

    # ------------------------------------------------------------- respond + finish
    def respond(self, state: JourneyState, suggested: list[str]) -> list[str]:
        """Conversation role polishes the journey's reply; the output guard keeps it grounded."""
        draft = "\n\n".join(suggested)
        codes = [r for r in state.replies if isinstance(r, int)]
        if not draft or any(c in FIXED_CODES for c in codes):
            return suggested
        api = [r.to_dict() for r in self.tool_results]
        docs = self.pack.render("doc_search_context", question=self.customer_text,
                                  passages=self._passages_text()) if self.retrieved else ""
        missing = ", ".join(self.journey.missing_attributes(state)) or "nenhum"
        step = self.journey.steps[state.step]
        variables = {**self._common_vars(), "step": state.step, "step_description": step.description,
                     "captured_attributes": json.dumps(masked(dict(state.attributes)), ensure_ascii=False),
                     "missing_attributes": missing,
                     "api_result": json.dumps(_json_safe(api), ensure_ascii=False) if api else "(sem consulta)",
                     "retrieved_docs": docs or "(nenhum)", "suggested_reply": draft}
        try:
            c = self.call("conversation", "conversation", "conversation_prompt", variables,
                          {"task": "conversation", "suggested_reply": draft, "step": state.step,
                           "customer_message": self.customer_text},
                          extra_messages=[{"role": "user", "content": self.customer_text or "(sem mensagem)"}])
        except GatewayError as exc:
            self.errors.append(f"{FEATURES['conversation']} ({exc.model}): {exc.user_message} "
                               "— answered with the journey's template instead.")
            return suggested
        reply = c.text.strip()
        if not reply:
            return suggested
        sources = [draft, docs, json.dumps(_json_safe(api)), self.customer_text,
                   *(m.text for m in self.history if m.role == "customer")]
        verdict = check_output(reply, sources)
        self.trace["guard"]["output"] = list(verdict.violations)
        if not verdict.ok:
            self.violations.extend(verdict.violations)
            self.trace["notes"].append("output guard replaced the model's reply with the journey's template")
            return suggested
        return [reply]

    def finish(self, state: JourneyState, suggested: list[str], *, use_model: bool) -> TurnOutcome:
        replies = self.respond(state, suggested) if use_model else suggested
        if self.media_replies and not state.handoff:
            replies = [*self.media_replies, *replies]
        for reply in replies:
            verdict = check_output(reply, [*suggested, self.customer_text])
            if "asks_for_secret" in verdict.violations:
                self.violations.append("asks_for_secret")
                replies = [self.pack.message(SAFE_CODE)]
        codes = list(state.replies)
        self.trace.update(
            customer_text=mask_pii(self.customer_text),
            state_after=state_view(state),
            message_codes=codes,
            replies=[mask_pii(r) for r in replies],
            cost_usd=self.usage.cost_usd,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            errors=list(self.errors),
            guard_violations=list(self.violations),
            media=self.media,
        )
        return TurnOutcome(state=state, replies=replies, customer_text=self.customer_text, trace=self.trace,
                           usage=self.usage, errors=list(self.errors), message_codes=codes,
                           guard_violations=list(self.violations),
                           tool_calls=[_json_safe(r.to_dict()) for r in self.tool_results], media=self.media)

    # ------------------------------------------------------------- media
    def read_media(self, attachment: Attachment) -> str:
        from agent.adapters.media_input import read_attachment

        result = read_attachment(self.e.settings, self.e.gateway, self.pack, attachment, self.chat_id)
        self.usage = self.usage + result.usage
        self.media.append(result.trace)
        self.trace["media"] = self.media
        if result.customer_reply:
            self.media_replies.append(result.customer_reply)
        return result.text


def _loose_json(text: str) -> dict[str, Any] | None:
    try:
        from agent.adapters.gateway import parse_json_reply

        return parse_json_reply(text)
    except Exception:  # noqa: BLE001
        return None
