"""Pages driven through Streamlit's AppTest from the real entry point."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app_env(base_env, monkeypatch):
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    return base_env


def test_chat_page_answers_through_local_rules(app_env) -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    at.chat_input[0].set_value("oi").run()
    assert not at.exception
    assert any("assistente" in m.markdown[0].value.lower() for m in at.chat_message if m.markdown)
