"""Every chat-box submit reaches the page, however fast the person types.

Streamlit folds two rerun requests that reach the server before a script run starts into one; for two chat
box values the newer wins and the older is dropped (``ScriptRequests._request_rerun_locked`` →
``_coalesce_widget_states`` in ``streamlit/runtime/scriptrunner_utils/script_requests.py``). During the
engine's warm-up, or on a loaded machine, a fast typist lost one message in five that way.

:func:`install` wraps that fold: before it drops an older chat value, the value's text is kept on the
session's ``ScriptRequests`` (one per browser session, under its own lock). The Chat page's submit callback
calls :func:`take_dropped` first, so the older messages go to the chat's queue before the newer one, in the
order they were sent. If Streamlit's internals change shape, :func:`install` does nothing and says so in the
log (the page still works, with the old gap); ``tests/test_submits.py`` notices.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_DROPPED = "_conversa_dropped_chat_values"  # on a ScriptRequests: [(widget id, text, had files)]
_INSTALLED = "_conversa_keeps_chat_values"


def _active_chat_value(state: Any) -> bool:
    if state.WhichOneof("value") != "chat_input_value":
        return False
    value = state.chat_input_value
    return value.HasField("data") or bool(value.ListFields())


def install() -> bool:
    """Wrap Streamlit's rerun fold once per process; True when it is (or was already) in place."""
    try:
        from streamlit.runtime.scriptrunner_utils import script_requests as sr
    except ImportError:  # pragma: no cover
        log.warning("streamlit's script_requests module is gone: fast chat submits may be folded")
        return False
    requests_class = sr.ScriptRequests
    if getattr(requests_class, _INSTALLED, False):
        return True
    original = getattr(requests_class, "_request_rerun_locked", None)
    if original is None or not hasattr(sr, "ScriptRequestType"):
        log.warning("streamlit's ScriptRequests changed: fast chat submits may be folded (app_pages/submits.py)")
        return False

    def _request_rerun_locked(self: Any, new_data: Any) -> bool:
        pending = getattr(self, "_rerun_data", None)
        if getattr(self, "_state", None) == sr.ScriptRequestType.RERUN and pending is not None \
                and pending.widget_states and new_data.widget_states:
            newer = {s.id for s in new_data.widget_states.widgets if _active_chat_value(s)}
            for old in pending.widget_states.widgets:
                if old.id in newer and _active_chat_value(old):  # the fold keeps the newer one only
                    value = old.chat_input_value
                    files = bool(value.HasField("file_uploader_state") and value.file_uploader_state.uploaded_file_info) \
                        or value.HasField("audio_file_info")
                    dropped = self.__dict__.setdefault(_DROPPED, [])
                    dropped.append((old.id, value.data if value.HasField("data") else "", files))
        return bool(original(self, new_data))

    requests_class._request_rerun_locked = _request_rerun_locked
    setattr(requests_class, _INSTALLED, True)
    return True


def take_dropped(key: str) -> list[tuple[str, bool]]:
    """The chat box ``key``'s values folded away since the last call, oldest first: (text, had attachments).
    Called from the box's submit callback (the session's script thread)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    requests = getattr(ctx, "script_requests", None) if ctx else None
    if requests is None:
        return []
    with requests._lock:  # noqa: SLF001  (the lock the fold runs under)
        dropped = requests.__dict__.get(_DROPPED) or []
        mine = [(text, files) for wid, text, files in dropped if wid == key or wid.endswith(f"-{key}")]
        requests.__dict__[_DROPPED] = [d for d in dropped if not (d[0] == key or d[0].endswith(f"-{key}"))]
    return mine
