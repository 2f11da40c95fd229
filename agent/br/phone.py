"""Brazilian phone numbers in free text: ``(11) 98765-4321``, ``+55 11 98765 4321``, ``11987654321``,
``98765-4321``, ``3456-7890`` after "telefone"/"celular"/"whatsapp"."""

from __future__ import annotations

import re

from agent.br.cpf import MASK_CHAR

# +55 (optional), then a DDD (two digits, 1–9 each, parentheses optional), then 8 digits (landline, 2–5
# first) or 9 (mobile, 9 first), split by one space, dot or hyphen at most once.
_DDD = r"(?:\+?55[\s.-]?)?\(?[1-9][1-9]\)?[\s.-]?"
_LOCAL = r"(?:9\d{4}[\s.-]?\d{4}|[2-5]\d{3}[\s.-]?\d{4})"
_AFTER_FIRST_DDD_DIGIT = rf"[1-9]\)?[\s.-]?{_LOCAL}(?!\d)"
# ``(?<![\d+]){_DDD}{_LOCAL}(?!\d)``, written to begin with a character class (what a match can begin with:
# "+", "5" of 55, "(" or the DDD's first digit) and the look-behind after it: the regex engine then skips
# to the candidates instead of trying every position (10× faster on a long prompt). Same matches, same order.
WITH_DDD = re.compile(rf"[+(1-9](?<![\d+][+(1-9])(?:(?<=\+)55[\s.-]?\(?[1-9]{_AFTER_FIRST_DDD_DIGIT}"
                      rf"|(?<=5)5[\s.-]?\(?[1-9]{_AFTER_FIRST_DDD_DIGIT}"
                      rf"|(?<=\()[1-9]{_AFTER_FIRST_DDD_DIGIT}|(?<=[1-9]){_AFTER_FIRST_DDD_DIGIT})")
# Without a DDD only a hyphenated mobile is distinctive enough ("98765-4321"): ``(?<![\d.,/-])9\d{4}-\d{4}``.
MOBILE = re.compile(r"9(?<![\d.,/-]9)\d{4}-\d{4}(?![\d-])")
# Any 8–9 digit number right after the word for a phone ("meu cel é 987654321").
# (``\b(?:telefone|tel|fone|celular|cel|whats(?:app|zap)?|zap|contato)\b``, its first letter before the look-behind.)
ANNOUNCED = re.compile(r"[cftwz](?<=\b[cftwz])(?:(?<=t)(?:elefone|el)|(?<=f)one|(?<=c)(?:elular|el|ontato)"
                       r"|(?<=w)hats(?:app|zap)?|(?<=z)ap)\b"
                       r"[^\d\n]{0,15}?(?P<value>(?:\(?\d{2}\)?[\s.-]?)?\d{4,5}[\s.-]?\d{4})(?!\d)")


def find(text: str, folded: str | None = None) -> list[tuple[int, int]]:
    """Spans of phone numbers in ``text`` (``folded``: the same text lowercased without accents)."""
    spans = [m.span() for m in WITH_DDD.finditer(text)]
    spans += [m.span() for m in MOBILE.finditer(text)]
    spans += [m.span("value") for m in ANNOUNCED.finditer(folded if folded is not None else text.lower())]
    return spans


def mask(value: str) -> str:
    """Every digit but the last four masked, the layout kept: ``(11) 98765-4321`` → ``(••) •••••-4321``."""
    total = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for char in value:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - 4 else MASK_CHAR)
        else:
            out.append(char)
    return "".join(out)
