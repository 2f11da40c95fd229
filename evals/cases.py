"""Golden conversations: YAML files → validated ``Case`` records, with file:line errors.

One conversation per file. A customer turn is a text, a burst (several messages, optional delays
between them), an audio file or an image; an event turn drives the clock or the operator (idle
re-engagement, handoff, operator reply, hand-back). Each turn carries expectations, each one a
registered scorer (``evals.scorers``) and its ``not-`` form::

    id: happy_path
    description: Eligible customer goes through the whole journey
    tags: [happy_path, eligible]
    settings: {burst_window_s: 4}           # optional Settings overrides
    api_responses:                          # optional fixed API answers ("*" = any CPF)
      "200.000.002-99": {code: 200, balance: 4000.0}
    turns:
      - customer: oi
        expect: {step: optin, message_code: 10}
      - burst: [oi, {text: tudo bem?, after: 1.5}, quero sacar meu fgts]
      - audio: tests/fixtures/media/saque.ogg
      - event: idle
        hours: 25
        expect: {contains: "Ainda está por aí"}
    expect:                                 # conversation-level scorers
      journey_completed: true

``expect`` is a mapping (scorer → value) or a list of ``{type, value, threshold}`` items
(promptfoo style; a list allows the same scorer twice). Errors name the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

CASE_KEYS = {"id", "description", "tags", "pack", "settings", "api_responses", "turns", "expect", "persona",
             "price_as", "usage", "snapshot"}
TURN_KINDS = ("customer", "burst", "audio", "image", "event")
TURN_KEYS = {*TURN_KINDS, "expect", "wait", "caption", "hours", "text", "note", "model"}
EVENTS = ("idle", "request_handoff", "operator_reply", "hand_back")
MEDIA_SUFFIXES = {"audio": {".ogg", ".oga", ".opus", ".wav", ".mp3", ".m4a", ".webm", ".aac", ".flac"},
                  "image": {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}}
# Settings a golden may override (besides its pack's own ``settings:``); models stay with the run's configuration.
SETTINGS_KEYS = {"burst_window_s", "burst_mode", "reengagement_after_s", "max_message_chars", "max_audio_seconds",
                 "max_image_pixels", "tool_timeout_s", "usd_brl"}


class CaseError(ValueError):
    """A golden file is invalid. ``str()`` reads ``path:line: message``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------- YAML with line numbers


class _Located(dict[Any, Any]):
    """A mapping that remembers the line of itself and of each key's value."""

    line: int = 0
    lines: dict[Any, int]


class _LocatedList(list[Any]):
    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry 1-based line numbers; duplicate keys are errors."""

    path: Path = Path("<string>")


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    result = _Located()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise CaseError(loader.path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1  # where the key is written, as editors show it
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LocatedList:
    result = _LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line(value: Any, key: Any = None, default: int | None = None) -> int | None:
    if key is not None and isinstance(value, _Located):
        return value.lines.get(key, value.line)
    return getattr(value, "line", default) or default


def parse_yaml(text: str, path: Path | str = "<string>") -> Any:
    """YAML → Python with line numbers attached; syntax errors become ``CaseError`` with a line."""
    loader = _Loader(text)
    loader.path = Path(path)
    try:
        return loader.get_single_data()
    except CaseError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise CaseError(path, mark.line + 1 if mark else None, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise CaseError(path, None, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Expectation:
    """One check: a registered scorer, its argument, whether negated (``not-``), where it was written."""

    type: str
    value: Any = None
    negate: bool = False
    threshold: float | None = None
    line: int | None = None
    default: bool = False  # added by the loader (``not-repeats`` on every customer turn), not written

    @property
    def name(self) -> str:
        return f"not-{self.type}" if self.negate else self.type

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.name, "value": _plain(self.value)}
        if self.threshold is not None:
            data["threshold"] = self.threshold
        return data


@dataclass(frozen=True)
class CustomerMessage:
    """One message of a customer turn: text, or a media file (with an optional caption)."""

    text: str = ""
    kind: Literal["text", "audio", "image"] = "text"
    media: Path | None = None
    after_s: float = 0.0  # simulated seconds after the previous message of the burst

    def load_attachment(self) -> Any:
        """The ``agent.Attachment`` for a media message (read from disk on demand)."""
        from agent.types import Attachment

        if self.media is None:
            return None
        return Attachment(kind=self.kind, filename=self.media.name, data=self.media.read_bytes())  # type: ignore[arg-type]

    def to_yaml(self) -> Any:
        if self.kind == "text" and not self.after_s:
            return self.text
        data: dict[str, Any] = {}
        if self.kind == "text":
            data["text"] = self.text
        else:
            data[self.kind] = _rel(self.media)
            if self.text:
                data["caption"] = self.text
        if self.after_s:
            data["after"] = self.after_s
        return data


@dataclass(frozen=True)
class Turn:
    """A customer turn (one or more messages) or an event turn, and what to expect after it."""

    kind: Literal["customer", "burst", "audio", "image", "event"]
    messages: tuple[CustomerMessage, ...] = ()
    event: str | None = None
    event_text: str = ""
    hours: float | None = None
    wait_s: float = 0.0
    expect: tuple[Expectation, ...] = ()
    line: int | None = None
    # role (or role/task) → what ``local/adversary`` answers on this turn (agent/adapters/adversary.py)
    model: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short text for reports: what the customer sent (or the event)."""
        if self.kind == "event":
            extra = f" ({self.hours:g} h)" if self.hours else (f": {self.event_text}" if self.event_text else "")
            return f"[{self.event}{extra}]"
        parts = []
        for m in self.messages:
            parts.append(f"[{m.kind}: {m.media.name}]" if m.media else m.text)
            if m.media and m.text:
                parts[-1] += f" {m.text}"
        return " ⏎ ".join(parts)


