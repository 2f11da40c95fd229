"""Speed a person feels on the Chat page, in headless Chromium (prints figures; never fails on time).

For each run: the app as ``make run`` starts it (``serve.py``: the engine warms up while Streamlit starts;
``--entry streamlit`` for a bare ``streamlit run app.py``) on a free localhost port with an empty data
folder, then
1. health → first paint (the chat box on screen)            target ≤ 2 s
2. health → "Agent ready" (the engine warmed up)             target ≤ 3 s
3. reply latency on local/rules: last message sent → the agent's reply on screen, minus the burst
   window (each reply is measured from the moment the message is submitted)  target ≤ 300 ms

Medians over ``--runs`` (default 3) and the ratio to each target are printed, and — since an early
warm-up moves work before "health" — the same two moments from the process start.
Usage: ``python bench/bench_ui.py [--runs 3] [--window 2] [--entry serve|streamlit]``
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY = re.compile(r"Agent ready|Agente pronto", re.I)
BOX = re.compile(r"Escreva sua mensagem|Write your message", re.I)
MESSAGES = ("oi", "aceito", "Maria Souza")
TARGETS = {"first paint": 2.0, "agent ready": 3.0, "reply beyond window": 0.3}
FROM_START = ("start → first paint", "start → agent ready")  # printed, no target
ENTRIES = {"serve": ["serve.py"], "streamlit": ["-m", "streamlit", "run", "app.py"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_health(url: str, deadline: float) -> float:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=0.5) as response:  # noqa: S310 (localhost)
                if response.status == 200:
                    return time.monotonic()
        except OSError:
            time.sleep(0.05)
    raise SystemExit("streamlit did not answer /_stcore/health in time")


def one_run(window: float, entry: str = "serve") -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="bench-ui-")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(CONVERSA_DATA_DIR=data, BURST_MODE="true", BURST_WINDOW_SECONDS=str(window), PYTHONPATH=str(ROOT))
    figures: dict[str, list[float]] = {"first paint": [], "agent ready": [], "reply beyond window": [],
                                       **{k: [] for k in FROM_START}}
    # The browser is open before the app starts, as a person's is: its own start-up is not the app's.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto("about:blank")
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, *ENTRIES[entry], "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            healthy = wait_health(url, time.monotonic() + 180)
            page.goto(url)
            box = page.locator('[data-testid="stBottomBlockContainer"]').get_by_placeholder(BOX)
            box.wait_for(timeout=60_000)
            figures["first paint"].append(time.monotonic() - healthy)
            figures["start → first paint"].append(time.monotonic() - started)
            page.get_by_text(READY).first.wait_for(timeout=120_000)
            figures["agent ready"].append(time.monotonic() - healthy)
            figures["start → agent ready"].append(time.monotonic() - started)
            bubbles = page.locator('[data-testid="stChatMessage"]')
            for text in MESSAGES:
                before = bubbles.count()
                box.fill(text)
                box.press("Enter")
                sent = time.monotonic()
                deadline = sent + 60
                # the customer's bubble, then the agent's reply
                while bubbles.count() < before + 2 and time.monotonic() < deadline:
                    page.wait_for_timeout(20)
                figures["reply beyond window"].append(time.monotonic() - sent - window)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=float, default=2.0, help="burst window in seconds (BURST_WINDOW_SECONDS)")
    parser.add_argument("--entry", choices=sorted(ENTRIES), default="serve",
                        help="serve: as `make run` (early warm-up); streamlit: a bare `streamlit run app.py`")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM}")
        return
    totals: dict[str, list[float]] = {k: [] for k in (*TARGETS, *FROM_START)}
    for run in range(args.runs):
        figures = one_run(args.window, args.entry)
        for key, values in figures.items():
            totals[key].extend(values)
        print(f"run {run + 1}: " + " · ".join(f"{k} {statistics.median(v):.2f} s" for k, v in figures.items()))
    print(f"\nmedians over {args.runs} run(s), burst window {args.window:g} s, local/rules, "
          f"{os.cpu_count()} cores, entry {args.entry}, load average {os.getloadavg()[0]:.1f}:")
    for key in FROM_START:
        print(f"  {key:<20} {statistics.median(totals[key]):6.2f} s   (from the process start)")
    for key in TARGETS:
        values = totals[key]
        median = statistics.median(values)
        target = TARGETS[key]
        verdict = "ok" if median <= target else "over target"
        print(f"  {key:<20} {median:6.2f} s   target ≤ {target:.1f} s   ratio {median / target:5.2f}×  {verdict}")


if __name__ == "__main__":
    main()
