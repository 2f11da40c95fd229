"""Placeholder: the deterministic brain behind local/rules (replaced by the agent issue)."""

from __future__ import annotations

from typing import Any


def answer(task: str, context: dict[str, Any], messages: list[dict[str, Any]]) -> str | dict[str, Any]:
    if task == "journey_classification":
        return {"intent": "unknown", "confidence": 0.0}
    if task == "get_attribute":
        return {"attributes": {}}
    return context.get("reply") or "Olá! Sou o assistente virtual do FGTS. Como posso ajudar?"
