"""Personal data and secrets in free text: one layer, applied once where text comes in.

``scrub(text, mode="mask" | "pseudonym", salt=…)`` finds and replaces, in this order (an earlier finding
wins where two overlap):

=========  =====================================================  ==========================  ==============
kind       detected                                               mask                        pseudonym
=========  =====================================================  ==========================  ==============
card       13–19 digits, Luhn-valid (spaces/hyphens)              ``[cartão oculto]``         the mask
password   the value after "senha é / senha: / senha 1234"        ``[senha oculta]``          the mask
code       4–8 digits after "código / token / sms / otp"          ``[código oculto]``         the mask
pix        a random PIX key (UUID)                                ``••••…-••••fad2``          synthetic UUID
cnpj       ``00.000.000/0000-00`` or 14 valid digits              ``••.•••.333/0001-••``      synthetic CNPJ
email      ``x@y.z``                                              ``ma•••@gmail.com``         ``cliente.<h>@gmail.com``
bank       agency/account after "ag", "agência", "cc", "conta"    ``ag ••••``, ``cc •••••-0``  synthetic digits
cpf        11 digits shaped like a CPF (valid or not)             ``•••.602.846-••``          synthetic CPF
phone      BR phones with DDD/+55, ``9xxxx-xxxx``, announced      ``(••) •••••-4321``         synthetic digits
=========  =====================================================  ==========================  ==============

A PIX key that is a CPF, CNPJ, e-mail or phone is found as that kind. Secrets have no pseudonym: they
are never needed again (a model never sees them: the input guard refuses the message).

**Pseudonyms** are synthetic values of the same shape, derived with HMAC-SHA256 from the value and a
salt: stable for one salt (one conversation: :func:`conversation_salt`), unrelated across salts, and
*validity-preserving* — a valid CPF/CNPJ becomes another valid one, a mistyped one another invalid one —
so a model (and the offline ``local/rules`` brain) reads the message the same way. :func:`pseudonymise`
also returns the way back (pseudonym → raw), which :func:`restore` applies to what a model returns.

Masks are one-way and idempotent (a masked text scrubs to itself). The detectors are regular
expressions and check digits, no model: see SECURITY.md for why not Presidio.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets as _secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agent.br import cnpj as cnpj_rules
from agent.br import cpf as cpf_rules
from agent.br import email, phone
from agent.br.cpf import MASK_CHAR
from agent.memo import DigestMemo

__all__ = ["KINDS", "SECRET_MASKS", "Finding", "Secret", "conversation_salt", "find_pii", "find_secrets",
           "has_secret", "luhn_valid", "mask_pii", "mask_secrets", "pseudonymise", "restore", "scrub",
           "scrub_deep", "scrubbed_logger"]

Mode = Literal["mask", "pseudonym"]
KINDS = ("card", "password", "code", "pix", "cnpj", "email", "bank", "cpf", "phone")


@dataclass(frozen=True)
class Finding:
    """A finding inside a text: its kind (one of ``KINDS``) and the span of its value."""

    kind: str
    start: int
    end: int


Secret = Finding  # the older name: secrets are the first three kinds

# What a masked secret reads as (stored messages, traces, the UI). No "*": WhatsApp/Markdown would
# turn it into bold.
SECRET_MASKS = {"card": "[cartão oculto]", "password": "[senha oculta]", "code": "[código oculto]"}


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char)[:1] or char
    return base.lower()[:1] if unicodedata.category(base) != "Mn" else " "


class _FoldTable(dict[int, str]):
    """``str.translate`` table of :func:`_fold`, filled one character at a time as texts bring them."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code)) or " "
        return folded


_FOLD_TABLE = _FoldTable()


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD_TABLE)


def _fold(text: str) -> str:
    """Lowercase without accents, one character per character (spans stay valid in ``text``)."""
    if text.isascii():
        return text.lower()
    # Only the non-ASCII runs go through the table; every folded character is its own lowercase, so one
    # ``lower()`` of the whole does the ASCII letters and leaves the rest as folded.
    return _NON_ASCII.sub(_fold_run, text).lower()


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
# (Patterns here begin with what a match begins with, and their look-behind comes after it: the regex engine
# then skips to the candidates instead of trying every position of a long prompt.)
_DIGIT_RUN = re.compile(r"\d(?<![\d+]\d)\d*(?:[ \-]\d+)*(?!\d)")  # (?<![\d+])\d+(?:[ \-]\d+)*(?!\d)
_CARD_MIN_DIGITS = 13
_GROUP = re.compile(r"\d+")


