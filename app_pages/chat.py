"""Chat page: a WhatsApp-like conversation with the agent, its journey state, handoff and traces.

One ``AgentSession`` per browser session (``st.session_state.agent_session``); the chat id is kept in
the URL (``?chat=N``) so a reload brings the same conversation back from the database. A new
conversation starts with the first message: the page draws at once while the model gateway
(litellm, ~3 s to import) warms up in the background.
"""

from __future__ import annotations

import contextlib
import functools
import json
import mimetypes
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st

import agent
import evals
from agent import AgentSession, Attachment, Settings, TurnTrace, list_conversations
from app_pages.diet import budget_text, sections_rows, sections_text
from app_pages.i18n import feature, number, t
from app_pages.i18n import money as money
from app_pages.submits import Submitted
from app_pages.submits import take as take_submitted
from app_pages.ui import whatsapp_markdown

settings: Settings = st.session_state.settings
AUDIO_TYPES = ["wav", "mp3", "ogg", "oga", "opus", "m4a", "webm", "flac"]
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"]

try:  # a pack that does not load (a prompt breaking its contract, a pack.yaml mistake) says why, not a traceback
    agent.get_pack(settings.pack_dir)
except agent.errors.ConversaError as exc:
    st.error(t("The pack {pack} does not load: fix it (the Prompts page shows what breaks) or pick another pack in "
               "the sidebar.", pack=settings.pack_dir.name) + f"\n\n```\n{exc}\n```", icon=":material/error:")
    st.stop()

encryption = agent.encryption_status()  # a malformed key stops every page in app.py

st.html("""<style>
div[data-testid="stChatMessage"] { border-radius: 0.8rem; padding: 0.6rem 0.9rem; margin-bottom: 0.35rem;
  box-shadow: 0 1px 0.5px rgba(11, 20, 26, 0.13); background: #ffffff; max-width: 88%; }
div[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"]) {
  background: #d9fdd3; flex-direction: row-reverse; margin-left: auto; text-align: left; }
div[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"]) [data-testid="stChatMessageContent"] {
  margin-right: 0.5rem; }
.st-key-chat_log { background: #efeae2; border-radius: 0.8rem; padding: 0.6rem; }
.pending-note { font-size: 0.8rem; color: #667781; }
.st-key-chat_golden_text textarea { font-family: "Source Code Pro", ui-monospace, monospace; font-size: 0.85rem; }
</style>""")


# ---------------------------------------------------------------- the session
def effective_settings() -> Any:
    """Sidebar settings with this page's burst toggle applied."""
    burst = st.session_state.get("chat_burst_mode", settings.burst_mode)
    return settings.with_changes(burst_mode=burst)


def warm_up() -> threading.Thread:
    """Build the engine for these settings once per process, in the background, while the customer types
    (again when the sidebar switches to another pack or engine setting; models are per call). Builds the
    whole engine (pack, indexes, LiteLLM for a provider's model): the first message must not wait for it.

    Started a moment after the page is drawn: LiteLLM's import (a provider's model) holds the GIL for
    seconds, which would otherwise slow down sending this very page to the browser; with ``local/*``
    models only there is no import, and a shorter wait. ``agent.warm_up`` is idempotent per engine and
    starts again when the engine was dropped, so every tab and every reload reaches "ready".
    """
    settings = effective_settings()
    return agent.warm_up(settings, delay_s=0.3 if settings.all_local else 2.0)


@st.cache_resource(show_spinner=False)
def chat_workers() -> agent.Workers:
    """Every chat's background worker in this process: turns run there, never in a script run, so a
    message sent while the agent builds its engine or waits on a slow model is queued, not merged or lost."""
    return agent.Workers()


def start_new() -> int:
    """A new conversation, at once: its worker builds the engine (if the warm-up has not) in the background.
    No Streamlit call here: a submit interrupting this run must find the chat id already kept."""
    chat_id = chat_workers().new_chat(effective_settings(), source="playground")  # a person (chats.source)
    st.session_state.chat_id = chat_id
    return chat_id


@st.fragment(run_every=1.0)
def agent_status() -> None:
    """Whether the engine has finished warming up (the first message is then answered at once)."""
    if agent.is_warm(effective_settings()):
        st.caption(":material/bolt: " + t("Agent ready — say *oi*."))
    else:
        warm_up()  # again if this engine was dropped or its build failed
        st.caption(":material/hourglass_top: " + t("Warming up the agent (loading models and the pack)…"))


def new_conversation() -> None:
    """Forget the current conversation; the next message starts a new one."""
    st.session_state.pop("agent_session", None)
    st.session_state.pop("chat_id", None)
    st.session_state.pop("chat_golden_saved", None)
    st.query_params.pop("chat", None)


