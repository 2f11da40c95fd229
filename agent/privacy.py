"""Personal data and secrets in free text: found and masked before it is stored, logged or shown.

Today: Brazilian CPFs (``•••.602.846-••``), e-mail addresses (``ma•••@gmail.com``) and secrets a
customer should never send (a card number, a password, a one-time code from an SMS). One place, so
every writer (traces, messages, media transcripts, reports) masks the same way and a new detector
reaches all of them.

Secrets are masked *before* the CPF masker runs: a card number's digits must never be read as a CPF.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agent.br import email
from agent.br.cpf import mask_in_text

__all__ = ["SECRET_MASKS", "Secret", "find_secrets", "has_secret", "luhn_valid", "mask_pii", "mask_secrets"]


@dataclass(frozen=True)
class Secret:
    """A secret inside a text: its kind (``card`` | ``password`` | ``code``) and the span of its value."""

    kind: str
    start: int
    end: int


# What a masked secret reads as (stored messages, traces, the UI). No "*": WhatsApp/Markdown would
# turn it into bold.
SECRET_MASKS = {"card": "[cartão oculto]", "password": "[senha oculta]", "code": "[código oculto]"}


def _fold(text: str) -> str:
    """Lowercase without accents, one character per character (spans stay valid in ``text``)."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFKD", char)[:1] or char
        out.append(base.lower()[:1] if unicodedata.category(base) != "Mn" else " ")
    return "".join(out)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (``digits`` only)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ---------------------------------------------------------------- card numbers
# Digit groups joined by at most one space or hyphen (no dots or slashes: CPFs, CNPJs, dates).
_DIGIT_RUN = re.compile(r"(?<![\d+])\d+(?:[ \-]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


def _cards(text: str) -> list[Secret]:
    found = []
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_GROUP.finditer(run.group(0)))
        # The longest Luhn-valid sequence of whole groups with 13–19 digits (a card followed by its
        # expiry "12 25" is still found).
        best = None
        for i in range(len(groups)):
            for j in range(len(groups), i, -1):
                digits = "".join(g.group(0) for g in groups[i:j])
                if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
                    best = (groups[i].start(), groups[j - 1].end())
                    break
            if best:
                break
        if best:
            found.append(Secret("card", run.start() + best[0], run.start() + best[1]))
    return found


# ---------------------------------------------------------------- passwords
# "senha" (optionally "do app", "do gov.br") then "é"/"eh"/":"/"=" then the value; or "senha 1234".
_PASSWORD = re.compile(
    r"\b(?:senha|password|passwd|pin)\b"
    r"(?:\s+(?:do|da|de|dos|no|na|pro|pra|para|of)\s+[^\s:=]{1,20}){0,2}"
    r"\s*(?:(?P<sep>[:=])|\b(?P<verb>e|eh|era|seria|is)\b|(?=\s*\d))\s*"
    r"(?P<quote>[\"'“‘])?(?P<value>[^\s\"'”’\[][^\s\"'”’]*)"
)
# Words that follow "a senha é" in sentences that do not give a password.
_NOT_A_PASSWORD = frozenset("""
a o um uma minha meu sua seu essa esse esta este isso isto aquela aquele mesma mesmo outra outro
muito muita mais menos bem super meio bastante so sempre nunca nao sim que de do da pra para por com sem
secreta secreto pessoal intransferivel forte fraca grande pequena longa curta nova novo antiga antigo
diferente igual errada errado certa certo bloqueada bloqueado dificil facil segura seguro necessaria
necessario obrigatoria obrigatorio importante valida invalida vencida expirada numerica aquela
qual quem como onde quando porque pq tipo assim mesmo tb tbm tambem
""".split())


def _passwords(folded: str) -> list[Secret]:
    found = []
    for m in _PASSWORD.finditer(folded):
        value = m.group("value").rstrip(".,;!?)")
        if not value or value.startswith("?"):
            continue
        has_digit_or_symbol = any(c.isdigit() for c in value) or any(not c.isalnum() for c in value)
        plain_word = value.isalpha()
        if not (m.group("sep") or m.group("quote") or m.group("verb")) and not value.isdigit():
            continue  # "senha 1234": only digits count without a verb or colon
        if plain_word and value in _NOT_A_PASSWORD:
            continue
        if plain_word and not (m.group("sep") or m.group("quote")) and len(value) < 4:
            continue
        if not (has_digit_or_symbol or plain_word):
            continue
        start = m.start("value")
        found.append(Secret("password", start, start + len(value)))
    return found


# ---------------------------------------------------------------- one-time codes
# "código"/"token"/"sms"/"otp" then, in the same clause, a 4–8 digit number ("482913", "482 913").
_CODE = re.compile(
    r"\b(?:codigo|cod|token|sms|otp|2fa)\b(?P<between>[^\d.!?\n]{0,40}?)"
    r"(?<![\d/.:,-])(?P<value>\d{4,8}|\d{3}[ -]\d{3})(?![\d/:]|[.,-]\d)"
)
_NOT_A_CODE = re.compile(r"\b(?:barras?|contrato|rastreio|rastreamento|pedido|protocolo|cliente|postal|cep|"
                         r"banco|agencia|conta|erro|area|ddd|produto|boleto|cpf|cnpj)\b")
_YEAR_CONTEXT = re.compile(r"\b(?:em|de|desde|ano)\s*$")


def _codes(folded: str) -> list[Secret]:
    found = []
    for m in _CODE.finditer(folded):
        if _NOT_A_CODE.search(m.group("between")):
            continue
        value = m.group("value")
        if len(value) == 4 and value[:2] in {"19", "20"} and _YEAR_CONTEXT.search(m.group("between")):
            continue  # "o código chegou em 2024": a year
        found.append(Secret("code", m.start("value"), m.end("value")))
    return found


# ---------------------------------------------------------------- public


def find_secrets(text: str) -> list[Secret]:
    """Card numbers (Luhn-valid, 13–19 digits), passwords and one-time codes in ``text``, in order."""
    if not text:
        return []
    folded = _fold(text)
    found = _cards(text)
    taken = [(s.start, s.end) for s in found]
    for secret in (*_passwords(folded), *_codes(folded)):
        if not any(secret.start < end and start < secret.end for start, end in taken):
            found.append(secret)
            taken.append((secret.start, secret.end))
    return sorted(found, key=lambda s: s.start)


def has_secret(text: str) -> bool:
    return bool(find_secrets(text))


def mask_secrets(text: str) -> str:
    """``text`` with every secret's value replaced by what it was (``[senha oculta]``…)."""
    out = text or ""
    for secret in reversed(find_secrets(out)):
        out = out[:secret.start] + SECRET_MASKS[secret.kind] + out[secret.end:]
    return out


def mask_pii(text: str) -> str:
    """``text`` with every personal identifier and secret masked."""
    return email.mask_in_text(mask_in_text(mask_secrets(text)))
