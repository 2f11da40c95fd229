"""local/rules answers for the evaluation roles (judge, insights, simulated customer).

Deterministic and honest: the judge checks a rubric's required/forbidden phrases, since a rules
engine cannot read free text like a model; results say so.
"""

from __future__ import annotations

import re
from typing import Any

from agent.guardrails import fold


def answer(task: str, context: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    if task == "judge":
        return judge(str(context.get("reply") or ""), context.get("rubric") or {})
    if task == "insights":
        return {"summary": "", "objections": [], "satisfaction": None}
    if task == "simulate_customer":
        script = context.get("script") or []
        turn = int(context.get("turn") or 0)
        return {"message": script[turn] if turn < len(script) else "", "stop": turn >= len(script)}
    return {}


def judge(reply: str, rubric: dict[str, Any] | str) -> dict[str, Any]:
    """Pass when every ``must`` phrase is in the reply and no ``must_not`` phrase is (accent-insensitive)."""
    if isinstance(rubric, str):
        rubric = {"must": re.findall(r'"([^"]+)"', rubric)}
    text = fold(reply)
    must = [m for m in rubric.get("must", []) if fold(m) not in text]
    forbidden = [m for m in rubric.get("must_not", []) if fold(m) in text]
    total = len(rubric.get("must", [])) + len(rubric.get("must_not", [])) or 1
    score = 1 - (len(must) + len(forbidden)) / total
    reasons = []
    if must:
        reasons.append("missing: " + ", ".join(must))
    if forbidden:
        reasons.append("should not say: " + ", ".join(forbidden))
    return {"pass": not reasons, "score": round(score, 3),
            "reason": ("; ".join(reasons) or "all rubric phrases satisfied") + " (local/rules phrase check)"}
