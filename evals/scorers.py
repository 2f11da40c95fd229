"""Scorers: small functions registered by name, each returning pass / score / a reason sentence.

Every scorer gets a ``not-`` form for free (``not-contains``, ``not-step`` …). Scorers whose value
may be a list check each item: the plain form passes when *every* item matches, the ``not-`` form
when *none* does ("not-message_code: [21, 22]" = neither code was used).

Turn-level scorers read a :class:`TurnObservation` (what one customer turn produced); conversation
level scorers read a :class:`ConversationObservation`. Two need services, given through
:class:`ScoreContext` so the functions stay pure: ``judge`` (LLM-as-judge on the judge role) and
``similar`` (embeddings when configured, else a lexical measure — the reason says which).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agent.br.cpf import mask as mask_cpf
from agent.br.calendar import month_number
from agent.core.guardrails import fold
from agent.text import repeated_sentences

Level = Literal["turn", "conversation"]
# Steps where the journey reached an outcome (the deck's "jornada concluída").


# ---------------------------------------------------------------- observations


@dataclass
class TurnObservation:
    """What one turn produced, as scorers see it. ``raw_attributes`` (unmasked) is never stored."""

    index: int
    label: str
    customer_text: str = ""
    replies: list[str] = field(default_factory=list)
    step_before: str = ""
    step_after: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    message_codes: list[Any] = field(default_factory=list)
    intent: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    guard_input: list[str] = field(default_factory=list)
    guard_output: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)
    raw_attributes: dict[str, Any] = field(default_factory=dict, repr=False)
    # The agent's last message(s) before this turn (for ``repeats``).
    previous_replies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.replies)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self, *, trace: bool = True) -> dict[str, Any]:
        """JSON-able, CPF masked (no raw attributes); the trace without rendered prompts."""
        data = {k: getattr(self, k) for k in (
            "index", "label", "customer_text", "replies", "step_before", "step_after", "attributes",
            "tool_calls", "message_codes", "intent", "input_tokens", "output_tokens", "cost_usd",
            "latency_ms", "guard_input", "guard_output", "errors", "models", "previous_replies")}
        if trace:
            data["trace"] = slim_trace(self.trace)
        return json.loads(json.dumps(data, default=str))


def slim_trace(trace: Mapping[str, Any]) -> dict[str, Any]:
    """A trace without the rendered prompt messages (large; the chat's own traces keep them)."""
    out = dict(trace)
    out["calls"] = [{k: v for k, v in c.items() if k != "rendered_messages"} for c in trace.get("calls", [])]
    return out


@dataclass
class ConversationObservation:
    """A whole replayed conversation."""

    turns: list[TurnObservation]
    final_step: str = ""
    state: Mapping[str, Any] = field(default_factory=dict)
    # The agent's ledger rows for the chat, oldest first (feature_name, model, role, status, error, tokens,
    # price in USD, usage_source); the evaluation's own calls (judge…) left out. And the case's BRL rate.
    ledger: list[dict[str, Any]] = field(default_factory=list)
    usd_brl: float = 5.52

    def ledger_cost(self, currency: str = "USD", feature: str | None = None) -> Decimal:
        """The ledger's cost (all rows, or one feature's) in USD — or in BRL at the case's rate, as the UI shows it."""
        usd = sum((Decimal(str(r.get("price") or 0)) for r in self.ledger
                   if feature is None or r.get("feature_name") == feature), Decimal(0))
        return usd * Decimal(str(self.usd_brl)) if currency == "BRL" else usd

    @property
    def cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.turns)

    @property
    def tokens(self) -> int:
        return sum(t.tokens for t in self.turns)

    @property
    def steps(self) -> list[str]:
        return [t.step_after for t in self.turns]

    def transcript(self) -> str:
        lines = []
        for t in self.turns:
            lines.append(f"Cliente: {t.customer_text or t.label}")
            lines.extend(f"Agente: {r}" for r in t.replies)
        return "\n".join(lines)


# ---------------------------------------------------------------- results and context


@dataclass(frozen=True)
class Score:
    """One expectation's verdict."""

    name: str
    passed: bool
    score: float
    reason: str
    value: Any = None
    level: Level = "turn"
    turn: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps({"name": self.name, "passed": self.passed, "score": round(self.score, 4),
                                      "reason": self.reason, "value": self.value, "level": self.level,
                                      "turn": self.turn, "meta": dict(self.meta)}, default=str))


@dataclass(frozen=True)
class Check:
    """What a scorer found for one item: matched (in the positive sense), how well, and the words."""

    matched: bool
    expected: str  # "the step to be 'optin'"
    negated: str  # "the step not to be 'optin'"
    actual: str  # "it was 'collect_data'"
    score: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


JudgeFn = Callable[[Mapping[str, Any]], Mapping[str, Any]]
EmbedFn = Callable[[Sequence[str]], Sequence[Sequence[float]]]


