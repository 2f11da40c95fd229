"""Deterministic insights over a conversation's turn traces: objections, satisfaction, summary, the
assertiveness score (its rubric) and the live detractor alert.

Everything domain-specific comes from the pack's ``insights.yaml`` (objection categories and their trigger
phrases, rubric weights, ideal number of turns, what to do with a detractor); a pack without one gets
:data:`DEFAULT_SPEC`. Pure functions of the traces: no model, no database (``agent/insights.py`` adds the
model calls, the cache and the public API).

The rubric (each component 0–1, weights from the pack, combined to 0–100 over the available ones):

- ``progress``: how far the journey went — 1 at a completed step (``completed_steps``), 0.5 when it closed at
  another terminal step (the customer declined), else the furthest step's place on the way to the first
  completed step.
- ``correct_info``: no guard-rail violation or tool injection in the replies (−⅓ each), FAQ answers grounded
  (retrieved passages behind each FAQ reply), no model errors.
- ``tone``: the customer's feeling at the end (polarity of the last two messages: 0.8 when neutral, up to 1
  when positive, down to 0 when very negative), how it moved since the start (±0.2 per unit of polarity), and
  strongly negative messages answered calmly (a fixed reply or a handoff: +0.1; a model's rewrite: −0.2 each).
- ``turns``: customer turns against the pack's ideal (``ideal_turns``): 1 at or under it, then less.
- ``handoff``: 1 without one; asked for by the customer 0.7; after a strongly negative message 0.4; after
  repeated failures 0.3.
- ``judge`` (optional): a judge model's 0–1 verdict on the transcript, only when the judge role is a real
  model; offline it is shown as not available, never faked.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from agent.br.sentiment import analyse, fold
from agent.core.trace import TurnTrace

if TYPE_CHECKING:
    from agent.core.pack import Pack

SPEC_FILE = "insights.yaml"
ACTIONS = ("offer", "handoff", "none")
COMPONENTS = ("progress", "correct_info", "tone", "turns", "handoff", "judge")
SATISFACTION_LABELS = {1: "muito insatisfeito", 2: "insatisfeito", 3: "neutro", 4: "satisfeito",
                       5: "muito satisfeito"}
# Polarity of an emotion label, for readings that carry only a label (a real model's JSON).
LABEL_POLARITY = {"alegria": 0.6, "neutro": 0.0, "duvida": 0.0, "ansiedade": -0.3, "frustracao": -0.6,
                  "raiva": -0.9}


@dataclass(frozen=True)
class ObjectionSpec:
    """One objection category: its label, trigger phrases (folded, pt-BR variants) and suggested action."""

    key: str
    label: str
    phrases: tuple[str, ...]
    action: str = ""

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        alternatives = sorted((re.escape(fold(p)).replace(r"\ ", r"\s+") for p in self.phrases), key=len,
                              reverse=True)
        return re.compile(r"(?<![a-z0-9])(" + "|".join(alternatives) + r")(?![a-z0-9])")


@dataclass(frozen=True)
class DetractorSpec:
    """What to do with a detractor during a live conversation (``offer``: the UI offers a handoff button;
    ``handoff``: the agent hands off; ``none``: only the alert)."""

    on_strong_negative: str = "handoff"
    on_low_score: str = "offer"
    score_threshold: float = 40.0
    min_turns: int = 3


@dataclass(frozen=True)
class InsightsSpec:
    """A pack's insights settings (``insights.yaml``) or the defaults."""

    objections: tuple[ObjectionSpec, ...]
    weights: Mapping[str, float]
    ideal_turns: int
    detractor: DetractorSpec
    source: str = "default"