def load(chat_id: int) -> None:
    workers = chat_workers()
    try:
        running = workers.find(effective_settings(), chat_id)
        if running is None:  # else this chat's worker (another tab, an earlier run) has the session
            with st.spinner(t("Loading conversation #{id}…", id=chat_id)):
                workers.get(effective_settings(), chat_id,
                            session=AgentSession.load(effective_settings(), chat_id))
        st.session_state.chat_id = chat_id
        st.session_state.pop("agent_session", None)
        st.query_params["chat"] = str(chat_id)
    except KeyError:
        st.session_state.pop("agent_session", None)
        st.session_state.pop("chat_id", None)
        st.query_params.pop("chat", None)
        st.toast(t("Conversation #{id} is not in this database; started a new one.", id=chat_id),
                 icon=":material/info:")
    except agent.errors.StoreError as exc:  # e.g. encrypted with a key that is not configured
        st.session_state.pop("agent_session", None)
        st.session_state.pop("chat_id", None)
        st.query_params.pop("chat", None)
        st.toast(t("Conversation #{id} cannot be read; started a new one.", id=chat_id) + f" {exc}",
                 icon=":material/error:")


if "chat_id" not in st.session_state:
    wanted = st.query_params.get("chat")
    if wanted and wanted.isdigit():
        load(int(wanted))
    else:
        warm_up()


def current_worker() -> agent.ChatWorker | None:
    """This browser session's chat worker (started again if it stopped after being idle); its session
    becomes ``st.session_state.agent_session`` once loaded."""
    chat_id = st.session_state.get("chat_id")
    if chat_id is None:
        return None
    running = chat_workers().get(effective_settings(), int(chat_id))
    if running.session is not None:
        st.session_state.agent_session = running.session
    return running


worker = current_worker()
session: AgentSession | None = worker.session if worker else None
wanted_settings = effective_settings()
if session is not None and session.settings.pack_dir != wanted_settings.pack_dir:
    # Another pack is another agent (its own journey): its conversation starts anew.
    new_conversation()
    worker = session = None
    warm_up()
    st.toast(t("Pack {name}: a new conversation starts.", name=wanted_settings.pack_dir.name),
             icon=":material/inventory_2:")
if worker is not None:
    # Model/temperature/burst switches apply from the next turn of the same conversation.
    worker.update_settings(wanted_settings)


def session_lock() -> Any:
    """The chat worker's lock: an action on the session (handoff, operator reply) waits for a running turn."""
    return worker.lock if worker is not None else contextlib.nullcontext()


# ---------------------------------------------------------------- rendering helpers
def media_note(meta: dict[str, Any]) -> None:
    for item in meta.get("media") or []:
        kind = item.get("kind", "file")
        icon = ":material/mic:" if kind == "audio" else ":material/image:"
        what = t("voice note") if kind == "audio" else t("image")
        if item.get("error"):
            st.caption(f"{icon} " + t("{what} `{file}` could not be read: {error}", what=what,
                                      file=item.get("filename", ""), error=item["error"]))
            continue
        engine = item.get("model") or "local"
        label = t("transcript") if kind == "audio" else t("text read from the image")
        st.caption(f"{icon} {what} `{item.get('filename', '')}` · {label} ({engine}):")
        if item.get("text"):
            st.markdown(f"> {item['text']}")


def show_cached_media(meta: dict[str, Any]) -> None:
    cache = st.session_state.setdefault("chat_media", {})
    for item in meta.get("media") or []:
        data = cache.get((st.session_state.get("chat_id"), item.get("filename")))
        if data is None:
            continue
        if item.get("kind") == "audio":
            st.audio(data)
        else:
            st.image(data, width=220)


def operator_name(session: AgentSession | None) -> str | None:
    """The operator who sees this conversation unmasked (the side panel's *Operator view*, with a name), or
    None. Each opening is written to the access log once: who, when, which conversation."""
    if session is None or not st.session_state.get("chat_operator_view"):
        st.session_state.pop("chat_operator_logged", None)  # switched off: the next opening is logged again
        return None
    name = " ".join(str(st.session_state.get("chat_operator_name") or "").split())
    if not name:
        return None
    opened = f"{session.chat_id}:{name}"
    if st.session_state.get("chat_operator_logged") != opened:
        with session_lock():
            session.log_operator_access(name)
        st.session_state.chat_operator_logged = opened
    return name


def for_viewer(value: Any) -> Any:
    """``value`` as this viewer may see it: unmasked in the operator view, personal data masked otherwise."""
    return value if OPERATOR else agent.mask_for_display(value, agent.get_pack(settings.pack_dir))


@functools.lru_cache(maxsize=4096)
def _masked(text: str) -> str:
    return str(agent.mask_for_display(text))


def text_for_viewer(text: str) -> str:
    """A message as this viewer may see it: the agent's replies may quote what the customer typed (the CPF in
    "Vamos conferir…"); stored masked, they are shown masked too unless the operator view is on."""
    return text if OPERATOR else _masked(text)


