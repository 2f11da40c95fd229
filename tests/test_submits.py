"""app_pages/submits.py: a chat-box value Streamlit folds away (two rerun requests before a run starts) is
kept, in order, for the Chat page's submit callback; other widgets fold as before."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.proto.Common_pb2 import ChatInputValue
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from app_pages import submits

BOX = "$$ID-3f2a-chat_box"


def request(*states: WidgetState) -> RerunData:
    widgets = WidgetStates()
    widgets.widgets.extend(states)
    return RerunData(widget_states=widgets)


def chat(text: str, widget: str = BOX) -> WidgetState:
    state = WidgetState(id=widget)
    state.chat_input_value.CopyFrom(ChatInputValue(data=text))
    return state


def slider(value: float) -> WidgetState:
    return WidgetState(id="$$ID-77-temperature", double_value=value)


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> ScriptRequests:
    assert submits.install() and submits.install()  # once per process, idempotent
    reqs = ScriptRequests()
    ctx = SimpleNamespace(script_requests=reqs)
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda: ctx)
    return reqs


def pending_chat(reqs: ScriptRequests) -> list[str]:
    states = reqs._rerun_data.widget_states  # noqa: SLF001
    return [s.chat_input_value.data for s in states.widgets if s.WhichOneof("value") == "chat_input_value"]


def test_folded_chat_values_are_kept_oldest_first(requests: ScriptRequests) -> None:
    for text in ("oi", "tudo bem?", "quero antecipar"):
        assert requests.request_rerun(request(chat(text), slider(0.3)))
    assert pending_chat(requests) == ["quero antecipar"]  # Streamlit's fold: the newest value runs
    assert submits.take_dropped("chat_box") == [("oi", False), ("tudo bem?", False)]
    assert submits.take_dropped("chat_box") == []  # taken once


def test_a_request_without_a_chat_value_drops_nothing(requests: ScriptRequests) -> None:
    requests.request_rerun(request(chat("oi")))
    requests.request_rerun(request(slider(0.7)))  # e.g. a widget moved: the pending chat value is kept
    assert pending_chat(requests) == ["oi"]
    assert submits.take_dropped("chat_box") == []


def test_another_box_and_files(requests: ScriptRequests) -> None:
    with_file = chat("segue o print")
    with_file.chat_input_value.file_uploader_state.uploaded_file_info.add(file_id="f1", name="a.png")
    requests.request_rerun(request(with_file, chat("x", "$$ID-9-other_box")))
    requests.request_rerun(request(chat("e agora?"), chat("y", "$$ID-9-other_box")))
    assert submits.take_dropped("chat_box") == [("segue o print", True)]
    assert submits.take_dropped("other_box") == [("x", False)]


def test_a_started_run_takes_its_request_whole(requests: ScriptRequests) -> None:
    requests.request_rerun(request(chat("oi")))
    taken = requests.on_scriptrunner_ready()  # the run starts with "oi"
    assert [s.chat_input_value.data for s in taken.rerun_data.widget_states.widgets] == ["oi"]
    requests.request_rerun(request(chat("tudo bem?")))
    assert submits.take_dropped("chat_box") == []