@dataclass(frozen=True)
class Case:
    """One golden conversation."""

    id: str
    turns: tuple[Turn, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    pack: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    api_responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()
    persona: Mapping[str, Any] | None = None
    path: Path | None = None
    line: int | None = None
    # role → the model its fake (``local/adversary:<model>``) is priced as, and the fixed usage it reports
    # (role or role/task → {prompt_tokens, completion_tokens}): a cost golden (agent/adapters/adversary.py).
    price_as: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # The transcript is compared with evals/snapshots/… on the offline models (evals/snapshots.py).
    snapshot: bool = True

    @property
    def text_only(self) -> bool:
        """Every turn is text (no audio or image: speech and OCR engines differ between machines)."""
        return not any(turn.kind in {"audio", "image"} for turn in self.turns)

    @property
    def expectation_count(self) -> int:
        return len(self.expect) + sum(len(t.expect) for t in self.turns)

    def matches(self, tags: Sequence[str] = (), ids: Sequence[str] = ()) -> bool:
        """Filter: any of ``tags`` and any of ``ids`` (``*`` globs allowed in ids)."""
        from fnmatch import fnmatch

        if tags and not set(tags) & set(self.tags):
            return False
        return not ids or any(fnmatch(self.id, pattern) for pattern in ids)


# ---------------------------------------------------------------- parsing


def _plain(value: Any) -> Any:
    """Located containers → plain dict/list (for JSON and YAML dumps)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return _rel(value)
    return value


def _rel(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def parse_expectations(raw: Any, path: Path, line: int | None, *, level: str) -> tuple[Expectation, ...]:
    """``expect:`` (mapping or list) → expectations, each checked against the scorer registry."""
    from evals.scorers import SCORERS, split_name

    items: list[tuple[str, Any, float | None, int | None]] = []
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            items.append((str(key), value, None, _line(raw, key, line)))
    elif isinstance(raw, list):
        for i, entry in enumerate(raw):
            entry_line = raw.lines[i] if isinstance(raw, _LocatedList) else line
            if isinstance(entry, Mapping) and "type" in entry:
                unknown = set(entry) - {"type", "value", "threshold"}
                if unknown:
                    raise CaseError(path, entry_line, f"unknown field(s) {sorted(unknown)} in expectation; "
                                    "use type, value, threshold")
                items.append((str(entry["type"]), entry.get("value"), entry.get("threshold"), entry_line))
            elif isinstance(entry, Mapping) and len(entry) == 1:
                key, value = next(iter(entry.items()))
                items.append((str(key), value, None, entry_line))
            else:
                raise CaseError(path, entry_line, "each expectation is {type: NAME, value: …} or {NAME: value}")
    else:
        raise CaseError(path, line, "'expect' must be a mapping (scorer: value) or a list of expectations")

    out = []
    for name, value, threshold, at in items:
        base, negate = split_name(name)
        spec = SCORERS.get(base)
        if spec is None:
            known = ", ".join(sorted(n for n, s in SCORERS.items() if s.level == level))
            raise CaseError(path, at, f"unknown {level} scorer {name!r}; known: {known}")
        if spec.level != level:
            where = "under the top-level 'expect'" if spec.level == "conversation" else "under a turn's 'expect'"
            raise CaseError(path, at, f"{name!r} is a {spec.level}-level scorer: put it {where}")
        if threshold is not None and not isinstance(threshold, int | float):
            raise CaseError(path, at, f"threshold of {name!r} must be a number")
        try:
            value = spec.validate(_plain(value)) if spec.validate else _plain(value)
        except (TypeError, ValueError) as exc:
            raise CaseError(path, at, f"{name}: {exc}") from exc
        out.append(Expectation(base, value, negate, float(threshold) if threshold is not None else None, at))
    return tuple(out)


def with_default_expectations(expect: tuple[Expectation, ...], kind: str,
                              line: int | None) -> tuple[Expectation, ...]:
    """Every customer turn checks ``not-repeats`` (no sentence of the agent's previous message again)
    unless the turn says ``not-repeats: false`` (say why in a comment). Event turns (re-engagement after
    hours, hand-back) may restate the pending question, so they are not checked by default."""
    if any(e.type == "repeats" for e in expect):
        return tuple(e for e in expect if not (e.type == "repeats" and e.value is False))
    if kind == "event":
        return expect
    return (*expect, Expectation("repeats", True, True, None, line, default=True))


def _media_path(value: Any, kind: str, case_path: Path, line: int | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise CaseError(case_path, line, f"'{kind}' needs a file path")
    for base in (case_path.parent, PROJECT_ROOT):
        candidate = (base / value).resolve()
        if candidate.is_file():
            if candidate.suffix.lower() not in MEDIA_SUFFIXES[kind]:
                raise CaseError(case_path, line, f"{value!r} does not look like an {kind} file "
                                f"({', '.join(sorted(MEDIA_SUFFIXES[kind]))})")
            return candidate
    raise CaseError(case_path, line, f"{kind} file {value!r} not found (relative to the golden or the project)")


def _message(entry: Any, path: Path, line: int | None) -> CustomerMessage:
    if isinstance(entry, str):
        return CustomerMessage(text=entry)
    if not isinstance(entry, Mapping):
        raise CaseError(path, line, "a burst message is a text or {text|audio|image: …, after: seconds}")
    unknown = set(entry) - {"text", "audio", "image", "caption", "after"}
    if unknown:
        raise CaseError(path, line, f"unknown field(s) {sorted(unknown)} in a burst message")
    after = entry.get("after", 0) or 0
    if not isinstance(after, int | float) or after < 0:
        raise CaseError(path, line, "'after' is a number of seconds ≥ 0")
    for kind in ("audio", "image"):
        if kind in entry:
            return CustomerMessage(text=str(entry.get("caption") or ""), kind=kind,
                                   media=_media_path(entry[kind], kind, path, line), after_s=float(after))
    if "text" not in entry:
        raise CaseError(path, line, "a burst message needs 'text', 'audio' or 'image'")
    return CustomerMessage(text=str(entry["text"]), after_s=float(after))


def _turn(raw: Any, path: Path, line: int | None) -> Turn:
    if isinstance(raw, str):
        return Turn("customer", (CustomerMessage(text=raw),), line=line)
    if not isinstance(raw, Mapping):
        raise CaseError(path, line, f"a turn is a mapping with one of {', '.join(TURN_KINDS)}")
    unknown = set(raw) - TURN_KEYS
    if unknown:
        raise CaseError(path, _line(raw, sorted(unknown, key=str)[0], line),
                        f"unknown field(s) {sorted(map(str, unknown))} in a turn; allowed: {', '.join(sorted(TURN_KEYS))}")
    kinds = [k for k in TURN_KINDS if k in raw]
    if len(kinds) != 1:
        raise CaseError(path, line, f"a turn needs exactly one of {', '.join(TURN_KINDS)} (found {kinds or 'none'})")
    kind = kinds[0]
    at = _line(raw, kind, line)
    expect = with_default_expectations(
        parse_expectations(raw.get("expect"), path, _line(raw, "expect", line), level="turn"), kind, line)
    wait = raw.get("wait", 0) or 0
    if not isinstance(wait, int | float) or wait < 0:
        raise CaseError(path, _line(raw, "wait", line), "'wait' is simulated seconds ≥ 0 before the turn")
    common: dict[str, Any] = {"expect": expect, "wait_s": float(wait), "line": line,
                              "model": _model_script(raw, path, line)}
    if kind == "customer":
        text = raw["customer"]
        if not isinstance(text, str | int | float) or not str(text).strip():
            raise CaseError(path, at, "'customer' needs the message text")
        return Turn("customer", (CustomerMessage(text=str(text)),), **common)
    if kind == "burst":
        messages = raw["burst"]
        if not isinstance(messages, list) or len(messages) < 2:
            raise CaseError(path, at, "'burst' is a list of at least two messages")
        lines = getattr(messages, "lines", [at] * len(messages))
        return Turn("burst", tuple(_message(m, path, lines[i]) for i, m in enumerate(messages)), **common)
    if kind in {"audio", "image"}:
        media = _media_path(raw[kind], kind, path, at)
        return Turn(kind, (CustomerMessage(text=str(raw.get("caption") or ""), kind=kind, media=media),),  # type: ignore[arg-type]
                    **common)
    event = raw["event"]
    if event not in EVENTS:
        raise CaseError(path, at, f"unknown event {event!r}; events: {', '.join(EVENTS)}")
    hours = raw.get("hours")
    if hours is not None and (not isinstance(hours, int | float) or hours <= 0):
        raise CaseError(path, _line(raw, "hours", line), "'hours' is a positive number")
    text = str(raw.get("text") or "")
    if event == "operator_reply" and not text:
        raise CaseError(path, at, "event operator_reply needs 'text' (what the operator says)")
    return Turn("event", (), event=event, event_text=text, hours=float(hours) if hours else None, **common)


def _model_script(raw: Mapping[str, Any], path: Path, line: int | None) -> dict[str, Any]:
    """A turn's ``model:`` (what ``local/adversary`` answers, per role), checked; {} without one."""
    from agent.adapters.adversary import validate_script

    if "model" not in raw:
        return {}
    return _checked(raw["model"], lambda key, value: validate_script({key: value}), validate_script, path,
                    _line(raw, "model", line))


def _checked(raw: Any, check_entry: Any, check_all: Any, path: Path, line: int | None) -> Any:
    """``check_all(raw)`` as plain data; each entry of a mapping is checked alone first (``check_entry(key,
    value)``), so an error names the entry's own line; a ValueError becomes a CaseError."""
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            try:
                check_entry(key, value)
            except ValueError as exc:
                raise CaseError(path, _line(raw, key), str(exc)) from exc
    try:
        return check_all(_plain(raw))
    except ValueError as exc:
        raise CaseError(path, line, str(exc)) from exc


def _priced(data: Mapping[str, Any], path: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """A golden's ``price_as`` and ``usage`` (the priced fake model), checked; ({}, {}) without them."""
    from agent.adapters.adversary import usage_entry, validate_price_as, validate_usage

    if "price_as" not in data:
        if "usage" in data:
            raise CaseError(path, _line(data, "usage"), "'usage' is the fixed usage of a priced fake: add 'price_as'")
        return {}, {}
    if "usage" not in data:
        raise CaseError(path, _line(data, "price_as"), "'price_as' needs 'usage': the fixed "
                        "{prompt_tokens, completion_tokens} each priced role reports")
    price_as = _checked(data["price_as"], lambda key, model: validate_price_as({key: model}), validate_price_as,
                        path, _line(data, "price_as"))
    usage = _checked(data["usage"], lambda key, tokens: usage_entry(key, tokens, price_as),
                     lambda raw: validate_usage(raw, price_as), path, _line(data, "usage"))
    return price_as, usage


def scripted_roles(case: Case) -> set[str]:
    """The roles some turn of ``case`` scripts (``model:``): the runner routes them to ``local/adversary``."""
    return {str(key).partition("/")[0] for turn in case.turns for key in turn.model}


def _pack_settings(pack: Any) -> set[str]:
    """The names in the golden's pack's ``settings:`` (pack.yaml); the default pack's without ``pack:``."""
    from agent.config import DEFAULT_PACK_DIR
    from agent.core.pack import PackError, get_pack

    try:
        return set(get_pack(DEFAULT_PACK_DIR.parent / str(pack) if pack else None).settings_spec)
    except PackError:
        return set()


def parse_case(data: Any, path: Path | str = "<string>") -> Case:
    """Validate one parsed YAML document as a golden conversation."""
    path = Path(path)
    if not isinstance(data, Mapping):
        raise CaseError(path, 1, "a golden file is a mapping with id, turns and optional description/tags/…")
    unknown = set(data) - CASE_KEYS
    if unknown:
        key = sorted(unknown, key=str)[0]
        raise CaseError(path, _line(data, key), f"unknown field {key!r}; allowed: {', '.join(sorted(CASE_KEYS))}")
    case_id = data.get("id") or path.stem
    if not isinstance(case_id, str) or not case_id.replace("_", "").replace("-", "").isalnum():
        raise CaseError(path, _line(data, "id"), "'id' is letters, digits, '_' or '-'")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CaseError(path, _line(data, "tags"), "'tags' is a list of words")
    settings = data.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise CaseError(path, _line(data, "settings"), "'settings' is a mapping of Settings fields")
    allowed = SETTINGS_KEYS | _pack_settings(data.get("pack"))
    for key in settings:
        if key not in allowed:
            raise CaseError(path, _line(settings, key), f"setting {key!r} cannot be overridden by a golden; "
                            f"allowed: {', '.join(sorted(allowed))}")
    api = data.get("api_responses") or {}
    if not isinstance(api, Mapping):
        raise CaseError(path, _line(data, "api_responses"), "'api_responses' maps a CPF (or '*') to the API body")
    for cpf, body in api.items():
        if not isinstance(body, Mapping) or "code" not in body:
            raise CaseError(path, _line(api, cpf), f"the API body for {cpf!r} needs a 'code' (200, 701…)")
    turns_raw = data.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise CaseError(path, _line(data, "turns"), "'turns' is a non-empty list")
    lines = getattr(turns_raw, "lines", [None] * len(turns_raw))
    turns = tuple(_turn(t, path, lines[i]) for i, t in enumerate(turns_raw))
    persona = data.get("persona")
    if persona is not None and not isinstance(persona, Mapping):
        raise CaseError(path, _line(data, "persona"), "'persona' is a mapping (goal, style, facts…)")
    price_as, usage = _priced(data, path)
    snapshot = data.get("snapshot", True)
    if not isinstance(snapshot, bool):
        raise CaseError(path, _line(data, "snapshot"), "'snapshot' is true (the default) or false")
    return Case(
        id=case_id, turns=turns, description=str(data.get("description") or ""), tags=tuple(tags),
        pack=str(data["pack"]) if data.get("pack") else None, settings=_plain(settings),
        api_responses=_plain(api), expect=parse_expectations(data.get("expect"), path, _line(data, "expect"),
                                                             level="conversation"),
        persona=_plain(persona) if persona else None, path=path, line=getattr(data, "line", 1),
        price_as=price_as, usage=usage, snapshot=snapshot,
    )


def load_case(path: Path | str) -> Case:
    """Read and validate one golden file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    return parse_case(parse_yaml(golden_text(data), path), path)


_RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def golden_text(data: bytes) -> str:
    """A golden file's bytes → YAML text: a BOM, invalid UTF-8 or a raw control character (pasted from
    a chat export) never stops the suite. Write the characters a turn must carry as escapes in a
    double-quoted string ("\\x00", "\\udc80"): they reach the agent as they are, for it to clean."""
    text = data.decode("utf-8-sig", errors="replace")
    return _RAW_CONTROLS.sub("", text)


def golden_files(suite: Path | str | None = None, *, recursive: bool = False) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files of a suite folder (or one file), sorted; ``recursive`` adds its
    subfolders (``evals/golden/<pack>/``: another pack's goldens)."""
    root = Path(suite) if suite else GOLDEN_DIR
    if root.is_file():
        return [root]
    pattern = "**/*" if recursive else "*"
    return sorted([*root.glob(f"{pattern}.yaml"), *root.glob(f"{pattern}.yml")])


def suite_for_pack(pack_dir: Path | str | None = None) -> Path:
    """A pack's own goldens: ``evals/golden/<pack folder>/`` when that folder exists, else
    ``evals/golden`` itself (the default pack's goldens live at the top level)."""
    if pack_dir is not None:
        folder = GOLDEN_DIR / Path(pack_dir).name
        if folder.is_dir():
            return folder
    return GOLDEN_DIR


def load_suite(suite: Path | str | None = None, *, tags: Sequence[str] = (), ids: Sequence[str] = (),
               strict: bool = True) -> list[Case]:
    """Every golden of a suite, filtered by tags/ids. Duplicate ids are an error (file:line of both)."""
    cases: list[Case] = []
    errors: list[CaseError] = []
    seen: dict[str, Case] = {}
    for file in golden_files(suite):
        try:
            case = load_case(file)
        except CaseError as exc:
            if strict:
                raise
            errors.append(exc)
            continue
        if case.id in seen:
            other = seen[case.id]
            raise CaseError(file, case.line, f"duplicate id {case.id!r} (also in {other.path})")
        seen[case.id] = case
        if case.matches(tags, ids):
            cases.append(case)
    return cases


def validate_suite(suite: Path | str | None = None) -> list[CaseError]:
    """Every error of a suite (one per file), without stopping at the first."""
    errors: list[CaseError] = []
    for file in golden_files(suite):
        try:
            load_case(file)
        except CaseError as exc:
            errors.append(exc)
    return errors


# ---------------------------------------------------------------- writing


def case_to_dict(case: Case) -> dict[str, Any]:
    """A case as plain data in the file format (for record-as-golden and round trips)."""
    data: dict[str, Any] = {"id": case.id}
    if case.description:
        data["description"] = case.description
    if case.tags:
        data["tags"] = list(case.tags)
    if case.pack:
        data["pack"] = case.pack
    if case.settings:
        data["settings"] = dict(case.settings)
    if case.api_responses:
        data["api_responses"] = _plain(case.api_responses)
    if case.persona:
        data["persona"] = _plain(case.persona)
    if case.price_as:
        data["price_as"] = dict(case.price_as)
        data["usage"] = _plain(case.usage)
    if not case.snapshot:
        data["snapshot"] = False
    turns = []
    for turn in case.turns:
        item: dict[str, Any] = {}
        if turn.kind == "customer":
            item["customer"] = turn.messages[0].text
        elif turn.kind == "burst":
            item["burst"] = [m.to_yaml() for m in turn.messages]
        elif turn.kind in {"audio", "image"}:
            item[turn.kind] = _rel(turn.messages[0].media)
            if turn.messages[0].text:
                item["caption"] = turn.messages[0].text
        else:
            item["event"] = turn.event
            if turn.hours:
                item["hours"] = turn.hours
            if turn.event_text:
                item["text"] = turn.event_text
        if turn.wait_s:
            item["wait"] = turn.wait_s
        if turn.model:
            item["model"] = _plain(turn.model)
        if expect_out := _expect_out(turn.expect):
            item["expect"] = expect_out
        turns.append(item)
    data["turns"] = turns
    if case.expect:
        data["expect"] = _expect_out(case.expect)
    return data


def _expect_out(expectations: Iterable[Expectation]) -> Any:
    items = [e for e in expectations if not e.default]
    names = [e.name for e in items]
    if len(set(names)) == len(names) and all(e.threshold is None for e in items):
        return {e.name: _plain(e.value) for e in items}
    return [e.to_dict() for e in items]


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_case(case: Case | Mapping[str, Any]) -> str:
    """YAML text of a case (readable: block style, unicode, key order kept)."""
    data = case_to_dict(case) if isinstance(case, Case) else _plain(case)
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=None, width=110)


def case_fields() -> list[str]:
    """Field names of :class:`Case` (for docs and the page)."""
    return [f.name for f in fields(Case)]
