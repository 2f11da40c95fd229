"""The deterministic brain behind ``local/rules``.

It answers the same tasks the engine asks any model, from the structured context the engine passes
(never by pretending to read the prompt): intent by nearest labelled examples, attributes by
validators, emotion by a pt-BR sentiment lexicon (agent/br/sentiment.py), the tool call from the
captured CPF, and the reply as the journey's own message template (the "suggested reply") — so it is honest, repeatable and free.
"""

from __future__ import annotations

from typing import Any

from agent.br import sentiment
from agent.brain import nlu


def emotion(text: str) -> dict[str, Any]:
    """Emotion of one customer message (the deck's "Analise de Emoção"): the pt-BR sentiment lexicon of
    :mod:`agent.br.sentiment` (negation, intensifiers, emojis, irony, WhatsApp spelling, typos)."""
    reading = sentiment.analyse(text).to_json()
    reading.pop("cues")  # what the lexicon read stays out of the answer: a model answers the prompt's keys
    return reading


def answer(task: str, context: dict[str, Any], messages: list[dict[str, Any]]) -> str | dict[str, Any]:
    """What ``local/rules`` replies for one task."""
    text = str(context.get("customer_message") or _last_user(messages))
    if task == "journey_classification":
        result = nlu.classify(text, context.get("pack_dir") or None)
        return {"intent": result.intent, "confidence": round(result.confidence, 3)}
    if task == "get_attribute":
        extraction = nlu.extract(text, context.get("expecting"))
        attributes = extraction.attributes()
        if "cpf" not in attributes and extraction.invalid_cpfs:
            # Reported as heard, like a model would; the engine rejects the bad check digits.
            attributes["cpf"] = extraction.invalid_cpfs[0].digits
        return {"attributes": attributes}
    if task == "emotion":
        return emotion(text)
    if task == "tool_call":
        allowed = context.get("allowed_tools") or []
        arguments = context.get("arguments") or {}
        if not allowed or not arguments or not all(arguments.values()):
            return {"tool": None}
        return {"tool": allowed[0], "arguments": dict(arguments)}
    if task == "conversation":
        return str(context.get("suggested_reply") or "")
    if task in {"judge", "insights", "simulate_customer"}:
        from agent.brain import extra as brain_extra

        return brain_extra.answer(task, context, messages)
    if task == "vision":
        return "sem texto legível"
    # A free-form prompt (e.g. a playground test): the best FAQ answer, or a plain greeting.
    return _free_text(text, context)


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def _free_text(text: str, context: dict[str, Any]) -> str:
    from agent.adapters.knowledge import search

    hits = search(text, k=1, pack_dir=context.get("pack_dir") or None) if text.strip() else []
    if hits and hits[0].score > 0:
        return hits[0].answer
    return "Olá! Sou o assistente virtual (local/rules, offline). Como posso ajudar?"