def trace_panel(trace: TurnTrace) -> None:
    """Everything about one answered turn: calls with prompts and outputs, tools, documents, state
    (personal data masked unless the operator view is on)."""
    calls = trace.calls
    header = (t("Trace · turn {n}", n="?" if trace.turn is None else trace.turn)
              + f" · {trace.step_before or '?'} → {trace.step_after or '?'} · {number(trace.latency_ms, 0)} ms · "
              + t("{n} tokens", n=number(trace.total_tokens)) + f" · {money(trace.cost_usd)}")
    with st.expander(header, icon=":material/manufacturing:"):
        name = trace.event.name if trace.event else trace.system_event
        bits = [t("event") + f" `{name or '?'}`"]
        if trace.decision:
            bits.append(t("decision") + " `"
                        + json.dumps(for_viewer(asdict(trace.decision)), ensure_ascii=False, default=str)[:240] + "`")
        if trace.message_codes:
            bits.append(t("message codes") + f" {list(trace.message_codes)}")
        st.markdown(" · ".join(bits))
        calls_tab, prompts_tab, tools_tab, docs_tab, state_tab = st.tabs(
            [t("Calls"), t("Prompts & outputs"), t("Tools"), t("Documents"), t("State")])
        with calls_tab:
            if calls:
                st.dataframe(pd.DataFrame([{
                    t("role"): t(c.role.capitalize()), t("feature"): feature(c.feature), t("model"): c.model,
                    t("temperature"): "—" if c.temperature is None else number(c.temperature, 2),
                    t("prompt"): f"{c.prompt_name}@{c.prompt_version}".strip("@"),
                    t("in"): c.input_tokens, t("out"): c.output_tokens,
                    t("cost ({currency})", currency=settings.currency): money(c.cost_usd),
                    "ms": round(c.latency_ms), t("usage"): c.usage_source, t("error"): c.error or "",
                } for c in calls]), hide_index=True, width="stretch")
                if any(c.sections for c in calls):
                    st.caption(t("Tokens by section (prompt diet)"))
                    st.dataframe(pd.DataFrame(sections_rows(calls)), hide_index=True, width="stretch")
            else:
                st.caption(t("No model calls in this turn (a fixed message answered)."))
            for error in trace.errors:
                st.warning(error)
        with prompts_tab:
            for i, c in enumerate(calls):
                heat = "" if c.temperature is None else f" · {t('temperature')} {number(c.temperature, 2)}"
                st.markdown(f"**{i + 1}. {feature(c.feature)}** · `{c.model}`{heat} · "
                            + t("prompt `{name}` version `{version}`", name=c.prompt_name or "—",
                                version=c.prompt_version or "—"))
                if c.sections:
                    st.caption(t("tokens by section") + ": " + sections_text(c.sections)
                               + ("  \n" + budget_text(c.budget) if c.budget else ""))
                for m in c.rendered_messages:
                    st.caption(m.get("role", ""))
                    st.code(for_viewer(str(m.get("content", ""))), language=None, wrap_lines=True)
                st.caption(t("output"))
                if c.json is not None:
                    st.json(for_viewer(dict(c.json)), expanded=False)
                else:
                    st.code(for_viewer(c.output or c.error or ""), language=None, wrap_lines=True)
        with tools_tab:
            if not trace.tool_calls:
                st.caption(t("No API call in this turn."))
            for tool in trace.tool_calls:
                st.markdown(f"`{tool.name}` · {tool.status} · HTTP {tool.http_status} · "
                            f"{tool.latency_ms} ms · " + t("outcome **{outcome}**", outcome=tool.outcome))
                st.json(for_viewer({"args": dict(tool.args), "response": dict(tool.data)}), expanded=True)
        with docs_tab:
            if trace.retrieved:
                st.dataframe(pd.DataFrame([asdict(r) for r in trace.retrieved]), hide_index=True, width="stretch")
            else:
                st.caption(t("No knowledge documents were retrieved."))
        with state_tab:
            before, after = st.columns(2)
            before.caption(t("before"))
            before.json(for_viewer(dict(trace.state_before)), expanded=False)
            after.caption(t("after"))
            after.json(for_viewer(dict(trace.state_after)), expanded=False)
            if trace.guard.input or trace.guard.output:
                st.caption(t("guard rails"))
                st.json(asdict(trace.guard), expanded=False)


def last_alert(session: AgentSession) -> Mapping[str, Any] | None:
    """The live detractor alert of the conversation's last turn, if any (agent/core/assess.py)."""
    return session.traces[-1].alert if session.traces else None


