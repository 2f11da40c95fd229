"""The fine-tuning dataset (the deck's DESAFIO 4): approved conversations as OpenAI chat fine-tuning JSONL.

One line per approved conversation of the settings' pack::

    {"messages": [{"role": "system", "content": <the conversation prompt as the trace rendered it>},
                  {"role": "user", "content": …},
                  {"role": "assistant", "content": null, "tool_calls": [{"id", "type": "function",
                                                                         "function": {"name", "arguments"}}]},
                  {"role": "tool", "tool_call_id": …, "content": <the API's answer, JSON>},
                  {"role": "assistant", "content": …}, …],
     "tools": [<the pack's tool declarations>]}

The turns come from the stored messages (a burst is one user message), the tool calls from the traces,
and a reviewer's corrected reply replaces the agent's. The deck's rules: at least 100 audited conversations
(:class:`FinetuneTooSmall` below that unless ``allow_small``), and a mix of conversations that completed
the journey, that the customer aborted and that ended in a refusal (each category's count is reported and
a missing one is warned about; the categories are :mod:`agent.audit`'s outcomes).

**Personal data.** Every line is pseudonymised with synthetic values, under a key drawn for this export and
the chat id (the same real value gets the same synthetic one within a conversation, another one in the
next conversation and in the next export): the captured attributes the pack marks ``pii`` — a CPF becomes
another CPF with valid check digits (``agent.br.cpf``), an e-mail, phone… their ``agent.privacy``
pseudonym, a name a synthetic name (``agent.br.synthetic``) — wherever they appear (the customer's words,
the agent's replies, the system prompt, tool arguments and results; a masked form becomes the mask of the
synthetic value, and in the customer's own words the full synthetic value, as the customer typed it); then
``agent.privacy.pseudonymise`` replaces any other identifier the detectors find, and the digits left in
other masked values are replaced too. A name the customer typed that was never captured as an attribute
cannot be found (no detector knows names).

Tokens are counted offline with tiktoken's o200k_base (the GPT-4o family's; the BPE files litellm ships),
and the training cost is the dated price in ``agent/adapters/data/prices.yaml`` (``finetuning:``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.adapters.pricing import TrainingPrice, training_prices
from agent.adapters.reviews import Review
from agent.adapters.store import Store
from agent.audit import ConversationRow, conversations, reviews
from agent.br import cpf as cpf_rules
from agent.br.cpf import MASK_CHAR
from agent.br.synthetic import synthetic_name
from agent.config import Settings
from agent.core.pack import Pack, get_pack
from agent.core.trace import TurnTrace
from agent.errors import ConversaError
from agent.privacy import find_pii, pseudonymise

MIN_AUDITED = 100  # the deck: "Base com mínimo de 100 conversas auditadas e validadas"
REQUIRED_MIX: tuple[str, ...] = ("completed", "aborted", "refusal")
MIX_LABELS = {"completed": "completed the journey", "aborted": "aborted by the customer",
              "refusal": "ended in a refusal", "handoff": "handed to a person"}
ROLES = ("system", "user", "assistant", "tool")
DEFAULT_MODEL = "gpt-4o-mini"


class FinetuneTooSmall(ConversaError):
    """Fewer approved conversations than the deck's minimum, and ``allow_small`` was not given."""


