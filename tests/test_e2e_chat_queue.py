"""A fast typist in headless Chromium: messages sent while the engine warms up and while a turn waits on a
slow model all appear, in order, and are answered per the burst rules (turns run in the chat's background
worker; the page only enqueues and renders). Screenshots in test-artifacts/e2e/ (look at them).

The slow model is sandbox/openai_stub.py's ``slow-3000``: a fake that holds each reply 3 s."""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# One app process per file (module fixture): under xdist the whole file runs on one worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_chat_queue")]

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not Path(CHROMIUM).exists():
    pytest.skip("needs Debian chromium and playwright (.ci/run installs both)", allow_module_level=True)

WINDOW_S = 4  # wide enough that a loaded CI machine still types each burst within it
WARM_UP = ["oi", "tudo bem?", "queria uma informação", "sobre o saque-aniversário", "do meu FGTS"]
FIRST = "quero entender melhor"
DURING_TURN = ["espera", "na verdade", "tenho outra dúvida", "posso sacar tudo?", "valeu"]
TRACE = re.compile(r"· \w+ (\d+) · [^·]* → ")  # "Trace · turn 0 · greeting → optin · …" in any language
USER_BUBBLE = '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"])'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from sandbox.openai_stub import start_stub

    stub = start_stub()
    port = _free_port()
    data = tmp_path_factory.mktemp("e2e-queue-data")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(CONVERSA_DATA_DIR=str(data), BURST_WINDOW_SECONDS=str(WINDOW_S), BURST_MODE="true", PYTHONPATH=str(ROOT),
               OPENAI_API_KEY="sk-test", MAX_RETRIES="0", REQUEST_TIMEOUT_SECONDS="20",
               CONVERSATION_MODEL="openai/slow-3000", CONVERSATION_API_BASE=stub.url,
               # Only the reply goes to the (fake, local) model; every other role stays offline.
               DECISION_MODEL="local/rules", INSIGHTS_MODEL="local/rules", JUDGE_MODEL="local/rules",
               TRANSCRIPTION_MODEL="local/whisper", VISION_MODEL="local/tesseract")
    log = open(data / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {(data / 'streamlit.log').read_text()[-2000:]}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()
    stub.shutdown()


@pytest.fixture
def page(chromium) -> Iterator[Page]:  # noqa: ANN001 (tests/conftest.py: one browser per process)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    context.close()


def type_fast(page: Page, texts: list[str]) -> None:
    box = page.locator('[data-testid="stBottomBlockContainer"] [data-testid="stChatInputTextArea"]')
    for text in texts:
        box.fill(text)
        box.press("Enter")
        page.wait_for_timeout(150)


def customer_bubbles(page: Page) -> list[str]:
    texts = page.locator(USER_BUBBLE).locator('[data-testid="stChatMessageContent"]').all_inner_texts()
    return [re.sub(r"\s+", " ", t).strip() for t in texts]


def turns_shown(page: Page) -> list[int]:
    headers = page.locator('[data-testid="stExpander"] summary').all_inner_texts()
    return sorted(int(m.group(1)) for h in headers if (m := TRACE.search(h)))


def settled(page: Page, turns: int, messages: int, timeout: float = 90_000) -> None:
    """Until every message is drawn, the last expected turn's trace too, and nothing is typing or pending."""
    try:
        expect(page.locator(USER_BUBBLE)).to_have_count(messages, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nshown: {customer_bubbles(page)}") from None
    expect(page.locator('[data-testid="stExpander"] summary').filter(
        has_text=re.compile(rf"· \w+ {turns - 1} · [^·]* → "))).to_have_count(1, timeout=timeout)
    expect(page.get_by_text("more_horiz")).to_have_count(0, timeout=timeout)  # the "digitando…" icon
    expect(page.locator('[data-testid="stProgress"]')).to_have_count(0, timeout=timeout)


def assert_in_order(bubbles: list[str], texts: list[str]) -> None:
    assert len(bubbles) == len(texts), bubbles
    for bubble, text in zip(bubbles, texts, strict=True):
        assert bubble.startswith(text), (bubble, text, bubbles)


# A message typed while a script run was busy could vanish (1 run in 3-5 on 2 shared cores). Streamlit's
# default runner.fastReruns stops the running script runner at each new submit and starts another at once:
# a runner stopped before its widget callbacks ran took its submit with it (and two runners changed one
# session's state together). Fast reruns are off (.streamlit/config.toml, app_pages/submits.py), and every
# chat value is recorded as it reaches the server, so one whose run was cut short before its callback, or
# folded into a newer request, still reaches the chat's queue, in order, once (tests/test_submits.py).
#
# Also seen before, about 1 run in 5 on a loaded machine: Streamlit's frontend threw "Bad delta path index 4
# (should be between [0, 1])" and closed its websocket. The websocket showed why: a full run right after the
# `live` fragment's timer run, in the same script-runner thread, wrote the whole page into the fragment's
# container (Streamlit 1.67 leaves the thread's container stack where a fragment ends). app.py resets it first
# (app_pages/submits.start_full_run); a page error now fails these tests.
def no_page_error(test: Callable[[str, Page], None]) -> Callable[[str, Page], None]:
    """The test, and no error thrown by the page's JavaScript meanwhile (Streamlit drops the page on one)."""
    @functools.wraps(test)
    def run(app_url: str, page: Page) -> None:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        test(app_url, page)
        assert errors == [], errors
    return run


@no_page_error
def test_a_fast_typist_during_warm_up(app_url: str, page: Page) -> None:
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.locator('[data-testid="stChatInputTextArea"]')).to_be_visible(timeout=60_000)
    # The status line is drawn: a fresh server starts building its engine 2 s after this first paint,
    # so the first messages go out while it warms up (the hourglass), not after.
    expect(page.get_by_text(re.compile("^(hourglass_top|bolt)$")).first).to_be_visible(timeout=60_000)
    type_fast(page, WARM_UP)
    page.screenshot(path=ARTIFACTS / "09-queue-typed-during-warm-up.png", full_page=True)
    settled(page, turns=1, messages=len(WARM_UP))
    # Five messages within the window: one burst, one turn; all five shown, in order.
    assert_in_order(customer_bubbles(page), WARM_UP)
    assert turns_shown(page) == [0]
    page.screenshot(path=ARTIFACTS / "10-queue-warm-up-answered.png", full_page=True)


@no_page_error
def test_a_fast_typist_during_a_turn_held_by_a_slow_model(app_url: str, page: Page) -> None:
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.get_by_text("bolt").first).to_be_visible(timeout=120_000)  # the engine is ready
    # A turn held 3 s by the slow model; five more messages while it runs.
    type_fast(page, [FIRST])
    expect(page.locator(USER_BUBBLE)).to_have_count(1, timeout=30_000)  # drawn once it is in the chat's queue
    queued = time.monotonic()
    # Its window closes (no countdown left) and the turn waits on the model: "digitando…" meanwhile. (The
    # countdown itself may come and go between two looks on a loaded machine: not asserted here.)
    expect(page.get_by_text("more_horiz").first).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stProgress"]')).to_have_count(0, timeout=30_000)
    # A burst is made by arrival times: "digitando…" also shows while a loaded machine's worker still loads the
    # new chat, and five messages arriving then are rightly part of the first one's burst. They go out once
    # its window has surely closed (counted from when it was drawn, so from after it arrived).
    page.wait_for_timeout(max(0.0, WINDOW_S - (time.monotonic() - queued)) * 1000)
    type_fast(page, DURING_TURN)
    page.screenshot(path=ARTIFACTS / "11-queue-typed-during-a-turn.png", full_page=True)
    settled(page, turns=2, messages=1 + len(DURING_TURN))
    # The first message alone (its window closed before the others), then the five as one burst.
    assert_in_order(customer_bubbles(page), [FIRST, *DURING_TURN])
    assert turns_shown(page) == [0, 1]
    page.screenshot(path=ARTIFACTS / "12-queue-all-answered.png", full_page=True)

    # A reload shows the same conversation from the database: nothing was lost on the way.
    page.reload(wait_until="domcontentloaded")
    expect(page.locator(USER_BUBBLE)).to_have_count(1 + len(DURING_TURN), timeout=60_000)
    assert_in_order(customer_bubbles(page), [FIRST, *DURING_TURN])
