"""app_pages/submits.py: every chat-box value the browser sends reaches the Chat page once, in order — also
one whose script run was stopped or cut short before its submit callback ran, and one Streamlit folded into a
newer request — and fast reruns (a stopped runner drops its submit) are off."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from streamlit import config as st_config
from streamlit.proto.Common_pb2 import ChatInputValue
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from app_pages import submits

ROOT = Path(__file__).resolve().parent.parent
BOX = "$$ID-3f2a-chat_box"
SESSION = "session-a"


def states(*values: WidgetState) -> WidgetStates:
    widgets = WidgetStates()
    widgets.widgets.extend(values)
    return widgets


def chat(text: str, widget: str = BOX, files: tuple[str, ...] = ()) -> WidgetState:
    state = WidgetState(id=widget)
    state.chat_input_value.CopyFrom(ChatInputValue(data=text))
    for file_id in files:
        state.chat_input_value.file_uploader_state.uploaded_file_info.add(file_id=file_id, name=f"{file_id}.png")
    return state


def slider(value: float) -> WidgetState:
    return WidgetState(id="$$ID-77-temperature", double_value=value)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryUploadedFileManager]:
    """A script thread's context for SESSION (the upload manager the chat box reads files from)."""
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    ctx = SimpleNamespace(session_id=SESSION, uploaded_file_mgr=manager)
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda: ctx)
    yield manager
    submits.forget(SESSION)
    submits.forget("session-b")


def texts(sent: list[submits.Submitted] | None) -> list[str] | None:
    return None if sent is None else [s.text for s in sent]


def test_fast_reruns_are_off() -> None:
    options = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert options["runner"]["fastReruns"] is False
    before = st_config.get_option("runner.fastReruns")
    try:
        st_config.set_option("runner.fastReruns", True)  # e.g. the app started from another folder
        assert submits.install() and submits.install()  # once per process, idempotent
        assert st_config.get_option("runner.fastReruns") is False
    finally:
        st_config.set_option("runner.fastReruns", before)


def test_without_a_ledger_the_page_reads_the_box_itself(uploads: MemoryUploadedFileManager) -> None:
    assert submits.take("chat_box") is None  # no request of this session went through AppSession
    submits.record(SESSION, states(slider(0.3)))  # its first request: from now on the ledger answers
    assert submits.take("chat_box") == []


def test_a_submit_whose_callback_never_ran_comes_before_the_next(uploads: MemoryUploadedFileManager) -> None:
    # "oi" arrived, but its run was stopped before the callback: the next run's callback has "tudo bem?" only.
    submits.record(SESSION, states(chat("oi"), slider(0.3)))
    submits.record(SESSION, states(chat("tudo bem?"), slider(0.3)))
    assert texts(submits.take("chat_box", current="tudo bem?")) == ["oi", "tudo bem?"]
    assert submits.take("chat_box") == []  # the script body finds nothing left: each value once


def test_values_sent_after_the_callbacks_own_stay_for_their_runs(uploads: MemoryUploadedFileManager) -> None:
    for text in ("espera", "na verdade", "posso sacar tudo?"):
        submits.record(SESSION, states(chat(text)))
    assert texts(submits.take("chat_box", current="na verdade")) == ["espera", "na verdade"]
    # The body of the same run takes the newer one early; its own callback then finds it taken.
    assert texts(submits.take("chat_box")) == ["posso sacar tudo?"]
    assert submits.take("chat_box", current="posso sacar tudo?") == []


def test_a_fold_loses_nothing_and_the_same_text_twice_is_two_messages(uploads: MemoryUploadedFileManager) -> None:
    # Two requests before a run starts: Streamlit's fold keeps the newer "ok"; the ledger has both.
    submits.record(SESSION, states(chat("ok")))
    submits.record(SESSION, states(chat("ok")))
    assert texts(submits.take("chat_box", current="ok")) == ["ok"]
    assert texts(submits.take("chat_box")) == ["ok"]


