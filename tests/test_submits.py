"""Chat-box submits that arrive while a rerun is pending each get their own run (app_pages/submits.py),
on the installed Streamlit's own request queue."""

from __future__ import annotations

from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests, ScriptRequestType

from app_pages.submits import keep_every_submit

BOX = "$$ID-chat_box"


def submit(text: str, *, toggle: bool = False) -> RerunData:
    box = WidgetState(id=BOX)
    box.chat_input_value.data = text
    other = WidgetState(id="$$ID-burst", bool_value=toggle)
    return RerunData(widget_states=WidgetStates(widgets=[box, other]))


def click(toggle: bool) -> RerunData:
    return RerunData(widget_states=WidgetStates(widgets=[WidgetState(id="$$ID-burst", bool_value=toggle)]))


def state_of(data: RerunData, widget: str) -> WidgetState | None:
    assert data.widget_states is not None
    return next((w for w in data.widget_states.widgets if w.id == widget), None)


def texts_run(requests: ScriptRequests) -> list[str]:
    """Drain the queue as a runner would (yield after each start), the chat text each run saw."""
    seen = []
    request = requests.on_scriptrunner_ready()
    while request is not None and request.type == ScriptRequestType.RERUN:
        assert request.rerun_data is not None
        # Applying widget states is a yield point: nothing may interrupt a submit before its callback.
        assert requests.on_scriptrunner_yield() is None
        box = state_of(request.rerun_data, BOX)
        seen.append(box.chat_input_value.data if box is not None else "")
        requests.conversa_submit_captured()  # type: ignore[attr-defined]  # what the page's callback does
        request = requests.on_scriptrunner_yield() or requests.on_scriptrunner_ready()
        if request.type == ScriptRequestType.STOP:
            break
    return seen


def test_the_patch_installs_on_the_pinned_streamlit() -> None:
    assert keep_every_submit() is True
    assert keep_every_submit() is True  # once per process, idempotent


def test_five_submits_before_the_runner_wakes_give_five_runs_in_order() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    for text in ["oi", "quero sacar", "meu cpf", "é 123", "obrigado"]:
        assert requests.request_rerun(submit(text))
    assert texts_run(requests) == ["oi", "quero sacar", "meu cpf", "é 123", "obrigado"]


def test_other_widgets_still_fold_into_the_pending_run() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(click(False))
    requests.request_rerun(click(True))
    request = requests.on_scriptrunner_ready()
    assert request.rerun_data is not None
    state = state_of(request.rerun_data, "$$ID-burst")
    assert state is not None and state.bool_value is True
    assert requests.on_scriptrunner_yield() is None  # nothing else pending


def test_a_submit_folds_with_a_pending_widget_change_as_before() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(click(True))
    requests.request_rerun(submit("oi", toggle=True))
    assert texts_run(requests) == ["oi"]


def test_a_stop_drops_what_was_held() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(submit("oi"))
    requests.request_rerun(submit("tudo bem?"))
    requests.request_stop()
    assert requests.on_scriptrunner_ready().type == ScriptRequestType.STOP
    assert requests.request_rerun(submit("depois")) is False


def test_a_submit_taken_by_the_runner_is_not_interrupted_until_captured() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(submit("espera"))
    taken = requests.on_scriptrunner_ready()
    assert taken.rerun_data is not None and state_of(taken.rerun_data, BOX) is not None
    requests.request_rerun(submit("na verdade"))  # typed while the run applies "espera"
    assert requests.on_scriptrunner_yield() is None  # the callback's session_state reads are safe
    requests.conversa_submit_captured()  # type: ignore[attr-defined]
    following = requests.on_scriptrunner_yield()
    assert following is not None and following.rerun_data is not None
    box = state_of(following.rerun_data, BOX)
    assert box is not None and box.chat_input_value.data == "na verdade"


def test_a_run_that_ends_without_capturing_lets_the_next_submit_in() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(submit("oi"))
    requests.on_scriptrunner_ready()  # taken; this page has no chat box, nobody captures
    requests.request_rerun(submit("alô?"))
    assert requests.on_scriptrunner_yield() is None
    following = requests.on_scriptrunner_ready()  # the run ended
    assert following.type == ScriptRequestType.RERUN and following.rerun_data is not None
    box = state_of(following.rerun_data, BOX)
    assert box is not None and box.chat_input_value.data == "alô?"


def test_st_rerun_and_other_widgets_are_never_held() -> None:
    keep_every_submit()
    requests = ScriptRequests()
    requests.request_rerun(submit("oi"))
    requests.on_scriptrunner_ready()  # in flight
    requests.request_rerun(click(True))  # e.g. st.rerun() in the body or a toggle
    request = requests.on_scriptrunner_yield()
    assert request is not None and request.type == ScriptRequestType.RERUN