def forget_conversation() -> None:
    """The confirmation's *Yes, erase*: this conversation's data erased (``AgentSession.forget``)."""
    if session is None:
        return
    with session_lock():
        counts = session.forget()
    st.session_state.pop("chat_forget_confirm", None)
    st.session_state.chat_forget_done = t(
        "Erased: {messages} message(s) and {traces} trace(s) deleted, the captured data dropped; {ledger} cost "
        "row(s) kept without the link to this conversation.", messages=counts["messages"], traces=counts["traces"],
        ledger=counts["ledger_unlinked"])


def privacy_panel() -> None:
    """The customer's rights (LGPD) for this conversation: the operator view, and erasing its data."""
    with st.container(border=True):
        st.markdown("**" + t("Privacy (LGPD)") + "**")
        st.toggle(t("Operator view"), key="chat_operator_view", disabled=session is None,
                  help=t("Shows the captured data unmasked to a named operator; each opening is written to the "
                         "access log (who, when, which conversation). Off: personal data are masked, traces too."))
        if st.session_state.get("chat_operator_view") and session is not None:
            st.text_input(t("Operator name"), key="chat_operator_name", placeholder=t("Who is looking?"))
            if not OPERATOR:
                st.caption(t("Type your name to see the data unmasked: the access is logged."))
            else:
                log = agent.access_entries(settings, session.chat_id, limit=5)
                st.caption(t("Access log") + ": " + " · ".join(
                    f"{r['operator']} ({r['action']}, {r['created_at']:%d/%m %H:%M})" for r in log))
        done = st.session_state.pop("chat_forget_done", None)
        if done:
            st.success(done, icon=":material/delete_forever:")
        if st.button(t("Erase this conversation's data"), icon=":material/delete_forever:", width="stretch",
                     disabled=session is None, key="chat_forget",
                     help=t("The customer's right to erasure (LGPD art. 18): messages, traces and captured data "
                            "of this conversation are deleted; the cost ledger keeps its rows without the link.")):
            st.session_state.chat_forget_confirm = session.chat_id if session else None
        if session is not None and st.session_state.get("chat_forget_confirm") == session.chat_id:
            st.warning(t("Erase every message, trace and captured data of conversation #{id}? This cannot be "
                         "undone.", id=session.chat_id), icon=":material/warning:")
            yes, no = st.columns(2)
            yes.button(t("Yes, erase"), type="primary", width="stretch", key="chat_forget_yes",
                       on_click=forget_conversation)
            if no.button(t("Cancel"), width="stretch", key="chat_forget_no"):
                st.session_state.pop("chat_forget_confirm", None)
                st.rerun()


LIVE_POLL_S = 0.5  # how often the page asks the chat's worker what it is doing, while it is busy
LIVE_FOLLOW_S = 0.3  # the longest a poll waits for a due reply: well under LIVE_POLL_S (a loaded machine)
LIVE_FLUSH_S = 0.05


def replied(worker: agent.ChatWorker, shown: int) -> bool:
    """The conversation has messages the page has not drawn (a turn written, or the session loaded)."""
    session = worker.session
    return session is not None and len(session.messages) != shown


def render_messages(session: AgentSession, start: int = 0, with_traces: bool = True) -> None:
    """The conversation's messages from ``start`` on, each turn's trace under its last agent message
    (``with_traces=False``: none, for a reply drawn ahead of the page's redraw, which brings them)."""
    messages = list(session.messages)  # one snapshot: the chat's worker may append meanwhile
    traces = {i if t.turn is None else t.turn: t for i, t in enumerate(list(session.traces))}
    # The trace goes under the last agent message of its turn.
    last_of_turn: dict[int, int] = {}
    for i, m in enumerate(messages):
        if m.role in ("agent", "system") and "turn" in m.meta:
            last_of_turn[int(m.meta["turn"])] = i
    for i, m in enumerate(messages):
        if i < start:
            continue
        role, avatar = {"customer": ("user", None), "agent": ("assistant", None),
                        "operator": ("assistant", ":material/support_agent:"),
                        "system": ("assistant", ":material/error:")}[m.role]
        with st.chat_message(role, avatar=avatar):
            if m.role == "operator":
                st.caption(t("Human operator"))
            if m.role == "system":
                st.error(m.text)
            else:
                show_cached_media(m.meta)
                # A voice note or image sent alone has its transcript as its text: shown once, in its note.
                heard = " ".join(str(x.get("text") or "") for x in m.meta.get("media") or []).split()
                if m.text and m.text.split() != heard:
                    st.markdown(whatsapp_markdown(text_for_viewer(m.text)))
                media_note(m.meta)
            for error in (m.meta.get("errors") or []) if m.role == "agent" else []:
                st.caption(f":material/warning: {error}")
            when = datetime.fromtimestamp(m.created_at).strftime("%H:%M") if m.created_at else ""
            extra = " · " + t("follow-up after silence") if m.meta.get("reengagement") else ""
            st.caption(f"{when}{extra}")
            turn = m.meta.get("turn")
            if with_traces and turn is not None and last_of_turn.get(int(turn)) == i and int(turn) in traces:
                trace_panel(traces[int(turn)])


