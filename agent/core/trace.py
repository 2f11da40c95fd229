"""The typed record of one turn: why the agent said what it said.

The engine produces a frozen ``TurnTrace``; the Chat page, Compare, the evals runner and the reports
read its attributes. ``to_json()`` is the stored form (the ``traces`` table, golden ``json_field``
paths such as ``trace.event.name``); ``from_json()`` reads it back, older rows included.
Values in a trace are masked when recorded (the engine masks through the pack's maskers);
``to_json(mask=…)`` can apply a masker once more on the way out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

JsonDict = dict[str, Any]


def _tuple(values: Sequence[Any] | None) -> tuple[Any, ...]:
    return tuple(values or ())


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class ModelCall:
    """One model call of the turn: the rendered prompt, what came back, tokens and cost."""

    role: str
    feature: str
    prompt_name: str = ""
    prompt_version: str = ""
    rendered_messages: tuple[Mapping[str, Any], ...] = ()
    model: str = ""
    temperature: float | None = None  # the sampling temperature sent (None: unknown, older traces)
    output: str = ""
    json: Mapping[str, Any] | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    usage_source: str = "none"
    request_id: str = ""
    fallback_used: bool = False
    error: str | None = None
    # Tokens per prompt section (instructions, history, retrieved docs, examples, customer message, other
    # variables) of the prompt as sent; and, when the pack's budget applied, what it did: max_tokens,
    # tokens before/after, the trims applied ({trim, before, after}) and notes (a compressor skipped…).
    sections: Mapping[str, int] = field(default_factory=dict)
    budget: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelCall:
        values = _known(cls, data)
        values["rendered_messages"] = _tuple(values.get("rendered_messages"))
        values["tool_calls"] = _tuple(values.get("tool_calls"))
        return cls(**{"role": "", "feature": "", **values})


@dataclass(frozen=True)
class ToolCall:
    """One API call the turn made (arguments and data masked)."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    status: str = "ok"
    http_status: int | None = None
    latency_ms: float = 0.0
    outcome: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0
    source: str = "http"
    event: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToolCall:
        return cls(**{"name": "", **_known(cls, data)})


@dataclass(frozen=True)
class Retrieval:
    """A knowledge passage retrieved for the customer's question."""

    faq_id: str
    question: str = ""
    score: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Retrieval:
        return cls(**{"faq_id": "", **_known(cls, data)})


@dataclass(frozen=True)
class GuardVerdict:
    """What the guard rails flagged on the way in (customer text) and out (the reply)."""

    input: tuple[str, ...] = ()
    output: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> GuardVerdict:
        data = data or {}
        return cls(_tuple(data.get("input")), _tuple(data.get("output")))


@dataclass(frozen=True)
class Decision:
    """What the decision stage understood: intent, validated attributes, rejected attempts."""

    intent: str
    confidence: float = 0.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    rejected: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Decision | None:
        if not data:
            return None
        rejected = data.get("rejected")
        if rejected is None:  # traces stored before packs kept "invalid_<attribute>s": [masked, …]
            rejected = [{"attribute": key[len("invalid_"):-1], "masked": masked, "reason": "invalid"}
                        for key, values in data.items() if key.startswith("invalid_") for masked in values or ()]
        return cls(str(data.get("intent") or ""), float(data.get("confidence") or 0.0),
                   dict(data.get("attributes") or {}), tuple(rejected))


@dataclass(frozen=True)
class EventRecord:
    """The journey event the turn fired, with the attributes it carried (masked)."""

    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EventRecord | None:
        if not data:
            return None
        return cls(str(data.get("name") or ""), dict(data.get("attributes") or {}))