DEFAULT_WEIGHTS = {"progress": 0.35, "correct_info": 0.25, "tone": 0.2, "turns": 0.1, "handoff": 0.1, "judge": 0.2}
# Objections any customer-service conversation meets; a pack names its own (prompts/<pack>/insights.yaml).
DEFAULT_SPEC = InsightsSpec(
    objections=(
        ObjectionSpec("price", "Preço, taxas e juros", ("taxa", "taxas", "juros", "caro", "muito cara", "tarifa",
                                                        "quanto custa", "cobram")),
        ObjectionSpec("trust", "Confiança e medo de golpe", ("golpe", "e seguro", "confiavel", "fraude",
                                                             "medo", "desconfio", "desconfiado", "desconfiada")),
        ObjectionSpec("not_now", "Agora não", ("agora nao", "vejo depois", "fica pra depois", "mais tarde", "outro dia",
                                                        "vou pensar")),
    ),
    weights=DEFAULT_WEIGHTS, ideal_turns=6, detractor=DetractorSpec())


def load_spec(pack_dir: str | Path) -> InsightsSpec:
    """The insights settings of the pack in ``pack_dir`` (re-read when ``insights.yaml`` changes)."""
    path = Path(pack_dir) / SPEC_FILE
    return _load(str(path), path.stat().st_mtime_ns if path.exists() else 0)


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime: int) -> InsightsSpec:
    if not mtime:
        return DEFAULT_SPEC
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    objections = tuple(
        ObjectionSpec(str(key), str(item.get("label") or key), tuple(str(p) for p in item.get("phrases") or ()),
                      str(item.get("action") or ""))
        for key, item in (raw.get("objections") or {}).items()) or DEFAULT_SPEC.objections
    rubric = raw.get("rubric") or {}
    weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in (rubric.get("weights") or {}).items()}}
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"{path}: unknown rubric component(s) {unknown}; known: {', '.join(COMPONENTS)}")
    det = raw.get("detractor") or {}
    detractor = DetractorSpec(str(det.get("on_strong_negative") or "handoff"), str(det.get("on_low_score") or "offer"),
                              float(det.get("score_threshold", 40.0)), int(det.get("min_turns", 3)))
    for action in (detractor.on_strong_negative, detractor.on_low_score):
        if action not in ACTIONS:
            raise ValueError(f"{path}: detractor action {action!r} is not one of {', '.join(ACTIONS)}")
    return InsightsSpec(objections, weights, int(rubric.get("ideal_turns") or DEFAULT_SPEC.ideal_turns), detractor,
                        source=path)


# ---------------------------------------------------------------------- per message


def customer_turns(traces: Sequence[TurnTrace]) -> list[TurnTrace]:
    """The turns answering a customer's message (not system events such as a re-engagement)."""
    return [t for t in traces if t.system_event is None and t.customer_text]


def emotion_of(trace: TurnTrace) -> dict[str, Any]:
    """The turn's emotion reading (the engine's, else the lexicon's), with a polarity."""
    if trace.emotion:
        reading = dict(trace.emotion)
        reading.setdefault("polarity", LABEL_POLARITY.get(str(reading.get("emotion")), 0.0))
        reading["source"] = "engine"
        return reading
    return {**analyse(trace.customer_text).to_json(), "source": "lexicon"}


def objections(spec: InsightsSpec, traces: Sequence[TurnTrace]) -> list[dict[str, Any]]:
    """Each objection category raised, with the turn and phrase that first raised it."""
    found: dict[str, dict[str, Any]] = {}
    for trace in customer_turns(traces):
        plain = fold(trace.customer_text)
        for objection in spec.objections:
            match = objection.pattern.search(plain)
            if match and objection.key not in found:
                found[objection.key] = {"category": objection.key, "label": objection.label, "turn": trace.turn,
                                        "trigger": match.group(1), "excerpt": trace.customer_text,
                                        "action": objection.action}
    return list(found.values())


# ---------------------------------------------------------------------- the conversation


@dataclass(frozen=True)
class Outcome:
    """Where the conversation got: the furthest step, completed or not, handoff and why."""

    step: str
    completed: bool
    terminal: bool
    handoff: str | None  # asked | strong_negative | failures | operator | None
    progress: float
    steps: tuple[str, ...] = field(default_factory=tuple)