@dataclass(frozen=True)
class FinetuneReport:
    """What an export wrote: examples, the mix, tokens, the estimated training cost, warnings."""

    path: Path
    approved: int
    examples: int
    mix: Mapping[str, int]
    tokens: int
    price: TrainingPrice
    epochs: int
    estimated_cost_usd: Decimal
    warnings: tuple[str, ...] = ()
    skipped: tuple[tuple[int, str], ...] = ()
    problems: tuple[str, ...] = ()  # validate_finetune_file's, on the written file (empty: valid)

    def lines(self) -> list[str]:
        """The report as short lines (the CLI prints them; the page can too)."""
        mix = ", ".join(f"{MIX_LABELS.get(k, k)}: {v}" for k, v in self.mix.items())
        out = [f"wrote {self.examples} example(s) from {self.approved} approved conversation(s) to {self.path}",
               f"mix: {mix}",
               f"tokens: {self.tokens:,} (o200k_base, offline) × {self.epochs} epoch(s) = "
               f"{self.tokens * self.epochs:,} training tokens",
               f"estimated training cost: US$ {self.estimated_cost_usd:.4f} on {self.price.label} "
               f"(US$ {self.price.per_mtok}/1M training tokens, as of {self.price.as_of}, {self.price.source})"]
        out += [f"skipped chat #{chat_id}: {why}" for chat_id, why in self.skipped]
        out += [f"[aviso] {w}" for w in self.warnings]
        out += [f"[invalid] {p}" for p in self.problems]
        return out


# ---------------------------------------------------------------- pseudonyms of one conversation

_NAME_WORD = r"(?<![\wÀ-ÿ]){}(?![\wÀ-ÿ])"
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MASKED_RUN = re.compile(rf"[^\s\x00]*{MASK_CHAR}[^\s\x00]*")
_SLOT = re.compile("\x00(\\d+)\x00")


def _digest(key: bytes, label: str) -> bytes:
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()


class Pseudonyms:
    """The synthetic values of one conversation (``key``: this export's key for this chat)."""

    def __init__(self, pack: Pack, attributes: Mapping[str, Any], key: bytes) -> None:
        self.key = key
        # (pattern, replacement in the customer's words, in everything else, as a tool argument)
        self.rules: list[tuple[re.Pattern[str], str, str, str]] = []
        for name, raw in attributes.items():
            spec = pack.attributes.get(name)
            if spec is None or not spec.pii or raw in (None, "") or not isinstance(raw, str | int):
                continue
            self._add(pack, name, str(raw))
        self.rules.sort(key=lambda r: len(r[0].pattern), reverse=True)

    def _literal(self, real: str, user: str, shown: str, arg: str) -> None:
        if real and real != shown:
            self.rules.append((re.compile(re.escape(real)), user, shown, arg))

    def _add(self, pack: Pack, name: str, raw: str) -> None:
        masked = str(pack.mask_value(name, raw))
        found = find_pii(raw)
        if found and found[0].start == 0 and found[0].end == len(raw):
            synthetic = str(pseudonymise(raw, self.key))
            synthetic_masked = str(pack.mask_value(name, synthetic))
            full = cpf_rules.format_cpf(synthetic) if found[0].kind == "cpf" else synthetic
            self._literal(raw, synthetic, synthetic, synthetic)
            if found[0].kind == "cpf":
                self._literal(cpf_rules.format_cpf(raw), full, full, synthetic)
            if masked != raw:
                self._literal(masked, full, synthetic_masked, synthetic)
            return
        date = _DATE.match(raw)
        if date:
            d = _digest(self.key, f"date:{raw}")
            fake = f"{1950 + d[0] % 55}-{date.group(2)}-{1 + d[1] % 28:02d}"
            self._literal(raw, fake, fake, fake)
            year, month, day = date.groups()
            y, _, dd = fake.split("-")
            self._literal(f"{day}/{month}/{year}", f"{dd}/{month}/{y}", f"{dd}/{month}/{y}", fake)
            return
        if any(c.isdigit() for c in raw):  # another number: its digits replaced, the layout kept
            d = _digest(self.key, f"{name}:{raw}")
            fake = "".join(str(d[i % len(d)] % 10) if c.isdigit() else c for i, c in enumerate(raw))
            self._literal(raw, fake, fake, fake)
            return
        words = raw.split()
        fakes = synthetic_name(raw, self.key)
        whole = " ".join(fakes)
        self.rules.append((re.compile(_NAME_WORD.format(re.escape(raw)), re.IGNORECASE), whole, whole, whole))
        for word, fake in zip(words, fakes, strict=True):
            if word != fake and len(word) > 2:
                self.rules.append((re.compile(_NAME_WORD.format(re.escape(word)), re.IGNORECASE), fake, fake, fake))

    def text(self, value: str, where: str = "shown") -> str:
        """``value`` pseudonymised; ``where``: ``user`` (the customer's words: masks become full synthetic
        values), ``shown`` (replies, prompts, tool results: masks stay masks) or ``arg`` (a tool argument)."""
        if not value:
            return value
        out = str(pseudonymise(value, self.key))
        slots: list[str] = []

        def slot(replacement: str, original: str) -> str:
            if original.islower():
                replacement = replacement.lower()
            elif original.isupper() and len(original) > 1:
                replacement = replacement.upper()
            slots.append(replacement)
            return f"\x00{len(slots) - 1}\x00"

        which = {"user": 1, "shown": 2, "arg": 3}[where]
        for rule in self.rules:
            out = rule[0].sub(lambda m, r=rule: slot(r[which], m.group(0)), out)  # type: ignore[misc]
        out = _MASKED_RUN.sub(lambda m: self._digits(m.group(0)), out)
        return _SLOT.sub(lambda m: slots[int(m.group(1))], out)

    def _digits(self, run: str) -> str:
        """A masked value not captured as an attribute: its visible digits replaced (consistently)."""
        d = _digest(self.key, f"masked:{run}")
        return "".join(str(d[i % len(d)] % 10) if c.isdigit() else c for i, c in enumerate(run))

    def deep(self, value: Any, where: str = "shown") -> Any:
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, Mapping):
            return {k: self.deep(v, where) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v, where) for v in value]
        return value


