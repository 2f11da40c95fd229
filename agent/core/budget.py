"""The prompt diet: tokens per prompt section, and a token budget per role with trimming strategies.

A *section* is a template variable mapped to a label (``history``, ``retrieved docs``, ``examples``,
``intent menu``, ``customer message``, the rest ``other variables``) plus ``instructions``: the prompt file's own text
(pack globals such as the agent's name included) and the chat framing. Tokens are counted offline with
the tiktoken encoding the ``local/rules`` provider reports usage with, so the sections of a local call
add up to its recorded input tokens.

The budget is pack data (``prompt_budget:`` in pack.yaml): role → ``max_tokens`` and the trims tried, in
order, while a rendered prompt is over it — a shorter history window, the top-k retrieved docs, a short
deterministic summary of earlier turns, and an optional LLMLingua-2 compressor used only when the
``llmlingua`` package and a local model folder are both present (nothing is downloaded).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.core.prompts import _Template

# The encoding ``agent.adapters.providers.local`` counts usage with (bundled with litellm: no download).
ENCODING = "cl100k_base"
# Chat framing per message and per reply, as the local provider (and OpenAI chat models) count it.
PER_MESSAGE, PER_REPLY = 4, 3

INSTRUCTIONS = "instructions"
OTHER = "other variables"
CUSTOMER = "customer message"
SECTION_LABELS: Mapping[str, str] = {
    "history": "history",
    "retrieved_docs": "retrieved docs",
    "passages": "retrieved docs",
    "documents": "retrieved docs",
    "examples": "examples",
    "intents": "intent menu",
    "customer_message": CUSTOMER,
}
SECTION_ORDER = (INSTRUCTIONS, "history", "retrieved docs", "examples", "intent menu", CUSTOMER, OTHER)
BUDGET_KEYS = frozenset({"max_tokens", "history_turns", "top_k_docs", "summarize_earlier_turns", "compressor"})
COMPRESSOR_KEYS = frozenset({"model_dir", "rate"})
COMPRESSOR_ENV = "LLMLINGUA_MODEL_DIR"


class BudgetError(ValueError):
    """A ``prompt_budget`` entry in pack.yaml cannot be used."""


@dataclass(frozen=True)
class Compressor:
    """LLMLingua-2 settings: a local model folder (or ``LLMLINGUA_MODEL_DIR``) and the rate kept."""

    model_dir: str = ""
    rate: float = 0.5


@dataclass(frozen=True)
class RoleBudget:
    """The token budget of one role's prompts and the trims allowed to meet it (``None``: not that trim)."""

    max_tokens: int
    history_turns: int | None = None
    top_k_docs: int | None = None
    summarize_earlier_turns: bool = False
    compressor: Compressor | None = None


# ---------------------------------------------------------------------- parsing