def test_one_submit_sent_twice_by_the_browser_is_kept_once(uploads: MemoryUploadedFileManager) -> None:
    # The browser sent "quero entender melhor" with a fragment's timer rerun and with the box's full rerun, and
    # Streamlit ran the box's callback in both runs (seen in the e2e test's websocket log).
    submits.record(SESSION, states(chat("quero entender melhor")), fragment=True)
    assert texts(submits.take("chat_box", current="quero entender melhor")) == ["quero entender melhor"]
    submits.record(SESSION, states(chat("quero entender melhor")))
    assert submits.take("chat_box", current="quero entender melhor") == []
    # The other way round, and not taken yet in between.
    submits.record(SESSION, states(chat("espera")))
    submits.record(SESSION, states(chat("espera")), fragment=True)
    assert texts(submits.take("chat_box")) == ["espera"]
    # The same text typed twice is two full reruns: two messages, also after a merged pair.
    submits.record(SESSION, states(chat("espera")))
    submits.record(SESSION, states(chat("espera")))
    assert texts(submits.take("chat_box")) == ["espera", "espera"]


def test_other_boxes_and_sessions_keep_their_own(uploads: MemoryUploadedFileManager) -> None:
    submits.record(SESSION, states(chat("x", "$$ID-9-other_box"), chat("oi")))
    submits.record("session-b", states(chat("de outra aba")))
    assert texts(submits.take("chat_box")) == ["oi"]
    assert texts(submits.take("other_box")) == ["x"]
    submits.forget(SESSION)
    assert submits.take("chat_box") is None


def test_files_come_back_from_the_upload_manager(uploads: MemoryUploadedFileManager) -> None:
    uploads.add_file(SESSION, UploadedFileRec(file_id="f1", name="print.png", type="image/png", data=b"\x89PNG"))
    submits.record(SESSION, states(chat("segue o print", files=("f1",))))
    submits.record(SESSION, states(chat("e esse", files=("gone",))))  # Streamlit handed it out already
    first, second = submits.take("chat_box") or []
    assert (first.text, [f.name for f in first.files], first.files[0].getvalue(), first.lost_files) == (
        "segue o print", ["print.png"], b"\x89PNG", False)
    assert (second.text, second.files, second.lost_files) == ("e esse", [], True)
    assert uploads.get_files(SESSION, ["f1"]) == []  # taken out, as the chat box itself does


def test_the_callbacks_own_value_keeps_the_files_streamlit_gave_it(uploads: MemoryUploadedFileManager) -> None:
    submits.record(SESSION, states(chat("", files=("f1",))))
    image = SimpleNamespace(file_id="f1", name="a.png", type="image/png", getvalue=lambda: b"img")
    value = SimpleNamespace(text="", files=[image], audio=None)  # what st.chat_input hands the callback
    (sent,) = submits.take("chat_box", current=value) or []
    assert (sent.files, sent.lost_files) == ([image], False)


