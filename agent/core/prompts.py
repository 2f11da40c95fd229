"""Prompt pack loading and ``$var`` rendering.

A pack is a folder (``Settings.pack_dir``) of ``*.txt`` prompt files with ``$var`` placeholders,
plus ``pack.yaml`` (globals such as the agent's name). A second agent is a second folder.
Rendering fails loudly on a missing variable so a broken prompt never reaches a model or a customer.
Journey loading lives in :mod:`agent.core.journey`.
"""

from __future__ import annotations

import hashlib
import re
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from agent import yamlfile

from agent.errors import ConversaError

from agent.config import DEFAULT_PACK_DIR  # noqa: E402


class PromptError(ConversaError):
    """A prompt pack or prompt file cannot be used."""


class PromptNotFound(PromptError):
    """The requested prompt file is not in the pack."""


class MissingVariable(PromptError, KeyError):
    """A ``$var`` in a prompt file had no value at render time."""

    def __init__(self, prompt: str, variable: str, pack_dir: Path | str = "") -> None:
        self.prompt = prompt
        self.variable = variable
        super().__init__(
            f"prompt {prompt!r} needs variable {variable!r}: pass {variable}=... to render() "
            f"or add it to 'globals' in {Path(pack_dir) / 'pack.yaml'}"
        )

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0])


# "R$ 500" and "R$500" are everywhere in pt-BR text: a "$" not followed by a name stays literal
# instead of raising, so prompt engineers never have to write "R$$".
_PATTERN = r"""
    \$(?:
      (?P<escaped>\$) |
      (?P<named>[_a-z][_a-z0-9]*) |
      {(?P<braced>[_a-z][_a-z0-9]*)} |
      (?P<invalid>(?!))
    )
    """


class _Template(string.Template):
    # string.Template compiles this str into a re.Pattern when the class is created; typeshed types the result.
    pattern: ClassVar[re.Pattern[str]] = _PATTERN  # type: ignore[assignment]


@dataclass(frozen=True)
class PromptFile:
    """One prompt file: its text, placeholders and a short content hash (its version)."""

    name: str
    path: Path
    text: str
    variables: tuple[str, ...]
    sha: str


@dataclass(frozen=True)
class PromptPack:
    """A loaded pack: prompt files by name (without ``.txt``) and pack-wide globals."""

    directory: Path
    name: str
    files: Mapping[str, PromptFile]
    globals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def names(self) -> list[str]:
        """Prompt names, sorted (message codes numerically)."""
        return sorted(self.files, key=_sort_key)

    def get(self, name: str) -> PromptFile:
        """The prompt file ``name`` (with or without ``.txt``)."""
        key = _key(name)
        try:
            return self.files[key]
        except KeyError:
            raise PromptNotFound(
                f"no prompt {key!r} in {self.directory}; available: {', '.join(self.names())}"
            ) from None

    def variables(self, name: str) -> tuple[str, ...]:
        """Placeholders of ``name`` in order of first appearance (globals included)."""
        return self.get(name).variables

    def required_variables(self, name: str) -> tuple[str, ...]:
        """Placeholders the caller must pass (those not covered by the pack globals)."""
        return tuple(v for v in self.get(name).variables if v not in self.globals)

    def render(self, name: str, /, **variables: Any) -> str:
        """Render ``name`` with the globals overridden by ``variables``; extra variables are ignored."""
        prompt = self.get(name)
        values = {**self.globals, **{k: "" if v is None else str(v) for k, v in variables.items()}}
        for var in prompt.variables:
            if var not in values:
                raise MissingVariable(prompt.name, var, self.directory)
        return _Template(prompt.text).substitute(values)

    def has_message(self, code: int) -> bool:
        """True when ``message_code_<code>.txt`` exists."""
        return f"message_code_{code}" in self.files

    def message(self, code: int, /, **variables: Any) -> str:
        """Render ``message_code_<code>.txt``."""
        return self.render(f"message_code_{code}", **variables)

    def content_hash(self, name: str | None = None) -> str:
        """Short sha256 of one file, or of the whole pack (names + hashes) when ``name`` is None."""
        if name is not None:
            return self.get(name).sha
        joined = "\n".join(f"{n}:{self.files[n].sha}" for n in self.names())
        return hashlib.sha256(joined.encode()).hexdigest()[:12]

    def versions(self) -> dict[str, str]:
        """``{prompt name: short hash}`` to store with a trace or an eval run."""
        return {n: self.files[n].sha for n in self.names()}