def outcome(pack: Pack, traces: Sequence[TurnTrace]) -> Outcome:
    """The journey's outcome read from the traces (``pack``: :class:`agent.core.pack.Pack`)."""
    order = list(pack.journey.steps)
    seen = [t.step_after for t in traces if t.step_after]
    last = seen[-1] if seen else (order[0] if order else "")
    completed = any(s in pack.completed_steps for s in seen)
    terminal = last in pack.terminal_steps
    handoff = None
    for trace in traces:
        if trace.state_after.get("handoff") and not trace.state_before.get("handoff"):
            event = trace.event.name if trace.event else trace.system_event or ""
            handoff = {"ask_human": "asked", "strong_negative": "strong_negative",
                       "repeated_failure": "failures"}.get(event, "operator" if trace.system_event else event or "other")
    if completed:
        progress = 1.0
    elif terminal:
        progress = 0.5
    else:
        goal = min((order.index(s) for s in pack.completed_steps if s in order), default=len(order)) or 1
        # A handoff step is an exit, not progress (it may sit after the results in journey.yaml).
        reached = max((order.index(s) for s in seen if s in order and s not in pack.terminal_steps
                       and not pack.journey.steps[s].handoff), default=0)
        progress = round(min(1.0, reached / goal), 3)
    return Outcome(last, completed, terminal, handoff, progress, tuple(dict.fromkeys(seen)))


def satisfaction(emotions: Sequence[Mapping[str, Any]], result: Outcome) -> dict[str, Any]:
    """Satisfaction 1–5 from the feeling at the end, its trend, the outcome and the handoff, with evidence."""
    if not emotions:
        return {"score": 3, "label": SATISFACTION_LABELS[3], "evidence": ["sem mensagens do cliente"]}
    polarities = [float(e.get("polarity") or 0.0) for e in emotions]
    end = sum(polarities[-2:]) / len(polarities[-2:])
    value = 3.0 + 1.6 * end
    evidence = [f"sentimento no fim: {end:+.2f} ({emotions[-1].get('emotion')})"]
    if len(polarities) > 1 and polarities[-1] - polarities[0] >= 0.3:
        value += 0.4
        evidence.append("o sentimento melhorou ao longo da conversa")
    elif len(polarities) > 1 and polarities[0] - polarities[-1] >= 0.3:
        value -= 0.4
        evidence.append("o sentimento piorou ao longo da conversa")
    if result.completed:
        value += 0.5
        evidence.append(f"jornada concluída (etapa {result.step})")
    strong = sum(1 for e in emotions if e.get("strong_negative"))
    if strong:
        value -= 1.0
        evidence.append(f"{strong} mensagem(ns) muito negativa(s)")
    if any(e.get("irony") for e in emotions):
        value -= 0.3
        evidence.append("ironia do cliente")
    if result.handoff == "strong_negative":
        evidence.append("transferido a um atendente por irritação")
    score = max(1, min(5, round(value)))
    return {"score": score, "label": SATISFACTION_LABELS[score], "evidence": evidence}


