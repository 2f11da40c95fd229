"""Deterministic NLU for the offline ``local/rules`` brain.

Two jobs, no model and no network:

* intent classification by the nearest labelled examples of the pack's ``intents.yaml``:
  SQLite FTS5 (BM25, prefix match) for words plus character trigrams for typos, after a
  WhatsApp-aware normalisation (accents, "oiii", "vc", "qro", numbers turned into markers);
* attribute extraction by validators: CPF (punctuated, bare, spaced, spelled out; check digits via
  :mod:`agent.br.cpf`), full name, birth month / date, yes/no, FGTS balance, e-mail address (typed or
  dictated; checks via :mod:`agent.br.email`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agent import yamlfile

from agent.br import cpf as cpf_rules
from agent.br import email as email_rules
from agent.br import names as name_rules
from agent.br import owner as owner_rules
from agent.br.calendar import MONTH_KEYS, MONTH_NAMES
from agent.br.spoken import strip_accents, words_to_digits

from agent.config import DEFAULT_PACK_DIR  # noqa: E402
from agent.memo import DigestMemo  # noqa: E402

# -- normalisation --------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "vc": "voce", "vcs": "voces", "voce": "voce", "q": "que", "oq": "o que", "qro": "quero",
    "qr": "quer", "ql": "qual", "tb": "tambem", "tbm": "tambem", "tmb": "tambem", "pq": "porque",
    "n": "nao", "s": "sim", "eh": "e", "td": "tudo", "tds": "todos", "blz": "beleza",
    "vlw": "valeu", "flw": "falou", "pfv": "por favor", "pf": "por favor", "pfvr": "por favor",
    "obg": "obrigado", "obgd": "obrigado", "brigado": "obrigado", "brigada": "obrigada",
    "ta": "esta", "to": "estou", "pra": "para", "pro": "para o", "mt": "muito", "mto": "muito",
    "niver": "aniversario", "aniver": "aniversario", "hj": "hoje", "dps": "depois",
    "qdo": "quando", "qnd": "quando", "qto": "quanto", "qnt": "quanto", "cmg": "comigo",
    "vdd": "verdade", "oie": "oi", "xau": "tchau", "fgt": "fgts", "ngm": "ninguem",
    "naum": "nao", "nn": "nao", "nops": "nao", "prontinho": "pronto", "certinho": "certo", "rapidinho": "rapido",
    "msm": "mesmo", "eai": "e ai", "eae": "e ai", "iae": "e ai", "mds": "meu deus", "bj": "beijo", "sao": "sao", "tlgd": "entendeu",
}
_EMOJI = {"👍": " ok ", "👌": " ok ", "🙏": " obrigado ", "😂": " kkk ", "🤣": " kkk ", "😡": " raiva ",
          "❤": " legal "}
_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?!\d)")
# Digits with the separators people (and transcripts) put between them: "073.602.846-35",
# "073 602 846 35", "0, 7, 3. 6, 0, 2…".
_DIGIT_RUN = re.compile(r"\d(?:[\s.,\-/]{0,2}\d)*")
MONTHS = MONTH_KEYS  # accent-free: matched against folded text
MONTH_NAMES_PT = MONTH_NAMES


_TRIPLED = re.compile(r"(.)\1{2,}")
_DOUBLED_FINAL_VOWEL = re.compile(r"([aeiou])\1$")


def _squeeze(word: str) -> str:
    # "oiii" → "oi", "aceitoo" → "aceito", but "isso"/"carro" keep their double letters.
    if len(set(word)) == len(word):  # no letter twice: nothing to squeeze (most words)
        return word
    word = _TRIPLED.sub(r"\1", word)
    return _DOUBLED_FINAL_VOWEL.sub(r"\1", word)


def normalize(text: str) -> str:
    """Lowercase, no accents, squeezed letters, expanded abbreviations, numbers as markers."""
    for emoji, word in _EMOJI.items():
        text = text.replace(emoji, word)
    text = words_to_digits(strip_accents(text.lower().replace("ñ", " nao ")))
    text = email_rules.EMAIL_IN_TEXT.sub(lambda m: " email " if re.search(r"\w@\w", m.group(0)) else m.group(0), text)
    text = _DATE.sub(" numdata ", text)

    def digits_marker(match: re.Match[str]) -> str:
        n = len(cpf_rules.digits(match.group(0)))
        return " numcpf " if 9 <= n <= 14 else " numero "

    text = _DIGIT_RUN.sub(digits_marker, text)
    text = re.sub(r"r\$", " reais ", text)
    words = re.findall(r"[a-z]+", text)
    expanded = []
    for word in words:
        word = _squeeze(word)
        expanded.append(_ABBREVIATIONS.get(word, word))
    return " ".join(expanded)


_NEGATIONS = {"nao", "nem", "nunca", "jamais", "recuso", "negativo"}


def _negated(norm: str) -> bool:
    return not _NEGATIONS.isdisjoint(norm.split())


def _trigrams(text: str) -> frozenset[str]:
    padded = f"  {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


# -- intent classification -----------------------------------------------------------------------


@dataclass(frozen=True)
class IntentResult:
    """The chosen intent, a 0–1 confidence, the nearest example and the best score per intent."""

    intent: str
    confidence: float
    example: str | None = None
    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


READ_CACHE_MAX = 4096  # readings kept per classifier


class IntentClassifier:
    """Nearest-example classifier over labelled utterances (SQLite FTS5 + char trigrams)."""

    UNKNOWN = "unknown"

    def __init__(self, examples: Mapping[str, Sequence[str]], *, threshold: float = 0.3) -> None:
        self.threshold = threshold
        self._rows: list[tuple[str, str, str, frozenset[str]]] = []  # intent, raw, normalised, trigrams
        for intent, utterances in examples.items():
            for raw in utterances:
                norm = normalize(str(raw))
                if norm:
                    self._rows.append((intent, str(raw), norm, _trigrams(norm)))
        self.intents = tuple(examples)
        # Trigram → the rows that have it: a message is scored against the examples it shares a trigram with
        # (the others score 0); and what each intent starts with, its first example at score 0.
        self._rows_with: dict[str, list[int]] = {}
        for i, (_, _, _, grams) in enumerate(self._rows):
            for gram in grams:
                self._rows_with.setdefault(gram, []).append(i)
        self._negated_rows = [_negated(norm) for _, _, norm, _ in self._rows]
        self._first: dict[str, tuple[float, str]] = {}
        for intent, raw, _, _ in self._rows:
            self._first.setdefault(intent, (0.0, raw))
        self._read: DigestMemo[IntentResult] = DigestMemo(READ_CACHE_MAX)  # normalised text → reading (frozen)
        # One in-memory database per classifier; the lock makes it safe across Streamlit threads.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE ex USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
        )
        self._db.executemany(
            "INSERT INTO ex(rowid, text) VALUES (?, ?)",
            [(i, row[2]) for i, row in enumerate(self._rows)],
        )

    def _bm25(self, norm: str) -> dict[int, float]:
        tokens = sorted(set(norm.split()))
        if not tokens:
            return {}
        # Prefix match for longer words tolerates inflection ("antecipar" ~ "antecipacao").
        query = " OR ".join(f'"{t}"*' if len(t) >= 4 else f'"{t}"' for t in tokens)
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, -bm25(ex) FROM ex WHERE ex MATCH ? ORDER BY bm25(ex) LIMIT 40", (query,)
            ).fetchall()
        return {int(r): float(s) for r, s in rows}

    def classify(self, text: str) -> IntentResult:
        """Classify one customer message."""
        norm = normalize(text)
        if not norm:
            return IntentResult(self.UNKNOWN, 0.0)
        # The reading depends on the normalised text alone: a turn reads its message twice or more (the decision
        # role, the consent check), and short messages ("sim", "ok", "quero antecipar") come back from
        # conversation to conversation. Kept by a digest, never the text (a name may be in it).
        return self._read.get(norm, self._classify)

    def _classify(self, norm: str) -> IntentResult:
        grams = _trigrams(norm)
        negated = _negated(norm)
        bm25 = self._bm25(norm)
        best_bm25 = max(bm25.values(), default=0.0)
        best = dict(self._first)
        shared = Counter(chain.from_iterable(self._rows_with.get(gram, ()) for gram in grams))
        for i in sorted(shared):  # in the examples' order: the first of equal scores wins
            intent, raw, ex_norm, ex_grams = self._rows[i]
            dice = 2 * shared[i] / (len(grams) + len(ex_grams))
            if ex_norm == norm:
                score = 1.0
            else:
                # BM25 is only comparable within one query, so it is scaled by the query's best hit;
                # the trigram Dice is absolute and carries typos ("qro sacra meu fgst").
                word = bm25.get(i, 0.0) / best_bm25 if best_bm25 else 0.0
                score = 0.55 * dice + 0.45 * word * dice ** 0.5
                if negated != self._negated_rows[i]:
                    # "autorizo" vs "nao autorizo" share almost every trigram but mean the opposite.
                    score *= 0.7
            if score > best[intent][0]:
                best[intent] = (score, raw)
        intent, (score, example) = max(best.items(), key=lambda kv: kv[1][0])
        scores = MappingProxyType({k: round(v[0], 4) for k, v in best.items()})
        if score < self.threshold:
            return IntentResult(self.UNKNOWN, round(1 - score, 4), None, scores)
        return IntentResult(intent, round(min(score, 1.0), 4), example, scores)


_intents: dict[tuple[Path, int, int], dict[str, dict[str, Any]]] = {}
_intents_files: dict[tuple[str, str], Path] = {}


def _intents_file(pack_dir: str | Path | None) -> Path:
    """The pack's ``intents.yaml``, resolved once per folder (a turn asks twice; resolving walks the path)."""
    folder = str(pack_dir or DEFAULT_PACK_DIR)
    key = ("" if os.path.isabs(folder) else os.getcwd(), folder)
    path = _intents_files.get(key)
    if path is None:
        path = _intents_files[key] = (Path(folder) / "intents.yaml").resolve()
    return path