def capture(value: Any) -> dict[str, Any]:
    """The chat box's value as plain data (text + file bytes), safe to keep across reruns."""
    if isinstance(value, str):
        return {"text": value, "files": []}
    files = list(getattr(value, "files", None) or [])
    audio = getattr(value, "audio", None)
    captured = [(f.name, f.type or "", f.getvalue(), False) for f in files]
    if audio is not None:
        captured.append((audio.name, audio.type or "", audio.getvalue(), True))
    return {"text": value.text or "", "files": captured}


def media_kind(name: str, mime: str) -> Literal["audio", "image"] | None:
    """What a file is to the agent (a voice note or an image), or None when it takes neither."""
    mime = mime or mimetypes.guess_type(name)[0] or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if mime.startswith("audio") or ext in AUDIO_TYPES:
        return "audio"
    return "image" if mime.startswith("image") or ext in IMAGE_TYPES else None


def sendable(item: dict[str, Any]) -> bool:
    """A captured submit that will reach the agent: some text, or a file it takes."""
    return bool(item["text"].strip()) or any(media_kind(name, mime) for name, mime, _, _ in item["files"])


def to_attachments(item: dict[str, Any], chat_id: int) -> tuple[list[Attachment], list[str]]:
    """Captured files and voice notes → attachments (+ problems to show)."""
    attachments, problems = [], []
    cache = st.session_state.setdefault("chat_media", {})
    for name, mime, data, is_voice_note in item["files"]:
        mime = mime or mimetypes.guess_type(name)[0] or ""
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = media_kind(name, mime)
        if kind is None:
            problems.append(t("{file}: only images and voice notes are accepted.", file=name))
            continue
        if is_voice_note:
            name = f"voice-note-{len(cache) + 1}.{ext or 'wav'}"
        cache[(chat_id, name)] = data
        attachments.append(Attachment(kind=kind, filename=name, data=data, mime=mime))
    return attachments, problems


# ---------------------------------------------------------------- record as golden
ID_LINE = re.compile(r"^id:[ \t]*(.*?)[ \t]*$", re.MULTILINE)


def answered_turns(session: AgentSession | None) -> int:
    return sum(1 for t in session.traces if t.replies) if session else 0


def draft_golden() -> None:
    """Button callback: the current conversation as golden YAML, expectations = what the agent did."""
    session = st.session_state.get("agent_session")
    if session is None:
        return
    data = evals.golden_from_session(session)
    st.session_state.chat_golden_text = evals.dump_case(data)
    st.session_state.chat_golden_id = data["id"]
    st.session_state.chat_golden_overwrite = False
    st.session_state.chat_golden_error = None
    st.session_state.chat_recording = True


def id_to_yaml() -> None:
    """The id field edits the YAML's top-level ``id:`` line (the YAML stays the one source of truth)."""
    new = re.sub(r"[^A-Za-z0-9_-]+", "_", st.session_state.chat_golden_id.strip()).strip("_")
    st.session_state.chat_golden_id = new
    text = st.session_state.get("chat_golden_text", "")
    st.session_state.chat_golden_text = (ID_LINE.sub(f"id: {new}", text, count=1) if ID_LINE.search(text)
                                         else f"id: {new}\n{text}")


def yaml_to_id() -> None:
    st.session_state.chat_golden_error = None
    found = ID_LINE.search(st.session_state.get("chat_golden_text", ""))
    st.session_state.chat_golden_id = found.group(1).strip("'\"") if found else ""


def golden_error(exc: Any, text: str, filename: str) -> dict[str, str]:
    """A loader error as ``file:line`` + message, with the offending line and its neighbours."""
    line = exc.line
    lines = text.splitlines()
    excerpt = ""
    if line and 0 < line <= len(lines):
        excerpt = "\n".join(f"{'→' if n == line else ' '} {n:3d} | {lines[n - 1]}"
                            for n in range(max(1, line - 1), min(len(lines), line + 1) + 1))
    return {"where": f"{filename}:{line}" if line else filename, "message": exc.message, "excerpt": excerpt}


def close_recording() -> None:
    st.session_state.chat_recording = False