# ---------------------------------------------------------------- the Chat page, through AppTest
def test_the_chat_page_queues_a_submit_its_run_dropped_before_the_next(app_env: dict[str, str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    # AppTest has no AppSession: record each run's widget states as AppSession.request_rerun does.
    run = LocalScriptRunner.run

    def recorded_run(self: LocalScriptRunner, widget_state: WidgetStates | None = None, *args: Any,
                     **kwargs: Any) -> Any:
        submits.record(self._session_id, widget_state)
        return run(self, widget_state, *args, **kwargs)

    monkeypatch.setattr(LocalScriptRunner, "run", recorded_run)
    monkeypatch.setenv("BURST_WINDOW_SECONDS", "30")  # both in one open burst: drawn as waiting, in order
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    try:
        box = at.chat_input[0]
        # "oi" reached the server, but the run it started was stopped before the box's callback ran:
        # only the ledger has it. The next submit's run queues it first.
        submits.record("test session id", states(chat("oi", box.id)))
        box.set_value("tudo bem?").run()
        assert not at.exception, at.exception
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(customer_bubbles(at)) < 2:
            time.sleep(0.05)
            at.run()
        assert customer_bubbles(at) == ["oi", "tudo bem?"]
        at.run()
        assert customer_bubbles(at) == ["oi", "tudo bem?"]  # once each
    finally:
        submits.forget("test session id")


def customer_bubbles(at: Any) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "user" and m.markdown]


# ---------------------------------------------------------------- the mechanism, in Streamlit itself
def box_script() -> None:
    """A chat box that keeps what it receives the way the Chat page does (callback, then the body)."""
    import streamlit as st

    from app_pages import submits

    got = st.session_state.setdefault("got", [])

    def keep() -> None:
        value = st.session_state.get("box")
        sent = submits.take("box", current=value)
        got.extend([value] if sent is None else [s.text for s in sent])

    st.chat_input("Escreva sua mensagem", key="box", on_submit=keep)
    got.extend(s.text for s in submits.take("box") or [])


@pytest.mark.parametrize("ledger", [False, True])
def test_a_submit_arriving_before_the_callback_of_the_previous_one(ledger: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ScriptRunner: "tudo bem?" reaches the server after the run for "oi" started but before its
    callback ran. Streamlit stops that run at its next yield and the next run only carries "tudo bem?" —
    "oi" is dropped (the same as a runner stopped by fast reruns). The ledger brings it back, first."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.state.safe_session_state import SafeSessionState
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    run = LocalScriptRunner.run

    def recorded_run(self: LocalScriptRunner, widget_state: WidgetStates | None = None, *args: Any,
                     **kwargs: Any) -> Any:
        if ledger:  # what AppSession.request_rerun does once install() is in place
            submits.record(self._session_id, widget_state)
        return run(self, widget_state, *args, **kwargs)

    will_rerun = SafeSessionState.on_script_will_rerun
    newer: list[WidgetStates] = []

    def arriving_meanwhile(self: SafeSessionState, fresh: WidgetStates | None, **kwargs: Any) -> None:
        if newer and fresh is not None and any(s.chat_input_value.data == "oi" for s in fresh.widgets):
            states_ = newer.pop()
            if ledger:
                submits.record("test session id", states_)
            ctx = get_script_run_ctx()
            assert ctx is not None and ctx.script_requests is not None
            ctx.script_requests.request_rerun(RerunData(widget_states=states_))
        will_rerun(self, fresh, **kwargs)

    monkeypatch.setattr(LocalScriptRunner, "run", recorded_run)
    monkeypatch.setattr(SafeSessionState, "on_script_will_rerun", arriving_meanwhile)
    try:
        at = AppTest.from_function(box_script).run()
        newer.append(states(chat("tudo bem?", at.chat_input[0].id)))
        at.chat_input[0].set_value("oi").run()
        assert not at.exception, at.exception
        assert not newer  # "tudo bem?" did arrive between the run's start and its callback
        assert at.session_state["got"] == (["oi", "tudo bem?"] if ledger else ["tudo bem?"])
    finally:
        submits.forget("test session id")


def test_a_full_run_starts_in_the_main_area_whatever_the_last_fragment_left() -> None:
    """A fragment's timer run leaves the runner thread's container stack at its place (Streamlit 1.67); the
    next full run in that thread must not write the page into it (app.py calls start_full_run first)."""
    import contextvars

    from streamlit.delta_generator_singletons import context_dg_stack, get_default_dg_stack_value

    def after_a_fragment_run() -> tuple[int, int]:
        main = get_default_dg_stack_value()
        context_dg_stack.set((*main, main[-1].container()))  # as the fragment's snapshot leaves it
        left_by_fragment = len(context_dg_stack.get())
        submits.start_full_run()
        return left_by_fragment, len(context_dg_stack.get())

    left_by_fragment, at_start = contextvars.copy_context().run(after_a_fragment_run)
    assert left_by_fragment == 2 and at_start == 1
