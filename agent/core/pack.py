"""A pack: everything domain-specific about one agent, loaded from one folder.

``pack.yaml`` names the pack, its prompt globals, its special message codes, its completed and
terminal steps and its settings; the folder holds the journey, intents, prompts, message codes and
knowledge docs; the pack's Python module (``module:``, default ``pack.py`` in the folder) declares the
attributes it captures (validators and maskers), its tools (typed functions), how a reading of the
customer's message becomes a journey event, and the variables of its replies (its business rules).

The core (engine, session, journey, gateway, store, guard rails) asks the pack and names no domain:
a second agent is a second folder. See ``prompts/README.md`` for how to write one.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from agent.config import DEFAULT_PACK_DIR, Settings
from agent.core.budget import BudgetError, RoleBudget, parse_budget
from agent.core.contracts import Contract, ContractError, Violation, check_files, check_prompt, parse_contracts
from agent.core.journey import Event, Journey, JourneyState, load_journey
from agent.core.prompts import PromptPack, load_pack
from agent.errors import ConversaError

if TYPE_CHECKING:
    from agent.adapters.tools import ToolRegistry, ToolResult, ToolSet


class PackError(ConversaError):
    """A pack folder cannot be used as an agent."""


class Invalid(ValueError):  # noqa: N818  (reads as `raise Invalid("check_digits")`)
    """An attribute value failed its validator; ``reason`` says which check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Attribute:
    """One attribute the pack captures: its validator (normalise or raise ``Invalid``) and masker."""

    name: str
    validate: Callable[[Any], Any] = _same
    mask: Callable[[Any], Any] = _same
    pii: bool = False

    def accept(self, value: Any) -> Any | None:
        """The normalised value, or None when it is empty or invalid."""
        if value in (None, ""):
            return None
        try:
            return self.validate(value)
        except (Invalid, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Rejected:
    """A value the customer (or a model) gave for an attribute that failed validation."""

    attribute: str
    masked: str
    reason: str


@dataclass(frozen=True)
class Reading:
    """What the decision stage understood of the customer's message: the pack turns it into an event."""

    text: str
    intent: str
    confidence: float
    attributes: Mapping[str, Any] = field(default_factory=dict)
    rejected: tuple[Rejected, ...] = ()
    confirmation: str | None = None  # "yes" | "no"

    @property
    def has_data(self) -> bool:
        """True when an attribute (or a rejected attempt at one) was found."""
        return bool(self.attributes) or bool(self.rejected)

    def intent_at(self, *, consent_step: bool) -> str:
        """The intent with a bare "sim"/"não" read by where it was said: consent (``optin_accept`` /
        ``optin_refuse``) at a consent step, a confirmation (``confirm_yes`` / ``confirm_no``) elsewhere."""
        intent = self.intent
        words = self.text.split()
        short = len(words) <= 3 and "?" not in self.text
        if self.confirmation and not self.has_data and (
                intent == "unknown" or (intent in {"smalltalk", "greeting"} and self.confidence < 0.8)
                or (short and intent in {"smalltalk", "ask_reason"} and self.confirmation == "yes")):
            # A bare "sim"/"não" ("agora sim", "blz"), not a greeting like "eae blz".
            intent = "confirm_yes" if self.confirmation == "yes" else "confirm_no"
        if self.confirmation == "no" and intent in {"optin_accept", "confirm_yes"}:
            # "não aceito os termos" is near "aceito os termos" but means the opposite.
            intent = "confirm_no"
        if consent_step:
            return {"confirm_yes": "optin_accept", "confirm_no": "optin_refuse"}.get(intent, intent)
        return {"optin_accept": "confirm_yes"}.get(intent, intent)


@dataclass(frozen=True)
class ReplyContext:
    """What a pack's hooks may read: the state, the turn's tool results and reading, the pack's settings,
    and ``now``: when the customer sent the turn's (last) message, an aware UTC datetime (None for a turn
    without one, e.g. a re-engagement). Date-dependent rules use ``now`` (or a pack setting that pins a date),
    never the wall clock, so goldens and simulated conversations replay the same."""

    state: JourneyState
    tool_results: Sequence[ToolResult]
    reading: Reading | None
    settings: Mapping[str, Any]
    now: datetime | None = None


@dataclass(frozen=True)
class SettingSpec:
    """One pack setting: its default, the environment variable that overrides it, what it means."""

    name: str
    default: Any = None
    env: str | None = None
    description: str = ""

    def parse(self, raw: Any) -> Any:
        """``raw`` read as the default's type (env values are strings)."""
        if raw is None or isinstance(self.default, str) or self.default is None:
            return raw
        if isinstance(self.default, bool):
            return str(raw).strip().lower() in {"1", "true", "yes", "on", "sim"}
        try:
            return type(self.default)(raw)
        except (TypeError, ValueError) as exc:
            raise PackError(f"setting {self.name}={raw!r} is not a {type(self.default).__name__}") from exc


@dataclass(frozen=True)
class SpecialCodes:
    """Message codes the core itself sends: FAQ answer / miss, safe fallback, message too long, and the
    security reminder for a customer who sent a secret (card number, password, SMS code)."""

    faq: int | None = None
    faq_miss: int | None = None
    safe: int | None = None
    too_long: int | None = None
    secret: int | None = None


PACK_KEYS = frozenset({"name", "title", "language", "globals", "module", "codes", "fixed_codes", "completed_steps",
                       "terminal_steps", "settings", "samples", "notice_codes", "keep_on_strong_negative", "short_codes",
                       "prompt_budget", "contracts"})
CODE_KEYS = frozenset({"faq", "faq_miss", "safe", "too_long", "secret"})


class Pack:
    """One agent's domain, loaded from ``directory``. Prompts and journey are re-read when edited."""

    def __init__(self, directory: Path, spec: Mapping[str, Any], module: types.ModuleType | None) -> None:
        self.directory = directory
        self.spec = spec
        self.module = module
        self.name = str(spec.get("name") or directory.name)
        self.title = str(spec.get("title") or self.name)
        self.language = str(spec.get("language") or "pt-BR")
        unknown = sorted(set(spec) - PACK_KEYS) + sorted(f"codes.{k}" for k in set(spec.get("codes") or {}) - CODE_KEYS)
        if unknown:
            raise PackError(f"{directory / 'pack.yaml'}: unknown key(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(PACK_KEYS))}; codes: {', '.join(sorted(CODE_KEYS))}")
        codes = spec.get("codes") or {}
        self.codes = SpecialCodes(**{k: (int(v) if v is not None else None) for k, v in codes.items()})
        self.fixed_codes = frozenset(int(c) for c in spec.get("fixed_codes") or ())
        self.completed_steps: tuple[str, ...] = tuple(spec.get("completed_steps") or ())
        self.terminal_steps: tuple[str, ...] = tuple(spec.get("terminal_steps") or ())
        # Messages that carry the consent notice: consent counts only after one was shown (LGPD).
        self.notice_codes: tuple[int, ...] = tuple(int(c) for c in spec.get("notice_codes") or ())
        # Shorter forms of a message, sent instead of it when the agent's previous message already said it
        # (a reprompt after a detour, a retry that failed again); the first one that repeats nothing wins.
        self.short_codes: Mapping[int, tuple[int, ...]] = MappingProxyType({
            int(code): tuple(int(c) for c in (alts if isinstance(alts, list | tuple) else [alts]))
            for code, alts in (spec.get("short_codes") or {}).items()})
        # Intents a strongly negative emotion does not turn into a handoff (the customer asked for something).
        self.keep_on_strong_negative = frozenset(spec.get("keep_on_strong_negative") or ("ask_human", "goodbye"))
        # Plausible values of the prompts' variables, for previews without a conversation.
        self.samples: Mapping[str, Any] = MappingProxyType(dict(spec.get("samples") or {}))
        self.settings_spec: Mapping[str, SettingSpec] = MappingProxyType({
            name: SettingSpec(name, (raw or {}).get("default"), (raw or {}).get("env"),
                              str((raw or {}).get("description") or ""))
            for name, raw in (spec.get("settings") or {}).items()
        })
        try:  # role → token budget of its prompts and the trims allowed (agent/core/budget.py)
            self.prompt_budget: Mapping[str, RoleBudget] = MappingProxyType(
                parse_budget(spec.get("prompt_budget"), str(directory / "pack.yaml")))
        except BudgetError as exc:
            raise PackError(str(exc)) from None
        try:  # prompt file → what it must keep (agent/core/contracts.py), checked below and on every save
            self.contracts: Mapping[str, Contract] = MappingProxyType(
                parse_contracts(spec.get("contracts"), directory / "pack.yaml", directory))
        except ContractError as exc:
            raise PackError(str(exc)) from None
        attributes: Iterable[Attribute] = getattr(module, "ATTRIBUTES", ()) if module else ()
        self.attributes: Mapping[str, Attribute] = MappingProxyType({a.name: a for a in attributes})
        self._validators = MappingProxyType({n: a.accept for n, a in self.attributes.items()})
        self._loaded: dict[str, tuple[float, Any]] = {}
        from agent.adapters.tools import ToolSet

        self.tools: ToolSet = getattr(module, "TOOLS", None) or ToolSet()
        self._check()

    # ------------------------------------------------------------------ content
    @property
    def prompts(self) -> PromptPack:
        """The prompt files (re-read when a file changes; looked at once a second at most)."""
        return self._fresh("prompts", lambda: load_pack(self.directory))

    @property
    def journey(self) -> Journey:
        """The journey, with the pack's attribute validators (re-read when journey.yaml changes)."""
        return self._fresh("journey", lambda: load_journey(self.directory, validators=self._validators))

    def _fresh(self, name: str, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        cached = self._loaded.get(name)
        if cached is None or now - cached[0] > RECHECK_S:
            cached = self._loaded[name] = (now, load())
        return cached[1]

    # ------------------------------------------------------------------ settings
    def resolve_settings(self, settings: Settings) -> dict[str, Any]:
        """The pack's settings: explicit values (``Settings.pack_settings``) > environment > defaults."""
        values: dict[str, Any] = {}
        for name, spec in self.settings_spec.items():
            if name in settings.pack_settings:
                values[name] = settings.pack_settings[name]
            elif spec.env and settings.env.get(spec.env) not in (None, ""):
                values[name] = spec.parse(settings.env[spec.env])
            else:
                values[name] = spec.default
        return values

    # ------------------------------------------------------------------ hooks
    def to_event(self, reading: Reading, step: str) -> Event:
        """The journey event for what the customer said at ``step`` (default: the intent as is)."""
        hook = getattr(self.module, "to_event", None)
        if hook is None:
            return Event(reading.intent, MappingProxyType(dict(reading.attributes)))
        return hook(reading, step)

    def reply_variables(self, context: ReplyContext) -> dict[str, Any]:
        """Variables for the pack's message templates (its business rules live here)."""
        hook = getattr(self.module, "reply_variables", None)
        return dict(hook(context)) if hook else {}

    def review_result(self, result: ToolResult, context: ReplyContext) -> str | None:
        """Another journey event for a tool result, read with the turn's context (e.g. its date); None keeps
        the result's own event (the default)."""
        hook = getattr(self.module, "review_result", None)
        return hook(result, context) if hook else None

    def default_tool_args(self, tool: str, state: JourneyState) -> dict[str, Any]:
        """Arguments for ``tool`` from the captured attributes, when the model's choice is unusable."""
        hook = getattr(self.module, "default_tool_args", None)
        if hook is not None:
            return dict(hook(tool, state))
        params = self.tools[tool].parameters["properties"] if tool in self.tools else {}
        return {k: state.attributes[k] for k in params if k in state.attributes}

    def tool_registry(self, settings: Settings | None = None, *, api_url: str | None = None,
                      **options: Any) -> ToolRegistry:
        """The pack's tools bound to its API (``api_url`` setting; else the pack's sandbox)."""
        from agent.adapters.tools import ToolRegistry

        if api_url is None and settings is not None:
            api_url = self.resolve_settings(settings).get("api_url") or None
        if settings is not None:
            options.setdefault("timeout_s", settings.tool_timeout_s)
        return ToolRegistry(api_url, tools=self.tools, default_url=getattr(self.module, "sandbox_url", None),
                            **options)

    # ------------------------------------------------------------------ masking
    def mask_value(self, name: str, value: Any) -> Any:
        """``value`` of attribute ``name`` as it may be shown or stored in a trace."""
        attribute = self.attributes.get(name)
        if attribute is None or value in (None, ""):
            return value
        return attribute.mask(value)

    def mask_attributes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy with every personal attribute masked."""
        return {k: self.mask_value(k, v) for k, v in values.items()}

    def check_prompt(self, name: str, text: str) -> list[Violation]:
        """The pack's contract rules that ``text``, as the content of prompt ``name``, would break."""
        return check_prompt(self.contracts, name, text, self.directory / f"{name.removesuffix('.txt')}.txt")

    def _check(self) -> None:
        broken = check_files(self.contracts, self.directory)
        if broken:
            raise PackError(f"{self.directory / 'pack.yaml'}: prompt files break the pack's contracts:\n- "
                            + "\n- ".join(v.message for v in broken))
        problems = []
        codes = self.codes
        if (codes.faq is None) != (codes.faq_miss is None):
            problems.append("codes.faq and codes.faq_miss go together")
        unknown = [s for s in (*self.completed_steps, *self.terminal_steps) if s not in self.journey.steps]
        if unknown:
            problems.append(f"completed/terminal steps {unknown} are not journey steps")
        shorts = [c for code, alts in self.short_codes.items() for c in (code, *alts)]
        used = [c for c in (*self.fixed_codes, *self.notice_codes, *shorts, codes.faq, codes.faq_miss, codes.safe,
                            codes.too_long, codes.secret) if c is not None]
        absent = sorted({c for c in used if c not in self.journey.messages})
        if absent:
            problems.append(f"message codes {absent} are not in journey.yaml's messages table")
        strange = sorted(i for i in self.keep_on_strong_negative if i not in self.journey.intents)
        if strange:
            problems.append(f"keep_on_strong_negative lists {strange}, which are not journey intents")
        missing = [a for a in self.attributes if a not in self.journey.attributes]
        if missing:
            problems.append(f"the module declares attributes {missing} that journey.yaml does not")
        if problems:
            raise PackError(f"{self.directory / 'pack.yaml'} is invalid:\n- " + "\n- ".join(problems))


# ---------------------------------------------------------------------- loading

# How often a pack's files are looked at for edits (each look stats them); an edit applies to the next turn.
RECHECK_S = 1.0


@dataclass
class _Cached:
    pack: Pack
    key: tuple[int, int]
    checked: float


_packs: dict[str, _Cached] = {}
_lock = threading.Lock()


def _module_name(directory: Path) -> str:
    # One package per folder (a copy of a pack, e.g. a prompt variant, is a different package).
    digest = hashlib.sha1(str(directory).encode()).hexdigest()[:8]
    return f"conversa_packs.{''.join(c if c.isalnum() else '_' for c in directory.name)}_{digest}"


def import_pack_module(pack_dir: str | Path, module: str = "pack") -> types.ModuleType:
    """Import ``<pack_dir>/<module>.py`` as part of the pack's own package (relative imports work)."""
    directory = Path(pack_dir).resolve()
    package = _module_name(directory)
    with _lock:
        if "conversa_packs" not in sys.modules:
            root = types.ModuleType("conversa_packs")
            root.__path__ = []
            sys.modules["conversa_packs"] = root
        if package not in sys.modules:
            spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
            spec.submodule_search_locations = [str(directory)]
            sys.modules[package] = importlib.util.module_from_spec(spec)
    try:
        return importlib.import_module(f"{package}.{module}")
    except ModuleNotFoundError as exc:
        raise PackError(f"{directory}: the pack's module {module!r} was not found ({exc})") from exc


def list_packs(root: str | Path | None = None) -> list[Path]:
    """Pack folders (holding a pack.yaml) under ``root`` (default: the folder of the default pack)."""
    folder = Path(root or DEFAULT_PACK_DIR.parent)
    return sorted(p for p in folder.iterdir() if (p / "pack.yaml").is_file()) if folder.is_dir() else []


def get_pack(pack_dir: str | Path | None = None) -> Pack:
    """The pack in ``pack_dir`` (default: ``DEFAULT_PACK_DIR``); re-read when pack.yaml or its module changes
    (looked at once a second at most: this is on every turn's path)."""
    name = str(pack_dir or DEFAULT_PACK_DIR)
    now = time.monotonic()
    cached = _packs.get(name)
    if cached is not None and now - cached.checked < RECHECK_S:
        return cached.pack
    directory = Path(name).resolve()
    spec_file = directory / "pack.yaml"
    if not spec_file.exists():
        raise PackError(f"{spec_file} not found: a pack folder needs a pack.yaml (see prompts/README.md)")
    module_name = cached.pack.spec.get("module") if cached else None
    key = (spec_file.stat().st_mtime_ns, _mtime(directory / f"{module_name or 'pack'}.py"))
    if cached is not None and cached.key == key:
        cached.checked = now
        return cached.pack
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
    module_file = directory / f"{spec.get('module') or 'pack'}.py"
    key = (key[0], _mtime(module_file))
    module = None
    if module_file.exists():
        module = import_pack_module(directory, module_file.stem)
        if cached is not None and cached.key[1] != key[1]:
            module = importlib.reload(module)
    pack = Pack(directory, spec, module)
    with _lock:
        _packs[name] = _Cached(pack, key, now)
    return pack


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0