@st.dialog(t("Record as golden"), width="large", icon=":material/fact_check:", on_dismiss=close_recording)
def record_dialog() -> None:
    folder = evals.golden_dir(settings.pack_dir)
    st.caption(t("The expectations below are what the agent actually did in each turn (step, attributes, tools, "
                 "message codes). Edit them into what it *should* do, then save: the golden joins "
                 "`python -m evals run` and `make test`."))
    case_id = st.text_input(t("Golden id (file name)"), key="chat_golden_id", on_change=id_to_yaml,
                            help=t("Letters, digits, '_' or '-'; it is also the file name."))
    target = evals.golden_path(case_id or "recorded", folder)
    root = evals.GOLDEN_DIR.parent.parent
    shown = target.relative_to(root) if target.is_relative_to(root) else target
    st.caption(t("Saves to `{path}`", path=shown))
    text = st.text_area(t("Golden (YAML)"), key="chat_golden_text", height=380, on_change=yaml_to_id)
    overwrite = False
    if target.exists():
        st.warning(t("`{file}` already exists. Change the id, or confirm to replace it.", file=target.name),
                   icon=":material/warning:")
        overwrite = st.checkbox(t("Overwrite the existing file"), key="chat_golden_overwrite")
    left, right = st.columns(2)
    if left.button(t("Save golden"), type="primary", icon=":material/save:", width="stretch", key="chat_golden_save"):
        try:
            path = evals.save_golden(text, folder, overwrite=overwrite)
        except evals.CaseError as exc:
            st.session_state.chat_golden_error = golden_error(exc, text, target.name)
        else:
            st.session_state.chat_golden_error = None
            st.session_state.chat_recording = False
            st.session_state.chat_golden_saved = str(path)
            st.toast(t("Saved {file}", file=path.name), icon=":material/check_circle:")
            st.rerun()
    if right.button(t("Cancel"), width="stretch", key="chat_golden_cancel"):
        close_recording()
        st.rerun()
    error = st.session_state.get("chat_golden_error")
    if error:
        st.error(t("**Not saved.**") + f" `{error['where']}`: {error['message']}",
                 icon=":material/error:")
        if error["excerpt"]:
            st.code(error["excerpt"], language=None)


# The chat box is read first, before anything is drawn. A fast burst makes reruns interrupt each
# other at the next Streamlit call, and Streamlit can drop a submit whose run was cut short before its
# callback ran (app_pages/submits.py): every value the browser sends is kept in a ledger as it arrives,
# taken from it into an inbox in session_state with no Streamlit call in between, and leaves the inbox
# only once it is in the chat's queue in the database. The chat's worker answers it; this run only renders.
def inbox_item(sent: Submitted) -> dict[str, Any]:
    """A submit taken from the ledger as an inbox entry (text, file bytes, whether files went missing)."""
    return {**capture(sent), "lost_files": sent.lost_files}


def keep_submitted() -> None:
    """The chat box's callback (Streamlit runs it before the script body): this submit, after any sent
    before it whose run was cut short, goes to the inbox."""
    value = st.session_state.get("chat_box")
    inbox = st.session_state.setdefault("chat_inbox", [])
    if value is None:
        return
    sent = take_submitted("chat_box", current=value)  # after the last st.session_state call: taken is kept
    if sent is not None:
        inbox.extend(inbox_item(s) for s in sent)
        return
    # No ledger (an AppTest run): the box's own value. The same message twice with no script body in
    # between is a replay of a run cut short before its body began.
    item = capture(value)
    if not (inbox and inbox[-1] == item):
        inbox.append(item)


st.chat_input(
    "Escreva sua mensagem", accept_file="multiple", accept_audio=True, file_type=AUDIO_TYPES + IMAGE_TYPES,
    max_chars=settings.max_message_chars * 4, key="chat_box", on_submit=keep_submitted,
)
inbox: list[dict[str, Any]] = st.session_state.setdefault("chat_inbox", [])
# Submits whose callback never ran (their run was stopped before it): still in the ledger, oldest first.
inbox.extend(inbox_item(s) for s in take_submitted("chat_box") or [])
if inbox:
    chat_id = st.session_state.get("chat_id")
    if chat_id is None and any(sendable(item) for item in inbox):
        chat_id = start_new()  # only for something to send: a rejected file alone leaves no empty chat behind
    problems: list[str] = []
    while inbox:  # a message is either still here or in the chat's queue (no Streamlit call in between)
        item = inbox[0]
        attachments, item_problems = to_attachments(item, int(chat_id or 0))
        problems += item_problems
        if item.get("lost_files"):
            problems.append(t("A file sent in a fast burst did not arrive: please send it again."))
        # Pasted text may carry NUL, control characters or odd digits: the session cleans it
        # (agent.clean_text); a message of nothing but those still gets an answer.
        if chat_id is not None and (item["text"].strip() or attachments):
            chat_workers().enqueue(effective_settings(), int(chat_id),
                                   item["text"] if item["text"].strip() else "", attachments)
        inbox.pop(0)
    if chat_id is not None:
        st.query_params["chat"] = str(chat_id)
    worker = current_worker()
    session = worker.session if worker else None
    for problem in problems:
        st.toast(problem, icon=":material/warning:")


# ---------------------------------------------------------------- layout
st.title(":material/chat: Teste nosso agente")