def conversation_key(export_key: bytes, chat_id: int) -> bytes:
    """The pseudonym key of one conversation in one export."""
    return _digest(export_key, f"chat:{chat_id}")


# ---------------------------------------------------------------- one example


def _system_prompt(traces: Sequence[TurnTrace]) -> str | None:
    for trace in traces:
        for call in trace.calls:
            if call.role == "conversation":
                for message in call.rendered_messages:
                    if message.get("role") == "system" and message.get("content"):
                        return str(message["content"])
    return None


def _tool_turn(trace: TurnTrace, turn: int, names: Pseudonyms) -> list[dict[str, Any]]:
    calls, results = [], []
    for i, call in enumerate(trace.tool_calls):
        call_id = f"call_{turn}_{i}"
        args = {k: names.deep(v, "arg") for k, v in dict(call.args).items()}
        calls.append({"id": call_id, "type": "function",
                      "function": {"name": call.name, "arguments": json.dumps(args, ensure_ascii=False)}})
        payload = {"outcome": call.outcome, **({"data": names.deep(dict(call.data))} if call.data else {})}
        if call.error:
            payload["error"] = names.text(call.error)
        results.append({"role": "tool", "tool_call_id": call_id, "content": json.dumps(payload, ensure_ascii=False)})
    return [{"role": "assistant", "content": None, "tool_calls": calls}, *results] if calls else []


