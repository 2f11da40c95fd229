"""Lexicon-based sentiment of Brazilian Portuguese chat messages (WhatsApp style), offline and deterministic.

The lexicon (``sentiment_pt.yaml``, built by hand for this project: see its header) scores words, phrases and
emojis; the reading handles what customers actually write: no accents ("nao", "pessimo"), abbreviations
("mto", "vc"), repeated letters ("pessimooo", "muuuito"), one typo in a longer word ("pesimo", "horivel"),
negation ("não gostei", "nao é ruim"), intensifiers ("muito", "mto", "super", "bom demais"), emojis
(😡🙏👍😭) and irony ("ótimo, mais uma vez sem resposta 🙄", "parabéns pela demora", "só que não").

``analyse(text)`` returns a :class:`Sentiment`: a label among the emotions the engine names (alegria, neutro,
duvida, ansiedade, frustracao, raiva), an intensity 0–1, a polarity -1..1, the strongly-negative flag
(threats to complain or sue, insults, profanity, an accusation, shouting a complaint) and the cues it read.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.memo import DigestMemo

LEXICON_FILE = Path(__file__).with_name("sentiment_pt.yaml")
LABELS = ("alegria", "neutro", "duvida", "ansiedade", "frustracao", "raiva")
NEGATION_SCOPE = 3  # words after a negator that it turns
_QUESTION = re.compile(r"\?|\b(como|quando|quanto|qual|quais|onde|porque|por que|posso|pode)\b")
_WORD = re.compile(r"[a-z0-9_ñ]+|[.,;!?]")
_SCOPE_BREAK = {".", ",", ";", "!", "?", "mas", "porem", "entao"}


@dataclass(frozen=True)
class Sentiment:
    """One message's reading: emotion label, intensity 0–1, polarity -1..1, strongly negative, the cues read."""

    label: str
    intensity: float
    polarity: float
    strong_negative: bool = False
    irony: bool = False
    cues: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The engine's emotion record (``emotion``, ``intensity``, ``strong_negative``) plus polarity and cues."""
        return {"emotion": self.label, "intensity": self.intensity, "strong_negative": self.strong_negative,
                "polarity": self.polarity, "irony": self.irony, "cues": list(self.cues)}


def fold(text: str) -> str:
    """Lowercase without accents (emojis kept)."""
    normal = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in normal if not unicodedata.combining(c)).lower()


@dataclass(frozen=True)
class Lexicon:
    """The loaded lexicon, words and phrases folded."""

    words: Mapping[str, float]
    phrases: Mapping[str, float]
    emotions: Mapping[str, frozenset[str]]
    strong: re.Pattern[str]
    negators: frozenset[str]
    intensifiers: Mapping[str, float]
    diminishers: Mapping[str, float]
    spellings: Mapping[str, str]
    emojis: Mapping[str, float]
    anger_emojis: frozenset[str]
    anxiety_emojis: frozenset[str]
    irony_markers: tuple[str, ...]
    irony_emojis: frozenset[str]
    praise: frozenset[str]
    complaints: re.Pattern[str]

    def lookup(self, token: str) -> tuple[str, float] | None:
        """``token``'s (word, score): as written, with repeated letters collapsed, else one typo away."""
        for candidate in _variants(token):
            if candidate in self.words:
                return candidate, self.words[candidate]
        if len(token) >= 6:
            near = _near_word(_squeeze(token), self.words)
            if near is not None:
                return near, self.words[near]
        return None


def _variants(token: str) -> list[str]:
    """``token``, then with runs of 3+ letters made 2 and 1, then every run made 1 ("pessimooo" → "pessimo")."""
    out = [token, re.sub(r"(.)\1{2,}", r"\1\1", token), re.sub(r"(.)\1{2,}", r"\1", token), _squeeze(token)]
    return list(dict.fromkeys(out))


def _squeeze(token: str) -> str:
    return re.sub(r"(.)\1+", r"\1", token)


@functools.lru_cache(maxsize=4096)
def _near_cached(token: str, words: tuple[str, ...]) -> str | None:
    for word in words:
        if len(word) >= 6 and word[0] == token[0] and abs(len(word) - len(token)) <= 1 and _one_edit(token, word):
            return word
    return None


