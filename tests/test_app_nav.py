"""The app shell: navigation, the shared sidebar, settings in session state, the offline banner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent



def costs_page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/costs.py")
    return at.run()


def test_no_legacy_pages_folder() -> None:
    # A pages/ folder next to app.py puts Streamlit in its legacy multipage mode: a deep link (and
    # AppTest.switch_page) then runs the page file alone — no sidebar, no settings. Use app_pages/.
    assert not (ROOT / "pages").exists(), "move pages/*.py to app_pages/ (see the comment in app.py)"


def test_sidebar_offers_usable_models_per_role_and_explains_the_rest(app_env) -> None:
    at = costs_page()
    assert not at.exception
    boxes = {b.label: b for b in at.sidebar.selectbox}
    for role in ("Decision", "Conversation", "Transcription", "Vision", "Insights", "Judge", "Pack"):
        assert role in boxes
    assert boxes["Decision"].value == "local/rules"
    assert "local/rules (offline, deterministic)" in boxes["Conversation"].options
    assert not any("GPT" in o or "Claude" in o for o in boxes["Conversation"].options)  # no key: not offered
    assert "OPENAI_API_KEY" in boxes["Conversation"].help  # …but the hint says how to enable it
    expander = next(e for e in at.sidebar.expander if e.label == "How to enable more models")
    assert any("OPENAI_API_KEY" in m.value for m in expander.markdown)
    assert [s.label for s in at.sidebar.slider] == ["Temperature"] * 4  # text roles only
    assert at.sidebar.radio(key="currency").value == "BRL"


def test_sidebar_changes_become_settings(app_env) -> None:
    at = costs_page()
    at.sidebar.slider(key="temperature_conversation").set_value(0.9)
    at.sidebar.radio(key="currency").set_value("USD").run()
    assert not at.exception
    settings = at.session_state.settings
    assert settings.role("conversation").temperature == pytest.approx(0.9)
    assert settings.role("decision").temperature == 0.0
    assert settings.currency == "USD"
    assert any("Total cost (USD)" == m.label for m in at.metric)


def test_banner_says_what_runs_offline(app_env) -> None:
    at = costs_page()
    banner = at.info[0].value
    assert "local/rules is answering" in banner and "no API key" in banner


def test_key_unlocks_models(app_env, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    at = costs_page()
    boxes = {b.label: b for b in at.sidebar.selectbox}
    assert boxes["Conversation"].value == "gpt-4o"
    assert "GPT-4o-mini" in boxes["Decision"].options
    assert not any("local/rules is answering" in i.value for i in at.info)


def litellm_imported(code: str, app_env: dict[str, str]) -> bool:
    """Run ``code`` in a fresh interpreter with the app's environment; whether it imported LiteLLM."""
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}print('litellm' in sys.modules)\n"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, **app_env})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1] == "True"


def test_non_chat_pages_do_not_import_litellm(app_env) -> None:
    # litellm costs ~3 s to import: the shell and the Costs page must not pay for it.
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('app.py', default_timeout=60)\n"
        "at.switch_page('app_pages/costs.py').run()\n"
        "assert not at.exception, at.exception\n"
    )
    assert not litellm_imported(code, app_env)


def test_what_the_chat_page_draws_first_does_not_import_litellm(app_env) -> None:
    # The Chat page's first paint lists conversations and looks up its chat worker; LiteLLM's import
    # (seconds) belongs to the warm-up in the background, not to the page a person is waiting for.
    code = (
        "import agent\n"
        "from agent import AgentSession, Attachment, Settings, TurnTrace, list_conversations\n"
        "settings = agent.load_settings()\n"
        "list_conversations(settings)\n"
        "workers = agent.Workers()\n"
        "agent.is_warm(settings)\n"
    )
    assert not litellm_imported(code, app_env)
