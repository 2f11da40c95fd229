"""Record as golden: a conversation (live session or stored chat) → a golden file whose expectations
are what the agent actually did (step, attributes, tools, message codes), for a person to edit.

Voice notes and images are not kept by the agent, so a media turn is recorded as the text it was
read as (with a ``note`` saying so); attach the file by hand to test media again.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.br.cpf import format_cpf
from agent.core.trace import TurnTrace
from agent.br.cpf import mask as mask_cpf
from agent.config import DEFAULT_PACK_DIR
from evals.cases import CaseError, dump_case, parse_case, parse_yaml, suite_for_pack

EVENT_NAMES = {"idle_timeout": "idle", "operator_handback": "hand_back", "ask_human": "request_handoff"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "recorded"


def _expectations(trace: TurnTrace, raw_attributes: Mapping[str, Any], before: Mapping[str, Any],
                  replies: int) -> dict[str, Any]:
    """What the agent did in one turn, as expectations."""
    after = trace.state_after
    expect: dict[str, Any] = {}
    if after.get("step"):
        expect["step"] = after["step"]
    attrs = after.get("attributes") or {}
    new = {k: v for k, v in attrs.items() if before.get(k) != v and v not in (None, "")}
    if new:
        shown: dict[str, Any] = {}
        for name, value in new.items():
            if name == "cpf":
                raw = str(raw_attributes.get("cpf") or "")
                # The trace keeps the CPF masked; the session's final state has it in clear.
                shown[name] = format_cpf(raw) if raw and mask_cpf(raw) == value else "*"
            else:
                shown[name] = value
        expect["attribute"] = shown
    codes = list(trace.message_codes) if replies else []
    if codes:
        expect["message_code"] = codes if len(codes) > 1 else codes[0]
    tools = trace.tool_calls
    if tools:
        calls = [{"name": t.name, "outcome": t.outcome} for t in tools]
        expect["tool_called"] = calls if len(calls) > 1 else calls[0]
    elif after.get("step") != "handoff":
        expect["not-tool_called"] = "*"
    if not replies:
        expect["silent"] = True
    return expect


def _in_clear(text: str, session: Any) -> str:
    """A stored customer line (scrubbed at ingestion) with the captured attributes' masked forms back in
    clear from the session's state, so the golden replays (``•••.000.002-••`` → ``200.000.002-99``)."""
    pack = session.engine.pack
    for name, raw in session.state.attributes.items():
        if raw in (None, "") or name not in pack.attributes:
            continue
        try:
            masked = str(pack.mask_value(name, raw))
        except (ValueError, TypeError):
            continue
        if masked and masked != str(raw) and masked in text:
            text = text.replace(masked, format_cpf(str(raw)) if name == "cpf" else str(raw))
    return text


