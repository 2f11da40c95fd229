"""The real app in headless Chromium: a burst, the opt-in, a CPF, the eligibility reply, the trace,
and the cost table growing. Screenshots go to test-artifacts/e2e/ (look at them)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# One app process per file (module fixture): under xdist the whole file runs on one worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_chat")]

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not Path(CHROMIUM).exists():
    pytest.skip("needs Debian chromium and playwright (.ci/run installs both)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data = tmp_path_factory.mktemp("e2e-data")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    # English labels below (the default is pt-BR; test_interface_language_is_kept_across_a_reload covers it).
    env.update(CONVERSA_DATA_DIR=str(data), BURST_WINDOW_SECONDS="4", BURST_MODE="true",
               PYTHONPATH=str(ROOT), CONVERSA_UI_LANG="en")
    log = open(data / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
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
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def page(chromium) -> Iterator[Page]:  # noqa: ANN001 (tests/conftest.py: one browser per process)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    context.close()


def send(page: Page, text: str) -> None:
    box = page.get_by_placeholder("Escreva sua mensagem")
    box.fill(text)
    box.press("Enter")


def agent_text(page: Page) -> str:
    return page.locator('[data-testid="stChatMessage"]').all_inner_texts().__str__()


def wait_for_reply(page: Page, pattern: str, timeout: float = 30_000) -> None:
    expect(page.locator('[data-testid="stChatMessage"]').filter(has_text=re.compile(pattern)).last).to_be_visible(
        timeout=timeout)


def test_main_chat_flow_in_a_real_browser(app_url: str, page: Page) -> None:
    page.goto(app_url, wait_until="networkidle")
    expect(page.get_by_placeholder("Escreva sua mensagem")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("local/rules", exact=False).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "01-empty-chat.png", full_page=True)
    # A person reads the page while the engine warms up in the background; the panel says when it is ready.
    expect(page.get_by_text("Agent ready")).to_be_visible(timeout=90_000)

    # A burst: three quick messages are shown as pending, then answered once.
    for text in ("oi", "tudo bem?", "quero sacar meu fgts"):
        send(page, text)
        page.wait_for_timeout(900)  # a fast typist: under a second per message
    # The countdown while the window is open — or, on a machine slow enough that the first script runs of
    # a fresh process outlast the 4 s window, the burst already answered (the countdown itself is covered
    # by tests/test_page_chat.py). Either way it must be one turn for all three, asserted below.
    pending = page.get_by_text(re.compile(r"message\(s\) pending — answering in"))
    answered = page.locator('[data-testid="stChatMessage"]').filter(has_text=re.compile("autoriza"))
    expect(pending.or_(answered).first).to_be_visible(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "02-burst-pending.png", full_page=True)
    # The first turn of a fresh app process may wait for the engine's build: ~5 s alone, 20–90 s right after the
    # unit tests on 2 loaded cores (seen twice in make test; the test alone passes in 50 s).
    wait_for_reply(page, "autoriza", timeout=120_000)
    # One answered turn for the whole burst: all three messages shown, one trace, no second turn.
    for text in ("oi", "tudo bem?", "quero sacar meu fgts"):
        expect(page.locator('[data-testid="stChatMessage"]').get_by_text(text, exact=True).first).to_be_visible()
    # The reply is drawn the moment its turn is written, the trace with the page's redraw just after: waited for.
    expect(page.get_by_text(re.compile(r"^Trace · turn 0"))).to_have_count(1)
    assert page.get_by_text(re.compile(r"^Trace · turn 1")).count() == 0
    page.screenshot(path=ARTIFACTS / "03-burst-answered.png", full_page=True)

    # Opt-in, then data with the CPF (the burst window still applies to each message).
    send(page, "aceito")
    wait_for_reply(page, "nome completo")
    send(page, "Maria Souza, 200.000.002-99, nasci em julho")
    wait_for_reply(page, "Vamos conferir")
    send(page, "sim")
    wait_for_reply(page, r"R\$ 1\.350,00")
    page.screenshot(path=ARTIFACTS / "04-eligible.png", full_page=True)
    # The CPF as stored: masked in the customer's message and in the agent's "Vamos conferir…" (the raw form
    # only in the logged operator view; tests/test_pii_pages.py scans every element).
    expect(page.get_by_text("•••.000.002-••").first).to_be_visible()
    assert page.get_by_text("200.000.002-99").count() == 0

    # The trace of the last turn shows the API call.
    page.get_by_text(re.compile(r"^Trace · turn 3")).click()
    page.get_by_role("tab", name="Tools").last.click()
    expect(page.get_by_text("consultar_fgts").last).to_be_visible()
    page.screenshot(path=ARTIFACTS / "05-trace.png", full_page=True)

    # The cost table has the rows of these turns, and grows with the next one.
    calls_before = costs_page_calls(page)
    assert calls_before >= 10  # ≥ 2 calls per turn over 5 turns
    page.screenshot(path=ARTIFACTS / "06-costs.png", full_page=True)
    assert page.locator('[role="gridcell"]', has_text="Analise de Emoção").count() > 0
    page.get_by_role("link", name=re.compile("Chat")).click()
    expect(page.get_by_placeholder("Escreva sua mensagem")).to_be_visible(timeout=30_000)
    send(page, "quero sim")
    wait_for_reply(page, "Registrei seu interesse")
    assert costs_page_calls(page) > calls_before


def costs_page_calls(page: Page) -> int:
    page.get_by_role("link", name=re.compile("Costs")).click()
    metric = page.locator('[data-testid="stMetric"]', has_text="Calls").first
    expect(metric).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return int(value.replace(",", "").strip())


def test_switching_pack_in_the_sidebar_switches_the_agent(app_url: str, page: Page) -> None:
    """The sidebar's Pack selector: the contrato pack answers its own journey, with its own tool."""
    page.goto(app_url, wait_until="networkidle")
    expect(page.get_by_placeholder("Escreva sua mensagem")).to_be_visible(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Pack", exact=True).scroll_into_view_if_needed()
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text=re.compile("^Pack")).click()
    page.get_by_role("option", name=re.compile(r"^contrato")).click()
    expect(sidebar.get_by_role("combobox", name="Pack")).to_have_value(re.compile(r"^contrato · "), timeout=30_000)
    expect(page.get_by_text("Agent ready")).to_be_visible(timeout=90_000)
    send(page, "oi")
    wait_for_reply(page, "contrato")
    send(page, "aceito")
    wait_for_reply(page, "CPF do titular")
    send(page, "200.100.001-43")
    wait_for_reply(page, "AF-2024-031207")
    send(page, "2")
    wait_for_reply(page, r"Parcelas do contrato")
    page.screenshot(path=ARTIFACTS / "07-pack-contrato-chat.png", full_page=True)
    page.get_by_text(re.compile(r"^Trace · turn 3")).click()
    page.get_by_role("tab", name="Tools").last.click()
    expect(page.get_by_text("consultar_contrato").last).to_be_visible()
    page.screenshot(path=ARTIFACTS / "08-pack-contrato-trace.png", full_page=True)


def test_interface_language_is_kept_across_a_reload(app_url: str, page: Page) -> None:
    """The sidebar's language switch goes into the URL (?lang=pt here, where the server's default is
    English), so a reload, a bookmark or a shared link keeps it; the chat box stays Portuguese."""
    page.goto(app_url, wait_until="networkidle")
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("Models", exact=False).first).to_be_visible(timeout=60_000)
    sidebar.get_by_text("Português", exact=True).click()
    expect(sidebar.get_by_text("Modelos", exact=False).first).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"[?&]lang=pt\b"), timeout=10_000)
    page.reload(wait_until="networkidle")
    expect(sidebar.get_by_text("Modelos", exact=False).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Diga oi para começar", exact=False)).to_be_visible(timeout=30_000)
    page.get_by_role("link", name=re.compile("Custos")).click()
    expect(page.get_by_role("heading", name=re.compile("Custos"))).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"[?&]lang=pt\b"), timeout=10_000)
    page.screenshot(path=ARTIFACTS / "20-costs-pt-BR.png", full_page=True)
