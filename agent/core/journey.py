"""The journey as data: ``journey.yaml`` loaded into frozen dataclasses, and a pure state machine.

``transition(state, event) -> state`` does no I/O: the engine asks it where to go, which replies to
send (``state.replies``: message codes and template names) and which tools the new step may call.
The yaml is validated at load so a typo in a step name fails at start-up, not mid-conversation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypedDict

from agent import yamlfile

from agent.errors import ConversaError

from agent.config import DEFAULT_PACK_DIR  # noqa: E402
SAME = "$same"
PREVIOUS = "$previous"
ASK_NEXT = "ask_next"
RESUME = "resume"

Reply = int | str  # message code, or a template name such as "finalizer_message_template"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class JourneyError(ConversaError):
    """The journey definition is invalid, or an event is not part of it."""


@dataclass(frozen=True)
class Rule:
    """What one event does at one step."""

    to: str
    reply: tuple[Reply, ...] = ()
    clear: tuple[str, ...] = ()
    failure: bool = False
    consent: bool | None = None
    # The customer asked to erase this conversation's data (LGPD): the session runs the erasure after the turn.
    forget: bool = False


@dataclass(frozen=True)
class Step:
    """A journey step: what it captures and requires, its tools, pending question and rules."""

    name: str
    description: str = ""
    captures: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    prompt: Reply | None = None
    transitions: Mapping[str, Rule] = field(default_factory=lambda: _EMPTY)
    default: Rule | None = None
    requires_consent: bool = False
    handoff: bool = False
    on_complete: str | None = None


@dataclass(frozen=True)
class AttributeSpec:
    """A customer attribute, the message code that asks for it and the pack's validator.

    ``accept`` returns the normalised value or None when it is invalid: a value that fails never
    enters the state, even if a model said so (defence in depth behind the decision stage).
    """

    name: str
    description: str = ""
    ask: int | None = None
    accept: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class MessageSpec:
    """One row of the message table: which file answers which situation, with which variables."""

    key: Reply
    file: str
    situation: str
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class AutoRule:
    """An event the machine fires by itself after a transition (``when`` is a named condition)."""

    event: str
    when: str
    replies: str = "append"


@dataclass(frozen=True)
class Event:
    """An intent or system event, optionally carrying extracted attributes."""

    name: str
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


class StateDict(TypedDict):
    """``JourneyState.to_dict()``: stored with each chat, in traces, and (attributes masked) ``state_view``."""

    step: str
    previous_step: str | None
    attributes: dict[str, Any]  # the pack's attributes: their values are the pack's
    failures: int
    handoff: bool
    consent: bool
    last_event: str | None
    replies: list[Reply]
    results: dict[str, dict[str, Any]]
    notice: str | None
    consent_notice: str | None


@dataclass(frozen=True)
class JourneyState:
    """Where one conversation stands. Immutable: every transition returns a new state."""

    step: str
    previous_step: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    failures: int = 0
    handoff: bool = False
    consent: bool = False
    last_event: str | None = None
    replies: tuple[Reply, ...] = ()
    # The last result of each tool ({"outcome", "data"}), kept across turns so a later question
    # ("quanto cai na minha conta?") is answered from the API, not from memory or the customer.
    results: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    # Version ("code@sha") of the last consent notice shown, and of the one the consent answered.
    notice: str | None = None
    consent_notice: str | None = None
    # Set by a transition whose rule says ``forget: true``: erase this conversation's data now. Transient:
    # not in ``to_dict`` (a stored or reloaded state never asks again), reset by the next transition.
    forget: bool = False

    @property
    def message_code(self) -> int | None:
        """The first numeric message code of the last transition's replies, if any."""
        return next((r for r in self.replies if isinstance(r, int)), None)

    def to_dict(self) -> StateDict:
        """JSON-friendly form (for traces, ``/state`` and evals)."""
        return {
            "step": self.step,
            "previous_step": self.previous_step,
            "attributes": dict(self.attributes),
            "failures": self.failures,
            "handoff": self.handoff,
            "consent": self.consent,
            "last_event": self.last_event,
            "replies": list(self.replies),
            "results": {k: dict(v) for k, v in self.results.items()},
            "notice": self.notice,
            "consent_notice": self.consent_notice,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JourneyState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            step=data["step"],
            previous_step=data.get("previous_step"),
            attributes=MappingProxyType(dict(data.get("attributes") or {})),
            failures=int(data.get("failures", 0)),
            handoff=bool(data.get("handoff", False)),
            consent=bool(data.get("consent", False)),
            last_event=data.get("last_event"),
            replies=tuple(data.get("replies") or ()),
            results=MappingProxyType({k: dict(v) for k, v in (data.get("results") or {}).items()}),
            notice=data.get("notice"),
            consent_notice=data.get("consent_notice"),
        )