def dismiss_clear_notice() -> None:
    st.session_state.chat_clear_notice_dismissed = True


if not encryption.enabled and not st.session_state.get("chat_clear_notice_dismissed"):
    # Once per browser session: what is readable on disk without a key, and how to set one.
    with st.container(key="chat_clear_notice"):
        note, close = st.columns([12, 1.4], vertical_alignment="center")
        note.warning(t("Conversations are stored in clear: CONVERSA_ENCRYPTION_KEY is not set, so the messages, "
                       "the journey state (name, CPF, API results) and the traces are readable by anyone who can "
                       "read the database. Generate a key with `python -m agent keys generate`, put it in .env, "
                       "restart, then run `python -m agent keys rotate` to encrypt what is already stored."),
                     icon=":material/lock_open:")
        close.button(t("Got it"), key="chat_clear_notice_dismiss", on_click=dismiss_clear_notice, width="stretch")
top = st.columns([1.4, 1.6, 1.1, 1.1])
top[0].toggle(t("Burst mode"), value=settings.burst_mode, key="chat_burst_mode",
              help=t("On: messages sent within {seconds} s of each other are answered once, together. "
                     "Off: one reply per message.", seconds=number(settings.burst_window_s)))
past = {c["chat_id"]: c for c in list_conversations(settings, limit=100)}
choice = top[1].selectbox(
    t("Past conversations"), list(past), index=None, placeholder=t("Load a past conversation…"),
    format_func=lambda c: f"#{c} · {past[c]['step'] or '?'} · {past[c]['title']}", label_visibility="collapsed",
    key="chat_pick",
)
if top[2].button(t("Load"), icon=":material/history:", width="stretch", disabled=choice is None) and choice is not None:
    load(int(choice))
    st.rerun()
top[3].button(t("New conversation"), icon=":material/add_comment:", width="stretch", on_click=new_conversation)

chat_col, side = st.columns([2.3, 1], gap="large")

OPERATOR = operator_name(session)  # before anything is drawn: the attributes and every trace follow it

with side:
    view: Mapping[str, Any] = session.state_view() if session else {"step": "greeting", "attributes": {}}
    step = view.get("step", "?")
    try:
        description = session.engine.journey.steps[step].description if session else ""
    except (AttributeError, KeyError):
        description = ""
    with st.container(border=True):
        st.markdown("**" + (t("Conversation #{id}", id=session.chat_id) if session else t("New conversation"))
                    + "**")
        if session is None:
            agent_status()
        st.metric(t("Journey step"), step, help=description or None)
        if description:
            st.caption(description)
        attrs = dict(session.state.attributes) if OPERATOR and session else view.get("attributes") or {}
        st.markdown("**" + t("Captured attributes") + "**")
        if OPERATOR:
            st.caption(":material/visibility: " + t("Unmasked for **{name}** — this access is logged.", name=OPERATOR))
        if attrs:
            st.dataframe(pd.DataFrame([{t("attribute"): k, t("value"): str(v)} for k, v in attrs.items()]),
                         hide_index=True, width="stretch")
        else:
            st.caption(t("Nothing captured yet."))
        st.caption(t("Consent: {consent} · failures: {n}", consent=t("yes") if view.get("consent") else t("not yet"),
                     n=view.get("failures", 0)))

    with st.container(border=True):
        if session is None:
            st.caption(t("Handoff and re-engagement are available once the conversation has started."))
        elif session.in_handoff:
            st.warning(t("**Handoff:** a human operator has this conversation; the agent is silent."),
                       icon=":material/support_agent:")
            handed = next((tr.alert for tr in reversed(session.traces) if tr.alert), None)
            if handed and handed.get("action") == "handoff":
                st.caption(t("Why the agent handed over: {reason}", reason=handed["reason"]))
            with st.form("operator", clear_on_submit=True, border=False):
                reply = st.text_input(t("Operator reply"), placeholder="Escreva como atendente…")
                if st.form_submit_button(t("Send as operator"), icon=":material/send:") and reply.strip():
                    with session_lock():
                        session.operator_reply(reply)
                    st.rerun()
            if st.button(t("Hand back to the agent"), icon=":material/smart_toy:", width="stretch"):
                with session_lock():
                    session.hand_back()
                st.rerun()
        else:
            alert = last_alert(session)
            if alert and alert.get("action") == "offer":
                # The pack offers a person to a detractor (insights.yaml): one click uses the same handoff.
                st.warning(t("**Detractor alert:** {reason}", reason=alert["reason"]),
                           icon=":material/sentiment_dissatisfied:")
                if st.button(t("Transfer to a human agent"), key="chat_detractor_handoff", type="primary",
                             icon=":material/support_agent:", width="stretch"):
                    with session_lock():
                        session.request_handoff()
                    st.rerun()
            st.caption(t("The agent is answering. Hand over to see the operator side."))
            if st.button(t("Hand over to a human"), icon=":material/support_agent:", width="stretch"):
                with session_lock():
                    session.request_handoff()
                st.rerun()
        hours = settings.reengagement_after_s / 3600
        if st.button(t("Simulate {hours} h idle", hours=number(hours)), icon=":material/schedule:", width="stretch",
                     disabled=session is None,
                     help=t("Move the clock past the re-engagement delay: the agent follows up once.")) and session:
            with session_lock():
                result = session.reengage(now=session.last_activity + settings.reengagement_after_s + 1)
            if result is None:
                st.toast(t("No follow-up now (handoff, a pending burst, or already followed up)."),
                         icon=":material/info:")
            else:
                st.rerun()

    privacy_panel()

    usage = session.total_usage if session else agent.Usage()
    with st.container(border=True):
        c1, c2 = st.columns(2)
        c1.metric(t("Turns"), len(session.traces) if session else 0)
        c2.metric(t("Cost ({currency})", currency=settings.currency), money(usage.cost_usd))
        st.caption(t("{n_in} tokens in · {n_out} out", n_in=number(usage.input_tokens), n_out=number(usage.output_tokens))
                   + f" · {t('decision')} `{settings.role('decision').model}` · "
                   + f"{t('conversation')} `{settings.role('conversation').model}`")
        turns = answered_turns(session)
        st.button(t("Record as golden"), icon=":material/fact_check:", width="stretch", disabled=turns == 0,
                  on_click=draft_golden, key="chat_record_golden",
                  help=t("Turn this conversation into an eval golden file; you review and edit it before saving. "
                         "Available once the agent has answered a turn."))
        saved = st.session_state.get("chat_golden_saved")
        if saved:
            st.caption(":material/check_circle: " + t("Saved golden **{file}**", file=Path(saved).name),
                       help=t("{path} — replay it with `python -m evals run --id {id}`", path=saved,
                              id=Path(saved).stem))

