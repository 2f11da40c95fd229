"""Prompt contracts: what a pack's prompt files must keep, declared in ``pack.yaml`` (``contracts:``).

A contract names a prompt file and its rules — ``must_contain`` (sentences or phrases the file keeps),
``must_not_contain`` (phrases it may never carry) and ``must_use`` (template variables it must keep
using); ``why`` is an optional note shown with a violation. Phrases are compared with whitespace
collapsed and case folded, against the file's raw text (``$bank_name`` stays ``$bank_name``)::

    contracts:
      conversation_prompt.txt:
        why: the grounding rules keep the model from inventing facts
        must_contain: ["Use somente os fatos abaixo"]
        must_use: [customer_message, retrieved_docs]

The pack loader (:mod:`agent.core.pack`) refuses a pack whose files break their contracts, and the
Prompts page refuses to save an edit that would; each violation names the prompt file (and its line,
for a forbidden phrase) and the ``pack.yaml`` line that declares the rule. The core names no domain:
the words live in the pack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.core.prompts import placeholders
from agent.errors import ConversaError

RULES = ("must_contain", "must_not_contain", "must_use")
CONTRACT_KEYS = frozenset({*RULES, "why"})
_VARIABLE = re.compile(r"[_a-z][_a-z0-9]*")


class ContractError(ConversaError):
    """The ``contracts:`` section of a pack.yaml is malformed (the message names file and line)."""


@dataclass(frozen=True)
class Rule:
    """One rule of a contract: its kind (``must_contain``…), its value and the pack.yaml line declaring it."""

    kind: str
    value: str
    line: int


@dataclass(frozen=True)
class Contract:
    """The rules one prompt file must keep."""

    file: str  # the prompt file's name, with ``.txt``
    rules: tuple[Rule, ...]
    spec: Path  # the pack.yaml declaring it
    line: int
    why: str = ""


@dataclass(frozen=True)
class Violation:
    """One broken rule: which prompt file, which rule, where the rule is declared."""

    file: str
    path: Path
    rule: Rule
    spec: Path
    line: int | None = None  # the prompt file's line carrying a forbidden phrase
    why: str = ""

    @property
    def where(self) -> str:
        """``path/to/file.txt`` or ``path/to/file.txt:12``."""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    @property
    def declared(self) -> str:
        """``path/to/pack.yaml:40``: where the rule is declared."""
        return f"{self.spec}:{self.rule.line}"

    @property
    def message(self) -> str:
        """One English sentence: file, what is wrong, the rule's pack.yaml line (and why, when given)."""
        what = {"must_contain": f"must contain {self.rule.value!r}, which is missing",
                "must_not_contain": f"must not contain {self.rule.value!r}",
                "must_use": f"must use the variable ${self.rule.value}, which is gone"}[self.rule.kind]
        return f"{self.where}: {what} (contract at {self.declared})" + (f" — {self.why}" if self.why else "")


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces and case folded: how contract phrases are compared."""
    return " ".join(text.split()).casefold()


def prompt_file_name(name: str) -> str:
    """``conversation_prompt`` → ``conversation_prompt.txt`` (a name already ending in .txt is kept)."""
    return name if name.endswith(".txt") else f"{name}.txt"


def parse_contracts(raw: Any, spec: Path, directory: Path | None = None) -> dict[str, Contract]:
    """The ``contracts:`` section of ``spec`` (pack.yaml) → file name → Contract; raises ContractError
    naming ``spec:line`` for a malformed section or a contract on a file that is not in ``directory``."""
    if raw is None:
        return {}
    lines = _lines(spec)
    root = lines.get(())
    if not isinstance(raw, Mapping):
        raise ContractError(f"{spec}:{root or '?'}: contracts must map a prompt file to its rules "
                            "(must_contain, must_not_contain, must_use)")
    folder = directory or spec.parent
    out: dict[str, Contract] = {}
    for name, body in raw.items():
        line = lines.get((str(name),), 0)
        where = f"{spec}:{line or '?'}"
        file = prompt_file_name(str(name))
        if not (folder / file).is_file():
            known = sorted(p.name for p in folder.glob("*.txt"))
            raise ContractError(f"{where}: contract for {file}, which is not a prompt file of {folder} "
                                f"(known: {', '.join(known[:8])}{'…' if len(known) > 8 else ''})")
        if not isinstance(body, Mapping) or not body:
            raise ContractError(f"{where}: the contract of {file} needs rules: {', '.join(RULES)}")
        unknown = sorted(set(map(str, body)) - CONTRACT_KEYS)
        if unknown:
            raise ContractError(f"{where}: unknown key(s) {', '.join(unknown)} in the contract of {file}; "
                                f"known: {', '.join(sorted(CONTRACT_KEYS))}")
        rules: list[Rule] = []
        for kind in RULES:
            values = body.get(kind)
            if values is None:
                continue
            items = [values] if isinstance(values, str) else values
            kind_line = lines.get((str(name), kind), line)
            if not isinstance(items, Sequence) or isinstance(items, str) or not items:
                raise ContractError(f"{spec}:{kind_line}: {kind} of {file} must be a text or a list of texts")
            for i, value in enumerate(items):
                value_line = lines.get((str(name), kind, i), kind_line)
                if not isinstance(value, str) or not value.strip():
                    raise ContractError(f"{spec}:{value_line}: {kind} of {file} lists {value!r}; write a text")
                if kind == "must_use":
                    value = value.strip().lstrip("$").strip("{}")
                    if not _VARIABLE.fullmatch(value):
                        raise ContractError(f"{spec}:{value_line}: must_use of {file} lists {value!r}, which is "
                                            "not a variable name (write agent_name for $agent_name)")
                rules.append(Rule(kind, value.strip(), value_line))
        out[file] = Contract(file, tuple(rules), spec, line, str(body.get("why") or "").strip())
    return out


def check_text(contract: Contract, text: str, path: Path | None = None) -> list[Violation]:
    """The rules of ``contract`` that ``text`` (the prompt file's content) breaks; [] when it keeps them."""
    path = path or contract.spec.parent / contract.file
    flat = normalise(text)
    used = set(placeholders(text))
    out: list[Violation] = []
    for rule in contract.rules:
        broken = {"must_contain": normalise(rule.value) not in flat,
                  "must_not_contain": normalise(rule.value) in flat,
                  "must_use": rule.value not in used}[rule.kind]
        if broken:
            line = _line_of(text, rule.value) if rule.kind == "must_not_contain" else None
            out.append(Violation(contract.file, path, rule, contract.spec, line, contract.why))
    return out


def check_prompt(contracts: Mapping[str, Contract], name: str, text: str,
                 path: Path | None = None) -> list[Violation]:
    """The violations of prompt ``name`` (with or without ``.txt``) with content ``text``; [] without a contract."""
    contract = contracts.get(prompt_file_name(name))
    return check_text(contract, text, path) if contract else []


def check_files(contracts: Mapping[str, Contract], directory: Path) -> list[Violation]:
    """Every violation of the prompt files in ``directory`` as they are on disk."""
    out: list[Violation] = []
    for file, contract in contracts.items():
        path = directory / file
        out += check_text(contract, path.read_text(encoding="utf-8"), path)
    return out


def load_contracts(pack_dir: Path | str) -> dict[str, Contract]:
    """The contracts declared in ``<pack_dir>/pack.yaml`` (none when it declares none)."""
    directory = Path(pack_dir)
    spec = directory / "pack.yaml"
    try:
        data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{spec}: cannot be read ({exc})") from None
    return parse_contracts(data.get("contracts") if isinstance(data, Mapping) else None, spec, directory)


def _line_of(text: str, phrase: str) -> int | None:
    """The first line of ``text`` where ``phrase`` (normalised) has been read in full."""
    target = normalise(phrase)
    lines = text.splitlines()
    for i in range(len(lines)):
        if target in normalise("\n".join(lines[: i + 1])):
            return i + 1
    return None


def _lines(spec: Path) -> dict[tuple[Any, ...], int]:
    """1-based lines of the ``contracts:`` section's nodes, by path: () the section, (file,), (file, rule),
    (file, rule, index). Empty when the file cannot be composed (then messages say ``?``)."""
    try:
        root = yaml.compose(spec.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[tuple[Any, ...], int] = {}
    section = _child(root, "contracts")
    if section is None:
        return out
    key, node = section
    out[()] = key.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        return out
    for file_key, body in node.value:
        name = str(file_key.value)
        out[(name,)] = file_key.start_mark.line + 1
        if not isinstance(body, yaml.MappingNode):
            continue
        for rule_key, values in body.value:
            out[(name, str(rule_key.value))] = rule_key.start_mark.line + 1
            if isinstance(values, yaml.SequenceNode):
                for i, item in enumerate(values.value):
                    out[(name, str(rule_key.value), i)] = item.start_mark.line + 1
    return out


def _child(node: Any, name: str) -> tuple[Any, Any] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next(((k, v) for k, v in node.value if getattr(k, "value", None) == name), None)