@dataclass(frozen=True)
class Journey:
    """A validated journey definition with the pure state machine over it."""

    name: str
    version: int
    initial_step: str
    max_failures: int
    consent_step: str
    attributes: Mapping[str, AttributeSpec]
    steps: Mapping[str, Step]
    defaults: Mapping[str, Rule]
    intents: tuple[str, ...]
    system_events: tuple[str, ...]
    auto: tuple[AutoRule, ...]
    messages: Mapping[int, MessageSpec]
    templates: Mapping[str, MessageSpec]
    source: Path | None = None

    @property
    def events(self) -> tuple[str, ...]:
        """Every event name: intents then system events."""
        return self.intents + self.system_events

    def initial_state(self) -> JourneyState:
        """The state of a new conversation."""
        return JourneyState(step=self.initial_step)

    def rule(self, step: str, event: str) -> Rule:
        """The rule ``event`` triggers at ``step`` (step override, step default, global default)."""
        spec = self._step(step)
        if event not in self.events:
            raise JourneyError(f"unknown event {event!r}; known events: {', '.join(self.events)}")
        return spec.transitions.get(event) or spec.default or self.defaults[event]

    def allowed_tools(self, step: str) -> tuple[str, ...]:
        """Tools the engine may call while at ``step``."""
        return self._step(step).tools

    def missing_attributes(self, state: JourneyState) -> tuple[str, ...]:
        """Required attributes of the current step not captured yet, in asking order."""
        return tuple(a for a in self._step(state.step).required if a not in state.attributes)

    def message_code_for(self, step: str, event: str) -> int | None:
        """The message code that answers ``event`` at ``step`` (None: template, silence or tool)."""
        for token in self.rule(step, event).reply:
            if isinstance(token, int):
                return token
            if token == RESUME and isinstance(self._step(step).prompt, int):
                return int(self._step(step).prompt)  # type: ignore[arg-type]
            if token not in (ASK_NEXT, RESUME):
                return None
        return None

    def transition(self, state: JourneyState, event: str | Event) -> JourneyState:
        """Apply ``event`` to ``state`` and then any automatic events; pure."""
        ev = event if isinstance(event, Event) else Event(str(event))
        self.rule(state.step, ev.name)  # validates step and event names
        new = self._apply(state, ev)
        replies, forget = new.replies, new.forget
        for _ in range(len(self.auto) + 2):  # bounded: auto events cannot loop forever
            fired = next((a for a in self.auto if self._auto_due(a, new)), None)
            if fired is None:
                break
            new = self._apply(new, Event(fired.event))
            replies = new.replies if fired.replies == "replace" else replies + new.replies
            forget = forget or new.forget
        return replace(new, replies=replies, last_event=ev.name, forget=forget)

    # -- internals -----------------------------------------------------------------------------

    def _step(self, name: str) -> Step:
        try:
            return self.steps[name]
        except KeyError:
            raise JourneyError(
                f"unknown step {name!r}; known steps: {', '.join(self.steps)}"
            ) from None

    def _auto_due(self, auto: AutoRule, state: JourneyState) -> bool:
        step = self.steps[state.step]
        if auto.when == "failures_exceeded":
            return state.failures >= self.max_failures and not step.handoff
        if auto.when == "step_complete":
            return step.on_complete == auto.event and not self.missing_attributes(state)
        return False

    def ask_consent(self, state: JourneyState, event: str) -> JourneyState:
        """The consent step with its pending question (the notice), consent not given."""
        step = self.consent_step if self.consent_step in self.steps else state.step
        changed = step != state.step
        new = replace(state, step=step, previous_step=state.step if changed else state.previous_step,
                      consent=False, last_event=event, failures=0 if changed else state.failures)
        return replace(new, replies=self._resolve((RESUME,), new))

    def _apply(self, state: JourneyState, ev: Event) -> JourneyState:
        rule = self.rule(state.step, ev.name)
        target = state.step if rule.to == SAME else rule.to
        if rule.to == PREVIOUS:
            target = state.previous_step or self.initial_step
        consent = state.consent if rule.consent is None else rule.consent
        tokens: tuple[Reply, ...] = rule.reply
        if self.steps[target].requires_consent and not consent:
            # LGPD: no personal data is asked for or kept before the opt-in, whatever the rule says.
            target = self.consent_step
            tokens = (RESUME,)

        attributes = dict(state.attributes)
        if rule.consent is False or "all" in rule.clear:
            attributes.clear()
        for name in rule.clear:
            attributes.pop(name, None)
        if consent:
            attributes.update(self._accepted(self.steps[target], ev.attributes))

        changed = target != state.step
        failures = (0 if changed else state.failures) + (1 if rule.failure else 0)
        new = replace(
            state,
            step=target,
            previous_step=state.step if changed else state.previous_step,
            attributes=MappingProxyType(attributes),
            failures=failures,
            handoff=self.steps[target].handoff,
            consent=consent,
            last_event=ev.name,
            forget=rule.forget,
        )
        return replace(new, replies=self._resolve(tokens, new))

    def _accepted(self, step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
        accepted = {}
        for name, value in values.items():
            if name not in step.captures or value in (None, ""):
                continue
            spec = self.attributes.get(name)
            if spec is not None and spec.accept is not None:
                value = spec.accept(value)
                if value is None:
                    continue
            accepted[name] = value
        return accepted

    def _resolve(self, tokens: tuple[Reply, ...], state: JourneyState) -> tuple[Reply, ...]:
        out: list[Reply] = []
        for token in tokens:
            if token == RESUME:
                prompt = self.steps[state.step].prompt
                if prompt is None:
                    continue
                token = prompt
            if token == ASK_NEXT:
                missing = self.missing_attributes(state)
                ask = self.attributes[missing[0]].ask if missing else None
                if ask is not None:
                    out.append(ask)
                continue
            out.append(token)
        return tuple(out)


# -- loading and validation ----------------------------------------------------------------------


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping) or "to" not in raw:
        raise JourneyError(f"{where}: a rule needs at least 'to' (got {raw!r})")
    reply = raw.get("reply") or []
    clear = raw.get("clear") or []
    return Rule(
        to=str(raw["to"]),
        reply=tuple(reply if isinstance(reply, list) else [reply]),
        clear=("all",) if clear == "all" else tuple(clear),
        failure=bool(raw.get("failure", False)),
        consent=raw.get("consent"),
        forget=bool(raw.get("forget", False)),
    )


