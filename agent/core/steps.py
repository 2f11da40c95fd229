"""The steps of a turn, in order. Each reads and extends one ``TurnState``; each is testable alone.

    ingest  media → text, bursts merged
    guard   handoff / nothing usable / too long / injection: settle the turn without the models
    decide  emotion, classification, extraction (decision role, JSON, validated by the pack) → event
    act     journey.transition, then the step's tools (HTTP) and their events
    respond the journey's replies (message codes, retrieved knowledge), polished by the conversation role
    check   the output guard on every reply, media notices first
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from agent.adapters.tools import ToolArgumentError, ToolResult
from agent.brain import nlu
from agent.core.assess import load_spec
from agent.core.guardrails import check_input, check_output, neutralise, prose_in, without_instructions, without_prose
from agent.core.journey import ASK_NEXT, Event, JourneyState, Reply
from agent.core.pack import ReplyContext
from agent.core.turn import FEATURES, NO_DOCS, TurnState, json_safe, reading_of
from agent.text import clean_text, has_words, sentences, without_sentences
from agent.errors import GatewayError, MalformedResponse
from agent.privacy import scrub
from agent.types import Attachment, Message


# The journey event of a message holding a secret, when the journey declares it (else ``codes.secret``).
SECRET_EVENT = "secret"


def ingest(ts: TurnState) -> None:
    """Media → text; the burst's texts joined in order. The one place the customer's words are scrubbed
    (``agent.privacy.scrub``): ``customer_text`` stays raw in memory for the journey to read its
    attributes; what is stored, traced and shown is ``scrubbed_text`` / ``scrubbed_inputs`` and the
    media records' text."""
    texts: list[tuple[str, str]] = []  # (raw, scrubbed)
    for message in ts.inputs:
        for attachment in message.attachments:
            text = read_media(ts, attachment)
            if text:
                ts.media[-1]["text"] = scrub(text)
                texts.append((text, ts.media[-1]["text"]))
        text = clean_text(message.text)  # bad bytes, NUL, control characters, odd digits: never stop a turn
        ts.scrubbed_inputs.append(scrub(text))
        if text:
            texts.append((text, ts.scrubbed_inputs[-1]))
    ts.customer_text = "\n".join(raw for raw, _ in texts)
    ts.scrubbed_text = "\n".join(scrubbed for _, scrubbed in texts)


def guard(ts: TurnState) -> None:
    """Turns the models must not see: handoff, nothing usable, too long; injection is flagged."""
    silent = replace(ts.before, replies=())
    if ts.before.handoff:
        ts.notes.append("handoff: a human operator is in charge; the agent stays silent")
        return ts.settle(silent, [], use_model=False)
    if not ts.customer_text and not any(m.text or m.meta.get("unreadable_text") for m in ts.inputs):
        # Only unusable media: the media error already told the customer what to do. (A text that was
        # nothing but control characters or bad bytes goes on: the step's question is asked again.)
        return ts.settle(silent, [], use_model=False)
    check = check_input(ts.customer_text, max_chars=ts.max_message_chars)
    ts.guard_input = tuple(check.violations)
    ts.blocked = check.blocked_reason
    if check.blocked_reason == "secret":
        return refuse_secret(ts, check.text)
    if check.blocked_reason == "too_long" and ts.pack.codes.too_long is not None:
        code = ts.pack.codes.too_long
        text = ts.prompts.message(code, max_message_chars=ts.max_message_chars)
        return ts.settle(replace(ts.before, replies=(code,)), [text], use_model=False)
    return None


def refuse_secret(ts: TurnState, masked: str) -> None:
    """A card number, password or one-time code: no model sees it and nothing is read from the message
    (no consent, no data). A journey that declares a ``secret`` event moves by it (``decide``); otherwise the
    pack's security reminder (``codes.secret``) goes out with the step's pending question."""
    ts.customer_text = masked
    ts.notes.append("the message holds a secret (" + ", ".join(v.split(":", 1)[1] for v in ts.guard_input)
                    + "): masked, not read; the security reminder and the pending question")
    if SECRET_EVENT in ts.journey.events:
        return None
    code = ts.pack.codes.secret
    if code is None:  # the pack has no reminder: the turn goes on with the secret masked
        ts.blocked = None
        return None
    state = replace(ts.before, replies=(code, *pending_question(ts, ts.before)))
    state = replace(state, notice=notice_shown(ts, state) or state.notice)  # the pending question may be it
    return ts.settle(state, render_replies(ts, state), use_model=False)


