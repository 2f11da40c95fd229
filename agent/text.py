"""Text as it arrives: one cleaning function for every entry (terminal, UI, session, golden files).

Customers' text comes with invalid UTF-8, lone surrogates (bytes a lenient decoder escaped), NUL and
terminal control sequences, invisible format characters, full-width or Arabic-Indic digits. None of it
may stop a turn or the database write, and digits must be ASCII before CPF and date parsing.
``clean_text`` keeps what a person wrote: accents, emojis (ZWJ sequences, variation selectors, flags),
line breaks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from agent.memo import DigestMemo

__all__ = ["clean_text", "decode_bytes", "json_storable", "repeated_sentences", "sentences", "storable", "without_sentences"]

_REPLACEMENT = "\ufffd"
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Invisible format characters that are kept: they build emojis (ZWJ, ZWNJ) and subdivision flags (tags).
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})
# Compatibility characters left as written: NFKC would turn them into letters ("1º" → "1o", "ℹ️" → "i").
_KEEP_COMPAT = frozenset("ºªℹ")
# Terminal escape sequences (colours, cursor moves) go whole, not only their ESC byte.
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def decode_bytes(data: bytes) -> str:
    """Bytes → text: UTF-8 (a BOM dropped), invalid bytes escaped for ``clean_text`` to recover or drop."""
    return data.decode("utf-8-sig", errors="surrogateescape")


def _fix_surrogates(text: str) -> str:
    if _ESCAPED_BYTES.search(text):
        # Bytes a lenient decoder escaped (surrogateescape): valid UTF-8 runs come back, the rest is "�".
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            pass
    if _SURROGATES.search(text):
        # Surrogate pairs (text that went through UTF-16 badly) become their character; lone ones "�".
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def valid_unicode(text: str) -> str:
    """``text`` encodable as UTF-8: escaped bytes and surrogates recovered, the rest "�" (``clean_text`` still
    sees it is unreadable); for a channel that queues the text before any turn cleans it."""
    return _fix_surrogates(text)


def _char(c: str, following: str) -> str:
    if c in "\n\t":
        return c
    category = unicodedata.category(c)
    if category == "Nd":
        return str(unicodedata.digit(c))  # Arabic-Indic, full-width, Devanagari… → ASCII
    if category in {"Zl", "Zp"}:
        return "\n"
    if category == "Zs":
        return " "
    if category == "Cc" or (category == "Cf" and c not in _KEEP_FORMAT and not "\U000e0020" <= c <= "\U000e007f"):
        return ""  # NUL, escape sequences, zero-width space, bidi overrides, BOM…
    if c == _REPLACEMENT or category in {"Cs", "Cn", "Co"}:
        return ""
    if category in {"So", "Sk"} or c in _KEEP_COMPAT or following == "\ufe0f":
        return c  # emojis and symbols as sent
    return unicodedata.normalize("NFKC", c)  # full-width letters and punctuation, ligatures, "…"


def clean_text(value: str | bytes | None) -> str:
    """The text a turn can use: valid Unicode, NFC, no control or invisible characters, ASCII digits,
    spaces collapsed, at most one blank line in a row; accents, emojis and line breaks kept.

    >>> clean_text("oi\\x00\\udcff sim")
    'oi sim'
    >>> clean_text("CPF ０７３.６０２.８４６-３５ ou ٠٧٣")
    'CPF 073.602.846-35 ou 073'
    """
    if value is None:
        return ""
    text = decode_bytes(value) if isinstance(value, bytes | bytearray) else str(value)
    text = _fix_surrogates(text).replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", _ANSI.sub("", text))
    out = [_char(c, text[i + 1] if i + 1 < len(text) else "") for i, c in enumerate(text)]
    text = unicodedata.normalize("NFC", "".join(out))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def storable(text: str) -> str:
    """The least change that lets a database store ``text`` (no NUL, no lone surrogate); for texts that
    must otherwise stay as they are (the agent's replies, traces)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _fix_surrogates(text).replace(_REPLACEMENT, "") if _SURROGATES.search(text) else text


def json_storable(value: Any) -> Any:
    """``storable`` applied to every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: json_storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_storable(v) for v in value]
    return value


# ---------------------------------------------------------------------- repetition

_MARKUP = re.compile(r"[*_~`]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"\w+")
MIN_REPEAT_WORDS = 4  # "Olá!", "Tudo certo?", "Prazer, Ana!" may come back; a sentence of 4+ words may not


def sentence_key(sentence: str) -> str:
    """A sentence compared for repetition: WhatsApp markup dropped, whitespace collapsed, case folded."""
    return " ".join(_MARKUP.sub("", sentence).split()).casefold()


# The sentences of the texts read lately, by digest (a reply may name the customer): a turn reads the agent's
# last messages and each candidate reply several times, and the pack's messages recur.
_SENTENCES: DigestMemo[tuple[str, ...]] = DigestMemo(4096)


def sentences(text: str) -> list[str]:
    """The sentences of a message (lines, then sentence ends) as ``sentence_key``s; very short ones
    (under ``MIN_REPEAT_WORDS`` words: "Olá!", "Prazer, Ana!") are left out."""
    return list(_SENTENCES.get(text, lambda t: tuple(_sentences(t))))


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        for part in _SENTENCE_END.split(line):
            key = sentence_key(part)
            if len(_WORD.findall(key)) >= MIN_REPEAT_WORDS:
                out.append(key)
    return out


def repeated_sentences(replies: Sequence[str], previous: Sequence[str]) -> list[str]:
    """Sentences of ``replies`` already in ``previous`` (the agent's last message) or twice in ``replies``."""
    before = {s for r in previous for s in sentences(r)}
    seen: set[str] = set()
    found = []
    for s in (s for r in replies for s in sentences(r)):
        if s in before or s in seen:
            found.append(s)
        seen.add(s)
    return list(dict.fromkeys(found))


def without_sentences(text: str, drop: set[str]) -> str:
    """``text`` without the sentences whose key is in ``drop`` (lines emptied go, blank lines collapse)."""
    lines = []
    for line in text.splitlines():
        parts = [p for p in _SENTENCE_END.split(line) if sentence_key(p) not in drop]
        kept = " ".join(parts).strip()
        if kept or not line.strip():
            lines.append(kept)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def has_words(text: str) -> bool:
    """True when ``text`` has a word left (not only emojis, bullets or punctuation)."""
    return bool(_WORD.search(text))
