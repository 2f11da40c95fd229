"""The prompt diet on the pages (AppTest from app.py): tokens by section in the Chat trace panel and on the
Prompts page; the Evals page runs with and without the budget and compares them."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest
from tests.page_helpers import run_evals


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    if page:
        at.switch_page(page)
    return at.run()


def say(at: AppTest, text: str, timeout: float = 60) -> AppTest:
    """Send ``text`` and rerun until the chat's background worker has answered (as tests/test_page_chat.py)."""
    at.chat_input[0].set_value(text).run()
    deadline, idle = time.monotonic() + timeout, 0
    while idle < 3 and time.monotonic() < deadline:
        idle = 0 if any("digitando" in c.value for c in at.caption) else idle + 1
        time.sleep(0.05)
        at.run()
    assert not at.exception, at.exception
    return at.run()


def test_chat_trace_panel_shows_tokens_by_section_and_the_budget(app_env) -> None:
    at = open_page()
    for text in ("oi", "como funciona o saque-aniversário?", "aceito", "Maria Souza"):
        say(at, text)
    traces = [e for e in at.expander if e.label.startswith("Trace · turn")]
    assert len(traces) == 4
    last = traces[-1]
    table = next(d.value for d in last.dataframe if "instructions" in d.value.columns)
    assert {"prompt", "instructions", "chat history", "customer message", "budget"} <= set(table.columns)
    classify = table[table["prompt"] == "journey_classification"].iloc[0]
    assert classify["instructions"] > 100 and classify["intent menu"] > 100
    assert str(classify["budget"]).startswith("budget 1,300 tokens:")
    lines = [c.value for c in last.caption if c.value.startswith("tokens by section: ")]
    assert lines and any("instructions" in line and "chat history" in line for line in lines)
    assert any("budget 1,000 tokens:" in line for line in lines)  # the conversation role's budget
    # The Prompts page shows the same prompt's last call in this conversation, by section.
    at.switch_page("app_pages/prompts.py").run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Last call in conversation #") for c in captions)
    last_call = next(d.value for d in at.dataframe if "budget" in d.value.columns)
    assert list(last_call["prompt"]) == ["conversation_prompt"] and last_call["instructions"].iloc[0] > 100


def test_prompts_page_shows_the_sections_of_a_sample_render(app_env) -> None:
    at = open_page("app_pages/prompts.py")
    assert not at.exception, at.exception
    assert "**Tokens by section**" in [m.value for m in at.markdown]
    captions = [c.value for c in at.caption]
    render = next(c for c in captions if c.startswith("This render: "))
    for section in ("instructions", "chat history", "retrieved docs", "customer message", "other variables"):
        assert section in render
    budget = next(c for c in captions if c.startswith("The pack's token budget per role"))
    assert "Conversation ≤ 1,000 (history 3 turns, top 1 docs, summary of earlier turns)" in budget
    assert "Decision ≤ 1,300" in budget


def test_evals_page_compares_pass_rate_cost_and_tokens_with_and_without_the_budget(app_env) -> None:
    at = open_page("app_pages/evals.py")
    assert not at.exception, at.exception
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot"]).run()
    at.checkbox(key="evals_budget_pair").check().run()
    run_evals(at)
    assert not at.exception, at.exception
    assert any("2/2 passed" in s.value for s in at.success)
    assert "**Prompt diet: budget on vs off**" in [m.value for m in at.markdown]
    diet = next(d.value for d in at.dataframe if "prompt tokens / call" in d.value.columns)
    assert list(diet["prompt budget"]) == ["on", "off"]
    assert list(diet["pass rate"]) == ["100.0%", "100.0%"]
    assert "cost / conversation (USD)" in diet.columns
    on, off = diet["prompt tokens / call"]
    assert 0 < on <= off
    # A second run: Compare runs puts both runs' budget rows side by side.
    at.checkbox(key="evals_budget_pair").uncheck().run()
    run_evals(at)
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe if "prompt tokens / call" in d.value.columns]
    compare = tables[-1]
    assert len(compare) == 3 and compare["run"].nunique() == 2
