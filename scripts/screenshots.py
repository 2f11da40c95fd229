"""Screenshots of every page in both interface languages, at 1440×900 and at a phone's 390×844.

    .venv/bin/python scripts/screenshots.py [pt|en …]    → test-artifacts/screens/<lang>-<size>-<page>.png

Runs the app on a free port against a *copy* of data/ (the chat page sends two messages to show a
trace; your database is left alone) and drives it with headless Chromium (/usr/bin/chromium). Look
at the pictures before closing an interface issue.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-artifacts" / "screens"
PAGES = ("", "compare", "prompts", "costs", "evals", "audit")
SIZES = ((1440, 900, "desktop"), (390, 844, "phone"))


def main(langs: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="conversa-screens-"))
    source = ROOT / "data"
    if (source / "conversa.db").exists():
        shutil.copy2(source / "conversa.db", data / "conversa.db")
    if (source / "models").exists():
        (data / "models").symlink_to(source / "models")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "CONVERSA_UI_LANG"}
    env.update(CONVERSA_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    with open(data / "streamlit.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                for lang in langs:
                    for width, height, size in SIZES:
                        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                        for path in PAGES:
                            page.goto(f"{url}/{path}?lang={lang}", wait_until="networkidle")
                            # Wait for Streamlit's "running" indicator to go away (heavy pages take a while).
                            page.wait_for_timeout(1500)
                            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",
                                                   timeout=90_000)
                            if path == "" and size == "desktop":
                                box = page.locator('[data-testid="stBottomBlockContainer"]').get_by_placeholder(
                                    "Escreva sua mensagem")
                                for text in ("oi", "sim, aceito"):
                                    box.fill(text)
                                    box.press("Enter")
                                    page.wait_for_timeout(6000)
                                trace = page.locator('[data-testid="stExpander"] summary').filter(
                                    has_text=re.compile(r"· \w+ 1 · ")).first
                                trace.wait_for(timeout=90_000)  # the second turn's trace, in either language
                                trace.click()
                                page.wait_for_timeout(1000)
                            name = OUT / f"{lang}-{size}-{path or 'chat'}.png"
                            page.screenshot(path=name, full_page=size == "desktop")
                            print(name.relative_to(ROOT))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["pt", "en"])