def golden_from_session(session: Any, *, case_id: str = "", description: str = "",
                        tags: Sequence[str] = ("recorded",), api_responses: Mapping[str, Any] | None = None,
                        persona: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The conversation of an ``AgentSession`` as golden-file data (edit, then :func:`save_golden`)."""
    traces = list(session.traces)
    raw_attributes = dict(session.state.attributes)
    groups: dict[int, list[Any]] = {}
    order: list[tuple[str, Any]] = []
    placed: set[int] = set()
    for message in session.messages:
        turn = message.meta.get("turn") if isinstance(message.meta, Mapping) else None
        if message.role == "customer" and isinstance(turn, int):
            if turn not in groups:
                groups[turn] = []
                order.append(("turn", turn))
                placed.add(turn)
            groups[turn].append(message)
        elif message.role == "operator":
            order.append(("operator", message.text))
        elif message.role == "agent" and isinstance(turn, int) and turn not in placed:
            order.append(("event", turn))
            placed.add(turn)
    typed = {id(session.messages[i]): text for i, text in getattr(session, "typed", {}).items()
             if i < len(session.messages)}
    for index, trace in enumerate(traces):  # silent system events (no message at all)
        if index not in placed and trace.system_event:
            order.append(("event", index))
            placed.add(index)

    turns: list[dict[str, Any]] = []
    previous_created: float | None = None
    for kind, ref in order:
        if kind == "operator":
            turns.append({"event": "operator_reply", "text": ref, "expect": {"silent": True}})
            continue
        trace = traces[ref] if isinstance(ref, int) and ref < len(traces) else TurnTrace()
        before = trace.state_before.get("attributes") or {}
        replies = len(trace.replies)
        expect = _expectations(trace, raw_attributes, before, replies)
        item: dict[str, Any]
        if kind == "event":
            event = EVENT_NAMES.get(str(trace.system_event), "idle")
            item = {"event": event}
            if event == "idle":
                item["hours"] = 25
        else:
            messages = groups[ref]
            texts = []
            for i, m in enumerate(messages):
                text = typed.get(id(m)) or _in_clear(m.text, session)
                entry: Any = text
                if i and previous_created is not None and m.created_at:
                    gap = round(max(0.0, m.created_at - previous_created), 1)
                    entry = {"text": text, "after": gap} if gap else text
                previous_created = m.created_at
                texts.append(entry)
            media = [m for m in messages if m.source in {"audio", "image"}]
            if len(texts) == 1:
                item = {"customer": texts[0] if isinstance(texts[0], str) else texts[0]["text"]}
            else:
                item = {"burst": texts}
            if media:
                item["note"] = f"was {'a voice note' if media[0].source == 'audio' else 'an image'} " \
                               f"({(media[0].meta or {}).get('filename', '')}); recorded as the text it was read as"
        item["expect"] = expect
        turns.append(item)
    data: dict[str, Any] = {
        "id": case_id or f"recorded_{time.strftime('%Y%m%d_%H%M%S')}",
        "description": description or f"Recorded from conversation #{session.chat_id}; expectations are what "
                                      "the agent did — review them before saving.",
        "tags": list(tags),
    }
    pack_dir = getattr(getattr(session, "settings", None), "pack_dir", None)
    if pack_dir is not None and Path(pack_dir).resolve() != DEFAULT_PACK_DIR.resolve():
        data["pack"] = Path(pack_dir).name  # replayed with the pack it was recorded with
    pinned = {k: v for k, v in (getattr(getattr(session, "settings", None), "pack_settings", None) or {}).items()
              if k != "api_url" and isinstance(v, str | int | float | bool)}
    if pinned:
        data["settings"] = pinned  # e.g. the conversation's date: the replay gets the same rules
    if api_responses:
        data["api_responses"] = dict(api_responses)
    if persona:
        data["persona"] = dict(persona)
    data["turns"] = turns
    final = session.state.step
    data["expect"] = {"final_step": final}
    return data


def golden_from_chat(settings: Any, chat_id: int, **kwargs: Any) -> dict[str, Any]:
    """A stored conversation (by chat id) as golden-file data."""
    from agent.core.session import AgentSession

    return golden_from_session(AgentSession.load(settings, chat_id), **kwargs)


def golden_yaml(data: Mapping[str, Any]) -> str:
    """Golden data → YAML text (what the page shows in its editor)."""
    return dump_case(data)


def golden_dir(pack_dir: Path | str | None = None) -> Path:
    """Where recorded goldens are saved: ``CONVERSA_GOLDEN_DIR`` if set (tests), else the pack's suite
    (``evals/golden/<pack>/`` when it exists, else ``evals/golden``)."""
    folder = os.environ.get("CONVERSA_GOLDEN_DIR", "").strip()
    return Path(folder) if folder else suite_for_pack(pack_dir)


def golden_path(case_id: str, directory: Path | str | None = None) -> Path:
    """The file :func:`save_golden` writes for a golden with this id."""
    return Path(directory if directory is not None else golden_dir()) / f"{_slug(case_id)}.yaml"


def save_golden(text_or_data: str | Mapping[str, Any], directory: Path | str | None = None, *,
                overwrite: bool = False) -> Path:
    """Validate and write ``<id>.yaml`` into ``directory`` (default :func:`golden_dir`); raises ``CaseError``
    (with the line) if it is not a valid golden, or if the file exists and ``overwrite`` is false."""
    text = text_or_data if isinstance(text_or_data, str) else dump_case(text_or_data)
    directory = Path(directory) if directory is not None else golden_dir()
    case = parse_case(parse_yaml(text, "<recorded golden>"), directory / "recorded.yaml")
    target = golden_path(case.id, directory)
    if target.exists() and not overwrite:
        raise CaseError(target, None, "a golden with this id already exists — change the id or allow overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


__all__ = ["golden_from_session", "golden_from_chat", "golden_yaml", "golden_dir", "golden_path", "save_golden"]