@dataclass
class ScoreContext:
    """Services for the two scorers that need a model; None → the offline fallback or a clear failure."""

    judge: JudgeFn | None = None
    embed: EmbedFn | None = None
    embedding_model: str | None = None
    eval_cost_usd: float = 0.0
    notes: list[str] = field(default_factory=list)
    # The pack's outcome steps (pack.yaml ``completed_steps``), for the journey scorers.
    completed_steps: tuple[str, ...] = field(default_factory=lambda: _default_pack().completed_steps)


def _default_pack() -> Any:
    from agent.core.pack import get_pack

    return get_pack()


ScorerFn = Callable[[Any, Any, ScoreContext, float | None], Check]


@dataclass(frozen=True)
class ScorerSpec:
    name: str
    fn: ScorerFn
    level: Level
    doc: str
    validate: Callable[[Any], Any] | None = None
    each: bool = False  # a list value is checked item by item


SCORERS: dict[str, ScorerSpec] = {}


def scorer(name: str, *, level: Level = "turn", validate: Callable[[Any], Any] | None = None,
           each: bool = False) -> Callable[[ScorerFn], ScorerFn]:
    """Register ``fn(observation, value, context, threshold) -> Check`` under ``name``."""

    def register(fn: ScorerFn) -> ScorerFn:
        SCORERS[name] = ScorerSpec(name, fn, level, (fn.__doc__ or "").strip().splitlines()[0], validate, each)
        return fn

    return register


def split_name(name: str) -> tuple[str, bool]:
    """``"not-contains"`` → ``("contains", True)``."""
    name = name.strip().replace("not_", "not-", 1) if name.startswith("not_") else name.strip()
    return (name[4:], True) if name.startswith("not-") else (name, False)


def evaluate(name: str, value: Any, observation: Any, context: ScoreContext | None = None, *,
             threshold: float | None = None, turn: int | None = None) -> Score:
    """Run one expectation (``name`` may be ``not-…``) and phrase the verdict as a sentence."""
    base, negate = split_name(name)
    spec = SCORERS.get(base)
    if spec is None:
        raise KeyError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}")
    context = context or ScoreContext()
    items = value if spec.each and isinstance(value, list) else [value]
    checks = []
    for item in items:
        try:
            checks.append(spec.fn(observation, item, context, threshold))
        except Exception as exc:  # noqa: BLE001  (a broken scorer fails its expectation, not the run)
            checks.append(Check(False, f"{base} {item!r} to be checkable", f"{base} {item!r} to be checkable",
                                f"the scorer failed: {type(exc).__name__}: {exc}", 0.0, {"error": True}))
    # A check that could not run fails in both forms: "not-" of a broken scorer is no pass.
    oks = [c.matched != negate and not c.meta.get("error") for c in checks]
    passed = all(oks)
    scores = [(c.score if c.score is not None else float(c.matched)) for c in checks]
    if negate:
        scores = [1.0 - s for s in scores]
    score = sum(scores) / len(scores) if scores else 0.0
    shown = [c for c, ok in zip(checks, oks, strict=True) if not ok] or checks
    reason = " ".join(f"Expected {c.negated if negate else c.expected}; {c.actual}." for c in shown[:4])
    if len(shown) > 4:
        reason += f" (+{len(shown) - 4} more)"
    meta: dict[str, Any] = {}
    for c in checks:
        meta.update(c.meta)
    return Score(name=spec.name if not negate else f"not-{spec.name}", passed=passed, score=score,
                 reason=reason, value=value, level=spec.level, turn=turn, meta=meta)


# ---------------------------------------------------------------- validators


def _str_or_list(value: Any) -> Any:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise ValueError("expects a text or a list of texts")


def _true(value: Any) -> bool:
    if value is True or value is None:
        return True
    raise ValueError("write 'true' (use the not- form for the opposite)")


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ValueError("expects a number ≥ 0")


# Exact costs: a golden's hand arithmetic against the ledger, within a billionth of the currency unit (the
# ledger keeps 12 decimals, SQLite stores floats, and a BRL price is divided by the rate); a swapped price
# or a missing BRL conversion moves a cost by far more.
COST_TOLERANCE = Decimal("1e-9")
CURRENCIES = ("USD", "BRL")
LEDGER_ROW_KEYS = ("feature", "model", "role", "status", "usage_source", "input_tokens", "output_tokens", "cost",
                   "error", "count")


def _currency(value: Mapping[str, Any]) -> str:
    currency = str(value.get("currency", "USD")).upper()
    if currency not in CURRENCIES:
        raise ValueError(f"currency is {' or '.join(CURRENCIES)}")
    return currency


