"""RAG over the pack's knowledge docs (``knowledge/*.md``).

Each FAQ entry is ``## question {#faq_id}``, an optional ``Também perguntam:`` line (phrasings
customers use, indexed with the question) and the answer. Entries are indexed one by one in
SQLite FTS5 (unicode61, remove_diacritics, prefix queries) with BM25 column weights; when an
embedding function is given, BM25 and cosine rankings are fused (reciprocal rank fusion).
litellm is not imported here: the caller passes ``embed`` (texts → vectors), e.g. via the gateway.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import ConversaError
from agent.brain.nlu import normalize

from agent.config import DEFAULT_PACK_DIR  # noqa: E402
Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]

_HEADING = re.compile(r"^##\s+(?P<question>.+?)\s*(?:\{#(?P<id>[a-z0-9][a-z0-9_-]*)\})?\s*$")
_ALSO = re.compile(r"^Também perguntam:\s*(.+)$", re.IGNORECASE)
# Words that carry no topic; question words (quando/quanto/como) are kept on purpose because
# "quando recebo" and "quanto recebo" are different FAQ entries.
_STOPWORDS = frozenset(
    "o a os as um uma uns umas de do da dos das em no na nos nas e que para por com se eu meu "
    "minha meus minhas me mim voce voces ele ela isso esse essa este esta estou ao aos ja tem ter "
    "sou ser ou mais muito ai la so ate pelo pela sobre tenho fazer faco vou vai queria quero "
    "gostaria saber sim ola oi entao tipo aqui algum alguma porque qual quais".split()
)
_SUFFIXES = ("coes", "cao", "mente", "ando", "endo", "indo", "ados", "adas", "idos", "idas", "ado",
             "ada", "ido", "ida", "ar", "er", "ir", "as", "es", "os", "a", "e", "o", "s")


class KnowledgeError(ConversaError):
    """The knowledge docs cannot be read or indexed."""


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry of the knowledge docs."""

    faq_id: str
    question: str
    answer: str
    alternates: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Passage:
    """A retrieved FAQ entry with its score (higher is better) and rank (1 = best)."""

    faq_id: str
    question: str
    answer: str
    score: float
    rank: int
    source: str = ""