def build_example(pack: Pack, messages: Sequence[Mapping[str, Any]], traces: Mapping[int, TurnTrace],
                  corrections: Mapping[int, str], names: Pseudonyms) -> dict[str, Any]:
    """One conversation as a fine-tuning line (raises ValueError when it has nothing to learn from)."""
    system = _system_prompt(list(traces.values()))
    if system is None:
        raise ValueError("no conversation prompt in its traces (every reply was a fixed message)")
    out: list[dict[str, Any]] = [{"role": "system", "content": names.text(system)}]
    done_tools: set[int] = set()
    for index, message in enumerate(messages):
        role, turn = message["role"], (message.get("meta") or {}).get("turn")
        text = corrections.get(index, message["text"])
        if role == "customer":
            text = names.text(text, "user")
            if out[-1]["role"] == "user":
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": "user", "content": text})
            continue
        if role not in ("agent", "operator") or out[-1]["role"] == "system":
            continue  # system notes; an agent message before the customer's first one
        if isinstance(turn, int) and turn in traces and turn not in done_tools and out[-1]["role"] == "user":
            out += _tool_turn(traces[turn], turn, names)
            done_tools.add(turn)
        text = names.text(text)
        if out[-1]["role"] == "assistant" and out[-1].get("content"):
            out[-1]["content"] += "\n\n" + text
        else:
            out.append({"role": "assistant", "content": text})
    while out and out[-1]["role"] == "user":
        out.pop()  # the customer's last words went unanswered: an example ends with the agent
    if len(out) < 3:
        raise ValueError("no answered customer message")
    example: dict[str, Any] = {"messages": out}
    if any(m.get("tool_calls") for m in out) and len(pack.tools):
        example["tools"] = pack.tools.schemas()
    return example


# ---------------------------------------------------------------- counting, validating


def count_tokens(example: Mapping[str, Any]) -> int:
    """Tokens of one example as OpenAI's cookbook counts a chat (3 per message + 3, contents, tool calls)."""
    from agent.analytics.prompt_versions import count_tokens_offline

    total = 3
    for message in example.get("messages") or ():
        total += 3 + count_tokens_offline(str(message.get("content") or ""))
        if message.get("tool_calls"):
            total += count_tokens_offline(json.dumps(message["tool_calls"], ensure_ascii=False))
    return total


