"""Every chat-box submit reaches the page once, in the order it was sent, however fast the person types.

Streamlit (1.67) loses a chat-box value sent while a script run is busy, in three ways:

* ``runner.fastReruns`` (on by default): each new rerun request *stops* the running ScriptRunner and starts
  another at once (``AppSession.request_rerun``). A runner stopped before it ran its widget callbacks takes
  the submit it was started for with it — the next runner only has the newer one — and for a moment two
  runners change the session's state together, each under its own lock. On a loaded machine one message
  of five typed 150 ms apart vanished that way. It is off in ``.streamlit/config.toml``, and :func:`install`
  turns it off when the app is started elsewhere: one runner per browser session; a newer request stops the
  run at its next Streamlit call and the next run takes that request.
* With one runner, a run cut short before its callbacks ran (a newer submit arrived meanwhile): the next
  run only carries the newer value.
* Two requests that reach the server before a run starts are folded into one, the newer chat value winning
  (``ScriptRequests._request_rerun_locked`` → ``_coalesce_widget_states``).

So :func:`install` also keeps a ledger per browser session: every chat value the browser sends is recorded
as it arrives (``AppSession.request_rerun``, the server's first look at it), before any of that can drop it.
The page takes from it (:func:`take`): the box's submit callback takes everything up to its own value, the
script body whatever is left (values whose callback never ran). Each value is taken once, oldest first.
Files and voice notes come back from Streamlit's upload manager; a value whose files Streamlit already
handed out and dropped is marked ``lost_files`` (the page asks to send them again). If Streamlit's internals
change shape, :func:`install` says so in the log and :func:`take` returns None: the page reads the box's
value as before (with the old gaps); ``tests/test_submits.py`` notices.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_INSTALLED = "_conversa_records_chat_values"


@dataclass
class Submitted:
    """One chat-box value as the person sent it, shaped like ``st.chat_input``'s value."""

    text: str
    files: list[Any] = field(default_factory=list)  # streamlit UploadedFile
    audio: Any | None = None
    lost_files: bool = False  # it carried files or a voice note Streamlit no longer holds


@dataclass
class _Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    values: list[tuple[str, Any]] = field(default_factory=list)  # (widget id, ChatInputValue proto), oldest first
    # Per widget, the last value recorded (serialized) and whether it came with a fragment's rerun; None once
    # a pair was merged.
    last: dict[str, tuple[bytes, bool] | None] = field(default_factory=dict)


_LEDGERS: dict[str, _Ledger] = {}  # browser session id → its ledger
_LEDGERS_LOCK = threading.Lock()


def _active(state: Any) -> bool:
    """A chat value Streamlit would hand to the box (``ChatInputSerde.deserialize`` needs ``data``)."""
    return bool(state.WhichOneof("value") == "chat_input_value" and state.chat_input_value.HasField("data"))


def record(session_id: str, widget_states: Any, *, fragment: bool = False) -> None:
    """Keep every chat value of one rerun request from the browser, in arrival order (the session's ledger
    starts with its first request: from then on :func:`take` answers for it). ``fragment``: the request
    reruns a fragment (e.g. a ``run_every`` timer).

    The browser can send one submit twice: with the box's own full rerun and with a fragment's timer rerun
    sent at the same moment (the box's value still in the widget states it sends), and Streamlit runs the box's
    callback in both runs. The same value right after itself, once with a fragment's rerun and once with a full
    one, is that one submit; the same text sent twice by a person comes in two full reruns."""
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.setdefault(session_id, _Ledger())
    if widget_states is None:
        return
    with ledger.lock:
        for state in widget_states.widgets:
            if not _active(state):
                continue
            data = state.chat_input_value.SerializeToString(deterministic=True)
            last = ledger.last.get(state.id)
            if last is not None and last[0] == data and last[1] != fragment:
                ledger.last[state.id] = None  # the pair is one submit: kept once
                continue
            ledger.last[state.id] = (data, fragment)
            copy = type(state.chat_input_value)()
            copy.CopyFrom(state.chat_input_value)
            ledger.values.append((state.id, copy))


def forget(session_id: str) -> None:
    """Drop a closed session's ledger."""
    with _LEDGERS_LOCK:
        _LEDGERS.pop(session_id, None)


def start_full_run() -> None:
    """At the top of every full run: write to the page's own containers, not to the last fragment's.

    With fast reruns off, one script-runner thread runs a browser session's reruns one after another. A
    fragment's timer run (the Chat page's ``live``) sets the thread's container stack to the fragment's place
    and leaves it there when it ends normally; Streamlit 1.67 resets that stack only after a ``st.rerun``. The
    next full run in the same thread then wrote the whole main area into the fragment's container (seen in the
    websocket: the page's heading at ``[0, 4, 0, 0, 1, 3]``), and the browser threw "Bad delta path index 4
    (should be between [0, 1])" and closed the page. A full run never starts inside a container, so resetting
    the stack here is always right (``tests/test_submits.py``)."""
    try:
        from streamlit.delta_generator_singletons import context_dg_stack, get_default_dg_stack_value
    except ImportError:  # pragma: no cover
        log.warning("streamlit's container stack moved: a fragment may leak into the next run (app_pages/submits.py)")
        return
    context_dg_stack.set(get_default_dg_stack_value())