def _key(name: str) -> str:
    return name[:-4] if name.endswith(".txt") else name


def _sort_key(name: str) -> tuple[int, str, int]:
    match = re.fullmatch(r"message_code_(\d+)", name)
    return (1, "", int(match.group(1))) if match else (0, name, 0)


def placeholders(text: str) -> tuple[str, ...]:
    """``$var``/``${var}`` names in ``text``, first appearance order, ``$$`` and ``R$`` ignored."""
    seen: dict[str, None] = {}
    for match in _Template.pattern.finditer(text):
        var = match.group("named") or match.group("braced")
        if var:
            seen.setdefault(var, None)
    return tuple(seen)


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    # stat() of a few dozen files is microseconds; it lets edits from the prompts page show up
    # without a restart while repeated loads in one process stay free.
    entries = []
    for path in sorted(directory.glob("*.txt")) + [directory / "pack.yaml"]:
        if path.exists():
            st = path.stat()
            entries.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(entries)


_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], PromptPack]] = {}
_lock = threading.Lock()


def load_pack(pack_dir: str | Path | None = None) -> PromptPack:
    """Load (or return the cached) pack at ``pack_dir``; reloads when a file changed on disk."""
    directory = Path(pack_dir or DEFAULT_PACK_DIR).resolve()
    if not directory.is_dir():
        raise PromptError(f"prompt pack folder {directory} does not exist; check the pack setting")
    fingerprint = _fingerprint(directory)
    with _lock:
        cached = _cache.get(directory)
        if cached and cached[0] == fingerprint:
            return cached[1]
    pack = _read_pack(directory)
    with _lock:
        _cache[directory] = (fingerprint, pack)
    return pack


def _read_pack(directory: Path) -> PromptPack:
    meta: dict[str, Any] = {}
    meta_path = directory / "pack.yaml"
    if meta_path.exists():
        meta = yamlfile.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    files = {}
    for path in sorted(directory.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        files[path.stem] = PromptFile(
            name=path.name,
            path=path,
            text=text,
            variables=placeholders(text),
            sha=hashlib.sha256(text.encode()).hexdigest()[:12],
        )
    if not files:
        raise PromptError(f"prompt pack {directory} has no .txt prompt files")
    globals_ = {str(k): str(v) for k, v in (meta.get("globals") or {}).items()}
    return PromptPack(
        directory=directory,
        name=str(meta.get("name") or directory.name),
        files=MappingProxyType(files),
        globals=MappingProxyType(globals_),
    )


def list_prompts(pack_dir: str | Path | None = None) -> list[str]:
    """Names of the pack's prompt files (without ``.txt``)."""
    return load_pack(pack_dir).names()


def render(name: str, /, pack_dir: str | Path | None = None, **variables: Any) -> str:
    """Render prompt ``name`` of the pack; raises :class:`MissingVariable` on a missing ``$var``."""
    return load_pack(pack_dir).render(name, **variables)


def variables(name: str, pack_dir: str | Path | None = None) -> tuple[str, ...]:
    """Placeholders of prompt ``name``."""
    return load_pack(pack_dir).variables(name)


def content_hash(name: str | None = None, pack_dir: str | Path | None = None) -> str:
    """Short sha256 of one prompt file, or of the whole pack."""
    return load_pack(pack_dir).content_hash(name)