def pending_question(ts: TurnState, state: JourneyState) -> list[Reply]:
    """The reply tokens of the step's pending question (its prompt, or the next missing attribute's)."""
    prompt = ts.journey.steps[state.step].prompt
    if prompt == ASK_NEXT:
        missing = ts.journey.missing_attributes(state)
        prompt = ts.journey.attributes[missing[0]].ask if missing else None
    return [] if prompt is None else [prompt]


def decide(ts: TurnState) -> None:
    """Emotion, then classification + extraction on the decision role, turned into an event."""
    if ts.after is not None:
        return
    if ts.blocked is None:
        ts.emotion = emotion(ts)
    if ts.blocked == "secret":
        ts.event = Event(SECRET_EVENT)  # nothing in the message is read: no consent, no data
        return
    if ts.blocked == "injection":
        ts.event = Event("injection")
        ts.notes.append("prompt injection caught by the input guard; models not consulted")
        return
    event = classify_and_extract(ts)
    feeling = ts.emotion or {}
    if feeling.get("strong_negative") and event.name not in ts.pack.keep_on_strong_negative:
        if load_spec(ts.pack.directory).detractor.on_strong_negative == "handoff":
            ts.notes.append(f"strong negative emotion ({feeling.get('emotion')}) → handoff")
            event = Event("strong_negative", event.attributes)
        else:  # the pack's insights.yaml says offer (or only alert): the turn's alert carries it
            ts.notes.append(f"strong negative emotion ({feeling.get('emotion')}): alert raised, no handoff (pack)")
    ts.event = event


def act(ts: TurnState) -> None:
    """The journey moves; while the new step is a tool step, its tools run and move it again."""
    if ts.after is not None:
        return
    assert ts.event is not None
    state = ts.journey.transition(ts.before, ts.event)
    for _ in range(3):
        allowed = ts.journey.allowed_tools(state.step)
        if not allowed:
            break
        result = call_tool(ts, state, allowed)
        reviewed = ts.pack.review_result(result, reply_context(ts, state))
        if reviewed and reviewed != result.event:
            ts.notes.append(f"the pack read the {result.name} result as {reviewed} (not {result.event})")
        state = ts.journey.transition(state, reviewed or result.event)
        state = replace(state, results=MappingProxyType({**state.results, result.name: {
            "outcome": result.outcome, "data": json_safe(result.data)}}))
    if state.consent and not ts.before.consent:
        if ts.pack.notice_codes and ts.before.notice is None:
            # LGPD: consent answers a notice shown in this conversation; a "sim" before it shows the notice.
            ts.notes.append("consent before any notice was shown: the notice is shown instead")
            state = ts.journey.ask_consent(ts.before, ts.event.name)
        else:
            state = replace(state, consent_notice=ts.before.notice)
    state = replace(state, notice=notice_shown(ts, state) or state.notice)
    ts.settle(state, render_replies(ts, state), use_model=True)


def notice_shown(ts: TurnState, state: JourneyState) -> str | None:
    """``code@version`` of the pack's consent notice among this transition's replies, if any."""
    code = next((r for r in state.replies if r in ts.pack.notice_codes), None)
    return None if code is None else f"{code}@{ts.prompts.content_hash(f'message_code_{code}')}"


def respond(ts: TurnState) -> None:
    """The conversation role polishes the journey's reply; the output guard keeps it grounded."""
    assert ts.after is not None
    ts.replies = polish(ts, ts.after, ts.suggested) if ts.use_model else list(ts.suggested)
    if ts.replies != ts.suggested:
        ts.replies = unrepeated(ts, ts.replies)