def _cards(text: str) -> list[Secret]:
    found = []
    for run in _DIGIT_RUN.finditer(text):
        if run.end() - run.start() < _CARD_MIN_DIGITS:
            continue  # too short to hold a card number, separators included
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
_PASSWORD = re.compile(  # \b(?:senha|password|passwd|pin)\b, first letter before the look-behind (see _DIGIT_RUN)
    r"[ps](?<=\b[ps])(?:(?<=s)enha|(?<=p)(?:assword|asswd|in))\b"
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
_CODE = re.compile(  # \b(?:codigo|cod|token|sms|otp|2fa)\b, first letter before the look-behind
    r"[2cost](?<=\b[2cost])(?:(?<=c)(?:odigo|od)|(?<=t)oken|(?<=s)ms|(?<=o)tp|(?<=2)fa)\b(?P<between>[^\d.!?\n]{0,40}?)"
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


# ---------------------------------------------------------------- identifiers
# A random PIX key (EVP): a UUID.
_UUID = re.compile(r"[0-9a-fA-F](?<![0-9a-fA-F-][0-9a-fA-F])[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
                   r"-[0-9a-fA-F]{12}(?![0-9a-fA-F-])")
# Agency and account, only when announced: "ag 3417", "agência: 0001-9", "cc 56789-0", "conta corrente 123456-7".
# (\b(?:ag|agencia|agenc|c/?c|conta(?:\s+(?:corrente|poupanca|salario|digital))?|poupanca|cp)\b, first letter first)
_BANK = re.compile(
    r"[acp](?<=\b[acp])(?:(?<=a)(?:g|gencia|genc)|(?<=c)(?:/?c|onta(?:\s+(?:corrente|poupanca|salario|digital))?|p)"
    r"|(?<=p)oupanca)\b\.?"
    r"(?:\s*(?::|=|e|eh|n[.o°º]?|numero|num|#)\s*)?\s*"
    r"(?P<value>\d[\d.]{2,14}(?:-[\dx])?)(?![\d/])"
)
_CPF_IN_TEXT = re.compile(r"(\d(?<!\d\d)\d{2})[.\s]?(\d{3})[.\s]?(\d{3})[-.\s/]?(\d{2})(?![\d])")


def _uuids(text: str, folded: str) -> list[Finding]:
    return [Finding("pix", *m.span()) for m in _UUID.finditer(text)]


def _cnpjs(text: str, folded: str) -> list[Finding]:
    return [Finding("cnpj", *m.span()) for m in cnpj_rules.CNPJ_IN_TEXT.finditer(text)
            if "/" in m.group(0) or cnpj_rules.is_valid(m.group(0))]


def _emails(text: str, folded: str) -> list[Finding]:
    if "@" not in text:
        return []  # every match has one (the pattern tries each position otherwise)
    found = []
    for m in email.EMAIL_IN_TEXT.finditer(text):
        raw = m.group(0)
        lead = len(raw) - len(raw.lstrip("*_~"))  # WhatsApp markup around it ("*maria@gmail.com*") is not part of it
        core = raw[lead:].rstrip(email._TRAILING)
        domain = core.rpartition("@")[2]
        # "maria@gmail.com", "maria@gmail" — not "10@6b96b93f10d4" (a message code and its version).
        if re.search(r"\w@\w", core) and ("." in domain or domain.isalpha()):
            found.append(Finding("email", m.start() + lead, m.start() + lead + len(core)))
    return found


def _banks(text: str, folded: str) -> list[Finding]:
    found = []
    for m in _BANK.finditer(folded):
        value = m.group("value").rstrip(".")
        if sum(c.isdigit() for c in value) >= 3:
            found.append(Finding("bank", m.start("value"), m.start("value") + len(value)))
    return found


def _cpfs(text: str, folded: str) -> list[Finding]:
    return [Finding("cpf", *m.span()) for m in _CPF_IN_TEXT.finditer(text)]


def _phones(text: str, folded: str) -> list[Finding]:
    return [Finding("phone", *span) for span in phone.find(text, folded)]


_DETECTORS: tuple[Callable[[str, str], list[Finding]], ...] = (_uuids, _cnpjs, _emails, _banks, _cpfs, _phones)


# ---------------------------------------------------------------- public


def find_secrets(text: str) -> list[Finding]:
    """Card numbers (Luhn-valid, 13–19 digits), passwords and one-time codes in ``text``, in order."""
    if not text:
        return []
    return _find_secrets(text, _fold(text))


def _find_secrets(text: str, folded: str) -> list[Finding]:
    found = _cards(text)
    taken = [(s.start, s.end) for s in found]
    for secret in (*_passwords(folded), *_codes(folded)):
        if not any(secret.start < end and start < secret.end for start, end in taken):
            found.append(secret)
            taken.append((secret.start, secret.end))
    return sorted(found, key=lambda s: s.start)


# Every detector needs a digit, an "@" or a password word: text with none of them is skipped at once.
# (Two patterns: a character class alone is found by a fast scan, an alternation tries every position.)
_DIGIT_OR_AT = re.compile(r"[\d@]")
_PASSWORD_WORD = re.compile(r"senha|passw|\bpin\b", re.IGNORECASE)


def _maybe_pii(text: str) -> bool:
    return bool(_DIGIT_OR_AT.search(text) or _PASSWORD_WORD.search(text))


# What find_pii found, per text: one turn scans the same texts many times (its prompts, the trace that
# records them, the stored messages). Keyed by a digest, never the text, and only spans are kept.
_FOUND: DigestMemo[tuple[Finding, ...]] = DigestMemo(8192)
_LOOK_FIRST_MAX_CHARS = 64  # shorter texts: look for a digit before the digest (longer: the digest costs less)


def find_pii(text: str) -> list[Finding]:
    """Every secret and personal identifier in ``text``, in order, none overlapping (``KINDS``' order wins)."""
    if not text:
        return []
    if len(text) < _LOOK_FIRST_MAX_CHARS and not _maybe_pii(text):
        return []
    return list(_FOUND.get(text, lambda t: tuple(_find_pii(t)) if _maybe_pii(t) else ()))


def _find_pii(text: str) -> list[Finding]:
    folded = _fold(text)
    found = _find_secrets(text, folded)
    for detector in _DETECTORS:
        for item in detector(text, folded):
            if item.start < item.end and not any(item.start < f.end and f.start < item.end for f in found):
                found.append(item)
    return sorted(found, key=lambda f: f.start)


def has_secret(text: str) -> bool:
    return bool(find_secrets(text))


def mask_secrets(text: str) -> str:
    """``text`` with every secret's value replaced by what it was (``[senha oculta]``…)."""
    out = text or ""
    for secret in reversed(find_secrets(out)):
        out = out[:secret.start] + SECRET_MASKS[secret.kind] + out[secret.end:]
    return out


def _mask_digits(value: str, keep_last: int) -> str:
    """Every digit (and hex letter of a UUID) but the last ``keep_last`` as "•", the layout kept."""
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    hidden = set(positions[:max(0, len(positions) - keep_last)])
    return "".join(MASK_CHAR if i in hidden else c for i, c in enumerate(value))


def _mask(kind: str, value: str) -> str:
    if kind in SECRET_MASKS:
        return SECRET_MASKS[kind]
    if kind == "cpf":
        return cpf_rules.mask(value)
    if kind == "cnpj":
        return cnpj_rules.mask(value)
    if kind == "email":
        return email.mask(value)
    if kind == "phone":
        return phone.mask(value)
    if kind == "bank":
        return _mask_digits(value, 1 if "-" in value else 0)
    return _mask_digits(value, 4)  # pix


def _stream(salt: bytes, kind: str, value: str) -> bytes:
    """64 pseudo-random bytes for ``value`` (normalised) under ``salt``."""
    key = re.sub(r"[^0-9a-z@._+-]", "", value.lower()) if kind == "email" else re.sub(r"[^0-9a-z]", "", value.lower())
    first = hmac.new(salt, f"{kind}:{key}".encode(), hashlib.sha256).digest()
    return first + hmac.new(salt, first, hashlib.sha256).digest()


def _substitute(value: str, replacement: str) -> str:
    """``value``'s layout with its digits replaced, in order, by ``replacement``'s."""
    it = iter(replacement)
    return "".join(next(it) if c.isdigit() else c for c in value)


def _pseudonym(kind: str, value: str, salt: bytes) -> str:
    if kind in SECRET_MASKS:
        return SECRET_MASKS[kind]
    stream = _stream(salt, kind, value)
    numbers = "".join(str(b % 10) for b in stream)
    if kind == "email":
        domain = value.rsplit("@", 1)[-1]
        return f"cliente.{stream[:4].hex()}@{domain}"
    if kind == "pix":
        hexes = stream[:16].hex()
        return "-".join((hexes[:8], hexes[8:12], "4" + hexes[13:16], "a" + hexes[17:20], hexes[20:32]))
    if kind in ("cpf", "cnpj"):
        rules, size = (cpf_rules, 11) if kind == "cpf" else (cnpj_rules, 14)
        digits = rules.complete(numbers[:size - 2])
        if not rules.is_valid(value):  # a mistyped number stays mistyped
            digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        return _substitute(value, digits)
    if kind == "phone":  # the DDD and the mobile's leading 9 kept: a mobile stays a mobile
        digits = cpf_rules.digits(value)
        keep = 3 if digits.startswith("55") and len(digits) > 11 else 0
        keep += 2 if len(digits) - keep >= 10 else 0
        keep += 1 if digits[keep:keep + 1] == "9" and len(digits) - keep == 9 else 0
        return _substitute(value, digits[:keep] + numbers[:len(digits) - keep])
    return _substitute(value, numbers)  # bank


def _replace(text: str, mode: Mode, salt: bytes, back: dict[str, str] | None) -> str:
    out = text or ""
    for f in reversed(find_pii(out)):
        value = out[f.start:f.end]
        new = _mask(f.kind, value) if mode == "mask" else _pseudonym(f.kind, value, salt)
        if back is not None and f.kind not in SECRET_MASKS:
            back[new] = value
            if cpf_rules.digits(new) != new and len(cpf_rules.digits(new)) >= 8:
                back[cpf_rules.digits(new)] = cpf_rules.digits(value)  # a model may drop the punctuation
        out = out[:f.start] + new + out[f.end:]
    return out


def scrub(text: str, mode: Mode = "mask", salt: bytes | str = b"") -> str:
    """``text`` with every secret and personal identifier masked, or replaced by its pseudonym under ``salt``."""
    if mode not in ("mask", "pseudonym"):
        raise ValueError(f"scrub mode must be 'mask' or 'pseudonym', not {mode!r}")
    return _replace(text, mode, salt.encode() if isinstance(salt, str) else salt, None)


def scrub_deep(value: Any) -> Any:
    """Deep copy of ``value`` (JSON-like: text, mappings, lists) with every string masked; keys kept."""
    if type(value) is dict:  # the usual case, without the ABC check below
        return {k: scrub_deep(v) for k, v in value.items()}
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_deep(v) for v in value]
    return value


def pseudonymise(value: Any, salt: bytes | str, back: dict[str, str] | None = None) -> Any:
    """Deep copy of ``value`` (text, mappings, lists) with every string pseudonymised; ``back`` collects
    pseudonym → raw for :func:`restore`."""
    key = salt.encode() if isinstance(salt, str) else salt
    if isinstance(value, str):
        return _replace(value, "pseudonym", key, back)
    if isinstance(value, Mapping):
        return {k: pseudonymise(v, key, back) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pseudonymise(v, key, back) for v in value]
    return value


def restore(value: Any, back: Mapping[str, str]) -> Any:
    """Deep copy of ``value`` with the pseudonyms of ``back`` replaced by the raw values (a model's answer)."""
    if not back:
        return value
    if isinstance(value, str):
        pattern = re.compile("|".join(re.escape(k) for k in sorted(back, key=len, reverse=True)))
        return pattern.sub(lambda m: back[m.group(0)], value)
    if isinstance(value, Mapping):
        return {k: restore(v, back) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(restore(v, back) for v in value)
    return value


_PROCESS_KEY = _secrets.token_bytes(32)


def conversation_salt(chat_id: int | str | None) -> bytes:
    """The salt of one conversation's pseudonyms: stable while the process runs, never stored, so a
    pseudonym cannot be traced back by hashing candidate CPFs."""
    return hmac.new(_PROCESS_KEY, f"chat:{chat_id}".encode(), hashlib.sha256).digest()


def mask_pii(text: str) -> str:
    """``text`` with every personal identifier and secret masked (``scrub(text)``)."""
    return scrub(text)


class _ScrubLogs(logging.Filter):
    """A log record's message and traceback scrubbed before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


def scrubbed_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` whose records are scrubbed (an exception may quote a customer's text)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _ScrubLogs) for f in logger.filters):
        logger.addFilter(_ScrubLogs())
    return logger