def _check_messages(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["'messages' must be a non-empty list"]
    problems: list[str] = []
    roles = [m.get("role") if isinstance(m, Mapping) else None for m in messages]
    bad = sorted({str(r) for r in roles if r not in ROLES})
    if bad:
        return [f"unknown role(s) {bad}; allowed: {', '.join(ROLES)}"]
    if roles[0] != "system":
        problems.append("the first message must be the system prompt")
    pending: set[str] = set()
    previous = "system"
    for i, (role, message) in enumerate(zip(roles, messages, strict=True)):
        where = f"message {i} ({role})"
        if i and role == "system":
            problems.append(f"{where}: only the first message may be the system prompt")
        elif role == "tool":
            if message.get("tool_call_id") not in pending:
                problems.append(f"{where}: answers no pending tool call of the assistant message before it")
            pending.discard(message.get("tool_call_id"))
        elif pending:
            problems.append(f"{where}: tool call(s) {sorted(pending)} have no tool message")
            pending.clear()
        if role == "assistant":
            calls = message.get("tool_calls") or []
            if previous not in ("user", "tool"):
                problems.append(f"{where}: an assistant message must follow a user or tool message")
            if not calls and not str(message.get("content") or "").strip():
                problems.append(f"{where}: an assistant message needs content or tool_calls")
            for call in calls:
                function = call.get("function") or {}
                try:
                    json.loads(function.get("arguments") or "")
                except (TypeError, ValueError):
                    problems.append(f"{where}: tool call {call.get('id')!r} arguments are not a JSON string")
                pending.add(call.get("id"))
        if role == "user" and previous not in ("system", "assistant"):
            problems.append(f"{where}: a user message must follow the system prompt or an assistant message")
        if role in ("user", "system") and not str(message.get("content") or "").strip():
            problems.append(f"{where}: empty content")
        previous = str(role)
    if roles[-1] != "assistant" or messages[-1].get("tool_calls"):
        problems.append("the last message must be an assistant reply")
    return problems


def validate_finetune_file(path: Path | str) -> list[str]:
    """Problems of an OpenAI chat fine-tuning JSONL file (empty: valid): each line parses as a JSON object
    with ``messages``; roles are system/user/assistant/tool; the system prompt comes first; user and
    assistant alternate; tool messages only answer the assistant's ``tool_calls`` just before them; each
    example ends with an assistant reply."""
    problems: list[str] = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not any(line.strip() for line in lines):
        return ["the file has no example"]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            problems.append(f"line {number}: empty line")
            continue
        try:
            example = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(example, dict) or "messages" not in example:
            problems.append(f"line {number}: no 'messages'")
            continue
        problems += [f"line {number}: {p}" for p in _check_messages(example["messages"])]
    return problems


# ---------------------------------------------------------------- the export


@dataclass
class _Collected:
    examples: list[tuple[ConversationRow, dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _collect(settings: Settings, approved: Sequence[Review], export_key: bytes) -> _Collected:
    pack = get_pack(settings.pack_dir)
    store = Store.open(settings.database_url)
    by_id = {r.chat_id: r for r in approved}
    rows = {r.chat_id: r for r in conversations(settings, sources=None, chat_ids=list(by_id), limit=None)}
    found = _Collected()
    for chat_id, review in by_id.items():
        row = rows.get(chat_id)
        if row is None:
            found.skipped.append((chat_id, "not a conversation of this pack"))
            continue
        chat = store.get_chat(chat_id) or {}
        attributes = (chat.get("state") or {}).get("attributes") or {}
        names = Pseudonyms(pack, attributes, conversation_key(export_key, chat_id))
        traces = {int(t["turn_index"]): TurnTrace.from_json(t["trace"]) for t in store.list_traces(chat_id)}
        try:
            example = build_example(pack, store.list_messages(chat_id), traces, review.corrections, names)
        except ValueError as exc:
            found.skipped.append((chat_id, str(exc)))
            continue
        found.examples.append((row, example))
    return found


def export_finetune(settings: Settings, out: Path | str, *, allow_small: bool = False, model: str = DEFAULT_MODEL,
                    epochs: int | None = None) -> FinetuneReport:
    """Write the approved conversations of the settings' pack to ``out`` as OpenAI chat fine-tuning JSONL
    (see the module's docstring). Raises :class:`FinetuneTooSmall` under the deck's 100 approved
    conversations unless ``allow_small``; ``model``/``epochs`` price the training (``prices.yaml``)."""
    prices = training_prices()
    if model not in prices:
        raise ConversaError(f"no fine-tuning price for {model!r} in agent/adapters/data/prices.yaml "
                            f"(finetuning:); known: {', '.join(sorted({p.model for p in prices.values()}))}")
    approved = reviews(settings, verdict="approved")
    if len(approved) < MIN_AUDITED and not allow_small:
        raise FinetuneTooSmall(
            f"only {len(approved)} approved conversation(s): the deck's rule is a base of at least {MIN_AUDITED} "
            "audited and approved conversations. Review more on the Audit page, or export anyway for a trial "
            "with --allow-small (allow_small=True).")
    collected = _collect(settings, approved, secrets.token_bytes(32))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for _, example in collected.examples:
            handle.write(json.dumps(example, ensure_ascii=False) + "\n")
    mix = {k: 0 for k in (*REQUIRED_MIX, "handoff")}
    for row, _ in collected.examples:
        mix[row.outcome] = mix.get(row.outcome, 0) + 1
    warnings = [f"no conversation that {MIX_LABELS[k]}: the deck asks for all three kinds (completed, aborted, "
                "refusal)" for k in REQUIRED_MIX if not mix.get(k)]
    if len(approved) < MIN_AUDITED:
        warnings.insert(0, f"only {len(approved)} approved conversation(s), under the deck's minimum of "
                           f"{MIN_AUDITED}: a trial file, not a training base")
    price = prices[model]
    tokens = sum(count_tokens(e) for _, e in collected.examples)
    runs = epochs or price.epochs
    return FinetuneReport(path=path, approved=len(approved), examples=len(collected.examples), mix=mix,
                          tokens=tokens, price=price, epochs=runs, estimated_cost_usd=price.cost(tokens, runs),
                          warnings=tuple(warnings), skipped=tuple(collected.skipped),
                          problems=tuple(validate_finetune_file(path)) if collected.examples else ())
