"""The held-out message set (``evals/heldout/*.yaml``): loading, checking and scoring.

Each item is one customer message at one journey step, labelled with the event the engine should
decide and the attributes it should read. Scoring reads the message exactly as a turn does on the
offline model ``local/rules``: ``agent.core.steps.classify_and_extract`` on a fresh ``TurnState``
(classification + extraction on the decision role → ``turn.reading_of`` → ``pack.to_event``), with
the state's captured attributes deciding what the agent is expecting. The input guard, the emotion
override and the transition are not part of the figure: this measures reading, not the journey.

``bench/bench_heldout.py`` prints the figures; ``tests/test_heldout.py`` checks the file.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

import agent.adapters.offline  # noqa: F401  (before litellm anywhere)
from agent.br import cpf as cpf_rules
from agent.config import DEFAULT_PACK_DIR, LOCAL_CHAT_MODEL, Settings, load_settings
from agent.core.journey import Event, JourneyState

HELDOUT_DIR = Path(__file__).resolve().parent / "heldout"
DEFAULT_SET = HELDOUT_DIR / "fgts.yaml"

# Intents the lead is adding to the FGTS pack (issue 10); known here so the set can be labelled with them
# before (and after) they reach journey.yaml.
NEW_INTENTS = ("thanks", "quit", "ask_reason", "done_in_app", "ask_amount", "security_question", "forgot_cpf",
               "out_of_scope")
# Events a customer message may lead to besides the journey's intents.
MESSAGE_EVENTS = ("cpf_invalid",)
ATTRIBUTES = ("name", "cpf", "birth_month", "birth_date")
# Attributes that must not appear when not expected (a stray birth_date next to the month is tolerated).
STRICT_EXTRA = ("name", "cpf", "birth_month")
CONSENT_STEPS = ("greeting", "optin", "optout")
ITEM_KEYS = frozenset({"text", "step", "event", "attributes", "captured"})


@dataclass(frozen=True)
class Item:
    """One labelled customer message."""

    text: str
    step: str
    event: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    captured: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemResult:
    """What the engine read for one item."""

    item: Item
    event: str
    attributes: Mapping[str, Any]
    intent: str  # the classifier's intent, before the step and the data were taken into account
    confidence: float

    @property
    def event_ok(self) -> bool:
        return self.event == self.item.event

    @property
    def attributes_ok(self) -> bool | None:
        """Exact match of the expected attributes (None when the item expects none)."""
        if not self.item.attributes:
            return None
        got = {k: v for k, v in self.attributes.items() if k in ATTRIBUTES}
        if any(not same_value(k, v, got.get(k)) for k, v in self.item.attributes.items()):
            return False
        return not any(k in got for k in STRICT_EXTRA if k not in self.item.attributes)

    @property
    def spurious(self) -> tuple[str, ...]:
        """name / cpf / birth_month read from a message that gives none of them."""
        if self.item.attributes:
            return ()
        return tuple(k for k in STRICT_EXTRA if k in self.attributes)


@dataclass(frozen=True)
class HeldoutScore:
    """Per-item results and the figures."""

    results: tuple[ItemResult, ...]

    @property
    def intent_accuracy(self) -> float:
        return _ratio(sum(r.event_ok for r in self.results), len(self.results))

    @property
    def with_attributes(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.attributes_ok is not None)

    @property
    def attribute_exact_match(self) -> float:
        return _ratio(sum(bool(r.attributes_ok) for r in self.with_attributes), len(self.with_attributes))

    @property
    def per_event(self) -> dict[str, tuple[int, int]]:
        """Expected event → (correct, total)."""
        totals = Counter(r.item.event for r in self.results)
        correct = Counter(r.item.event for r in self.results if r.event_ok)
        return {event: (correct[event], totals[event]) for event in sorted(totals)}

    @property
    def misses(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if not r.event_ok or r.attributes_ok is False)

    @property
    def spurious(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.spurious)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


_DIGIT_WORDS = {"zero": "0", "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4",
                "cinco": "5", "seis": "6", "sete": "7", "oito": "8", "nove": "9"}


def _spoken_digits(text: str) -> str:
    """The digits of ``text``, dictated ones included (independent of the NLU's own converter)."""
    words = re.findall(r"[a-z]+|\d", _fold(text))
    return "".join(_DIGIT_WORDS.get(w, w) for w in words if w.isdigit() or w in _DIGIT_WORDS)


def same_value(key: str, expected: Any, got: Any) -> bool:
    """CPFs by digits, months as numbers, names ignoring case, accents and spacing."""
    if got is None:
        return False
    if key == "cpf":
        return cpf_rules.digits(str(expected)) == cpf_rules.digits(str(got))
    if key == "birth_month":
        try:
            return int(expected) == int(got)
        except (TypeError, ValueError):
            return False
    if key == "name":
        return _fold(str(expected)) == _fold(str(got))
    return str(expected) == str(got)


# ---------------------------------------------------------------------- the file


def load_items(path: str | Path = DEFAULT_SET) -> list[Item]:
    """The items of one held-out file (``items:`` list)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [Item(str(raw["text"]), str(raw["step"]), str(raw["event"]),
                 MappingProxyType(dict(raw.get("attributes") or {})),
                 MappingProxyType(dict(raw.get("captured") or {})))
            for raw in data.get("items") or ()]


def known_events(intents: Sequence[str]) -> frozenset[str]:
    """The events an item may expect: the journey's intents, the new ones and ``cpf_invalid``."""
    return frozenset(intents) | frozenset(NEW_INTENTS) | frozenset(MESSAGE_EVENTS)


def problems(path: str | Path = DEFAULT_SET, pack_dir: str | Path = DEFAULT_PACK_DIR) -> list[str]:
    """What is wrong with a held-out file (empty: valid)."""
    from agent.core.pack import get_pack

    journey = get_pack(pack_dir).journey
    events = known_events(journey.intents)
    raw_items = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("items") or []
    found = []
    for n, raw in enumerate(raw_items, 1):
        where = f"item {n} ({str(raw.get('text'))[:40]!r})"
        unknown = set(raw) - ITEM_KEYS
        if unknown:
            found.append(f"{where}: unknown keys {sorted(unknown)}")
        if not str(raw.get("text") or "").strip():
            found.append(f"{where}: empty text")
        if raw.get("step") not in journey.steps:
            found.append(f"{where}: unknown step {raw.get('step')!r}")
        if raw.get("event") not in events:
            found.append(f"{where}: unknown event {raw.get('event')!r}")
        for label in ("attributes", "captured"):
            values = raw.get(label) or {}
            bad = set(values) - set(ATTRIBUTES)
            if bad:
                found.append(f"{where}: {label} has keys {sorted(bad)} (allowed: {', '.join(ATTRIBUTES)})")
            if "cpf" in values and not cpf_rules.is_valid(str(values["cpf"])):
                found.append(f"{where}: {label}.cpf {values['cpf']!r} is not a valid CPF")
            month = values.get("birth_month")
            if month is not None and not (isinstance(month, int) and 1 <= month <= 12):
                found.append(f"{where}: {label}.birth_month {month!r} is not 1–12")
        # A typo in the label would score the reader against a CPF the customer never sent.
        expected_cpf = cpf_rules.digits(str((raw.get("attributes") or {}).get("cpf") or ""))
        if expected_cpf and expected_cpf not in _spoken_digits(str(raw.get("text") or "")):
            found.append(f"{where}: the expected cpf {expected_cpf} is not the one in the text")
        if raw.get("event") == "provide_data" and not raw.get("attributes"):
            found.append(f"{where}: provide_data without attributes")
    return found


# ---------------------------------------------------------------------- reading


def offline_settings(data_dir: str | Path, pack_dir: str | Path = DEFAULT_PACK_DIR) -> Settings:
    """Settings with every role on ``local/rules`` and the ledger in ``data_dir`` (never ./data)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    return load_settings(env={**keep, "CONVERSA_DATA_DIR": str(data_dir), "PACK_DIR": str(pack_dir),
                              "DECISION_MODEL": LOCAL_CHAT_MODEL, "INSIGHTS_MODEL": LOCAL_CHAT_MODEL,
                              "CONVERSATION_MODEL": LOCAL_CHAT_MODEL}, dotenv_path=None)


@contextmanager
def reader(settings: Settings | None = None) -> Iterator[Any]:
    """``read(item) -> ItemResult``: the engine's own classification + extraction of one message."""
    from agent.adapters.gateway import Gateway
    from agent.core import steps
    from agent.core.engine import Engine

    with tempfile.TemporaryDirectory(prefix="heldout-") as tmp:
        settings = settings or offline_settings(tmp)
        engine = Engine(settings, Gateway(settings))

        def read(item: Item) -> ItemResult:
            state = JourneyState(item.step, attributes=MappingProxyType(dict(item.captured)),
                                 consent=item.step not in CONSENT_STEPS)
            ts = engine.new_turn(None, state, [])
            ts.customer_text = item.text
            with engine.gateway.batch(), engine.gateway.using_roles(ts.settings.roles):
                # The engine's own path: the input guard (injection, secrets), then emotion + classification.
                steps.guard(ts)
                steps.decide(ts)
            event = ts.event or Event("unknown")
            if event.name == "strong_negative":
                # Understood as a complaint; the pack's rule then hands an angry customer to a human.
                event = Event("complaint", event.attributes)
            reading = ts.reading
            return ItemResult(item, event.name, dict(event.attributes), reading.intent if reading else "",
                              reading.confidence if reading else 0.0)

        try:
            yield read
        finally:
            engine.close()


def score(items: Sequence[Item] | None = None, settings: Settings | None = None) -> HeldoutScore:
    """Read every item (default: ``evals/heldout/fgts.yaml``) and score it."""
    items = load_items() if items is None else items
    with reader(settings) as read:
        return HeldoutScore(tuple(read(item) for item in items))
