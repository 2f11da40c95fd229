"""E-mail addresses as customers type (or dictate) them: find, normalise, validate, mask.

Validation is deliberately practical, not RFC 5322 in full: what a bank can send a document to.
``problem(address)`` names the first check that fails, so a reply can say what to fix:

- ``missing_at``   no "@" ("maria.souza.gmail.com")
- ``format``       empty or invalid local part, two "@", spaces, characters an address cannot have
- ``accent``       accented letters ("joão@…"): most providers refuse them
- ``domain``       the domain is not ``name.tld`` ("maria@gmail", "maria@.com", "maria@gmail..com")
- ``tld_typo``     a known misspelt ending (".con", ".cmo", ".comm", ".com.bt"…)
- ``domain_typo``  a known misspelt provider ("gmial.com", "hotmal.com", "outlok.com"…)

``suggestion(address)`` proposes the corrected address for the two typo reasons.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["EMAIL_IN_TEXT", "find", "is_valid", "mask", "mask_in_text", "normalize", "problem", "spoken_to_symbols",
           "suggestion"]

MAX_LENGTH = 254
MAX_LOCAL = 64

_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,24}")

# Endings people mistype; the value is the intended ending.
TLD_TYPOS = {
    "con": "com", "cmo": "com", "ocm": "com", "comm": "com", "coom": "com", "cim": "com", "vom": "com",
    "xom": "com", "cpm": "com", "co.br.br": "com.br", "com.bt": "com.br", "com.be": "com.br", "com.brr": "com.br",
    "con.br": "com.br", "cm.br": "com.br", "br.com": "com.br",
}
# Providers people mistype; the value is the intended domain.
DOMAIN_TYPOS = {
    "gmial.com": "gmail.com", "gmal.com": "gmail.com", "gamil.com": "gmail.com", "gnail.com": "gmail.com",
    "gmaill.com": "gmail.com", "gmail.co": "gmail.com", "gmai.com": "gmail.com", "gimail.com": "gmail.com",
    "hotmal.com": "hotmail.com", "hotmial.com": "hotmail.com", "hotmai.com": "hotmail.com",
    "hotmeil.com": "hotmail.com", "hotmail.co": "hotmail.com", "homail.com": "hotmail.com",
    "outlok.com": "outlook.com", "outloo.com": "outlook.com", "outlook.co": "outlook.com",
    "yaho.com": "yahoo.com", "yahooo.com": "yahoo.com", "yahho.com": "yahoo.com", "yahoo.com.b": "yahoo.com.br",
    "iclod.com": "icloud.com", "icoud.com": "icloud.com",
}

# Something with an "@" (the address as typed, trailing punctuation trimmed later).
EMAIL_IN_TEXT = re.compile(r"[^\s@<>()\[\],;:\"']*@[^\s@<>()\[\],;:\"']*")
# What looks like an address that lost its "@" ("maria.souza.gmail.com"): only read when one is expected.
_NO_AT = re.compile(r"(?<![\w.@-])[a-z0-9._%+-]+\.(?:gmail|hotmail|outlook|yahoo|icloud|live|bol|uol|terra|ig)"
                    r"\.com(?:\.br)?(?![\w.@-])", re.IGNORECASE)
_TRAILING = ".!?;:,)>]'\"*_"
_LEADING = "(<['\"*_"


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def normalize(value: str) -> str:
    """Trim spaces, quotes and trailing punctuation; lowercase (providers ignore case); ``mailto:`` dropped."""
    text = str(value or "").strip().strip(_LEADING).rstrip(_TRAILING).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


def problem(value: str) -> str | None:
    """Why ``value`` is not a usable address (see the module doc), or None when it is one."""
    address = normalize(value)
    if "@" not in address:
        return "missing_at"
    if address != _fold(address):
        return "accent"
    if address.count("@") != 1 or len(address) > MAX_LENGTH or any(c.isspace() for c in address):
        return "format"
    local, domain = address.split("@")
    if not local or len(local) > MAX_LOCAL or not _LOCAL.fullmatch(local):
        return "format"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return "domain"
    for typo in TLD_TYPOS:
        if domain.endswith("." + typo):
            return "tld_typo"
    if domain in DOMAIN_TYPOS:
        return "domain_typo"
    if not _TLD.fullmatch(labels[-1]):
        return "domain"
    return None


def is_valid(value: str) -> bool:
    """True when ``value`` is a usable e-mail address."""
    return problem(value) is None


def suggestion(value: str) -> str | None:
    """The address with a known typo fixed ("maria@gmial.con" → "maria@gmail.com"), or None."""
    address = normalize(value)
    if address.count("@") != 1:
        return None
    local, domain = address.split("@")
    fixed = domain
    for typo, right in sorted(TLD_TYPOS.items(), key=lambda kv: -len(kv[0])):
        if fixed.endswith("." + typo):
            fixed = fixed[: -len(typo)] + right
            break
    fixed = DOMAIN_TYPOS.get(fixed, fixed)
    candidate = f"{local}@{fixed}"
    return candidate if fixed != domain and is_valid(candidate) else None


def mask(value: str) -> str:
    """``maria.souza@gmail.com`` → ``ma•••@gmail.com`` (for traces, logs and confirmations; "•", not "*":
    WhatsApp and Markdown would read asterisks as bold markers)."""
    address = normalize(value)
    if address.count("@") != 1:
        return "•••"
    local, domain = address.split("@")
    keep = 2 if len(local) > 3 else 1
    return f"{local[:keep]}•••@{domain}" if local else f"•••@{domain}"


def mask_in_text(text: str) -> str:
    """Every address inside free text masked (anything with text on both sides of an "@")."""

    def hide(match: re.Match[str]) -> str:
        raw = match.group(0)
        core = raw.rstrip(_TRAILING)
        if not re.search(r"\w@\w", core):
            return raw
        return mask(core) + raw[len(core):]

    return EMAIL_IN_TEXT.sub(hide, text or "")


_SPOKEN = {"arroba": "@", "ponto": ".", "underline": "_", "underscore": "_", "traco": "-", "hifen": "-"}


def spoken_to_symbols(text: str) -> str:
    """A dictated address written out ("maria ponto souza arroba gmail ponto com") → "maria.souza@gmail.com".

    Only around the word "arroba": elsewhere "ponto" is an ordinary word ("ponto de ônibus").
    """
    words = text.split()
    keys = [_fold(w).strip(_TRAILING) for w in words]
    if "arroba" not in keys:
        return text

    def joiner(i: int) -> bool:
        return 0 <= i < len(keys) and keys[i] in _SPOKEN and keys[i] != "arroba"

    out = list(words)
    for at in reversed([i for i, k in enumerate(keys) if k == "arroba"]):
        if at == 0 or at + 1 >= len(words):
            continue
        first = at - 1  # walk back over "maria ponto souza"
        while joiner(first - 1) and first - 2 >= 0 and not joiner(first - 2):
            first -= 2
        last = at + 1  # walk forward over "gmail ponto com ponto br"
        while joiner(last + 1) and last + 2 < len(words) and not joiner(last + 2):
            last += 2
        parts = [_SPOKEN["arroba"] if i == at else _SPOKEN[keys[i]] if joiner(i) else words[i].strip(_TRAILING)
                 for i in range(first, last + 1)]
        out[first:last + 1] = ["".join(parts)] + [""] * (last - first)
    return " ".join(w for w in out if w)


def find(text: str, *, expecting: bool = False) -> list[tuple[str, tuple[int, int]]]:
    """Addresses (as typed, trimmed) and their spans in ``text``; with ``expecting``, also "@"-less ones."""
    found: list[tuple[str, tuple[int, int]]] = []
    for match in EMAIL_IN_TEXT.finditer(text or ""):
        raw = match.group(0)
        core = raw.rstrip(_TRAILING).lstrip(_LEADING)
        if core.strip("@") and len(core) >= 3:
            start = match.start() + (len(raw) - len(raw.lstrip(_LEADING)))
            found.append((core, (start, start + len(core))))
    if expecting and not found:
        for match in _NO_AT.finditer(text or ""):
            found.append((match.group(0).rstrip(_TRAILING), match.span()))
    return found