def _total_cost(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "equals" not in value or set(value) - {"equals", "currency"}:
            raise ValueError("expects a number (at most, USD) or {equals: N, currency: USD|BRL} (exact, from the ledger)")
        return {"equals": _number(value["equals"]), "currency": _currency(value)}
    return _number(value)


def _feature_cost(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not set(value) - {"currency"}:
        raise ValueError("expects {feature name: cost, …} (the ledger's feature names; optional currency: BRL)")
    features: dict[str, float] = {}
    for name, amount in value.items():
        if name == "currency":
            continue
        try:
            features[str(name)] = _number(amount)
        except ValueError as exc:
            raise ValueError(f"the cost of {name!r} {exc}") from exc
    return {"currency": _currency(value), "features": features}


def _ledger_row(value: Any) -> Any:
    if isinstance(value, list) and value:
        return [_ledger_row(v) for v in value]
    if not isinstance(value, Mapping) or not value or set(value) - set(LEDGER_ROW_KEYS):
        raise ValueError(f"expects {{{', '.join(LEDGER_ROW_KEYS)}}} (a subset; error: a text the row's error contains)")
    out = dict(value)
    for key in ("input_tokens", "output_tokens", "count"):
        if key in out and (not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 0):
            raise ValueError(f"{key} is a whole number ≥ 0")
    if "cost" in out:
        out["cost"] = _number(out["cost"])
    return out


def _codes(value: Any) -> Any:
    def one(v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("a message code is a number (10, 21…) or a template name")
        if isinstance(v, int):
            return v
        if isinstance(v, str) and v.strip().isdigit():
            return int(v)
        if isinstance(v, str) and v.strip():
            return v.strip()
        raise ValueError("a message code is a number (10, 21…) or a template name")

    return [one(v) for v in value] if isinstance(value, list) else one(value)


def _attributes(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"name": value, "value": None}]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [{"name": v, "value": None} for v in value]
    if isinstance(value, Mapping) and value:
        return [{"name": str(k), "value": v} for k, v in value.items()]
    raise ValueError("expects an attribute name, a list of names, or {name: value}")


def _tools(value: Any) -> list[dict[str, Any]]:
    def one(v: Any) -> dict[str, Any]:
        if isinstance(v, str):
            return {"name": v, "args": {}}
        if isinstance(v, Mapping) and isinstance(v.get("name"), str):
            unknown = set(v) - {"name", "args", "outcome"}
            if unknown:
                raise ValueError(f"unknown field(s) {sorted(unknown)}; use name, args, outcome")
            return {"name": v["name"], "args": dict(v.get("args") or {}), "outcome": v.get("outcome")}
        raise ValueError("expects a tool name or {name, args: {…}, outcome}")

    return [one(v) for v in value] if isinstance(value, list) else [one(value)]


def _regex(value: Any) -> Any:
    texts = _str_or_list(value)
    for pattern in texts if isinstance(texts, list) else [texts]:
        re.compile(pattern)
    return texts


def _json_field(value: Any) -> Any:
    if isinstance(value, list) and value:
        return [_json_field(v) for v in value]
    if not isinstance(value, Mapping) or not isinstance(value.get("path"), str):
        raise ValueError("expects {path: a.b.0.c, equals|contains|icontains|regex|exists|min|max: …}")
    ops = set(value) - {"path"}
    allowed = {"equals", "contains", "icontains", "regex", "exists", "min", "max", "in"}
    if not ops or ops - allowed:
        raise ValueError(f"needs one of {', '.join(sorted(allowed))} besides path")
    return dict(value)


def _similar(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"reference": value}
    if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
        return dict(value)
    raise ValueError("expects the reference reply, or {reference: …, threshold: 0.6}")


def _rubric(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.strip():
        return {"rubric": value}
    if isinstance(value, Mapping) and (value.get("rubric") or value.get("must") or value.get("must_not")):
        unknown = set(value) - {"rubric", "must", "must_not", "threshold"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; use rubric, must, must_not, threshold")
        return dict(value)
    raise ValueError("expects a rubric text, or {rubric, must: [...], must_not: [...], threshold}")


def _steps(value: Any) -> Any:
    if value is True:
        return True
    return _str_or_list(value)


# ---------------------------------------------------------------- helpers


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f'"{value}"'


def _short(text: str, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return _q(text if len(text) <= limit else text[: limit - 1] + "…")


def _month(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    key = fold(str(value)).strip()
    if key.isdigit():
        return int(key)
    return month_number(key)


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit())


def _same_attribute(name: str, expected: Any, actual: Any) -> bool:
    if name == "cpf":
        return _digits(expected) == _digits(actual)
    if name == "birth_month":
        return _month(expected) == _month(actual)
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return abs(float(actual) - float(expected)) < 0.005
        except (TypeError, ValueError):
            return False
    return fold(str(expected)).strip() == fold(str(actual)).strip()


def _path_get(data: Any, path: str) -> tuple[bool, Any]:
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and re.fullmatch(r"-?\d+", part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


# ---------------------------------------------------------------- turn scorers


@scorer("step", validate=_str_or_list, each=True)
def step(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """Journey step after the turn."""
    return Check(obs.step_after == value, f"the step after the turn to be {_q(value)}",
                 f"the step after the turn not to be {_q(value)}", f"it was {_q(obs.step_after)}")


@scorer("intent", validate=_str_or_list, each=True)
def intent(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The journey event the turn was read as (intent or system event)."""
    return Check(obs.intent == value, f"the turn to be read as {_q(value)}", f"the turn not to be read as {_q(value)}",
                 f"it was read as {_q(obs.intent)}")


@scorer("attribute", validate=_attributes, each=True)
def attribute(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext, threshold: float | None) -> Check:
    """An attribute captured (optionally with a value; CPFs compared by digits, months by number or name)."""
    name, expected = value["name"], value.get("value")
    source = obs.raw_attributes or obs.attributes
    shown = obs.attributes.get(name)
    if name not in source or source.get(name) in (None, ""):
        captured = ", ".join(f"{k}={_q(v)}" for k, v in obs.attributes.items()) or "nothing"
        return Check(False, f"{name} to be captured", f"{name} not to be captured",
                     f"it was not (captured: {captured})")
    if expected is None or expected == "*":
        return Check(True, f"{name} to be captured", f"{name} not to be captured", f"it was {_q(shown)}")
    expected_shown = _q(mask_cpf(_digits(expected))) if name == "cpf" else _q(expected)
    ok = _same_attribute(name, expected, source[name])
    return Check(ok, f"{name} to be {expected_shown}", f"{name} not to be {expected_shown}",
                 f"it was {_q(shown)}" + (" (same digits)" if ok and name == "cpf" else ""))


@scorer("tool_called", validate=_tools, each=True)
def tool_called(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext, threshold: float | None) -> Check:
    """A tool was called (name, or ``*`` for any), with arguments including ``args`` and an optional outcome."""
    name, args, outcome = value["name"], value.get("args") or {}, value.get("outcome")
    calls = [c for c in obs.tool_calls if name == "*" or c.get("name") == name]
    desc = "a tool call" if name == "*" else f"a call to {name}"
    if args:
        desc += f" with {json.dumps(args, ensure_ascii=False)}"
    if outcome:
        desc += f" answering {_q(outcome)}"
    made = ", ".join(f"{c.get('name')}({json.dumps(c.get('args'), ensure_ascii=False)}) → {c.get('outcome')}"
                     for c in obs.tool_calls) or "no tool was called"

    def args_match(call: Mapping[str, Any]) -> bool:
        actual = call.get("args") or {}
        for key, want in args.items():
            got = actual.get(key)
            if key == "cpf":
                # Arguments are stored masked: compare the visible middle digits.
                if got is None or _digits(got) not in _digits(want):
                    return False
            elif fold(str(got)) != fold(str(want)):
                return False
        return True

    ok = any(args_match(c) and (not outcome or c.get("outcome") == outcome) for c in calls)
    return Check(ok, desc, f"no {desc[2:] if desc.startswith('a ') else desc}", f"calls: {made}")


@scorer("message_code", validate=_codes, each=True)
def message_code(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """A message code (``message_code_N.txt``) or template name was used in the reply."""
    return Check(value in obs.message_codes, f"message code {_q(value)} to be used",
                 f"message code {_q(value)} not to be used", f"codes used: {_q(obs.message_codes)}")


def _text_check(kind: str, obs: TurnObservation, value: str) -> Check:
    text = obs.text
    if kind == "contains":
        ok = value in text
    elif kind == "icontains":
        ok = fold(value) in fold(text)
    elif kind == "regex":
        ok = re.search(value, text, re.IGNORECASE | re.MULTILINE) is not None
    else:
        ok = text.strip() == value.strip()
    verb = {"contains": "contain", "icontains": "contain (ignoring case and accents)",
            "regex": "match /{}/", "equals": "equal"}[kind]
    verb = verb.format(value) if kind == "regex" else f"{verb} {_q(value)}"
    return Check(ok, f"the reply to {verb}", f"the reply not to {verb}", f"it was {_short(text)}")


@scorer("contains", validate=_str_or_list, each=True)
def contains(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply contains a text (case-sensitive)."""
    return _text_check("contains", obs, value)


@scorer("icontains", validate=_str_or_list, each=True)
def icontains(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply contains a text, ignoring case and accents."""
    return _text_check("icontains", obs, value)


@scorer("regex", validate=_regex, each=True)
def regex(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply matches a regular expression (case-insensitive, multiline)."""
    return _text_check("regex", obs, value)


@scorer("equals", validate=lambda v: str(v))
def equals(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply equals a text (surrounding whitespace ignored)."""
    return _text_check("equals", obs, value)


@scorer("icontains_any", validate=lambda v: [str(x) for x in v] if isinstance(v, list) and v else _str_or_list(v))
def icontains_any(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply contains at least one of the texts (ignoring case and accents)."""
    options = value if isinstance(value, list) else [value]
    found = [o for o in options if fold(o) in fold(obs.text)]
    return Check(bool(found), f"the reply to contain one of {_q(options)}", f"the reply to contain none of {_q(options)}",
                 f"found {_q(found)} in {_short(obs.text)}" if found else f"it was {_short(obs.text)}")


@scorer("json_field", validate=_json_field, each=True)
def json_field(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext, threshold: float | None) -> Check:
    """A field of the turn's record (``trace.event.name``, ``attributes.cpf``, ``trace.media.0.text``…)."""
    path = value["path"]
    found, actual = _path_get(obs.to_dict(), path)
    checks = []
    for op, want in value.items():
        if op == "path":
            continue
        if op == "exists":
            checks.append((found == bool(want), f"{path} {'to exist' if want else 'to be absent'}"))
        elif not found:
            checks.append((False, f"{path} {op} {_q(want)}"))
        elif op == "equals":
            checks.append((actual == want or fold(str(actual)) == fold(str(want)), f"{path} to equal {_q(want)}"))
        elif op == "contains":
            checks.append((str(want) in (json.dumps(actual, ensure_ascii=False) if not isinstance(actual, str)
                                         else actual), f"{path} to contain {_q(want)}"))
        elif op == "icontains":
            checks.append((fold(str(want)) in fold(json.dumps(actual, ensure_ascii=False) if not isinstance(actual, str)
                                                   else actual), f"{path} to contain {_q(want)} (any case)"))
        elif op == "regex":
            checks.append((re.search(str(want), str(actual), re.I) is not None, f"{path} to match /{want}/"))
        elif op == "in":
            checks.append((actual in (want if isinstance(want, list) else [want]), f"{path} to be one of {_q(want)}"))
        elif op in {"min", "max"}:
            try:
                ok = float(actual) >= float(want) if op == "min" else float(actual) <= float(want)
            except (TypeError, ValueError):
                ok = False
            checks.append((ok, f"{path} {'≥' if op == 'min' else '≤'} {want}"))
    ok = all(c[0] for c in checks)
    expected = " and ".join(c[1] for c in checks)
    return Check(ok, expected, f"not ({expected})",
                 f"it was {_short(json.dumps(actual, ensure_ascii=False)) if found else 'missing'}")


@scorer("max_tokens", validate=_number)
def max_tokens(obs: TurnObservation, value: float, ctx: ScoreContext, threshold: float | None) -> Check:
    """Tokens of the turn's model calls (input + output) at most N."""
    return Check(obs.tokens <= value, f"at most {value:g} tokens", f"more than {value:g} tokens",
                 f"the turn used {obs.tokens} ({obs.input_tokens} in + {obs.output_tokens} out)")


def _prompt_spec(value: Any) -> Any:
    """``"text"`` (any role) or ``{role: decision, text: …}`` / ``{role: decision, max: 1300}``, or a list."""
    if isinstance(value, list):
        return [_prompt_spec(v) for v in value]
    if isinstance(value, str):
        return {"role": None, "text": value}
    if not isinstance(value, Mapping) or not ({"text", "max"} & set(value)):
        raise ValueError("expected a text, or a mapping with role and text (or max)")
    unknown = set(value) - {"role", "text", "max"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}; known: role, text, max")
    spec: dict[str, Any] = {"role": str(value["role"]) if value.get("role") else None}
    if "text" in value:
        spec["text"] = str(value["text"])
    if "max" in value:
        spec["max"] = _number(value["max"])
    return spec


def _prompt_calls(obs: TurnObservation, role: str | None) -> list[Mapping[str, Any]]:
    return [c for c in obs.trace.get("calls", []) if role is None or c.get("role") == role]


def _rendered(call: Mapping[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in call.get("rendered_messages") or [])


@scorer("prompt_contains", validate=_prompt_spec, each=True)
def prompt_contains(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext,
                    threshold: float | None) -> Check:
    """A rendered prompt of the turn (a role's, or any) contains a text, ignoring case and accents."""
    value = _prompt_spec(value)
    role, text = value.get("role"), str(value.get("text") or "")
    calls = _prompt_calls(obs, role)
    found = [str(c.get("prompt_name")) for c in calls if fold(text) in fold(_rendered(c))]
    where = f"the {role} prompt" if role else "a prompt"
    seen = f"found in {', '.join(found)}" if found else (
        f"prompts seen: {', '.join(str(c.get('prompt_name')) for c in calls) or 'none'}")
    return Check(bool(found), f"{where} to contain {_q(text)}", f"no prompt of {role or 'any role'} to contain "
                 f"{_q(text)}", seen)


@scorer("prompt_max_tokens", validate=_prompt_spec, each=True)
def prompt_max_tokens(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext,
                      threshold: float | None) -> Check:
    """Every model call of the turn (a role's, or any) has at most N input tokens (the prompt's size)."""
    value = _prompt_spec(value)
    role, limit = value.get("role"), float(value.get("max", 0))
    calls = _prompt_calls(obs, role)
    largest = max((int(c.get("input_tokens") or 0) for c in calls), default=0)
    who = f"{role} prompt" if role else "prompt"
    return Check(largest <= limit, f"every {who} to have at most {limit:g} tokens",
                 f"a {who} with more than {limit:g} tokens", f"the largest had {largest}")


@scorer("max_cost", validate=_number)
def max_cost(obs: TurnObservation, value: float, ctx: ScoreContext, threshold: float | None) -> Check:
    """The turn's agent cost (USD) at most N."""
    return Check(obs.cost_usd <= value, f"the turn to cost at most US$ {value:.6f}",
                 f"the turn to cost more than US$ {value:.6f}", f"it cost US$ {obs.cost_usd:.6f}")


@scorer("max_latency", validate=_number)
def max_latency(obs: TurnObservation, value: float, ctx: ScoreContext, threshold: float | None) -> Check:
    """The turn answered within N milliseconds (wall time of the agent's turn)."""
    return Check(obs.latency_ms <= value, f"an answer within {value:g} ms", f"an answer slower than {value:g} ms",
                 f"it took {obs.latency_ms:.0f} ms")


@scorer("no_guard_violation", validate=_true)
def no_guard_violation(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply passed the output guard (no invented numbers, no request for secrets)."""
    return Check(not obs.guard_output, "no output guard-rail violation", "an output guard-rail violation",
                 f"violations: {_q(obs.guard_output)}" if obs.guard_output else "there was none")


@scorer("guard_flagged", validate=_str_or_list, each=True)
def guard_flagged(obs: TurnObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """A guard rail (input or output) flagged the turn: ``injection``, ``too_long``… or ``*`` for any."""
    flags = [*obs.guard_input, *obs.guard_output]
    # Flags carry details ("too_long:193>120", "prompt_injection"): match the name part.
    ok = bool(flags) if value == "*" else any(value in f.split(":", 1)[0] for f in flags)
    what = "a guard rail to flag the turn" if value == "*" else f"a guard rail to flag {_q(value)}"
    return Check(ok, what, what.replace("a guard rail to flag", "no guard rail to flag"),
                 f"flags: {_q(flags)}" if flags else "nothing was flagged")


@scorer("silent", validate=_true)
def silent(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The agent sent no reply (e.g. during a human handoff)."""
    return Check(not obs.replies, "the agent to stay silent", "the agent to reply",
                 f"it sent {len(obs.replies)} message(s)" + (f": {_short(obs.text)}" if obs.replies else ""))


@scorer("no_errors", validate=_true)
def no_errors(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """No model, tool or media error surfaced in the turn."""
    return Check(not obs.errors, "no errors", "an error", f"errors: {_q(obs.errors)}" if obs.errors else "there were none")


# -- repetition


def _repeat_flag(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return value is not False
    raise ValueError("write 'true' (or 'not-repeats: false' on a turn to opt out of the default check)")


@scorer("repeats", validate=_repeat_flag)
def repeats(obs: TurnObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The reply repeats a sentence of the agent's previous message (or one of its own), or has 3+ line
    breaks in a row. ``not-repeats`` runs on every customer turn by default."""
    found = repeated_sentences(obs.replies, obs.previous_replies)
    gaps = sum(r.count("\n\n\n") for r in obs.replies)
    problems = [f"repeated {_q(s[:80])}" for s in found[:3]] + (["a triple line break"] if gaps else [])
    return Check(bool(found or gaps), "the reply to repeat the previous message",
                 "no sentence of the previous agent message repeated (and no triple line breaks)",
                 "; ".join(problems) if problems else "nothing was repeated")


# -- similarity


_STOPWORDS = frozenset(
    "a o as os um uma uns umas de do da dos das e em no na nos nas por para pra com que se ao aos "
    "ou eu voce seu sua seus suas meu minha te me lhe isso este esta esse essa é ser foi sao".split())


def _tokens(text: str) -> list[str]:
    words = [w for w in re.findall(r"[a-z0-9]+", fold(text)) if w not in _STOPWORDS]
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


def lexical_similarity(a: str, b: str) -> float:
    """Cosine of word + bigram counts (accent-folded, pt-BR stopwords dropped), in [0, 1]."""
    ca, cb = Counter(_tokens(a)), Counter(_tokens(b))
    if not ca or not cb:
        return 0.0
    dot = sum(ca[k] * cb[k] for k in ca.keys() & cb.keys())
    return dot / (math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values())))


def _cosine(u: Sequence[float], v: Sequence[float]) -> float:
    nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(x * x for x in v))
    return sum(x * y for x, y in zip(u, v, strict=False)) / (nu * nv) if nu and nv else 0.0


@scorer("similar", validate=_similar)
def similar(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext, threshold: float | None) -> Check:
    """Semantic similarity to a reference reply (embeddings when EMBEDDING_MODEL is set, else lexical)."""
    reference = value["reference"]
    bar = float(value.get("threshold") or threshold or (0.8 if ctx.embed else 0.5))
    method = "lexical"
    if ctx.embed is not None:
        try:
            u, v = ctx.embed([obs.text, reference])
            sim, method = _cosine(u, v), f"embeddings ({ctx.embedding_model})"
        except Exception as exc:  # noqa: BLE001  (fall back, and say so)
            sim = lexical_similarity(obs.text, reference)
            method = f"lexical — embeddings failed: {exc}"
    else:
        sim = lexical_similarity(obs.text, reference)
    if method == "lexical":
        method = "lexical word/bigram cosine; set EMBEDDING_MODEL for semantic similarity"
    return Check(sim >= bar, f"similarity ≥ {bar:.2f} to {_short(reference, 60)}",
                 f"similarity < {bar:.2f} to {_short(reference, 60)}", f"it was {sim:.2f} ({method})",
                 score=max(0.0, min(1.0, sim)), meta={"similarity_method": method.split(" ")[0]})


# -- judge


def _judge_check(payload: Mapping[str, Any], value: Mapping[str, Any], ctx: ScoreContext,
                 threshold: float | None, subject: str) -> Check:
    rubric_text = value.get("rubric") or ""
    label = _short(rubric_text or f"must {value.get('must')} / must not {value.get('must_not')}", 70)
    if ctx.judge is None:
        return Check(False, f"the judge to accept {subject} for {label}", f"the judge to reject {subject} for {label}",
                     "no judge is configured (set the judge role)", 0.0)
    verdict = ctx.judge({**payload, "rubric": dict(value)})
    given = verdict.get("score")
    score = float(given if given is not None else float(bool(verdict.get("pass"))))
    bar = value.get("threshold") or threshold
    ok = score >= float(bar) if bar is not None else bool(verdict.get("pass"))
    model = verdict.get("model") or "judge"
    cost = float(verdict.get("cost_usd") or 0.0)
    return Check(ok, f"the judge to accept {subject} for {label}", f"the judge to reject {subject} for {label}",
                 f"{model} said: {verdict.get('reason') or ('pass' if ok else 'fail')} (score {score:.2f})",
                 score=max(0.0, min(1.0, score)), meta={"judge_model": model, "judge_cost_usd": cost})


@scorer("judge", validate=_rubric)
def judge(obs: TurnObservation, value: Mapping[str, Any], ctx: ScoreContext, threshold: float | None) -> Check:
    """LLM-as-judge on the judge role: does the reply satisfy the rubric? (cost recorded apart)."""
    return _judge_check({"reply": obs.text, "customer": obs.customer_text, "step": obs.step_after}, value, ctx,
                        threshold, "the reply")


# ---------------------------------------------------------------- conversation scorers


@scorer("journey_completed", level="conversation", validate=_steps)
def journey_completed(conv: ConversationObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The journey reached an outcome step (offer, not_authorized… finalized), or one of the given steps."""
    targets = ctx.completed_steps if value is True else (value if isinstance(value, list) else [value])
    reached = [s for s in conv.steps if s in targets]
    return Check(bool(reached), f"the journey to reach {'an outcome step' if value is True else _q(targets)}",
                 f"the journey not to reach {'an outcome step' if value is True else _q(targets)}",
                 f"steps were {' → '.join(conv.steps)}")


@scorer("turns_to_completion", level="conversation", validate=_number)
def turns_to_completion(conv: ConversationObservation, value: float, ctx: ScoreContext, threshold: float | None) -> Check:
    """The journey reached an outcome step within N turns."""
    first = next((i + 1 for i, s in enumerate(conv.steps) if s in ctx.completed_steps), None)
    return Check(first is not None and first <= value, f"an outcome within {value:g} turns",
                 f"no outcome within {value:g} turns",
                 f"the first outcome came at turn {first}" if first else "no outcome step was reached",
                 score=(min(1.0, value / first) if first else 0.0))


def _money(amount: Decimal | float, currency: str) -> str:
    text = f"{Decimal(str(amount)):.12f}".rstrip("0")
    return f"{'R$' if currency == 'BRL' else 'US$'} {text}{'0' if text.endswith('.') else ''}"


def _same_cost(actual: Decimal, expected: float) -> bool:
    return abs(actual - Decimal(str(expected))) <= COST_TOLERANCE


@scorer("total_cost", level="conversation", validate=_total_cost)
def total_cost(conv: ConversationObservation, value: Any, ctx: ScoreContext, threshold: float | None) -> Check:
    """The conversation's agent cost at most N USD (judge excluded); {equals: N, currency: BRL}: the ledger's, ±1e-9.

    The number form reads the turns' usage; the mapping form the case's ledger rows (USD, or BRL at the case's rate).
    """
    if isinstance(value, Mapping):
        currency, expected = value["currency"], value["equals"]
        actual = conv.ledger_cost(currency)
        return Check(_same_cost(actual, expected), f"the conversation to cost exactly {_money(expected, currency)}",
                     f"the conversation not to cost {_money(expected, currency)}",
                     f"the ledger's {len(conv.ledger)} row(s) add up to {_money(actual, currency)}")
    return Check(conv.cost_usd <= value, f"the conversation to cost at most US$ {value:.6f}",
                 f"the conversation to cost more than US$ {value:.6f}", f"it cost US$ {conv.cost_usd:.6f}")


@scorer("feature_cost", level="conversation", validate=_feature_cost)
def feature_cost(conv: ConversationObservation, value: Mapping[str, Any], ctx: ScoreContext,
                 threshold: float | None) -> Check:
    """Each named feature's ledger cost is exactly N (±1e-9; USD, or currency: BRL as the UI shows it)."""
    currency, features = value["currency"], value["features"]
    actual = {name: conv.ledger_cost(currency, name) for name in features}
    wrong = [name for name, amount in features.items() if not _same_cost(actual[name], amount)]
    shown = ", ".join(f"{_q(n)} {_money(a, currency)}" for n, a in features.items())
    known = sorted({str(r.get("feature_name")) for r in conv.ledger})
    found = "; ".join(f"{_q(n)} cost {_money(actual[n], currency)}" + ("" if n in known else " (no ledger row)")
                      for n in (wrong or list(features)))
    return Check(not wrong, f"these features to cost exactly {shown}", f"these features not to cost {shown}",
                 found + (f"; the ledger's features: {', '.join(known) or 'none'}" if wrong else ""))


def _row_matches(row: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    for key, expected in want.items():
        if key == "count":
            continue
        if key == "error":
            if str(expected).casefold() not in str(row.get("error") or "").casefold():
                return False
        elif key == "cost":
            if not _same_cost(Decimal(str(row.get("price") or 0)), expected):
                return False
        elif str(row.get("feature_name" if key == "feature" else key)) != str(expected):
            return False
    return True


def _describe_row(row: Mapping[str, Any]) -> str:
    error = f", error {_short(str(row['error']), 60)!r}" if row.get("error") else ""
    return (f"{row.get('feature_name')} [{row.get('role')}] {row.get('model')} {row.get('status')} "
            f"{row.get('input_tokens')}+{row.get('output_tokens')} tokens {_money(row.get('price') or 0, 'USD')}{error}")


@scorer("ledger_row", level="conversation", validate=_ledger_row, each=True)
def ledger_row(conv: ConversationObservation, value: Mapping[str, Any], ctx: ScoreContext,
               threshold: float | None) -> Check:
    """A ledger row with these fields (feature, model, role, status, tokens, cost USD, error text); count: exactly N."""
    want = {k: v for k, v in value.items() if k != "count"}
    found = [r for r in conv.ledger if _row_matches(r, value)]
    count = value.get("count")
    matched = len(found) == count if count is not None else bool(found)
    what = ", ".join(f"{k} {_q(v)}" for k, v in want.items()) or "any fields"
    rows = "; ".join(_describe_row(r) for r in conv.ledger[:8]) + (" …" if len(conv.ledger) > 8 else "")
    return Check(matched, f"{'exactly ' + str(count) if count is not None else 'a'} ledger row(s) with {what}",
                 f"no ledger row with {what}" if count is None else f"not exactly {count} ledger row(s) with {what}",
                 f"{len(found)} matched; the ledger: {rows or 'no rows'}")


@scorer("total_tokens", level="conversation", validate=_number)
def total_tokens(conv: ConversationObservation, value: float, ctx: ScoreContext, threshold: float | None) -> Check:
    """The conversation used at most N tokens."""
    return Check(conv.tokens <= value, f"at most {value:g} tokens", f"more than {value:g} tokens",
                 f"it used {conv.tokens}")


@scorer("final_step", level="conversation", validate=_str_or_list, each=True)
def final_step(conv: ConversationObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The step where the conversation ended."""
    return Check(conv.final_step == value, f"the conversation to end in {_q(value)}",
                 f"the conversation not to end in {_q(value)}", f"it ended in {_q(conv.final_step)}")


@scorer("step_visited", level="conversation", validate=_str_or_list, each=True)
def step_visited(conv: ConversationObservation, value: str, ctx: ScoreContext, threshold: float | None) -> Check:
    """The conversation passed through a step at some turn."""
    return Check(value in conv.steps, f"the conversation to pass through {_q(value)}",
                 f"the conversation never to pass through {_q(value)}", f"steps were {' → '.join(conv.steps)}")


@scorer("tool_sequence", level="conversation",
        validate=lambda v: [str(x) for x in v] if isinstance(v, list) else [str(v)])
def tool_sequence(conv: ConversationObservation, value: list[str], ctx: ScoreContext, threshold: float | None) -> Check:
    """Exactly these tool calls, in this order, over the whole conversation."""
    calls = [c.get("name") for t in conv.turns for c in t.tool_calls]
    return Check(calls == value, f"tool calls {_q(value)}", f"tool calls other than {_q(value)}", f"they were {_q(calls)}")


@scorer("conversation_judge", level="conversation", validate=_rubric)
def conversation_judge(conv: ConversationObservation, value: Mapping[str, Any], ctx: ScoreContext,
                       threshold: float | None) -> Check:
    """LLM-as-judge over the whole transcript (judge role; cost recorded apart)."""
    agent_text = "\n\n".join(r for t in conv.turns for r in t.replies)
    return _judge_check({"reply": agent_text, "transcript": conv.transcript(), "step": conv.final_step}, value,
                        ctx, threshold, "the conversation")


def describe() -> list[dict[str, str]]:
    """Every scorer with its level and one-line doc (CLI ``list --scorers``, the page, the README)."""
    return [{"name": s.name, "level": s.level, "doc": s.doc, "list": "each item" if s.each else ""}
            for s in sorted(SCORERS.values(), key=lambda s: (s.level != "turn", s.name))]
