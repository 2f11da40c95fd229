"""Several browser sessions on one app process (issue 12): a second tab, another browser and a reload
all reach "Agent ready" — the warm-up of the first one serves them, whatever it set in the process
environment. Headless Chromium on the real app (the fixtures of test_e2e_chat)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from test_e2e_chat import ARTIFACTS, app_url, send, wait_for_reply

__all__ = ["app_url"]  # the module-scoped app fixture: one app process for this file
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_tabs")]

READY = re.compile(r"Agent ready|Agente pronto")


def test_second_context_second_tab_and_reload_all_reach_agent_ready(app_url: str, chromium) -> None:  # noqa: ANN001
    url = f"{app_url}/?lang=en"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    contexts = [chromium.new_context(viewport={"width": 1440, "height": 1000})]
    try:
        first = contexts[0].new_page()
        first.goto(url, wait_until="domcontentloaded")
        expect(first.get_by_text(READY)).to_be_visible(timeout=90_000)  # the warm-up (imports LiteLLM)

        # Sessions that start after the warm-up: another browser context (its own cookies), a second tab, a reload.
        contexts.append(chromium.new_context(viewport={"width": 390, "height": 844}))
        other = contexts[1].new_page()
        second_tab = first.context.new_page()
        other.goto(url, wait_until="domcontentloaded")
        second_tab.goto(url, wait_until="domcontentloaded")
        first.reload(wait_until="domcontentloaded")
        # Behaviour, not speed (bench/bench_ui.py measures it): each reaches "ready" without a new warm-up's wait.
        for page in (other, second_tab, first):
            expect(page.get_by_text(READY)).to_be_visible(timeout=90_000)
        other.screenshot(path=ARTIFACTS / "10-second-context-ready.png", full_page=True)

        # And the engine they found answers: a turn in the second context.
        send(other, "oi")
        wait_for_reply(other, "autoriza|aceito|FGTS")
    finally:
        for context in contexts:
            context.close()
