"""The deterministic brain behind ``local/rules``.

It answers the same tasks the engine asks any model, from the structured context the engine passes
(never by pretending to read the prompt): intent by nearest labelled examples, attributes by
validators, emotion by a small pt-BR lexicon, the tool call from the captured CPF, and the reply as
the journey's own message template (the "suggested reply") — so it is honest, repeatable and free.
"""

from __future__ import annotations

import re
from typing import Any

from agent.brain import nlu
from agent.core.guardrails import fold

_STRONG_NEGATIVE = re.compile(
    r"\b(procon|reclame aqui|bacen|banco central|processar|processo|advogado|absurdo|palhacada|ridiculo|"
    r"lixo|vergonha|odeio|idiota|incompetente(s)?|porcaria|merda|droga de|inferno|vou denunciar|golpes|golpistas?|"
    r"ladr(ao|oes|ona|onas)|safad[oa]s?|pilantras?|bandid[oa]s?|vagabund[oa]s?|trambiqueir[oa]s?|"
    r"estelionatari[oa]s?|canalhas?|fdp|vsf|pqp|caloteir[oa]s?)\b"
)
_NEGATIVE = re.compile(r"\b(demora|demorando|chato|irritad[oa]|cansad[oa]|nao aguento|pessimo|horrivel|ruim|"
                       r"raiva|bravo|brava|nervos[oa]|decepcionad[oa]|frustrad[oa])\b")
_ANXIOUS = re.compile(r"\b(preocupad[oa]|ansios[oa]|medo|urgente|preciso muito|socorro|desesperad[oa])\b")
_HAPPY = re.compile(r"\b(obrigad[oa]|valeu|otimo|perfeito|maravilha|show|top|legal|massa|adorei|gostei)\b")
_QUESTION = re.compile(r"\?|\b(como|quando|quanto|qual|quais|onde|porque|por que|posso|pode)\b")


def emotion(text: str) -> dict[str, Any]:
    """Lexicon emotion for pt-BR WhatsApp text (the deck's "Analise de Emoção")."""
    plain = fold(text)
    shouting = sum(1 for w in re.findall(r"[A-ZÁÉÍÓÚÂÊÔÃÕÇ]{3,}", text or "")) >= 2
    bangs = (text or "").count("!") >= 3
    # "golpe" is an accusation when stated ("isso é golpe!"), a worry when asked ("isso é golpe?").
    accuses = bool(re.search(r"\bgolpe\b", plain)) and "?" not in plain and not _ANXIOUS.search(plain)
    if _STRONG_NEGATIVE.search(plain) or accuses or (shouting and _NEGATIVE.search(plain)):
        return {"emotion": "raiva", "intensity": 0.9, "strong_negative": True}
    if _NEGATIVE.search(plain) or shouting or bangs:
        return {"emotion": "frustracao", "intensity": 0.6, "strong_negative": False}
    if _ANXIOUS.search(plain):
        return {"emotion": "ansiedade", "intensity": 0.5, "strong_negative": False}
    if _HAPPY.search(plain):
        return {"emotion": "alegria", "intensity": 0.5, "strong_negative": False}
    if _QUESTION.search(plain):
        return {"emotion": "duvida", "intensity": 0.3, "strong_negative": False}
    return {"emotion": "neutro", "intensity": 0.1, "strong_negative": False}


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