with chat_col:
    log = st.container(height=620, key="chat_log")
    with log:
        # Read before drawing the messages: a turn written meanwhile is then either drawn or followed.
        status = worker.status() if worker else None
        shown = len(session.messages) if session else -1
        if (session is None or not session.messages) and not (status and status.busy):
            st.caption(t("Say *oi* to start. You can also record a voice note or attach an image "
                         "(e.g. a screenshot of the FGTS app)."))
        if session is not None:
            render_messages(session)

    @st.fragment(run_every=LIVE_POLL_S)
    def live(worker: agent.ChatWorker, shown: int) -> None:
        """What the chat's worker is doing: messages queued or in an open burst, "digitando…" while a
        turn runs, the burst countdown. When a reply is due before the next poll, the run then waits for it
        and draws it in their place the moment it is written, then redraws the page (side panel, costs)."""

        def show_reply() -> None:
            assert worker.session is not None
            # No trace panels here: an expander opened now would close when the page's redraw replaces it.
            render_messages(worker.session, start=max(shown, 0), with_traces=False)
            # Let the server send these before the page's rerun starts (a new run drops unsent deltas).
            time.sleep(LIVE_FLUSH_S)
            st.rerun(scope="app")

        if replied(worker, shown):
            show_reply()
        status = worker.status()
        slot = st.empty()
        with slot.container():
            for m in status.waiting:
                with st.chat_message("user"):
                    st.markdown(whatsapp_markdown(text_for_viewer(m.text))
                                or f"({', '.join(a.filename for a in m.attachments)})")
            if status.typing:
                st.caption(":material/more_horiz: digitando…")
            elif status.pending:
                left = status.seconds_left
                a, b = st.columns([3, 1])
                a.progress(min(1.0, 1 - left / max(settings.burst_window_s, 0.1)),
                           text=":material/hourglass_top: " + t(
                               "{n} message(s) pending — answering in {seconds} s; keep typing to add to this burst",
                               n=len(status.pending), seconds=number(left, 1)))
                if b.button(t("Answer now"), icon=":material/send:", width="stretch"):
                    worker.answer_now()
            if status.error and worker.session is None:
                st.error(status.error)
        if status.typing or (status.pending and status.seconds_left <= LIVE_FOLLOW_S):
            # Drawn first (a timer tick may stop this run when the machine is slow), then the wait.
            deadline = time.monotonic() + LIVE_FOLLOW_S
            version = status.version
            while not replied(worker, shown) and (left := deadline - time.monotonic()) > 0:
                if worker.wait_changed(version, left):
                    version = worker.version
            if replied(worker, shown):
                with slot.container():
                    show_reply()

    if worker is not None and status is not None and (status.busy or session is None):
        # Only while the worker has something to do: a fragment with run_every polls for as long as it is drawn.
        with log:
            live(worker, shown)

if st.session_state.get("chat_recording"):
    record_dialog()
