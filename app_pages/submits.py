"""Every chat-box submit reaches the page's ``on_submit`` callback, even several sent while a run is busy.

Streamlit (1.67) loses a fast typist's messages in three ways, all seen in tests/test_e2e_chat_queue.py
on a loaded machine:

0. With ``runner.fastReruns`` (the default), each request stops the running script and starts a new
   runner; a submit whose run is stopped before its callback ran is gone. We turn it off.
1. It keeps one pending rerun per session and folds every newer request into it
   (``ScriptRequests._request_rerun_locked``): of two submits that arrive before the runner takes the
   pending rerun, only the newer text survives.
2. A run that carries a submit can be interrupted *before its callbacks run*: applying the widget
   states, and every ``st.session_state`` access inside a callback, is a yield point, and any pending
   rerun raised there discards the submit the run was carrying.

``keep_every_submit()`` makes each submit a run of its own and protects it until captured: a request
carrying a chat-box value is held, in order, while another submit is pending or *in flight* (taken
by the runner, not yet captured). The page's callback calls ``submit_captured()`` once the text is
in its inbox (app_pages/chat.py), which lets the next held submit in; a run that ends without
capturing (another page was showing) lets it in too, so nothing waits for ever. Requests without a
chat-box value — other widgets, ``st.rerun()``, fragment timers — fold exactly as Streamlit does it.

This touches Streamlit internals, pinned in requirements.txt; tests/test_submits.py checks the
behaviour on the installed version, and the patch refuses to install where the internals it relies
on are missing rather than break the app.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

_install_lock = threading.Lock()
_installed = False


def _chat_box_ids(rerun_data: Any) -> set[str]:
    """The chat boxes whose submitted value this rerun request carries."""
    states = getattr(rerun_data, "widget_states", None)
    if states is None:
        return set()
    return {state.id for state in states.widgets
            if state.WhichOneof("value") == "chat_input_value" and state.chat_input_value.ListFields()}


class _Held:
    """Per request queue: the submits waiting their turn, and whether one is in flight."""

    def __init__(self) -> None:
        self.queue: deque[Any] = deque()
        self.in_flight = False


def _held(requests: Any) -> _Held:
    held = requests.__dict__.get("_conversa_held")
    if held is None:
        held = requests.__dict__["_conversa_held"] = _Held()
    return held


def keep_every_submit() -> bool:
    """Install the patch once per process; True when it is in place."""
    global _installed
    with _install_lock:
        if _installed:
            return True
        try:
            from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests, ScriptRequestType
        except ImportError:  # pragma: no cover - another Streamlit layout
            return False
        needed = ("_request_rerun_locked", "on_scriptrunner_yield", "on_scriptrunner_ready", "request_stop")
        if not all(hasattr(ScriptRequests, name) for name in needed):  # pragma: no cover
            return False

        from streamlit import config

        # With fast reruns (Streamlit's default) every request stops the running script and starts a
        # new runner: a submit whose run is stopped before its callback is lost, and no queue sees
        # two submits. Requests must reach the one runner's queue instead (also in .streamlit/config.toml).
        config.set_option("runner.fastReruns", False, "app_pages/submits.py")

        fold = ScriptRequests._request_rerun_locked
        take_on_yield = ScriptRequests.on_scriptrunner_yield
        take_when_ready = ScriptRequests.on_scriptrunner_ready
        stop = ScriptRequests.request_stop

        def let_next_in(self: Any) -> None:
            """Fold held requests into the pending one, up to the first submit (one submit per run)."""
            held = _held(self)
            while held.queue:
                pending_has_submit = self._state == ScriptRequestType.RERUN and _chat_box_ids(self._rerun_data)
                if pending_has_submit and _chat_box_ids(held.queue[0]):
                    return
                fold(self, held.queue.popleft())

        def request_rerun_locked(self: Any, new_data: Any) -> bool:
            held = _held(self)
            if self._state != ScriptRequestType.STOP and _chat_box_ids(new_data):
                pending_has_submit = self._state == ScriptRequestType.RERUN and _chat_box_ids(self._rerun_data)
                if held.queue or held.in_flight or pending_has_submit:
                    held.queue.append(new_data)
                    return True
            return fold(self, new_data)

        def taken(self: Any, request: Any) -> Any:
            if request is not None and request.type == ScriptRequestType.RERUN:
                with self._lock:
                    held = _held(self)
                    held.in_flight = bool(_chat_box_ids(request.rerun_data))
                    if not held.in_flight:
                        let_next_in(self)
            return request

        def on_scriptrunner_yield(self: Any) -> Any:
            return taken(self, take_on_yield(self))

        def on_scriptrunner_ready(self: Any) -> Any:
            with self._lock:  # a run ended: whatever it carried had its chance
                held = _held(self)
                held.in_flight = False
                if self._state == ScriptRequestType.CONTINUE:
                    let_next_in(self)
            return taken(self, take_when_ready(self))

        def request_stop(self: Any) -> None:
            with self._lock:
                held = _held(self)
                held.queue.clear()
                held.in_flight = False
            stop(self)

        ScriptRequests._request_rerun_locked = request_rerun_locked  # type: ignore[method-assign]
        ScriptRequests.on_scriptrunner_yield = on_scriptrunner_yield  # type: ignore[method-assign]
        ScriptRequests.on_scriptrunner_ready = on_scriptrunner_ready  # type: ignore[method-assign]
        ScriptRequests.request_stop = request_stop  # type: ignore[method-assign]

        def submit_captured_here(self: Any) -> None:
            with self._lock:
                _held(self).in_flight = False
                let_next_in(self)

        ScriptRequests.conversa_submit_captured = submit_captured_here  # type: ignore[attr-defined]
        _installed = True
        return True


def submit_captured() -> None:
    """Call from the chat box's ``on_submit`` once the message is safe: the next held submit may run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    requests = getattr(ctx, "script_requests", None) if ctx is not None else None
    captured = getattr(requests, "conversa_submit_captured", None)
    if captured is not None:
        captured()