def install() -> bool:
    """Once per process: fast reruns off, and every chat value recorded as it arrives. True when in place."""
    try:
        from streamlit import config
        from streamlit.runtime.app_session import AppSession
    except ImportError:  # pragma: no cover
        log.warning("streamlit's AppSession moved: fast chat submits may be lost (app_pages/submits.py)")
        return False
    if config.get_option("runner.fastReruns"):
        # A stopped runner drops the submit it was started for (see the module docstring).
        config.set_option("runner.fastReruns", False, where_defined="app_pages/submits.py")
        log.info("runner.fastReruns turned off: a submit must not die with a stopped script runner")
    if getattr(AppSession, _INSTALLED, False):
        return True
    original = getattr(AppSession, "request_rerun", None)
    if original is None:
        log.warning("streamlit's AppSession changed: fast chat submits may be lost (app_pages/submits.py)")
        return False

    @functools.wraps(original)
    def request_rerun(self: Any, client_state: Any) -> None:
        try:
            session_id = self.id
            if session_id not in _LEDGERS:
                weakref.finalize(self, forget, session_id)
            if client_state is not None:
                record(session_id, client_state.widget_states, fragment=bool(client_state.fragment_id))
            else:
                record(session_id, None)
        except Exception:  # noqa: BLE001  (recording must never stop a rerun)
            log.exception("a chat value could not be recorded (app_pages/submits.py)")
        original(self, client_state)

    setattr(AppSession, "request_rerun", request_rerun)  # noqa: B010  (mypy: no method assignment)
    setattr(AppSession, _INSTALLED, True)
    return True


def _mine(widget_id: str, key: str) -> bool:
    return widget_id == key or widget_id.endswith(f"-{key}")


def _proto_signature(value: Any) -> tuple[str, tuple[str, ...], str | None]:
    audio = value.audio_file_info.file_id if value.HasField("audio_file_info") else None
    return value.data, tuple(f.file_id for f in value.file_uploader_state.uploaded_file_info), audio


def _value_signature(value: Any) -> tuple[str, tuple[str, ...], str | None]:
    if isinstance(value, str):
        return value, (), None
    audio = getattr(value, "audio", None)
    files = tuple(str(getattr(f, "file_id", "")) for f in getattr(value, "files", None) or [])
    return str(value.text or ""), files, getattr(audio, "file_id", None) if audio is not None else None


def _hydrate(value: Any, ctx: Any) -> Submitted:
    """A recorded value with its files from Streamlit's upload manager (taken out of it, as the box does)."""
    infos = list(value.file_uploader_state.uploaded_file_info)
    audio_info = value.audio_file_info if value.HasField("audio_file_info") else None
    wanted = [f.file_id for f in infos] + ([audio_info.file_id] if audio_info is not None else [])
    if not wanted:
        return Submitted(value.data)
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    manager = ctx.uploaded_file_mgr
    try:
        records = {r.file_id: r for r in manager.get_files(session_id=ctx.session_id, file_ids=wanted)}
    except Exception:  # noqa: BLE001  (the text still goes; the page asks for the files again)
        log.exception("the files of a chat value could not be read")
        records = {}
    files = [UploadedFile(records[f.file_id], f.file_urls) for f in infos if f.file_id in records]
    audio = None
    if audio_info is not None and audio_info.file_id in records:
        audio = UploadedFile(records[audio_info.file_id], audio_info.file_urls)
    for file_id in records:
        if hasattr(manager, "remove_file"):
            manager.remove_file(session_id=ctx.session_id, file_id=file_id)
    return Submitted(value.data, files, audio, lost_files=len(records) < len(wanted))


def take(key: str, current: Any = None) -> list[Submitted] | None:
    """The chat box ``key``'s values not taken yet, oldest first; None when this browser session keeps no
    ledger (an AppTest run, or :func:`install` not in place): then the caller reads the box's value itself.

    From the box's submit callback, pass its value as ``current``: the values sent before it, then it (with
    the files Streamlit handed to the callback); the ones sent after it stay for their own runs, and [] when
    an earlier run's body took it already. From the script body (no ``current``): every value left.
    Runs on the session's script thread; no Streamlit call, so no newer submit interrupts it halfway.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.get(ctx.session_id)
    if ledger is None:
        return None
    with ledger.lock:
        mine = [i for i, (widget_id, _) in enumerate(ledger.values) if _mine(widget_id, key)]
        if current is not None:
            wanted = _value_signature(current)
            signatures = {i: _proto_signature(ledger.values[i][1]) for i in mine}
            # The same text and files; else the same text (a file Streamlit could not find changes the files).
            last = next((i for i in mine if signatures[i] == wanted), None)
            if last is None:
                last = next((i for i in mine if signatures[i][0] == wanted[0]), None)
            if last is None:
                return []
            mine = [i for i in mine if i <= last]
        taken = [ledger.values[i][1] for i in mine]
        drop = set(mine)
        ledger.values = [v for i, v in enumerate(ledger.values) if i not in drop]
    if current is None:
        return [_hydrate(value, ctx) for value in taken]
    # The callback's own value: Streamlit has handed its files to the box already.
    text, files, audio = (current, [], None) if isinstance(current, str) else (
        str(current.text or ""), list(getattr(current, "files", None) or []), getattr(current, "audio", None))
    _, sent_files, sent_audio = _proto_signature(taken[-1])
    lost = len(files) < len(sent_files) or (sent_audio is not None and audio is None)
    return [*(_hydrate(value, ctx) for value in taken[:-1]), Submitted(text, files, audio, lost_files=lost)]
