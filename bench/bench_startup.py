"""Time to the first rendered Chat page vs a bare ``import litellm`` (target ≤ 1.5×). Prints figures.

Starts ``streamlit run app.py`` on a free localhost port with an empty temporary data folder, opens
it in headless Chromium (Playwright, ``/usr/bin/chromium``) and stops the clock when the chat box is
on screen and the first script run has finished. Never fails on time.
Usage: ``python bench/bench_startup.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_import() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import agent.adapters.offline, litellm"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def first_chat_page(page_factory) -> float:
    """Seconds from launching the server to a usable Chat page."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CONVERSA_DATA_DIR": data}
        env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            page = page_factory()
            deadline = time.time() + 60
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                    break
                except Exception:  # noqa: BLE001  (server not listening yet)
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            page.wait_for_selector("[data-testid='stChatInputTextArea']", timeout=60000)
            page.wait_for_selector("text=Journey step", timeout=60000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                   timeout=60000)
            return time.perf_counter() - started
        finally:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    imports = [bare_import() for _ in range(args.runs)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pages = [first_chat_page(lambda: browser.new_page()) for _ in range(args.runs)]
        browser.close()
    base, app = statistics.median(imports), statistics.median(pages)
    print(f"python -c 'import litellm'       median {base:.2f} s  ({', '.join(f'{t:.2f}' for t in imports)})")
    print(f"first rendered Chat page        median {app:.2f} s  ({', '.join(f'{t:.2f}' for t in pages)})")
    print(f"ratio {app / base:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