def unrepeated(ts: TurnState, replies: list[str]) -> list[str]:
    """A model's rewrite gets the same rule as the journey's replies: sentences of the agent's previous
    message left out (when something is left), no triple line breaks."""
    seen = {s for text in previous_agent_message(ts.history) for s in sentences(text)}
    out = []
    for reply in replies:
        trimmed = without_sentences(reply, seen) if any(s in seen for s in sentences(reply)) else reply.strip()
        if trimmed != reply.strip():
            ts.notes.append("the model's reply repeated the previous message: repeated sentences left out")
        out.append(trimmed if has_words(trimmed) else re.sub(r"\n{3,}", "\n\n", reply.strip()))
    return out


def check(ts: TurnState) -> None:
    """Media notices first; a reply that asks for a secret becomes the pack's safe reply."""
    assert ts.after is not None
    replies = ts.replies
    if ts.media_replies and not ts.after.handoff:
        replies = [*ts.media_replies, *replies]
    for reply in replies:
        verdict = check_output(reply, ts.suggested, [ts.customer_text])
        if "asks_for_secret" in verdict.violations:
            ts.violations.append("asks_for_secret")
            safe = ts.pack.codes.safe
            replies = [ts.prompts.message(safe)] if safe is not None else []
    ts.replies = replies


PIPELINE: tuple[Callable[[TurnState], None], ...] = (ingest, guard, decide, act, respond, check)


# ---------------------------------------------------------------------- decide


def emotion(ts: TurnState) -> dict[str, Any]:
    result = ts.call_json("insights", "emotion", "emotion_analysis", ts.variables(),
                          {"task": "emotion", "customer_message": ts.customer_text,
                           "history": [m.text for m in ts.history[-4:] if m.role == "customer"]})
    return result or {}


def classify_and_extract(ts: TurnState) -> Event:
    """Classification + extraction on the decision role, validated, turned into a journey event."""
    journey, pack = ts.journey, ts.pack
    variables = ts.variables()
    raw = ts.call_json("decision", "classify", "journey_classification",
                       {**variables, "intents": intent_menu(ts), "pending_question": pending_in_words(ts)},
                       {"task": "journey_classification", "customer_message": ts.customer_text,
                        "step": ts.before.step, "pack_dir": str(pack.directory)})
    if raw and raw.get("intent") in journey.intents:
        intent, confidence = str(raw["intent"]), float(raw.get("confidence") or 0.0)
        if grants_consent(ts, intent):
            # Consent (LGPD) is the customer's word, not a model's reading: the offline reading must agree.
            found = nlu.classify(ts.customer_text, pack.directory)
            if found.intent != intent and not grants_consent(ts, found.intent):
                ts.notes.append(f"the model read consent ({intent}) where the deterministic reading did not "
                                f"({found.intent}); used the deterministic one")
                intent, confidence = found.intent, found.confidence
    else:
        if raw is not None:
            ts.notes.append(f"classification {raw!r} is not a known intent; used the deterministic one")
        found = nlu.classify(ts.customer_text, pack.directory)
        intent, confidence = found.intent, found.confidence

    missing = journey.missing_attributes(ts.before)
    expecting = missing[0] if missing else None
    extraction = nlu.extract(ts.customer_text, expecting)
    model_values: dict[str, Any] = {}
    if journey.steps[ts.before.step].captures or intent == "provide_data" or extraction.has_data:
        schema = "\n".join(f"- {name}: {spec.description}" for name, spec in journey.attributes.items())
        model = ts.call_json("decision", "extract", "get_attribute_template", {**variables, "attributes_schema": schema},
                             {"task": "get_attribute", "customer_message": ts.customer_text, "expecting": expecting})
        if model is not None:
            model_values = dict(model.get("attributes") or {})
    ts.reading = reading_of(ts.customer_text, intent, confidence, extraction, pack, model_values, ts.notes)
    return pack.to_event(ts.reading, ts.before.step)


def grants_consent(ts: TurnState, intent: str) -> bool:
    """True when ``intent`` at this step would record a consent the customer had not given."""
    if ts.before.consent or intent not in ts.journey.events:
        return False
    return bool(ts.journey.transition(ts.before, Event(intent)).consent)