Validators = Mapping[str, Callable[[Any], Any]]


def parse_journey(data: Mapping[str, Any], source: Path | None = None, validators: Validators | None = None) -> Journey:
    """Build and validate a :class:`Journey` from the parsed yaml mapping (``validators``: the pack's)."""
    where = str(source or "journey.yaml")
    try:
        events = data["events"]
        intents = tuple(events["intents"])
        system = tuple(events["system"])
        attributes = {
            name: AttributeSpec(name, str(spec.get("description", "")), spec.get("ask"), (validators or {}).get(name))
            for name, spec in (data.get("attributes") or {}).items()
        }
        defaults = {e: _rule(r, f"{where} defaults.{e}") for e, r in data["defaults"].items()}
        steps = {}
        for name, raw in data["steps"].items():
            raw = raw or {}
            if True in raw:  # YAML 1.1 reads a bare `on:` key as the boolean True
                raise JourneyError(f"{where} steps.{name}: use 'transitions:' instead of 'on:'")
            steps[name] = Step(
                name=name,
                description=str(raw.get("description", "")),
                captures=tuple(raw.get("captures") or ()),
                required=tuple(raw.get("required") or ()),
                tools=tuple(raw.get("tools") or ()),
                prompt=raw.get("prompt"),
                transitions=MappingProxyType(
                    {
                        e: _rule(r, f"{where} steps.{name}.transitions.{e}")
                        for e, r in (raw.get("transitions") or {}).items()
                    }
                ),
                default=_rule(raw["default"], f"{where} steps.{name}.default") if "default" in raw else None,
                requires_consent=bool(raw.get("requires_consent", False)),
                handoff=bool(raw.get("handoff", False)),
                on_complete=raw.get("on_complete"),
            )
        messages = {
            int(code): MessageSpec(int(code), f"message_code_{code}.txt", str(m.get("situation", "")),
                                   tuple(m.get("variables") or ()))
            for code, m in (data.get("messages") or {}).items()
        }
        templates = {
            name: MessageSpec(name, f"{name}.txt", str(m.get("situation", "")), tuple(m.get("variables") or ()))
            for name, m in (data.get("templates") or {}).items()
        }
        auto = tuple(AutoRule(a["event"], a["when"], a.get("replies", "append")) for a in data.get("auto") or ())
        journey = Journey(
            name=str(data.get("name", "journey")),
            version=int(data.get("version", 1)),
            initial_step=str(data["initial_step"]),
            max_failures=int(data.get("max_failures", 3)),
            consent_step=str(data.get("consent_step", "optin")),
            attributes=MappingProxyType(attributes),
            steps=MappingProxyType(steps),
            defaults=MappingProxyType(defaults),
            intents=intents,
            system_events=system,
            auto=auto,
            messages=MappingProxyType(messages),
            templates=MappingProxyType(templates),
            source=source,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise JourneyError(f"{where}: malformed journey definition ({exc!r})") from exc
    _validate(journey, where)
    return journey


def _validate(j: Journey, where: str) -> None:
    problems: list[str] = []
    known_events = set(j.events)
    if len(known_events) != len(j.events):
        problems.append("an event is listed twice")
    if j.initial_step not in j.steps:
        problems.append(f"initial_step {j.initial_step!r} is not a step")
    if any(s.requires_consent for s in j.steps.values()):
        if j.consent_step not in j.steps:
            problems.append(f"consent_step {j.consent_step!r} is not a step")
        # A journey that asks for consent never reaches a step that captures personal data without it (LGPD).
        for name, step in j.steps.items():
            if step.captures and not step.requires_consent:
                problems.append(f"step {name!r} captures {', '.join(step.captures)} but has no "
                                "'requires_consent: true' (this journey asks for consent: no data before it)")
    if missing := sorted(known_events - set(j.defaults)):
        problems.append(f"defaults has no rule for events {missing}")
    for auto in j.auto:
        if auto.event not in known_events or auto.when not in ("failures_exceeded", "step_complete"):
            problems.append(f"auto rule {auto} uses an unknown event or condition")

    def check_rule(rule: Rule, label: str) -> None:
        if rule.to not in j.steps and rule.to not in (SAME, PREVIOUS):
            problems.append(f"{label}: unknown step {rule.to!r} (steps: {', '.join(j.steps)})")
        for token in rule.reply:
            check_reply(token, label)
        for name in rule.clear:
            if name != "all" and name not in j.attributes:
                problems.append(f"{label}: clears unknown attribute {name!r}")

    def check_reply(token: Any, label: str) -> None:
        if isinstance(token, int):
            if token not in j.messages:
                problems.append(f"{label}: message code {token} is not in the messages table")
        elif token not in (ASK_NEXT, RESUME) and token not in j.templates:
            problems.append(f"{label}: unknown reply {token!r}")

    for event, rule in j.defaults.items():
        if event not in known_events:
            problems.append(f"defaults.{event}: unknown event")
        check_rule(rule, f"defaults.{event}")
    for step in j.steps.values():
        for event, rule in step.transitions.items():
            if event not in known_events:
                problems.append(f"steps.{step.name}.transitions.{event}: unknown event")
            check_rule(rule, f"steps.{step.name}.transitions.{event}")
        if step.default:
            check_rule(step.default, f"steps.{step.name}.default")
        if step.prompt is not None:
            check_reply(step.prompt, f"steps.{step.name}.prompt")
        for name in step.captures + step.required:
            if name not in j.attributes:
                problems.append(f"steps.{step.name}: unknown attribute {name!r}")
        if step.on_complete and step.on_complete not in known_events:
            problems.append(f"steps.{step.name}.on_complete: unknown event {step.on_complete!r}")
    for attr in j.attributes.values():
        if attr.ask is not None and attr.ask not in j.messages:
            problems.append(f"attributes.{attr.name}.ask: message code {attr.ask} is not in the table")
    if j.source is not None:
        for spec in list(j.messages.values()) + list(j.templates.values()):
            if not (j.source.parent / spec.file).exists():
                problems.append(f"message {spec.key}: file {spec.file} is missing from the pack")
    if problems:
        raise JourneyError(f"{where} is invalid:\n- " + "\n- ".join(problems))


_cache: dict[tuple[Path, int], tuple[int, Journey]] = {}
_lock = threading.Lock()


def load_journey(pack_dir: str | Path | None = None, validators: Validators | None = None) -> Journey:
    """Load and validate ``journey.yaml`` of a pack (cached per file, reloaded when it changes).

    ``validators`` (attribute → accept function) come from the pack; use ``Pack.journey``.
    """
    path = Path(pack_dir or DEFAULT_PACK_DIR).resolve() / "journey.yaml"
    if not path.exists():
        raise JourneyError(f"{path} not found; point the pack setting at a folder with journey.yaml")
    mtime = path.stat().st_mtime_ns
    key = (path, id(validators))
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == mtime:
            return cached[1]
    data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise JourneyError(f"{path} must hold a yaml mapping")
    journey = parse_journey(data, source=path, validators=validators)
    with _lock:
        _cache[key] = (mtime, journey)
    return journey