def slugify(text: str) -> str:
    """ASCII slug of a question, used when an entry has no ``{#faq_id}``."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60]


def parse_markdown(text: str, source: str = "") -> list[FaqEntry]:
    """Split a knowledge document into entries (text before the first ``##`` is ignored)."""
    entries: list[FaqEntry] = []
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None:
            answer = "\n".join(current["lines"]).strip()
            if not answer:
                raise KnowledgeError(f"{source}: entry {current['question']!r} has no answer")
            entries.append(FaqEntry(current["id"], current["question"], answer,
                                    tuple(current["also"]), source))

    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            question = heading.group("question")
            current = {"id": heading.group("id") or slugify(question), "question": question,
                       "also": [], "lines": []}
            continue
        if current is None:
            continue
        also = _ALSO.match(line.strip())
        if also and not current["lines"]:
            current["also"].extend(p.strip() for p in also.group(1).split(";") if p.strip())
        else:
            current["lines"].append(line)
    flush()
    return entries


def load_entries(pack_dir: str | Path | None = None) -> list[FaqEntry]:
    """All FAQ entries of a pack's ``knowledge/*.md``, in file order; ids must be unique."""
    folder = Path(pack_dir or DEFAULT_PACK_DIR) / "knowledge"
    if not folder.is_dir():
        raise KnowledgeError(f"{folder} not found: a pack keeps its FAQ in knowledge/*.md")
    entries = [e for path in sorted(folder.glob("*.md"))
               for e in parse_markdown(path.read_text(encoding="utf-8"), path.name)]
    seen: set[str] = set()
    for entry in entries:
        if entry.faq_id in seen:
            raise KnowledgeError(f"{folder}: faq_id {entry.faq_id!r} is used twice; ids must be unique")
        seen.add(entry.faq_id)
    return entries


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """Normalised, stop-word-free stems of a query (shown in traces to explain a retrieval)."""
    words = [w for w in normalize(query).split() if w not in _STOPWORDS and len(w) >= 2]
    return sorted({_stem(w) for w in words})


def _trigrams(text: str) -> frozenset[str]:
    padded = f"  {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class KnowledgeBase:
    """An FTS5 index over FAQ entries, with optional embedding-based hybrid ranking."""

    # Question and customer phrasings describe what an entry is about; the answer only supports.
    WEIGHTS = (0.0, 4.0, 2.5, 1.0)
    RRF_K = 60

    def __init__(self, entries: Sequence[FaqEntry], embed: Embed | None = None) -> None:
        if not entries:
            raise KnowledgeError("no FAQ entries to index")
        self.entries = tuple(entries)
        self.embed = embed
        self._vectors: list[Sequence[float]] | None = None
        self._phrases: list[list[frozenset[str]]] | None = None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE faq USING fts5(faq_id UNINDEXED, question, alternates, answer, "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        self._db.executemany(
            "INSERT INTO faq(rowid, faq_id, question, alternates, answer) VALUES (?, ?, ?, ?, ?)",
            [(i, e.faq_id, normalize(e.question), normalize(" ; ".join(e.alternates)),
              normalize(e.answer)) for i, e in enumerate(self.entries)],
        )

    def get(self, faq_id: str) -> FaqEntry:
        """The entry ``faq_id``."""
        for entry in self.entries:
            if entry.faq_id == faq_id:
                return entry
        raise KnowledgeError(f"no FAQ entry {faq_id!r}")

    def _bm25(self, query: str, limit: int) -> list[tuple[int, float]]:
        terms = query_terms(query)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"*' for t in terms)
        with self._lock:
            rows = self._db.execute(
                f"SELECT rowid, -bm25(faq, {', '.join(map(str, self.WEIGHTS))}) AS s FROM faq "
                "WHERE faq MATCH ? ORDER BY s DESC LIMIT ?",
                (match, limit),
            ).fetchall()
        # BM25 ignores terms every entry shares ("saque-aniversário"), so "o que é o saque-aniversário?"
        # ties across entries; closeness of the whole phrasing to the entry's questions breaks it.
        shaped = [(int(r), float(s) + self.PHRASE_WEIGHT * self._phrase_similarity(query, int(r))) for r, s in rows]
        return sorted(shaped, key=lambda p: p[1], reverse=True)

    PHRASE_WEIGHT = 5.0

    def _phrase_similarity(self, query: str, index: int) -> float:
        if self._phrases is None:
            self._phrases = [[_trigrams(normalize(q)) for q in (e.question, *e.alternates)] for e in self.entries]
        grams = _trigrams(normalize(query))
        if not grams:
            return 0.0
        return max((len(grams & p) / len(grams | p) for p in self._phrases[index] if p), default=0.0)

    def _dense(self, query: str) -> list[tuple[int, float]]:
        assert self.embed is not None
        with self._lock:
            if self._vectors is None:  # embed the corpus once, on first use
                texts = [f"{e.question}\n{'; '.join(e.alternates)}\n{e.answer}" for e in self.entries]
                self._vectors = list(self.embed(texts))
        vector = self.embed([query])[0]
        scored = [(i, _cosine(vector, v)) for i, v in enumerate(self._vectors)]
        return sorted(scored, key=lambda p: p[1], reverse=True)

    def search(self, query: str, k: int = 3, min_score: float = 0.0) -> list[Passage]:
        """Top-``k`` passages for ``query`` (BM25, or BM25 ⊕ embeddings when ``embed`` is set)."""
        lexical = self._bm25(query, limit=max(k * 4, 10))
        if self.embed is None:
            ranked = lexical
        else:
            fused: dict[int, float] = {}
            for ranking in (lexical, self._dense(query)):
                for position, (i, _) in enumerate(ranking):
                    fused[i] = fused.get(i, 0.0) + 1.0 / (self.RRF_K + position + 1)
            ranked = sorted(fused.items(), key=lambda p: p[1], reverse=True)
        passages: list[Passage] = []
        for i, score in ranked:
            if score < min_score or len(passages) == k:
                continue
            e = self.entries[i]
            passages.append(Passage(e.faq_id, e.question, e.answer, round(score, 6),
                                    len(passages) + 1, e.source))
        return passages


_cache: dict[tuple[Path, tuple[tuple[str, int, int], ...], Embed | None], KnowledgeBase] = {}
_cache_lock = threading.Lock()


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.md")))


def load_knowledge(pack_dir: str | Path | None = None, embed: Embed | None = None) -> KnowledgeBase:
    """The pack's knowledge base, indexed once per process (re-indexed when a doc changes)."""
    directory = Path(pack_dir or DEFAULT_PACK_DIR).resolve()
    key = (directory, _fingerprint(directory / "knowledge") if (directory / "knowledge").is_dir()
           else (), embed)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = KnowledgeBase(load_entries(directory), embed=embed)
        return _cache[key]


def search(query: str, k: int = 3, pack_dir: str | Path | None = None,
           embed: Embed | None = None) -> list[Passage]:
    """Top-``k`` FAQ passages of the pack for ``query``."""
    return load_knowledge(pack_dir, embed).search(query, k)


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages as text for ``doc_search_context.txt``'s ``$passages``."""
    if not passages:
        return "(nenhum trecho encontrado)"
    return "\n\n".join(f"[{p.rank}] {p.question} (faq_id: {p.faq_id})\n{p.answer}" for p in passages)