def intent_menu(ts: TurnState) -> str:
    """The journey's intents with the pack's descriptions (``intents.yaml``), one per line, for a model."""
    described = nlu.load_intents(ts.pack.directory)
    return "\n".join(f"- {i}: {described[i]['description']}" if described.get(i, {}).get("description")
                     else f"- {i}" for i in ts.journey.intents)


def pending_in_words(ts: TurnState) -> str:
    """What the agent is waiting for at this step, in words (the situation of the step's prompt message)."""
    token = ts.journey.steps[ts.before.step].prompt
    if token is None:
        return "(nenhuma)"
    if token == "ask_next":
        missing = ts.journey.missing_attributes(ts.before)
        wanted = ts.journey.attributes.get(missing[0]) if missing else None
        return f"pede: {wanted.description}" if wanted else "(nenhuma)"
    spec = ts.journey.messages.get(token) if isinstance(token, int) else ts.journey.templates.get(str(token))
    return spec.situation if spec else str(token)


# ---------------------------------------------------------------------- act


def call_tool(ts: TurnState, state: JourneyState, allowed: Sequence[str]) -> ToolResult:
    """The decision role picks the call (schema from the pack's typed tools); checked before HTTP."""
    step = ts.journey.steps[state.step]
    name = allowed[0]
    args = fallback = ts.pack.default_tool_args(name, state)
    try:
        c = ts.call("decision", "tool", "tool_decision",
                    {"step": state.step, "step_description": step.description,
                     "captured_attributes": json.dumps(ts.masked(state.attributes), ensure_ascii=False),
                     "allowed_tools": ", ".join(allowed)},
                    {"task": "tool_call", "allowed_tools": list(allowed), "arguments": fallback},
                    tools=ts.tools.schemas(),
                    extra_messages=[{"role": "user", "content": ts.customer_text or "consultar"}])
        chosen = c.tool_calls[0] if c.tool_calls else None
        if chosen is not None and chosen.name in allowed:
            name, args = chosen.name, dict(chosen.arguments)
        else:
            parsed = c.json or _loose_json(ts, c.text)
            if parsed and parsed.get("tool") in allowed:
                name, args = parsed["tool"], dict(parsed.get("arguments") or {})
    except GatewayError as exc:
        ts.errors.append(f"{FEATURES['tool']} ({exc.model}): {exc.user_message}")
        ts.notes.append("tool decision failed; calling the step's tool with the captured attributes")
    # The customer's captured (validated, confirmed) data wins over the model's: a model never consults
    # someone else's record (it only saw the masked values, so a differing one is invented).
    captured = ts.pack.default_tool_args(name, state)
    changed = sorted(k for k, v in captured.items() if k in args and _plain_value(args[k]) != _plain_value(v))
    if changed:
        ts.notes.append(f"tool arguments {', '.join(changed)} from the model differ from the captured "
                        "attributes; used the captured ones")
    args = {**args, **captured}
    try:
        ts.tools.tools.validate_args(name, args)
    except ToolArgumentError as exc:
        # The model's arguments are checked before any HTTP call; the captured ones are already valid.
        ts.notes.append(f"tool arguments rejected ({exc}); used the captured attributes")  # scrubbed in finish
        name, args = allowed[0], ts.pack.default_tool_args(allowed[0], state)
    result = external_result(ts, ts.tools.call(name, args))
    ts.tool_results.append(result)
    return result


def external_result(ts: TurnState, result: ToolResult) -> ToolResult:
    """A tool result's text that gives orders (an injection phrase, a request for a secret, a link) never reaches
    the pack, a model or the customer: it is replaced and flagged (``tool_injection``, OWASP LLM01 indirect)."""
    data, found = neutralise(result.data)
    if not found:
        return result
    ts.guard_input = (*ts.guard_input, *(f"tool_injection:{result.name}.{path}" for path in found))
    ts.notes.append(f"the {result.name} result carried an instruction ({', '.join(found)}): removed before "
                    "any model or reply saw it")
    return replace(result, data=data if isinstance(data, dict) else {})