def parse_budget(raw: Any, where: str = "pack.yaml") -> dict[str, RoleBudget]:
    """``prompt_budget:`` of a pack: ``{role: RoleBudget}``; a bad value raises :class:`BudgetError`."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise BudgetError(f"{where}: prompt_budget must map a role to its budget, e.g. "
                          "prompt_budget: {conversation: {max_tokens: 1200}}")
    return {str(role): _role_budget(spec, f"{where}: prompt_budget.{role}") for role, spec in raw.items()}


def _role_budget(spec: Any, where: str) -> RoleBudget:
    spec = _mapping_of(spec, BUDGET_KEYS, where, "a mapping with max_tokens (and optional trims)")
    if "max_tokens" not in spec:
        raise BudgetError(f"{where}: max_tokens is required (a whole number of tokens, e.g. 1200)")
    summarize = spec.get("summarize_earlier_turns", False)
    if not isinstance(summarize, bool):
        raise BudgetError(f"{where}.summarize_earlier_turns must be true or false, not {summarize!r}")
    return RoleBudget(
        max_tokens=_whole(spec["max_tokens"], f"{where}.max_tokens", minimum=1),
        history_turns=None if spec.get("history_turns") is None else
        _whole(spec["history_turns"], f"{where}.history_turns", minimum=0),
        top_k_docs=None if spec.get("top_k_docs") is None else _whole(spec["top_k_docs"], f"{where}.top_k_docs",
                                                                        minimum=0),
        summarize_earlier_turns=summarize,
        compressor=None if spec.get("compressor") is None else _compressor(spec["compressor"], f"{where}.compressor"),
    )


def _mapping_of(spec: Any, known: Any, where: str, shape: str) -> Mapping[str, Any]:
    """``spec`` as a mapping with only ``known`` keys, else a BudgetError saying where and what is expected."""
    if not isinstance(spec, Mapping):
        raise BudgetError(f"{where} must be {shape}")
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise BudgetError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return spec


def _whole(value: Any, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BudgetError(f"{where} must be a whole number ≥ {minimum}, not {value!r}")
    return value


def _compressor(spec: Any, where: str) -> Compressor:
    spec = _mapping_of(spec, COMPRESSOR_KEYS, where, "a mapping: {model_dir: <local folder>, rate: 0.5}")
    rate = spec.get("rate", 0.5)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        raise BudgetError(f"{where}.rate must be a number in (0, 1], the share of tokens kept, not {rate!r}")
    return Compressor(str(spec.get("model_dir") or ""), float(rate))


# ---------------------------------------------------------------------- counting


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import agent.adapters.offline  # noqa: F401  (tiktoken reads the BPE files bundled with litellm)
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


# Where a text can be cut without changing its token count: after a line break, before a letter. The encoding
# first splits a text into pieces with a regular expression and encodes each piece alone; a piece never runs
# from a line break into a letter (whitespace pieces end at the break, word pieces never begin with one), so
# the count of a text is the sum of its lines' counts — and lines repeat from prompt to prompt (instructions,
# the intent menu, the history), each is encoded once.
_LINE_START = re.compile(r"(?<=\n)(?=[A-Za-z])")


@lru_cache(maxsize=512)  # a turn's calls share their history, instructions and docs: each is counted once
def count_tokens(text: str) -> int:
    """Tokens of ``text`` (offline, the local provider's encoding)."""
    if not text:
        return 0
    return sum(_count_lines(chunk) for chunk in _LINE_START.split(text)) if "\n" in text else _count_lines(text)


@lru_cache(maxsize=8192)
def _count_lines(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def message_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Input tokens of a chat request, framing included (as the local provider reports them)."""
    return sum(count_tokens(str(m.get("content") or "")) + PER_MESSAGE for m in messages) + PER_REPLY


def prompt_sections(template: str, values: Mapping[str, Any], explicit: Sequence[str] = (),
                    extra_messages: Sequence[Mapping[str, Any]] = ()) -> dict[str, int]:
    """Tokens per section of ``template`` rendered with ``values``. Variables in ``explicit`` are sections;
    the others (pack globals) read as part of the instructions. Extra user messages are the customer's."""
    literal: list[str] = []
    sections: dict[str, int] = {}
    position = 0
    for match in _Template.pattern.finditer(template):
        literal.append(template[position:match.start()])
        position = match.end()
        name = match.group("named") or match.group("braced")
        if match.group("escaped"):
            literal.append("$")
        elif name is None:
            literal.append(match.group(0))
        elif name in explicit:
            label = SECTION_LABELS.get(name, OTHER)
            sections[label] = sections.get(label, 0) + count_tokens(_text(values.get(name)))
        else:
            literal.append(_text(values.get(name)))
    literal.append(template[position:])
    sections[INSTRUCTIONS] = count_tokens("".join(literal)) + PER_MESSAGE + PER_REPLY
    for message in extra_messages:
        label = CUSTOMER if message.get("role") == "user" else OTHER
        sections[label] = sections.get(label, 0) + count_tokens(str(message.get("content") or "")) + PER_MESSAGE
    return {label: sections[label] for label in SECTION_ORDER if label in sections}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------- trims


def summary_of_turns(step: str, captured: Sequence[str], customer_lines: Sequence[str]) -> str:
    """A short deterministic stand-in for earlier turns: the step reached, which data were captured (names
    only: no personal values) and the customer's last lines."""
    head = f"(resumo das mensagens anteriores) etapa: {step or '?'}; dados já capturados: " \
           f"{', '.join(captured) or 'nenhum'}."
    return "\n".join([head, *(f"Cliente: {line}" for line in customer_lines)])


def compressor_dir(compressor: Compressor, env: Mapping[str, str]) -> str:
    """The local model folder: ``LLMLINGUA_MODEL_DIR`` wins over the pack's ``model_dir``."""
    return env.get(COMPRESSOR_ENV) or compressor.model_dir


def compressor_unavailable(compressor: Compressor, env: Mapping[str, str]) -> str | None:
    """Why the compressor cannot run here (None: it can). Never downloads anything."""
    if importlib.util.find_spec("llmlingua") is None:
        return "compressor skipped: llmlingua is not installed"
    folder = compressor_dir(compressor, env)
    if not folder:
        return f"compressor skipped: no local model folder (compressor.model_dir or {COMPRESSOR_ENV})"
    if not Path(folder).is_dir():
        return f"compressor skipped: model folder {folder} not found"
    return None


def compress(text: str, compressor: Compressor, env: Mapping[str, str]) -> str:
    """``text`` compressed by LLMLingua-2 from the local model folder (call only when available)."""
    return str(_llmlingua(compressor_dir(compressor, env)).compress_prompt(
        text, rate=compressor.rate, force_tokens=["\n"])["compressed_prompt"])


@lru_cache(maxsize=2)
def _llmlingua(folder: str) -> Any:  # pragma: no cover  (optional extra: needs llmlingua and a local model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder only: never reach the Hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from llmlingua import PromptCompressor  # type: ignore[import-not-found]

    return PromptCompressor(model_name=folder, use_llmlingua2=True, device_map="cpu")
