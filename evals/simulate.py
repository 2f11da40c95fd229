"""Simulated customers: a persona played by the judge role talks to the agent until a stop condition.

The persona (goal, writing style, patience, facts such as name and CPF) goes to the judge role as a
prompt (for real models) and as structured context (for ``local/rules``, which plays it
deterministically). Each customer message is a ledger row under ``SIMULATOR_FEATURE``, apart from
the agent's cost. A simulated conversation can be saved as a golden (``golden_from_session``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.config import Settings
from evals.runner import SIMULATOR_FEATURE



def stop_steps(pack_dir: Any = None) -> frozenset[str]:
    """Where a simulated conversation ends: the pack's outcomes and terminal steps, handoff (not the offer)."""
    from agent.core.pack import get_pack

    pack = get_pack(pack_dir)
    return frozenset({*pack.completed_steps, *pack.terminal_steps, "handoff"}) - {"offer"}

_PROMPT = """You play a Brazilian customer chatting on WhatsApp with a bank's virtual assistant about the
FGTS saque-aniversário advance. Stay in character and write in Brazilian Portuguese.

Persona: {name}
Goal: {goal}
Writing style: {style}
Patience: you give up (ask for a human) after about {patience} messages without progress.
Facts you know (give them only when asked): {facts}
Other traits: {traits}

Conversation so far:
{transcript}

Write the customer's next message. Answer with JSON only:
{{"message": "the next message", "stop": true|false}}  (stop = your goal is reached or you gave up)"""


@dataclass(frozen=True)
class Persona:
    """Who the simulated customer is and what they want."""

    name: str
    goal: str
    style: str = "whatsapp"
    patience: int = 10
    facts: Mapping[str, Any] = field(default_factory=dict)
    consents: bool = True
    accepts_offer: bool = True
    questions: tuple[str, ...] = ()
    all_at_once: bool = False
    typo_first: bool = False
    spelled_cpf: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["facts"] = dict(self.facts)
        data["questions"] = list(self.questions)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Persona:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["questions"] = tuple(known.get("questions") or ())
        known["facts"] = dict(known.get("facts") or {})
        return cls(**known)


PERSONAS: dict[str, Persona] = {
    "eligible_whatsapp": Persona("Maria, WhatsApp style", "Find out how much she can advance and accept",
                                 facts={"name": "Maria Souza", "cpf": "200.000.002-99", "birth_month": 7}),
    "formal_not_authorized": Persona("Sr. João, formal", "Advance his FGTS; has not authorised the bank yet",
                                     style="formal", facts={"name": "João Pereira", "cpf": "073.602.846-35",
                                                             "birth_month": 3}),
    "curious_all_at_once": Persona("Ana, curious", "Understand the costs first, then simulate",
                                   questions=("quanto custa?",), all_at_once=True,
                                   facts={"name": "Ana Lima", "cpf": "111.444.777-35", "birth_month": 9}),
    "typo_terse": Persona("Carlos, terse", "Simulate quickly; mistypes the CPF once", style="terse",
                          typo_first=True, facts={"name": "Carlos Alberto", "cpf": "200.000.001-08",
                                                  "birth_month": 3}),
    "privacy_refuser": Persona("Bia, privacy-minded", "Asks about the service but will not share data",
                               consents=False),
    "impatient_no_data": Persona("Pedro, impatient", "Wants a person; has no CPF at hand", patience=3,
                                 facts={"name": "Pedro Alves"}),
}


@dataclass
class Simulation:
    """A simulated conversation: the session (to save as a golden), the transcript and why it stopped."""

    persona: Persona
    session: Any
    transcript: list[dict[str, str]]
    stop_reason: str
    customer_cost_usd: float = 0.0

    @property
    def final_step(self) -> str:
        return str(self.session.state.step)

    def as_golden(self, case_id: str = "", tags: tuple[str, ...] = ("simulated",)) -> dict[str, Any]:
        from evals.record import golden_from_session

        return golden_from_session(self.session, case_id=case_id or f"simulated_{_slug(self.persona.name)}",
                                   description=f"Simulated customer — {self.persona.name}: {self.persona.goal}. "
                                               f"Stopped: {self.stop_reason}.",
                                   tags=tags, persona=self.persona.to_dict())


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


def simulate(settings: Settings, persona: Persona | Mapping[str, Any] | str, *, max_turns: int = 14,
             store: Any = None, stop_at: frozenset[str] | None = None, today: str | None = None) -> Simulation:
    """Let the persona (judge role) talk to the agent until a stop step, the persona stops, or ``max_turns``.

    ``today`` (AAAA-MM-DD) pins the conversation's date for a pack with a ``today`` setting (the fgts
    pack's rules in force depend on it); a saved golden keeps it in ``settings:``.
    """
    stop_at = stop_steps(settings.pack_dir) if stop_at is None else stop_at
    from agent.errors import GatewayError
    from agent.adapters.gateway import Gateway
    from agent.core.session import AgentSession
    from agent.adapters.store import Store

    if isinstance(persona, str):
        if persona not in PERSONAS:
            raise KeyError(f"unknown persona {persona!r}; personas: {', '.join(PERSONAS)}")
        persona = PERSONAS[persona]
    elif not isinstance(persona, Persona):
        persona = Persona.from_dict(persona)
    store = store or Store.open(settings.database_url)
    settings = settings.with_changes(burst_mode=False)
    if today:
        settings = settings.with_pack_settings(today=str(today))
    session = AgentSession.new(settings, store=store, title=f"simulated: {persona.name}",
                              source="simulation")
    gateway = Gateway(settings, store)
    transcript: list[dict[str, str]] = []
    sent: list[str] = []
    clock = time.time()
    reason = f"turn cap ({max_turns})"
    cost = 0.0
    for turn in range(max_turns):
        if session.state.step in stop_at and turn:
            reason = f"the journey reached {session.state.step}"
            break
        lines = "\n".join(f"{m['role']}: {m['text']}" for m in transcript[-12:]) or "(no messages yet)"
        prompt = _PROMPT.format(name=persona.name, goal=persona.goal, style=persona.style, patience=persona.patience,
                                facts=json.dumps(dict(persona.facts), ensure_ascii=False),
                                traits=json.dumps({k: v for k, v in persona.to_dict().items()
                                                   if k not in {"name", "goal", "style", "patience", "facts"}},
                                                  ensure_ascii=False), transcript=lines)
        context = {"task": "simulate_customer", "persona": persona.to_dict(), "step": session.state.step,
                   "turn": turn, "sent": sent, "missing": session.engine.journey.missing_attributes(session.state),
                   "last_agent": transcript[-1]["text"] if transcript and transcript[-1]["role"] == "agent" else ""}
        try:
            completion = gateway.complete("judge", SIMULATOR_FEATURE, [{"role": "user", "content": prompt}],
                                          session.chat_id, context=context, expect_json=True)
        except GatewayError as exc:
            reason = f"the simulator's model failed: {exc.user_message}"
            break
        cost += completion.usage.cost_usd
        move = completion.json or {}
        message = str(move.get("message") or "").strip()
        if not message:
            reason = str(move.get("reason") or "the persona stopped")
            break
        sent.append(message)
        transcript.append({"role": "customer", "text": message})
        clock += 30
        result = session.send(message, now=clock)
        for reply in (result.replies if result else []):
            transcript.append({"role": "agent", "text": reply.text})
        if move.get("stop"):
            reason = "the persona said its goal was reached or it gave up"
            break
    else:
        if session.state.step in stop_at:
            reason = f"the journey reached {session.state.step}"
    return Simulation(persona, session, transcript, reason, cost)