def _plain_value(value: Any) -> str:
    """A value as compared across formats ("200.000.002-99" = "20000000299", " Julho" = "julho")."""
    return re.sub(r"[\W_]", "", str(value)).casefold()


def _loose_json(ts: TurnState, text: str) -> dict[str, Any] | None:
    from agent.adapters.gateway import parse_json_reply

    try:
        return parse_json_reply(text)
    except MalformedResponse as exc:
        ts.notes.append(f"tool decision was neither a tool call nor JSON ({exc.detail[:80]})")
        return None


# ---------------------------------------------------------------------- respond


def render_replies(ts: TurnState, state: JourneyState) -> list[str]:
    """The journey's replies: message codes and templates with the pack's variables; the FAQ code answers
    from the knowledge docs (or says it has no answer)."""
    context = reply_context(ts, state)
    variables = {"max_message_chars": ts.max_message_chars, **ts.pack.reply_variables(context)}
    codes = ts.pack.codes
    out: list[str] = []
    for token in state.replies:
        if token == codes.faq and codes.faq_miss is not None:
            answer = retrieve_answer(ts)
            out.append(ts.prompts.message(token, answer=answer) if answer else
                       ts.prompts.message(codes.faq_miss, **variables))
        elif isinstance(token, int):
            out.append(ts.prompts.message(token, **variables))
        else:
            out.append(ts.prompts.render(str(token), **variables))
    # A file's trailing newline must not become a triple line break when replies are joined.
    out = [text.strip() for text in out]
    return without_repeats(ts, state.replies, out, variables)


def previous_agent_message(history: Sequence[Message], turns: int = 1) -> list[str]:
    """The agent's last message (the replies of the last turn it answered), or its last ``turns`` messages."""
    block: list[str] = []
    seen_turns = 0
    in_block = False
    for message in reversed(history):
        if message.role == "agent":
            if not in_block:
                seen_turns += 1
                if seen_turns > turns:
                    break
                in_block = True
            block.insert(0, message.text)
        elif in_block:
            in_block = False
    return block


def without_repeats(ts: TurnState, tokens: Sequence[Any], texts: list[str], variables: dict[str, Any]) -> list[str]:
    """No sentence of the agent's previous message said again (nor twice in one turn): a repeated reply
    becomes the pack's short form (``short_codes``, the first that repeats nothing), else loses the
    repeated sentences (and goes when nothing is left). Very short sentences ("Olá!") may come back.

    A reprompt streak (the previous message had the message or one of its short forms) keeps to the
    short forms, so a second detour does not bring the long form ("Prazer, Maria! …") back."""
    # The last two agent messages: a detour in between ("isso é golpe?") must not bring "Prazer, Maria!" back.
    seen = {s for text in previous_agent_message(ts.history, turns=2) for s in sentences(text)}
    last = {s for text in previous_agent_message(ts.history) for s in sentences(text)}
    if ts.retrieved:  # the FAQ's short form may name the question it answered
        variables = {**variables, "question": ts.retrieved[0]["question"]}
    out: list[str] = []
    for token, text in zip(tokens, texts, strict=True):
        mine = sentences(text)
        alts = ts.pack.short_codes.get(token, ()) if isinstance(token, int) else ()
        if token == ts.pack.codes.faq and not ts.retrieved:
            alts = ()  # the knowledge base had no answer: the "no answer" reply has no short form here
        shorts = [(alt, ts.prompts.message(alt, **variables).strip()) for alt in alts]
        streak = any(s in seen for s in mine) or any(s in seen for _, short in shorts for s in sentences(short))
        if streak:
            # A short form fresh in the last two messages, else one not in the previous message (the short
            # forms take turns), else the long form if the previous message did not have it.
            fresh = next((c for c in shorts if not any(s in seen for s in sentences(c[1]))), None) or \
                next((c for c in [*shorts, (token, text)] if not any(s in last for s in sentences(c[1]))), None)
            if fresh is not None:
                alt, short = fresh
                if alt != token:
                    ts.notes.append(f"message {token} (or a short form) was in a recent reply: {alt} instead")
                text, mine = short, sentences(short)
            else:
                ts.notes.append(f"message {token} repeated the previous reply: repeated sentences left out")
                text = without_sentences(text, last)
                mine = sentences(text)
        if has_words(text):
            out.append(text)
        seen.update(mine)
        last.update(mine)  # nor twice in one turn
    # Never silent because of this rule: the last reply as it was is better than nothing.
    return out or texts[-1:]