def _near_word(token: str, words: Mapping[str, float]) -> str | None:
    return _near_cached(token, tuple(words))


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        # Swapped neighbours only: one wrong letter makes other words ("debora", "decorado" are no "demora").
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def _words_pattern(items: list[str]) -> re.Pattern[str]:
    escaped = sorted((re.escape(fold(i)).replace(r"\ ", r"\s+") for i in items), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(" + "|".join(escaped) + r")(?![a-z0-9])")


@functools.lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    """The lexicon in ``path`` (default: ``sentiment_pt.yaml`` next to this module)."""
    raw = yaml.safe_load(Path(path or LEXICON_FILE).read_text(encoding="utf-8")) or {}
    irony = raw.get("irony") or {}
    return Lexicon(
        words={fold(k): float(v) for k, v in (raw.get("words") or {}).items()},
        phrases={fold(k): float(v) for k, v in (raw.get("phrases") or {}).items()},
        emotions={k: frozenset(fold(w) for w in v) for k, v in (raw.get("emotions") or {}).items()},
        strong=_words_pattern([str(s) for s in raw.get("strong") or []]),
        negators=frozenset(fold(str(w)) for w in raw.get("negators") or []),
        intensifiers={fold(k): float(v) for k, v in (raw.get("intensifiers") or {}).items()},
        diminishers={fold(k): float(v) for k, v in (raw.get("diminishers") or {}).items()},
        spellings={fold(k): fold(str(v)) for k, v in (raw.get("spellings") or {}).items()},
        emojis={str(k): float(v) for k, v in (raw.get("emojis") or {}).items()},
        anger_emojis=frozenset(raw.get("anger_emojis") or ()),
        anxiety_emojis=frozenset(raw.get("anxiety_emojis") or ()),
        irony_markers=tuple(fold(m) for m in irony.get("markers") or ()),
        irony_emojis=frozenset(irony.get("emojis") or ()),
        praise=frozenset(fold(w) for w in irony.get("praise") or ()),
        complaints=_words_pattern([str(c) for c in irony.get("complaints") or []]),
    )


def _tokens(plain: str, lexicon: Lexicon) -> list[str]:
    """Words and punctuation of the folded text, phrases joined by "_", WhatsApp spellings read."""
    plain = _phrase_pattern(tuple(lexicon.phrases)).sub(lambda m: "_".join(m.group(1).split()), plain)
    out = []
    for token in _WORD.findall(plain):
        token = lexicon.spellings.get(token, token)
        if token not in lexicon.spellings.values() and token not in lexicon.words:
            squeezed = re.sub(r"(.)\1{2,}", r"\1", token)  # "muuuito", "naaao"
            token = lexicon.spellings.get(squeezed, squeezed if squeezed in lexicon.intensifiers
                                          or squeezed in lexicon.negators else token)
        out.append(token)
    return out


@functools.lru_cache(maxsize=4)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for every phrase (longest first), and "pra caramba" (an intensifier of two words)."""
    alternatives = sorted((re.escape(p).replace(r"\ ", r"\s+") for p in (*phrases, "pra caramba")), key=len,
                          reverse=True)
    return re.compile(r"(?<![a-z0-9_])(" + "|".join(alternatives) + r")(?![a-z0-9_])")


def _shouting(text: str) -> bool:
    return sum(1 for _ in re.findall(r"[A-ZÁÉÍÓÚÂÊÔÃÕÇ]{3,}", text or "")) >= 2


# Readings by message (a digest, never the text) and lexicon: a message is read by the local model's emotion
# task and again by the turn's alert, and short messages recur from conversation to conversation.
_READ: DigestMemo[tuple[Lexicon, Sentiment]] = DigestMemo(4096)


def analyse(text: str, lexicon: Lexicon | None = None) -> Sentiment:
    """The sentiment of one customer message (see the module's docstring)."""
    lexicon = lexicon or load_lexicon()
    kept_lexicon, reading = _READ.get(text or "", lambda t: (lexicon, _analyse(t, lexicon)))
    return reading if kept_lexicon is lexicon else _analyse(text, lexicon)  # read with another lexicon: afresh


def _analyse(text: str, lexicon: Lexicon) -> Sentiment:
    plain = fold(text)
    cues: list[str] = []
    scores: list[tuple[str, float]] = []  # (word, contribution)
    tokens = _tokens(plain, lexicon)
    weight, negated_for = 1.0, 0
    for token in tokens:
        if token in _SCOPE_BREAK:
            weight, negated_for = 1.0, 0
            continue
        if token in lexicon.negators:
            negated_for = NEGATION_SCOPE
            continue
        if token in lexicon.intensifiers and token not in lexicon.words:
            if token == "demais" and scores:  # "bom demais": the previous word, not the next
                word, value = scores[-1]
                scores[-1] = (word, max(-1.0, min(1.0, value * lexicon.intensifiers[token])))
                cues.append("intensifier:" + token)
            else:
                weight *= lexicon.intensifiers[token]
                cues.append("intensifier:" + token)
            continue
        if token in lexicon.diminishers:
            weight *= lexicon.diminishers[token]
            continue
        found = lexicon.phrases.get(token.replace("_", " "))
        word = token
        if found == 0:  # a set phrase with no feeling ("bom dia")
            weight, negated_for = 1.0, 0
            continue
        if found is None:
            hit = lexicon.lookup(token)
            if hit is None:
                negated_for = max(0, negated_for - 1)
                continue
            word, found = hit
            if word != token:
                cues.append(f"read:{token}→{word}")
        value = max(-1.0, min(1.0, found * weight))
        if negated_for:
            # "não gostei" is clearly negative; "não é ruim" only mildly positive.
            value = -value * (0.7 if value > 0 else 0.5)
            cues.append("negation:" + word)
        scores.append((word, value))
        weight, negated_for = 1.0, 0
    for emoji, value in lexicon.emojis.items():
        # An emoticon made of ASCII (":/") only on its own, never inside a link ("https://").
        count = (text or "").count(emoji) if not emoji.isascii() else \
            len(re.findall(r"(?<!\S)" + re.escape(emoji), text or ""))
        if count:
            scores.extend([(emoji, value)] * count)
    irony = _irony(plain, text or "", tokens, lexicon)
    if irony:
        cues.append("irony")
        scores = [(w, -abs(v) if v > 0 else v) for w, v in scores]
        if not any(v < 0 for _, v in scores):
            scores.append(("irony", -0.5))
    total = sum(v for _, v in scores)
    polarity = round(max(-1.0, min(1.0, total / math.sqrt(len(scores)))) if scores else 0.0, 3)
    cues.extend(f"{w}:{v:+.2f}" for w, v in scores)
    worry = lexicon.emotions.get("ansiedade", frozenset()) | lexicon.anxiety_emojis
    complaint = any(v < 0 and w not in worry for w, v in scores)
    return _label(text or "", plain, tokens, polarity, irony, complaint, cues, lexicon)


def _irony(plain: str, text: str, tokens: list[str], lexicon: Lexicon) -> bool:
    if any(re.search(r"(?<![a-z0-9])" + re.escape(m) + r"(?![a-z0-9])", plain) for m in lexicon.irony_markers):
        return True
    praise = any(t in lexicon.praise or _variants(t)[-1] in lexicon.praise for t in tokens)
    if not praise:
        return False
    return any(e in text for e in lexicon.irony_emojis) or bool(lexicon.complaints.search(plain))


def _label(text: str, plain: str, tokens: list[str], polarity: float, irony: bool, complaint: bool,
           cues: list[str], lexicon: Lexicon) -> Sentiment:
    found = set(tokens) | {hit[0] for hit in map(lexicon.lookup, tokens) if hit is not None}
    angry = bool(found & lexicon.emotions.get("raiva", frozenset())) or any(e in text for e in lexicon.anger_emojis)
    anxious = bool(found & lexicon.emotions.get("ansiedade", frozenset())) or \
        any(e in text for e in lexicon.anxiety_emojis)
    shouting, bangs = _shouting(text), text.count("!") >= 3
    strong = lexicon.strong.search(plain)
    # "golpe" is an accusation when stated ("isso é golpe!"), a worry when asked ("isso é golpe?").
    accuses = bool(re.search(r"\bgolpe\b", plain)) and "?" not in plain and not anxious
    if strong:
        cues.insert(0, "strong:" + strong.group(1))
    if strong or accuses or (shouting and complaint and polarity < 0):
        return Sentiment("raiva", max(0.9, round(abs(polarity), 3)), min(polarity, -0.8), True, irony, tuple(cues))
    intensity = round(min(1.0, abs(polarity)), 3)
    if angry and polarity < 0:
        return Sentiment("raiva", max(0.7, intensity), polarity, False, irony, tuple(cues))
    if polarity <= -0.25 or ((shouting or bangs) and polarity <= 0) or irony:
        if anxious and not irony and not complaint:
            return Sentiment("ansiedade", max(0.5, intensity), polarity, False, irony, tuple(cues))
        return Sentiment("frustracao", max(0.6, intensity), min(polarity, -0.3), False, irony, tuple(cues))
    if anxious:
        return Sentiment("ansiedade", max(0.5, intensity), polarity, False, irony, tuple(cues))
    if polarity >= 0.25:
        return Sentiment("alegria", max(0.5, intensity), polarity, False, irony, tuple(cues))
    if _QUESTION.search(plain):
        return Sentiment("duvida", 0.3, polarity, False, irony, tuple(cues))
    return Sentiment("neutro", 0.1, polarity, False, irony, tuple(cues))
