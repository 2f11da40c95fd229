"""Pages driven through Streamlit's AppTest from the real entry point."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest


def test_chat_page_answers_through_local_rules(app_env) -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    at.chat_input[0].set_value("oi").run()
    assert not at.exception
    # The turn runs in the chat's background worker: rerun (as the page's fragment does) until the reply is drawn.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any("assistente" in m.markdown[0].value.lower() for m in at.chat_message if m.markdown):
            break
        time.sleep(0.1)
        at.run()
        assert not at.exception
    assert any("assistente" in m.markdown[0].value.lower() for m in at.chat_message if m.markdown)