def reply_context(ts: TurnState, state: JourneyState) -> ReplyContext:
    """What the pack's hooks read; ``now`` is when the customer sent the turn's last message."""
    sent = max((m.created_at for m in ts.inputs if m.created_at), default=None)
    now = datetime.fromtimestamp(sent, UTC) if sent else None
    return ReplyContext(state, tuple(ts.tool_results), ts.reading, ts.pack_settings, now)


def retrieve_answer(ts: TurnState) -> str | None:
    hits = ts.knowledge().search(ts.customer_text, k=3)
    ts.retrieved = []
    for h in hits:
        # A passage's line that gives orders (an injected doc) never reaches a model or the customer.
        answer, removed = without_instructions(h.answer)
        if removed:
            ts.guard_input = (*ts.guard_input, f"doc_injection:{h.faq_id}")
            ts.notes.append(f"knowledge passage {h.faq_id} carried {len(removed)} instruction line(s): left out")
        ts.retrieved.append({"faq_id": h.faq_id, "question": h.question, "score": round(float(h.score), 4),
                             "answer": answer})
    return ts.retrieved[0]["answer"] if ts.retrieved else None


def polish(ts: TurnState, state: JourneyState, suggested: list[str]) -> list[str]:
    """The conversation role rewrites the draft; a reply with an ungrounded number keeps the draft."""
    draft = "\n\n".join(suggested)
    codes = [r for r in state.replies if isinstance(r, int)]
    if not draft or any(c in ts.pack.fixed_codes for c in codes):
        return suggested
    api = [r.to_dict() for r in ts.tool_results]
    docs = ts.docs_text()
    variables = {**ts.variables(state),
                 "missing_attributes": ", ".join(ts.journey.missing_attributes(state)) or "nenhum",
                 # for_model: no latency nor attempt count (load-dependent) in the prompt
                 "api_result": json.dumps(json_safe([r.for_model() for r in ts.tool_results]),
                                          ensure_ascii=False) if api else "(sem consulta)",
                 "retrieved_docs": docs or NO_DOCS, "suggested_reply": draft}
    try:
        c = ts.call("conversation", "conversation", "conversation_prompt", variables,
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
    # Trusted: what the journey, the docs and the API said. Untrusted: what the customer wrote (text, image
    # descriptions, transcripts) — echoed numbers are fine, but never as money or an approval.
    customer = [ts.customer_text, *(m.text for m in ts.history if m.role == "customer")]
    # An API's free text (its "description") is what it says, not what it measured: untrusted like the customer.
    customer += prose_in(json_safe(api))
    # The passages themselves, not ``docs`` (rendered with the customer's question: their words are no source).
    passages = "\n\n".join(f"{h['question']}\n{h['answer']}" for h in ts.retrieved)
    verdict = check_output(reply, [draft, passages, json.dumps(json_safe(without_prose(json_safe(api))))], customer,
                           prompt=ts.prompts.get("conversation_prompt").text)
    ts.guard_output = tuple(verdict.violations)
    if not verdict.ok:
        ts.violations.extend(verdict.violations)
        ts.notes.append("output guard replaced the model's reply with the journey's template")
        return suggested
    return [reply]


# ---------------------------------------------------------------------- media


def read_media(ts: TurnState, attachment: Attachment) -> str:
    from agent.adapters.media_input import read_attachment

    result = read_attachment(ts.settings, ts.gateway, ts.prompts, attachment, ts.chat_id,
                             transcription_prompt=str(ts.pack_settings.get("transcription_prompt") or ""))
    ts.usage = ts.usage + result.usage
    ts.media.append(result.trace)
    if result.customer_reply:
        ts.media_replies.append(result.customer_reply)
    return result.text
