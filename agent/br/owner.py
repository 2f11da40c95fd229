"""Whose document is it? Markers that a CPF (or an FGTS account) belongs to someone else.

A customer may only consult their own FGTS: "esse é o cpf da minha mãe", "do meu vizinho",
"o cpf dele é…", "quero ver o fgts do meu marido" name a third party; "é meu", "sou eu mesma"
claim the document. A CPF inside a link ("https://site.com/?cpf=…") was not typed as the
customer's own. Used by the offline NLU (each CPF candidate knows its context) and by packs
(the decision: ask whose it is, never consult a third party's).
"""

from __future__ import annotations

import re

from agent.br.spoken import strip_accents

# People a customer may be asking for (accent-free, singular and plural).
KIN = (
    r"mae|pai|maes|pais|marido|esposa|esposo|mulher|namorad[oa]|noiv[oa]|filh[oa]s?|irma[os]?|irmaos|"
    r"av[oó]s?|vo|vovo|vovó|ti[oa]s?|sogr[oa]|prim[oa]s?|cunhad[oa]|genro|nora|net[oa]s?|sobrinh[oa]|"
    r"madrasta|padrasto|enteado|enteada|vizinh[oa]s?|amig[oa]s?|colega|chefe|patra[oa]|patroa|"
    r"cliente|conhecid[oa]|parente|companheir[oa]|cunhada|compadre|comadre|afilhad[oa]|padrinho|madrinha"
)
_THIRD = re.compile(
    # "do meu marido", "da minha mãe", "pra minha vó", "da mãe", "de um amigo", "da minha vizinha"
    r"\b(?:d[oa]s?|de|pra|para|pro|pros)\s+(?:(?:minha|meu|minhas|meus|sua|seu|nossa|nosso|um|uma|o|a)\s+)?"
    rf"(?:{KIN})\b"
    # "minha mãe", "meu vizinho" (as the subject: "minha mãe pediu", "meu marido: 123…")
    rf"|\b(?:minha|meu|minhas|meus)\s+(?:{KIN})\b"
    # "o cpf dele", "cpf dela", "o fgts dele"
    r"|\b(?:cpf|documento|fgts|saldo|dados)\s+(?:d[ea]l[ea]s?|de\s+outra\s+pessoa|de\s+terceiros?)\b"
    r"|\boutra\s+pessoa\b|\bterceiros?\b"
    # "é dela", "é dele sim" (answering "whose is it?")
    r"|\b(?:e|eh|sim|de)\s+d[ea]l[ea]s?\b|^\W*d[ea]l[ea]s?\b",
)
_SELF = re.compile(
    r"\b(?:e|eh|sim|é)\s+(?:o\s+|a\s+)?(?:meu|minha)\b(?!\s+(?:" + KIN + r"))"
    r"|\bmeu\s+(?:mesmo|proprio)\b|\bsou\s+eu\b|\bsou\s+(?:o|a)\s+titular\b|\b(?:e|eh)\s+meu\s+sim\b"
    r"|\bmeu\s+cpf\b|\bdo\s+titular\b|\beu\s+mesm[oa]\b|^\s*(?:meu|o\s+meu|e\s+meu)\s*[.!]*\s*$"
)
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|br|net|org|io|app|link|ly)\b\S*",
                 re.IGNORECASE)


def _fold(text: str) -> str:
    return strip_accents(str(text).lower())


def third_party(text: str) -> str | None:
    """The words that name someone else ("da minha mae", "cpf dele"), or None."""
    match = _THIRD.search(_fold(text))
    return match.group(0).strip() if match else None


_NOT_MINE = re.compile(r"\bn(?:ao|um|em)\s+(?:e|eh)\s+(?:o\s+|a\s+)?(?:meu|minha)\b|\bnao\s+sou\s+eu\b"
                       r"|\bnao\s+(?:e\s+)?(?:o\s+)?meu\b")


def not_mine(text: str) -> bool:
    """True when the customer says the document is not their own ("não é meu", "nao é o meu")."""
    return bool(_NOT_MINE.search(_fold(text)))


def self_claim(text: str) -> bool:
    """True when the customer says the document is their own ("é meu", "sou eu mesma")."""
    folded = _fold(text)
    return not _NOT_MINE.search(folded) and bool(_SELF.search(folded))


def url_spans(text: str) -> list[tuple[int, int]]:
    """Spans of links in ``text`` (a CPF inside one was pasted, not given)."""
    return [m.span() for m in URL.finditer(text)]


def inside_url(text: str, span: tuple[int, int]) -> bool:
    """True when ``span`` of ``text`` lies within a link."""
    return any(start <= span[0] and span[1] <= end for start, end in url_spans(text))