def summary(pack: Pack, traces: Sequence[TurnTrace], emotions: Sequence[Mapping[str, Any]], result: Outcome,
            found: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A deterministic summary (pt-BR) with actionable insights, built from the traces."""
    step_spec = pack.journey.steps.get(result.step)
    where = f"{result.step} ({step_spec.description})" if step_spec and step_spec.description else result.step
    turns = len(customer_turns(traces))
    parts = [f"Conversa com {turns} mensagem(ns) do cliente; chegou à etapa {where}",
             "jornada concluída" if result.completed else
             ("encerrada pelo cliente" if result.terminal else "jornada não concluída")]
    tools = [f"{c.name}: {c.outcome or c.status}" for t in traces for c in t.tool_calls]
    if tools:
        parts.append("consultas: " + ", ".join(dict.fromkeys(tools)))
    if found:
        parts.append("objeções: " + ", ".join(f"{o['label']} (turno {o['turn']})" for o in found))
    trend = _trend(emotions)
    if trend:
        parts.append(trend)
    if result.handoff:
        parts.append({"asked": "o cliente pediu um atendente", "strong_negative": "transferido por irritação",
                      "failures": "transferido após falhas repetidas", "operator": "um atendente assumiu"}
                     .get(result.handoff, "transferido a um atendente"))
    actions = [str(o["action"]) for o in found if o.get("action")]
    if not result.completed and not result.terminal and not result.handoff:
        actions.append(f"Reengajar o cliente: parou na etapa {result.step}.")
    if result.handoff == "strong_negative":
        actions.append("Atendente: retomar com empatia; o cliente estava irritado.")
    if trend.endswith("piorou"):
        actions.append("Rever as respostas dos turnos em que a emoção piorou.")
    blocked = sum(len(t.guard_violations) for t in traces)
    if blocked:
        actions.append(f"Revisar o prompt de conversa: {blocked} resposta(s) barrada(s) pela guarda.")
    return {"text": "; ".join(parts) + ".", "actions": list(dict.fromkeys(actions)), "step_reached": result.step,
            "completed": result.completed, "handoff": result.handoff}


def _trend(emotions: Sequence[Mapping[str, Any]]) -> str:
    if not emotions:
        return ""
    first, last = emotions[0], emotions[-1]
    start, end = float(first.get("polarity") or 0.0), float(last.get("polarity") or 0.0)
    move = "melhorou" if end - start >= 0.3 else "piorou" if start - end >= 0.3 else "estável"
    return f"emoção: começou {first.get('emotion')}, terminou {last.get('emotion')} ({move})"


# ---------------------------------------------------------------------- the score


def components(pack: Pack, spec: InsightsSpec, traces: Sequence[TurnTrace], emotions: Sequence[Mapping[str, Any]],
               result: Outcome, *, live: bool = False) -> list[dict[str, Any]]:
    """The rubric's deterministic components ({name, value, weight, why}); ``live``: only those that mean
    something mid-conversation (correct information, tone, handoff)."""
    out = [_correct_info(pack, traces), _tone(traces, emotions), _handoff(result)]
    if not live:
        turns = len(customer_turns(traces))
        ideal = spec.ideal_turns
        value = 1.0 if turns <= ideal else max(0.0, round(1 - (turns - ideal) / ideal, 3))
        out.insert(0, {"name": "progress", "value": result.progress,
                       "why": f"etapa mais avançada: {result.step}" + (" (concluída)" if result.completed else "")})
        out.insert(3, {"name": "turns", "value": value, "why": f"{turns} turno(s) do cliente; ideal {ideal}"})
    return [{**c, "weight": spec.weights.get(c["name"], 0.0)} for c in out]


def _correct_info(pack: Pack, traces: Sequence[TurnTrace]) -> dict[str, Any]:
    violations = sum(len(t.guard_violations) + len(t.guard.output) for t in traces)
    injected = sum(1 for t in traces for g in t.guard.input if g.startswith(("tool_injection", "doc_injection")))
    faq = [t for t in traces if pack.codes.faq is not None and pack.codes.faq in t.message_codes]
    grounded = sum(1 for t in faq if t.retrieved)
    errors = sum(len(t.errors) for t in traces)
    value = max(0.0, 1 - (violations + injected) / 3) * (grounded / len(faq) if faq else 1.0)
    value = max(0.0, value - 0.1 * min(errors, 3))
    why = [f"{violations} violação(ões) da guarda", f"{grounded}/{len(faq)} resposta(s) de FAQ com fonte"]
    if injected:
        why.append(f"{injected} instrução(ões) em dados externos removida(s)")
    if errors:
        why.append(f"{errors} erro(s) de modelo")
    return {"name": "correct_info", "value": round(value, 3), "why": "; ".join(why)}


def _tone(traces: Sequence[TurnTrace], emotions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if not emotions:
        return {"name": "tone", "value": 1.0, "why": "sem mensagens do cliente"}
    polarities = [float(e.get("polarity") or 0.0) for e in emotions]
    end = sum(polarities[-2:]) / len(polarities[-2:])
    # A calm, neutral conversation is a good one (0.8); a bad feeling at the end weighs more than a good one.
    value = 0.8 + (0.2 if end >= 0 else 0.8) * end + 0.2 * (polarities[-1] - polarities[0])
    why = [f"sentimento no fim {end:+.2f}", f"variação {polarities[-1] - polarities[0]:+.2f}"]
    turns = customer_turns(traces)
    calm = rough = 0
    for trace, emotion in zip(turns, emotions, strict=False):
        if emotion.get("strong_negative"):
            if trace.state_after.get("handoff") or not any(c.role == "conversation" and c.output for c in trace.calls):
                calm += 1
            else:
                rough += 1
    if calm:
        value += 0.1
        why.append(f"{calm} mensagem(ns) agressiva(s) respondida(s) com calma (mensagem fixa ou atendente)")
    if rough:
        value -= 0.2 * rough
        why.append(f"{rough} mensagem(ns) agressiva(s) respondida(s) por reescrita do modelo")
    return {"name": "tone", "value": round(max(0.0, min(1.0, value)), 3), "why": "; ".join(why)}


def _handoff(result: Outcome) -> dict[str, Any]:
    values = {None: (1.0, "sem transferência"), "asked": (0.7, "o cliente pediu um atendente"),
              "operator": (0.7, "um atendente assumiu"),
              "strong_negative": (0.4, "transferido após mensagem muito negativa"),
              "failures": (0.3, "transferido após falhas repetidas")}
    value, why = values.get(result.handoff, (0.5, f"transferido ({result.handoff})"))
    return {"name": "handoff", "value": value, "why": why}


def combine(parts: Sequence[Mapping[str, Any]]) -> float | None:
    """0–100 from the components that have a value (weights renormalised); None when none has."""
    weighed = [(float(c["value"]), float(c["weight"])) for c in parts if c.get("value") is not None and c["weight"] > 0]
    total = sum(w for _, w in weighed)
    return round(100 * sum(v * w for v, w in weighed) / total, 1) if total else None


# ---------------------------------------------------------------------- live


def alert(pack: Pack, spec: InsightsSpec, traces: Sequence[TurnTrace]) -> dict[str, Any] | None:
    """The detractor alert of the last turn (``kind``, ``reason``, ``action``, ``score``), or None."""
    if not traces:
        return None
    last = traces[-1]
    det = spec.detractor
    if last.emotion and last.emotion.get("strong_negative") and last.system_event is None:
        handed = bool(last.state_after.get("handoff"))
        action = "handoff" if handed else ("offer" if det.on_strong_negative != "none" else "none")
        return {"kind": "strong_negative", "action": action, "score": None,
                "reason": f"mensagem muito negativa ({last.emotion.get('emotion')})"
                          + ("; transferido a um atendente" if handed else "")}
    turns = customer_turns(traces)
    if det.on_low_score == "none" or len(turns) < det.min_turns or last.state_after.get("handoff"):
        return None
    emotions = [emotion_of(t) for t in turns]
    parts = components(pack, spec, traces, emotions, outcome(pack, traces), live=True)
    score = combine(parts)
    if score is None or score >= det.score_threshold:
        return None
    low = min(parts, key=lambda c: float(c["value"]))
    return {"kind": "low_score", "action": det.on_low_score, "score": score,
            "reason": f"score em andamento {score:.0f} < {det.score_threshold:.0f} (pior: {low['name']}: {low['why']})"}
