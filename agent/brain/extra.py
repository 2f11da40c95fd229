"""local/rules answers for the evaluation roles (judge, insights, simulated customer).

Deterministic and honest: the judge checks a rubric's required/forbidden phrases, since a rules
engine cannot read free text like a model; results say so. The simulated customer plays a persona
(goal, style, patience, facts such as name and CPF) by reading the journey step the agent is in —
a scripted but persona-driven customer, so simulated conversations are repeatable offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.br.calendar import MONTH_NAMES as MONTHS
from agent.core.guardrails import fold

_DIGIT_WORDS = ("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove")
# Phrases per writing style: (opener, consent, refuse consent, yes, no, ask for a person).
_STYLES: dict[str, dict[str, str]] = {
    "whatsapp": {"open": "oi, quero antecipar meu fgts", "consent": "sim", "refuse": "não quero passar meus dados",
                 "yes": "sim", "no": "não, obrigado", "human": "quero falar com um atendente", "name": "{name}",
                 "cpf": "{cpf}", "month": "{month}", "accept": "quero sim"},
    "formal": {"open": "Bom dia. Gostaria de saber se posso antecipar o meu saque-aniversário do FGTS.",
               "consent": "Sim, autorizo.", "refuse": "Prefiro não informar meus dados.", "yes": "Sim, está correto.",
               "no": "Não, obrigado.", "human": "Gostaria de falar com um atendente, por favor.",
               "name": "Meu nome é {name}.", "cpf": "Meu CPF é {cpf}.", "month": "Nasci em {month}.",
               "accept": "Sim, quero seguir com a antecipação."},
    "terse": {"open": "fgts", "consent": "ok", "refuse": "não", "yes": "s", "no": "n", "human": "atendente",
              "name": "{name}", "cpf": "{cpf}", "month": "{month}", "accept": "ok"},
}
_DONE_STEPS = {"finalized", "optout", "handoff"}


def answer(task: str, context: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``local/rules`` answers for the evaluation tasks."""
    if task == "judge":
        return judge(str(context.get("reply") or ""), context.get("rubric") or {})
    if task == "insights":
        # The engine's deterministic reading (agent/core/assess.py), passed as a model's "suggested" answer:
        # offline, the insights are what the rules found — recorded in the ledger like any call.
        return dict(context.get("suggested") or {})
    if task == "simulate_customer":
        if context.get("persona"):
            return simulate_customer(context)
        script = context.get("script") or []
        turn = int(context.get("turn") or 0)
        return {"message": script[turn] if turn < len(script) else "", "stop": turn >= len(script)}
    return {}


def judge(reply: str, rubric: Mapping[str, Any] | str) -> dict[str, Any]:
    """Pass when every ``must`` phrase is in the reply and no ``must_not`` phrase is (accent-insensitive)."""
    if isinstance(rubric, str):
        rubric = {"must": re.findall(r'"([^"]+)"', rubric)}
    text = fold(reply)
    must = [m for m in rubric.get("must") or [] if fold(str(m)) not in text]
    forbidden = [m for m in rubric.get("must_not") or [] if fold(str(m)) in text]
    total = len(rubric.get("must") or []) + len(rubric.get("must_not") or []) or 1
    score = 1 - (len(must) + len(forbidden)) / total
    reasons = []
    if must:
        reasons.append("missing: " + ", ".join(map(str, must)))
    if forbidden:
        reasons.append("should not say: " + ", ".join(map(str, forbidden)))
    return {"pass": not reasons, "score": round(score, 3),
            "reason": ("; ".join(reasons) or "all rubric phrases satisfied") + " (local/rules phrase check)"}


def _cpf_text(cpf: str, style: str, spelled: bool) -> str:
    digits = "".join(ch for ch in cpf if ch.isdigit())
    if spelled:
        return " ".join(_DIGIT_WORDS[int(d)] for d in digits)
    if style == "terse":
        return digits
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}" if len(digits) == 11 else cpf


def _typo(cpf: str) -> str:
    """The CPF with its last check digit changed (an invalid CPF a person might type)."""
    digits = "".join(ch for ch in cpf if ch.isdigit())
    if len(digits) != 11:
        return digits[:-1]
    wrong = str((int(digits[-1]) + 1) % 10)
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9]}{wrong}"


def simulate_customer(context: Mapping[str, Any]) -> dict[str, Any]:
    """The next message of a persona, from the step the agent is in and what it still misses.

    Persona fields (all optional): ``style`` (whatsapp | formal | terse), ``facts`` {name, cpf,
    birth_month}, ``consents`` (default true), ``accepts_offer`` (default true), ``questions`` (asked
    once each, before the data), ``all_at_once`` (name, CPF and month in one message), ``typo_first``
    (first CPF with a wrong check digit), ``spelled_cpf``, ``patience`` (turns before asking for a person).
    """
    persona = dict(context.get("persona") or {})
    facts = dict(persona.get("facts") or {})
    style = str(persona["style"]) if persona.get("style") in _STYLES else "whatsapp"
    say = _STYLES[style]
    step = str(context.get("step") or "greeting")
    turn = int(context.get("turn") or 0)
    sent = [fold(str(m)) for m in context.get("sent") or []]
    missing = list(context.get("missing") or [])
    patience = int(persona.get("patience") or 12)

    def reply(message: str, stop: bool = False, why: str = "") -> dict[str, Any]:
        return {"message": message, "stop": stop, "reason": why or f"persona at step {step}"}

    if step in _DONE_STEPS:
        return reply("", True, f"the conversation reached {step}")
    if turn >= patience:
        if fold(say["human"]) in sent:
            return reply("", True, "out of patience and already asked for a person")
        return reply(say["human"], why="out of patience")
    if turn == 0 or step == "greeting":
        return reply(say["open"])
    if step == "optin":
        return reply(say["consent"] if persona.get("consents", True) else say["refuse"])
    for question in persona.get("questions") or []:
        if fold(str(question)) not in sent and step in {"collect_data", "optin"}:
            return reply(str(question), why="a question the persona wants answered")
    if step == "collect_data":
        month = facts.get("birth_month")
        if isinstance(month, int) and 1 <= month <= 12:
            month = MONTHS[month - 1]
        cpf = str(facts.get("cpf") or "")
        if cpf and persona.get("typo_first") and not any(_typo(cpf).split("-")[0] in m for m in sent):
            cpf_said = _typo(cpf)
        else:
            cpf_said = _cpf_text(cpf, style, bool(persona.get("spelled_cpf")))
        values = {"name": facts.get("name") or "", "cpf": cpf_said, "month": month or ""}
        if persona.get("all_at_once") and len(missing) > 1:
            return reply(", ".join(v for k, v in values.items() if v), why="gives all the data at once")
        target = missing[0] if missing else "name"
        key = {"name": "name", "cpf": "cpf", "birth_month": "month"}.get(target, "name")
        if not values[key]:
            return reply(say["human"], why=f"the persona has no {target} to give")
        return reply(say[key].format(**values), why=f"answers the {target} question")
    if step == "confirm_data":
        return reply(say["yes"])
    if step == "offer":
        return reply(say["accept"] if persona.get("accepts_offer", True) else say["no"])
    if step in {"not_authorized", "not_opted_in", "no_balance", "active_operation", "api_unavailable"}:
        return reply(say["no"], why="nothing more to do today")
    return reply(say["yes"])