@dataclass(frozen=True)
class TurnTrace:
    """One answered turn (or system event): inputs, decisions, calls, replies, cost."""

    state_before: Mapping[str, Any] = field(default_factory=dict)
    state_after: Mapping[str, Any] = field(default_factory=dict)
    customer_text: str = ""
    system_event: str | None = None
    event: EventRecord | None = None
    decision: Decision | None = None
    emotion: Mapping[str, Any] | None = None
    calls: tuple[ModelCall, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    retrieved: tuple[Retrieval, ...] = ()
    guard: GuardVerdict = field(default_factory=GuardVerdict)
    media: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    prompt_versions: Mapping[str, str] = field(default_factory=dict)
    message_codes: tuple[int | str, ...] = ()
    replies: tuple[str, ...] = ()
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    errors: tuple[str, ...] = ()
    guard_violations: tuple[str, ...] = ()
    latency_ms: float = 0.0
    turn: int | None = None
    # The live detractor alert of this turn ({kind, reason, action, score}: agent/core/assess.py), or None.
    alert: Mapping[str, Any] | None = None

    @property
    def step_before(self) -> str:
        return str(self.state_before.get("step") or "")

    @property
    def step_after(self) -> str:
        return str(self.state_after.get("step") or "")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self, mask: Callable[[Any], Any] | None = None, *,
                text: Callable[[str], str] | None = None) -> JsonDict:
        """The stored, JSON-able form (keys as in the ``traces`` table); ``mask`` is applied to it whole,
        ``text`` to every string in it as it is built (``text=scrub`` is ``mask=scrub_deep`` in one pass).

        Without either it is built once per trace (a turn's is stored, observed and scored): the same dict
        every call, to read, never to change."""
        if mask is None and text is None:
            stored: JsonDict | None = self.__dict__.get("_stored")
            if stored is None:
                stored = _stored_form(self)
                object.__setattr__(self, "_stored", stored)
            return stored
        data = _stored_form(self, text)
        return mask(data) if mask is not None else data

    def evolve(self, **changes: Any) -> TurnTrace:
        """``dataclasses.replace`` that carries the stored form along (only the changed keys are rebuilt)."""
        new = replace(self, **changes)
        old: JsonDict | None = self.__dict__.get("_stored")
        if old is not None:
            stored: JsonDict = {}
            for name in _trace_fields():
                if name in changes:
                    if changes[name] is None and name in _DROPPED_WHEN_NONE:
                        continue
                    stored[name] = _plain(changes[name])
                elif name in old:
                    stored[name] = old[name]
            object.__setattr__(new, "_stored", stored)
        return new

    @classmethod
    def from_stored(cls, data: JsonDict) -> TurnTrace:
        """:meth:`from_json` of a stored form this process built and hands over (nobody changes it afterwards):
        the trace keeps ``data`` as its :meth:`to_json`."""
        trace = cls.from_json(data)
        object.__setattr__(trace, "_stored", data)
        return trace

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | TurnTrace) -> TurnTrace:
        """Read a stored trace (any age: missing keys take defaults, unknown keys are ignored)."""
        if isinstance(data, TurnTrace):
            return data
        values = _known(cls, data)
        values.update(
            event=EventRecord.from_json(data.get("event")),
            decision=Decision.from_json(data.get("decision")),
            calls=tuple(ModelCall.from_json(c) for c in data.get("calls") or ()),
            tool_calls=tuple(ToolCall.from_json(c) for c in data.get("tool_calls") or ()),
            retrieved=tuple(Retrieval.from_json(r) for r in data.get("retrieved") or ()),
            guard=GuardVerdict.from_json(data.get("guard")),
        )
        for key in ("media", "notes", "message_codes", "replies", "errors", "guard_violations"):
            values[key] = _tuple(data.get(key))
        for key in ("cost_usd", "latency_ms"):
            values[key] = float(data.get(key) or 0.0)
        for key in ("input_tokens", "output_tokens"):
            values[key] = int(data.get(key) or 0)
        return cls(**values)


# Keys the stored form leaves out when their value is None.
_DROPPED_WHEN_NONE = frozenset({"system_event", "emotion", "alert", "event", "decision"})


def _stored_form(trace: TurnTrace, text: Callable[[str], str] | None = None) -> JsonDict:
    data: JsonDict = _plain(trace, text)
    for key in _DROPPED_WHEN_NONE:
        if data[key] is None:
            del data[key]
    return data


def _trace_fields() -> tuple[str, ...]:
    names = _FIELD_NAMES.get(TurnTrace)
    if names is None:
        names = _FIELD_NAMES[TurnTrace] = tuple(f.name for f in fields(TurnTrace))
    return names


_LEAVES = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}  # per type: its dataclass fields, None if not a dataclass


def _plain(value: Any, text: Callable[[str], str] | None = None) -> Any:
    # Like dataclasses.asdict without its deep copies (4 ms a turn), and with lists for tuples:
    # JSON has lists, so the stored form compares equal to what json.loads gives back. ``text``: applied to
    # every string (a str subclass included) — agent.privacy.scrub_deep of the result without building it twice.
    cls = type(value)
    if cls is str:
        return value if text is None else text(value)
    if cls in _LEAVES:
        return value
    if cls is dict:
        return {k: _plain(v, text) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [_plain(v, text) for v in value]
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
    names = _FIELD_NAMES[cls]
    if names is not None:
        return {name: _plain(getattr(value, name), text) for name in names}
    if isinstance(value, Mapping):
        return {k: _plain(v, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, text) for v in value]
    if isinstance(value, str) and text is not None:
        return text(value)
    return value