def load_intents(pack_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """``intents.yaml`` of a pack as ``{intent: {"description": str, "examples": [str]}}`` (a fresh copy).

    Parsed once per version of the file: a turn asks for it (the intent menu of the decision prompt),
    and parsing the YAML again cost ~0.2 s each time."""
    path = _intents_file(pack_dir)
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    parsed = _intents.get(key)
    if parsed is None:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = _intents[key] = {
            name: {
                "description": str(spec.get("description", "")),
                "examples": [str(e) for e in spec.get("examples") or ()],
            }
            for name, spec in (data.get("intents") or {}).items()
        }
    return {name: {"description": spec["description"], "examples": list(spec["examples"])}
            for name, spec in parsed.items()}


_classifiers: dict[tuple[Path, int], IntentClassifier] = {}
_classifiers_lock = threading.Lock()


def load_classifier(pack_dir: str | Path | None = None) -> IntentClassifier:
    """The pack's classifier, built once per process (rebuilt if ``intents.yaml`` changes)."""
    path = _intents_file(pack_dir)
    key = (path, path.stat().st_mtime_ns)
    with _classifiers_lock:
        if key not in _classifiers:
            intents = load_intents(path.parent)
            _classifiers[key] = IntentClassifier({k: v["examples"] for k, v in intents.items()})
        return _classifiers[key]


def classify(text: str, pack_dir: str | Path | None = None) -> IntentResult:
    """Classify ``text`` with the pack's labelled examples."""
    return load_classifier(pack_dir).classify(text)


# -- attribute extraction ------------------------------------------------------------------------


@dataclass(frozen=True)
class CpfCandidate:
    """A CPF-looking number found in the text; ``reason`` is ``ok``, ``check_digits`` or ``length``.

    ``concern`` says why a number is not taken as the customer's own CPF even with valid check
    digits: ``third_party`` (the message says it is someone else's: "da minha mãe"), ``in_url``
    (inside a link) or ``several`` (more than one distinct CPF in the message).
    """

    raw: str
    digits: str
    valid: bool
    reason: str
    concern: str | None = None

    @property
    def usable(self) -> bool:
        """Valid check digits and nothing suggesting it is not the customer's own CPF."""
        return self.valid and self.concern is None

    @property
    def formatted(self) -> str:
        """``000.000.000-00`` when 11 digits."""
        return cpf_rules.format_cpf(self.digits)

    @property
    def masked(self) -> str:
        """Masked form safe for logs and replies."""
        return cpf_rules.mask_any(self.digits)


@dataclass(frozen=True)
class EmailCandidate:
    """An e-mail address found in the text; ``reason`` is ``ok`` or the failed check (``agent.br.email``)."""

    raw: str
    address: str
    valid: bool
    reason: str

    @property
    def masked(self) -> str:
        """Masked form safe for logs and replies (``ma•••@gmail.com``)."""
        return email_rules.mask(self.address)


@dataclass(frozen=True)
class Extraction:
    """Attributes found in one message. Only validated values become attributes."""

    name: str | None = None
    cpf: str | None = None
    cpf_candidates: tuple[CpfCandidate, ...] = ()
    birth_month: int | None = None
    birth_date: str | None = None
    confirmation: str | None = None  # "yes" | "no"
    balance: float | None = None
    email: str | None = None
    email_candidates: tuple[EmailCandidate, ...] = ()
    invalid_dates: tuple[str, ...] = ()  # dates the calendar does not have ("31/02/1990"), as typed

    @property
    def invalid_cpfs(self) -> tuple[CpfCandidate, ...]:
        """Candidates that failed validation (the engine says which check failed)."""
        return tuple(c for c in self.cpf_candidates if not c.valid and c.concern is None)

    @property
    def unclear_cpfs(self) -> tuple[CpfCandidate, ...]:
        """Candidates that may not be the customer's own CPF (someone else's, in a link, several)."""
        return tuple(c for c in self.cpf_candidates if c.concern is not None)

    @property
    def invalid_emails(self) -> tuple[EmailCandidate, ...]:
        """E-mail addresses that failed validation (missing "@", typo in the domain…)."""
        return tuple(c for c in self.email_candidates if not c.valid)

    def attributes(self) -> dict[str, Any]:
        """The journey attributes found: name, cpf, birth_month, birth_date, balance, email."""
        values = {
            "name": self.name,
            "cpf": self.cpf,
            "birth_month": self.birth_month,
            "birth_date": self.birth_date,
            "balance": self.balance,
            "email": self.email,
        }
        return {k: v for k, v in values.items() if v is not None}

    def rejected(self) -> list[tuple[str, str, str]]:
        """``(attribute, value as found, reason)`` for every value that failed validation."""
        return [("cpf", c.digits, c.reason) for c in self.invalid_cpfs] + \
            [("cpf", c.digits, str(c.concern)) for c in self.unclear_cpfs] + \
            [("email", c.address, c.reason) for c in self.invalid_emails] + \
            [("birth_month", d, "impossible_date") for d in self.invalid_dates]

    @property
    def has_data(self) -> bool:
        """True when a journey attribute (or an invalid CPF or e-mail attempt) was found."""
        return bool(self.attributes()) or bool(self.invalid_cpfs) or bool(self.unclear_cpfs) \
            or bool(self.invalid_emails) or bool(self.invalid_dates)


def _find_cpfs(text: str, expecting: str | None = None) -> tuple[list[CpfCandidate], list[tuple[int, int]]]:
    """CPF candidates and their spans in ``text`` (already digit-converted, dates removed).

    A number of 9–14 digits with the wrong length counts as a CPF attempt when the text says "cpf" or the
    agent just asked for the CPF ("1690999039" answering "qual é o seu CPF?")."""
    mentions_cpf = "cpf" in text.lower() or expecting == "cpf"
    found: list[CpfCandidate] = []
    spans: list[tuple[int, int]] = []
    for match in _DIGIT_RUN.finditer(text):
        raw = match.group(0)
        number = cpf_rules.digits(raw)
        chunks = [cpf_rules.digits(c) for c in re.split(r"\s+", raw) if cpf_rules.digits(c)]
        picked: list[str] = []
        if len(number) == 11:
            picked = [number]
        elif len(number) > 11:
            # "nasci 1990 073 602 846 35": look for consecutive chunks adding up to 11 digits.
            for i in range(len(chunks)):
                acc = ""
                for chunk in chunks[i:]:
                    acc += chunk
                    if len(acc) >= 11:
                        break
                if len(acc) == 11:
                    picked.append(acc)
            picked = sorted(set(picked), key=lambda d: not cpf_rules.is_valid(d))[:1]
        if picked:
            digits = picked[0]
            valid = cpf_rules.is_valid(digits)
            found.append(CpfCandidate(raw.strip(), digits, valid, "ok" if valid else "check_digits"))
            spans.append(match.span())
        elif 9 <= len(number) <= 14 and (mentions_cpf or re.search(r"\d{3}\.\d{3}\.\d{3}", raw)):
            found.append(CpfCandidate(raw.strip(), number, False, "length"))
            spans.append(match.span())
    return found, spans


def _with_concerns(text: str, found: list[CpfCandidate], spans: list[tuple[int, int]]) -> list[CpfCandidate]:
    """Mark the candidates that may not be the customer's own CPF (see ``CpfCandidate.concern``)."""
    distinct = {c.digits for c in found if c.valid}
    someone_else = owner_rules.third_party(text) is not None and not owner_rules.self_claim(text)
    marked = []
    for candidate, span in zip(found, spans, strict=True):
        concern = None
        if owner_rules.inside_url(text, span):
            concern = "in_url"
        elif candidate.valid and len(distinct) > 1:
            concern = "several"
        elif candidate.valid and someone_else:
            concern = "third_party"
        marked.append(replace(candidate, concern=concern))
    return marked


_NAME_CUE = re.compile(
    r"(?:meu\s+nome\s+(?:completo\s+)?(?:é|e|eh)|me\s+chamo|pode\s+me\s+chamar\s+de|"
    r"nome\s*(?:completo)?\s*[:=]|(?m:^\s*nome\s+(?=[A-ZÀ-Ý]{2,}\s+[A-ZÀ-Ý]))|"
    r"aqui\s+(?:é|e|eh)\s+(?:o\s+|a\s+)?|sou\s+(?:o|a)\s+|"
    # corrections at the confirmation: "o nome ta errado, é Maria Souza Lima", "nome certo é …"
    r"nome\s+(?:(?:t[aá]|est[aá])\s+)?errado\W*(?:(?:o\s+)?cert[oa]\s+)?(?:(?:é|e|eh)\s+)?|"
    r"nome\s+cert[oa]\s+(?:é|e|eh)\s+|(?:^|\W)o\s+nome\s+(?:completo\s+)?(?:é|e|eh)\s+|"
    # "Não, é Maria Lima": a full name right after a "não" (the confirmation's correction)
    r"^\W*n[aã]o\W+(?:(?:é|e|eh)\s+)?(?=(?-i:[A-ZÀ-Ý][a-zà-ÿ]+\s+(?:d[aeo]s?\s+)?[A-ZÀ-Ý])))\s*",
    re.IGNORECASE,
)
_NAME_STOP = {
    "e", "meu", "minha", "cpf", "nasci", "nascido", "nascida", "tenho", "quero", "sou", "mes",
    "aniversario", "faco", "estou", "com", "para", "pra", "que", "mas", "ok", "e-mail", "email",
    "data", "nascimento", "numero", "to", "ta", "aqui", "o", "a", "segue", "meus", "dados",
}
_NAME_PARTICLES = {"da", "de", "do", "das", "dos"}
_COMMON_WORDS = {
    "sim", "nao", "oi", "ola", "ok", "quero", "obrigado", "obrigada", "tchau", "bom", "boa", "dia",
    "tarde", "noite", "tudo", "bem", "beleza", "valeu", "pronto", "isso", "certo", "errado",
    "atendente", "fgts", "saque", "aniversario", "antecipar", "antecipacao", "como", "qual",
    "quando", "quanto", "porque", "voce", "vc", "aceito", "autorizo", "cancelar", "pode", "claro",
    "legal", "show", "top", "blz", "kkk", "rsrs", "ajuda", "dinheiro", "banco", "robo", "humano",
    "pessoa", "golpe", "taxa", "juros", "senha", "hoje", "agora", "depois", "ainda", "mais",
    # complaint words: "isso é um absurdo, vou no procon" is not a name
    "vou", "vai", "no", "na", "absurdo", "procon", "reclamar", "reclamacao",
} | set(MONTHS)


def _clean_name(words: list[str]) -> str | None:
    kept: list[str] = []
    for word in words:
        key = strip_accents(word.lower())
        if key in _NAME_STOP:
            break
        kept.append(word)
        if len(kept) == 6:
            break
    while kept and strip_accents(kept[-1].lower()) in _NAME_PARTICLES:
        kept.pop()
    if not kept or not any(len(w) >= 2 for w in kept):
        return None
    if all(strip_accents(w.lower()) in _COMMON_WORDS for w in kept):
        return None
    name = " ".join(w.lower() if w.lower() in _NAME_PARTICLES else name_rules.capitalize(w) for w in kept)
    # A pronoun, an insult or a verb is not part of a name ("Vocês!", "vocês são uns ladrões").
    return name if name_rules.problem(name) is None else None


# "Francisco Sousa aqui", "bom dia! Maria aqui 😊": a capitalised name right before a final "aqui".
_NAME_HERE = re.compile(
    r"(?:^|[,.!;:]\s*|\b(?:oi|ola|olá|bom dia|boa tarde|boa noite)\W+)"
    r"((?-i:[A-ZÀ-Ý][a-zà-ÿ']+)(?:\s+(?:d[aeo]s?\s+)?(?-i:[A-ZÀ-Ý][a-zà-ÿ']+)){0,5})\s+aqui\b\W*$",
    re.IGNORECASE)


def _find_name(text: str, expecting: str | None) -> str | None:
    here = _NAME_HERE.search(text.strip())
    if here:
        found = name_rules.normalize(here.group(1))
        if found:
            return found
    match = _NAME_CUE.search(text)
    if match:
        rest = re.split(r"[,.;!?\n\d]", text[match.end() :])[0]
        if text[match.end():].lstrip().startswith(rest.strip()) and "?" in text[match.end():][:len(rest) + 2]:
            return None  # "isso aqui é confiável?": a question, not "aqui é <name>"
        return _clean_name(re.findall(r"[A-Za-zÀ-ÿ']+", rest))
    if expecting == "name":
        text = name_rules.strip_decoration(text)  # "“Maria”", "Maria Souza 😊"
        text = re.sub(r"^\s*(?:é|eh)\s+(?:o\s+|a\s+)?(?=[A-Za-zÀ-ÿ]{2})", "", text, flags=re.IGNORECASE)  # "é a Ana"
        # A bare answer to "qual é o seu nome completo?": 1–6 words, letters only, no common words —
        # the whole message, or one part of a list separated by commas, lines or numbers
        # ("Ana Lima, 123..., julho", "Ana Lima 073.602.846-35 julho").
        separators = r"[,;\n]|\d[\d.\-/ ]*\d|\d"
        parts = [text, *re.split(separators, text)] if re.search(r"[,;\n\d]", text) else [text]
        for part in parts:
            words = part.strip().strip(".!?…").split()
            # Words of two letters or more; an initial ("Maria S.") after the first word.
            if not (1 <= len(words) <= 6 and re.fullmatch(r"[A-Za-zÀ-ÿ']{2,}", words[0])
                    and all(re.fullmatch(r"[A-Za-zÀ-ÿ']{2,}|[A-ZÀ-Ý]\.?", w) for w in words[1:])):
                continue
            keys = [_squeeze(strip_accents(w.lower())) for w in words]
            # "Debora Nunes cpf 529…": a full name, then the next datum's cue word — the name ends there.
            cut = next((i for i, k in enumerate(keys) if k in _NAME_STOP), None)
            if cut is not None and cut >= 2 and part is not text:
                words, keys = words[:cut], keys[:cut]
            if len(words) == 1 and (len(keys[0]) < 3 or part is not text):
                continue
            if keys[0] in MONTHS:
                continue
            if not any(k in _COMMON_WORDS or k in _NAME_STOP for k in keys):
                return _clean_name(words)
    return None


_BIRTH_CUE = re.compile(r"nasc|aniversario|niver|faco anos|sou de|mes\b|data de", re.IGNORECASE)
_DATE_WORDS = re.compile(
    r"(?<!\d)(\d{1,2})\s+de\s+(" + "|".join(MONTHS) + r")(?:\s+de\s+(\d{4}))?", re.IGNORECASE
)


def _month_word(word: str) -> int | None:
    """``"julho"`` → 7, and stretched ones too: ``"marcooo"``, ``"agostoooo"`` (accent-free words)."""
    for candidate in (word, _squeeze(word)):
        if candidate in MONTHS:
            return MONTHS.index(candidate) + 1
    return None


def _impossible_dates(plain: str) -> tuple[str, ...]:
    """Birth-date-looking dates the calendar does not have ("31/02/1990", "30/02/85"), as typed."""
    found = []
    for match in _DATE.finditer(plain):
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if year < 100:
            year += 1900 if year > date.today().year % 100 else 2000
        if not 1900 <= year <= date.today().year:
            continue
        try:
            date(year, month, day)
        except ValueError:
            found.append(match.group(0))
    return tuple(found)


def _birth(plain: str, expecting: str | None) -> tuple[int | None, str | None]:
    """(birth month, ISO birth date) from accent-free lowercase text."""
    for match in _DATE.finditer(plain):
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if year < 100:
            year += 1900 if year > date.today().year % 100 else 2000
        try:
            born = date(year, month, day)
        except ValueError:
            continue
        # A birth date: people who have an FGTS account are at least 14 (apprentices); a date
        # in the future or this year is something else (e.g. "Data prevista 01/06/2026").
        if 1900 <= year <= date.today().year - 14:
            return month, born.isoformat()
    for match in _DATE_WORDS.finditer(plain):
        month = MONTHS.index(match.group(2)) + 1
        if match.group(3):
            try:
                return month, date(int(match.group(3)), month, int(match.group(1))).isoformat()
            except ValueError:
                pass
        return month, None
    words = re.findall(r"[a-z]+|\d+", plain)
    cue = bool(_BIRTH_CUE.search(plain)) or expecting == "birth_month"
    if expecting and not cue:
        # While collecting data, a month standing alone in a list ("Ana, 123..., julho") is the birth month.
        # Numbers separate list items too ("Ana Lima 073.602.846-35 julho").
        cue = any(_month_word(part.strip()) for part in re.split(r"[,;\n]|\d[\d.\-/ ]*\d|\d", plain))
    for word in words:
        if (named := _month_word(word)) and (cue or len(words) <= 2):
            return named, None
    number = re.search(r"(?:mes|mês)\s*(?:de\s*)?(\d{1,2})\b", plain)
    if number and cue and 1 <= int(number.group(1)) <= 12:
        return int(number.group(1)), None
    if expecting == "birth_month" and re.fullmatch(r"\s*(\d{1,2})\s*", plain):
        value = int(plain)
        if 1 <= value <= 12:
            return value, None
    return None, None


_CORRECTION = re.compile(r"\b(?:errei|na verdade|na vdd|na real|o certo|certo e|corrig\w*|correcao|quis dizer|digo|mes|nasci)\b")
_NOT_MONTH = re.compile(r"\bnao\s+(?:e\s+|eh\s+|foi\s+|era\s+)?(?:em\s+|de\s+)?(" + "|".join(MONTHS) + r")\b")


def _correction_month(plain: str) -> int | None:
    """The month in a short correction ("na verdade é agosto", "errei, é 08", "o mês é 8")."""
    words = re.findall(r"[a-z]+|\d+", plain)
    months = [w for w in words if w in MONTHS]
    denied = set(_NOT_MONTH.findall(plain))  # "é agosto, não junho", "não é junho, é agosto"
    if denied and len(set(months) - denied) == 1 and len(words) <= 8:
        return MONTHS.index(next(iter(set(months) - denied))) + 1
    if len(set(months)) == 1 and not denied and "nao" in words and len(words) <= 5:
        return MONTHS.index(months[0]) + 1  # "não, é agosto"
    if not _CORRECTION.search(plain) or len(words) > 7:
        return None
    for word in months:
        return MONTHS.index(word) + 1
    numbers = [int(w) for w in words if w.isdigit() and len(w) <= 2]
    if len(numbers) == 1 and 1 <= numbers[0] <= 12 and len([w for w in words if w.isdigit()]) == 1:
        return numbers[0]
    return None


_YES = {"sim", "s", "isso", "correto", "certo", "certinho", "exato", "exatamente", "confirmo",
        "confirmado", "pode", "claro", "ok", "okay", "beleza", "blz", "uhum", "aham", "positivo",
        "yes", "perfeito", "pronto", "prontinho", "bora"}
# Not "no": in Portuguese it is "in the" ("fiz no app").
_NO = {"nao", "n", "naum", "nn", "errado", "incorreto", "negativo", "nope", "nada", "nem"}


def _confirmation(plain: str) -> str | None:
    for word in re.findall(r"[a-z]+", plain):
        word = _squeeze(word)
        if word in _NO:
            return "no"
        if word in _YES:
            return "yes"
    return None


_MONEY = re.compile(r"(?:r\$\s*)(\d[\d.,]*)\s*(mil|k)?|(\d[\d.,]*)\s*(mil|k)?\s*(?:reais|de saldo|no fgts)")


def parse_brl(number: str, thousands: bool = False) -> float | None:
    """Parse "3.500,00", "3500", "3,5" (+ "mil") the Brazilian way."""
    text = number.strip(".,")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value * 1000 if thousands else value


def _balance(plain: str) -> float | None:
    if "saldo" not in plain and "r$" not in plain and "fgts" not in plain:
        return None
    for match in _MONEY.finditer(plain):
        number = match.group(1) or match.group(3)
        value = parse_brl(number, bool(match.group(2) or match.group(4)))
        if value is not None:
            return value
    found = re.search(r"saldo\D{0,20}(\d[\d.,]*)\s*(mil|k)?", plain)
    if found:
        return parse_brl(found.group(1), bool(found.group(2)))
    return None


def _find_emails(text: str, expecting: bool) -> tuple[list[EmailCandidate], str]:
    """E-mail candidates in ``text`` (typed or dictated) and the text with them blanked out."""
    spoken = email_rules.spoken_to_symbols(text)
    source = spoken if spoken != text else text
    found: list[EmailCandidate] = []
    blanked = source
    for raw, (start, end) in email_rules.find(source, expecting=expecting):
        address = email_rules.normalize(raw)
        reason = email_rules.problem(address)
        found.append(EmailCandidate(raw, address, reason is None, reason or "ok"))
        blanked = blanked[:start] + " " * (end - start) + blanked[end:]
    return found, blanked


def extract(text: str, expecting: str | None = None) -> Extraction:
    """Extract CPF, name, birth month/date, yes/no, balance and e-mail from one message.

    ``expecting`` is the attribute the agent just asked for ("name", "cpf", "birth_month", "email");
    it lets a bare answer ("Maria Souza", "5") count without a cue word.
    """
    emails, without_emails = _find_emails(text, expecting == "email")
    if emails:
        # The address is read; its letters and digits must not pass for a name, a CPF or a "não".
        text = without_emails
    converted = words_to_digits(text)
    plain = words_to_digits(strip_accents(text.lower()))
    # Dates go first so "12/05/1990" never looks like part of a CPF.
    birth_month, birth_date = _birth(plain, expecting)
    no_dates = _DATE.sub(lambda m: " " * len(m.group(0)), converted)
    candidates, spans = _find_cpfs(no_dates, expecting)
    candidates = _with_concerns(no_dates, candidates, spans)
    valid = next((c.digits for c in candidates if c.usable), None)
    rest = plain
    for start, end in spans:  # blank the CPF so its digits are not read as a balance or a month
        rest = rest[:start] + " " * (end - start) + rest[end:]
    if birth_month is None:
        birth_month, birth_date = _birth(rest, expecting)
    if birth_month is None:
        birth_month = _correction_month(_DATE.sub(" ", rest))
    return Extraction(
        name=_find_name(text, expecting),
        cpf=valid,
        cpf_candidates=tuple(candidates),
        birth_month=birth_month,
        birth_date=birth_date,
        confirmation=_confirmation(rest),
        balance=_balance(_DATE.sub(" ", rest)),
        email=next((c.address for c in emails if c.valid), None),
        email_candidates=tuple(emails),
        invalid_dates=_impossible_dates(plain) if birth_month is None else (),
    )


# -- both together -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NluResult:
    """Intent and extraction for one message."""

    text: str
    intent: IntentResult
    extraction: Extraction


def analyze(text: str, *, expecting: str | None = None, pack_dir: str | Path | None = None) -> NluResult:
    """Classify and extract in one call."""
    return NluResult(text, classify(text, pack_dir), extract(text, expecting))
