"""Pages driven through Streamlit's AppTest from the real entry point."""

from __future__ import annotations


from streamlit.testing.v1 import AppTest



def test_chat_page_answers_through_local_rules(app_env) -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    at.chat_input[0].set_value("oi").run()
    assert not at.exception
    assert any("assistente" in m.markdown[0].value.lower() for m in at.chat_message if m.markdown)
