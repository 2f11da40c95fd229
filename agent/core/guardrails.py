"""Guard rails (DESAFIO 4): input checks, output grounding, PII masking.

Input: length limit and prompt-injection phrases (pt-BR and English).
Output: every number, amount and date in a reply must come from the API result, the knowledge
docs, the pack's templates or the customer; never ask for passwords or card numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from agent.privacy import mask_pii

__all__ = ["check_input", "check_output", "fold", "is_injection", "mask_pii", "numbers_in"]


def fold(text: str) -> str:
    """Lowercase without accents (for matching)."""
    normal = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in normal if not unicodedata.combining(c)).lower()


_INJECTION_PATTERNS = [
    r"ignore (all |todas |as |the )?(previous|prior|above|anteriores|instrucoes|instructions)",
    r"ignor[ea] (todas )?(as )?(suas )?(instrucoes|regras|ordens)",
    r"esque[cç]a (todas )?(as )?(suas )?(instrucoes|regras|tudo)",
    r"desconsidere (as )?(instrucoes|regras)",
    r"(show|reveal|print|repeat|mostre|revele|imprima|repita|me (diga|passe|mande)) (me )?(o |a |seu |sua |your |the )?"
    r"(system )?(prompt|instrucoes (do sistema|iniciais)|system message|mensagem do sistema)",
    r"(qual|what) (e|eh|is) (o |a |seu |sua |your )?(system )?prompt",
    r"\bsystem prompt\b",
    r"\bprompt do sistema\b",
    r"you are now|agora voce (e|eh|sera) (um|uma|o|a)\b",
    r"\b(modo|mode) (desenvolvedor|developer|dan|jailbreak|deus|god)\b",
    r"\bjailbreak\b",
    r"finja (que|ser)|pretend (to be|you are)|act as (an? )?(unrestricted|evil|different)",
    r"</?(system|assistant)>|\[system\]|###\s*(system|instruction)",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS))

_ASKS_SECRET = re.compile(
    r"(informe|digite|envie|mande|passe|qual (e|eh)|me (diga|passe|envie|informe))[^.?!]{0,40}"
    r"\b(senha|password|pin|codigo de seguranca|cvv|numero do cartao|token)\b"
)


@dataclass(frozen=True)
class InputCheck:
    """Result of the input guard. ``blocked_reason`` set means: answer with a template, do not run models."""

    text: str
    violations: tuple[str, ...] = ()
    blocked_reason: str | None = None  # "too_long" | "injection" | "empty"


def check_input(text: str, *, max_chars: int) -> InputCheck:
    """Check one (merged) customer message."""
    stripped = (text or "").strip()
    if not stripped:
        return InputCheck(stripped, ("empty",), "empty")
    if len(stripped) > max_chars:
        return InputCheck(stripped, (f"too_long:{len(stripped)}>{max_chars}",), "too_long")
    if _INJECTION.search(fold(stripped)):
        return InputCheck(stripped, ("prompt_injection",), "injection")
    return InputCheck(stripped)


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(fold(text or "")))


# ---------------------------------------------------------------- output grounding

_NUMBER = re.compile(r"(?<![\w])(?:R\$\s*)?\d[\d.,/:]*\d(?:\s*%)?|(?<![\w])\d(?:\s*%)?(?![\w])")


def _canon(token: str) -> str:
    """Comparable form of a number: digits plus the decimal part (R$ 1.234,50 → 1234.50)."""
    raw = token.replace("R$", "").replace("%", "").strip()
    if re.fullmatch(r"\d{1,2}/\d{1,2}(/\d{2,4})?|\d{1,2}:\d{2}", raw):
        return raw  # dates and times compare as written
    if "," in raw and re.search(r",\d{1,2}$", raw):
        whole, dec = raw.rsplit(",", 1)
        return f"{re.sub(r'[^0-9]', '', whole)}.{dec.ljust(2, '0')}"
    if raw.count(".") == 1 and re.search(r"\.\d{1,2}$", raw):
        whole, dec = raw.rsplit(".", 1)
        return f"{re.sub(r'[^0-9]', '', whole)}.{dec.ljust(2, '0')}"
    return re.sub(r"[^0-9]", "", raw)


def numbers_in(text: str) -> set[str]:
    """Every number-like token in ``text`` (amounts, percentages, dates, digits), canonicalised."""
    found: set[str] = set()
    for match in _NUMBER.finditer(text or ""):
        canon = _canon(match.group(0))
        # "R$ 1.200" and "1200,00" are the same amount.
        canon = canon[:-3] if canon.endswith(".00") else canon
        if canon:
            found.add(canon.lstrip("0") or "0")
    return found


# Small numbers are everywhere in ordinary language ("1 minuto", "2 dias"): ungroundable noise.
_ALWAYS_ALLOWED = {str(n) for n in range(0, 13)} | {"24", "30", "48", "60", "100"}


@dataclass(frozen=True)
class OutputCheck:
    text: str
    violations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


def check_output(reply: str, sources: Iterable[str]) -> OutputCheck:
    """Every number in ``reply`` must appear in some source; never ask for passwords or card data."""
    allowed = set(_ALWAYS_ALLOWED)
    for source in sources:
        allowed |= numbers_in(source)
    violations = [f"ungrounded_number:{n}" for n in sorted(numbers_in(reply) - allowed)]
    if _ASKS_SECRET.search(fold(reply)):
        violations.append("asks_for_secret")
    return OutputCheck(reply, tuple(violations))

