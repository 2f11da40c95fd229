"""Issue 13's scanner, the screens: what each page draws and what the terminal chat prints, after the PII-rich
script (scripts/pii_scan.py: card, password, SMS code, CPF, CNPJ, e-mail, phone, bank account, PIX key), is
scanned for the raw values. tests/test_pii_scanner.py scans what is written (databases, reports, logs, files).

A page's text is every element Streamlit would send to the browser (the element protos of the AppTest run):
what a screenshot of the page can show. Nothing raw is drawn unless a named operator opens the operator view.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from test_page_chat import open_chat, say

from agent.config import DEFAULT_PACK_DIR

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("pii_scan", ROOT / "scripts" / "pii_scan.py")
assert _spec and _spec.loader
pii_scan = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("pii_scan", pii_scan)
_spec.loader.exec_module(pii_scan)


def drawn(at: AppTest, skip: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """Everything the page's last run drew, as protobuf text (labels, markdown, captions, tables' cells…),
    but the widgets keyed in ``skip`` (a text box holding what the person typed)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if getattr(node, "key", None) in skip:
            return
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        children = getattr(node, "children", None) or {}
        for child in children.values() if isinstance(children, dict) else children:
            walk(child)

    walk(at._tree)  # noqa: SLF001  (the element tree: no public accessor lists every element)
    return "\n".join(out)


def raw(text: str) -> dict[str, int]:
    return {kind: n for kind, n in pii_scan.hits(text).items() if n}


@pytest.fixture
def pack_env(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The app's environment, each message its own turn, a private copy of the pack (Compare writes to it)."""
    folder = tmp_path / "packs" / "fgts"
    shutil.copytree(DEFAULT_PACK_DIR, folder)
    monkeypatch.setenv("PACK_DIR", str(folder))
    monkeypatch.setenv("BURST_WINDOW_SECONDS", "0")
    return {**app_env, "PACK_DIR": str(folder), "BURST_WINDOW_SECONDS": "0"}


def test_the_pages_draw_no_raw_value(pack_env: dict[str, str]) -> None:
    # The Chat page: the script typed in the chat box, answered by the worker; every bubble, trace panel and
    # the attributes table drawn. The agent's "Vamos conferir…" quotes the CPF: drawn masked, as stored.
    at = open_chat()
    for line in pii_scan.SCRIPT:
        say(at, line)
    assert any("Vamos conferir" in m.value for m in at.markdown)
    assert [e for e in at.expander if e.label.startswith("Trace · turn")]
    assert raw(drawn(at)) == {}

    # The operator view, named and logged, is the one place the captured CPF is drawn in clear.
    at.toggle(key="chat_operator_view").set_value(True).run()
    at.text_input(key="chat_operator_name").set_value("Ana Operadora").run()
    assert not at.exception
    assert set(raw(drawn(at))) == {"cpf"}
    at.toggle(key="chat_operator_view").set_value(False).run()
    assert raw(drawn(at)) == {}

    # Evals: a golden drafted from that conversation. Its one raw value is the captured CPF, put back in clear
    # so that the golden replays the same consultation (evals/record.py ``_in_clear``); nothing else typed.
    at.switch_page("app_pages/evals.py").run()
    at.radio(key="evals_source").set_value("past").run()
    at.button(key="evals_draft").click().run()
    assert not at.exception
    draft = at.text_area(key="evals_golden_text").value
    assert "turns:" in draft and set(raw(draft)) == {"cpf"}
    assert raw(drawn(at, skip={"evals_golden_text"})) == {}

    # Costs: the ledger and the most expensive conversations.
    at.switch_page("app_pages/costs.py").run()
    assert not at.exception and at.dataframe
    assert raw(drawn(at)) == {}

    # Compare: the same script on two configurations, turn by turn (the script itself stays in its box).
    at.switch_page("app_pages/compare.py").run()
    at.text_area(key="compare_script").set_value("\n".join(pii_scan.SCRIPT)).run()
    next(b for b in at.button if b.label.startswith("Run the script")).click().run()
    assert not at.exception
    assert any(m.value.startswith("**Turn 13**") for m in at.markdown)
    assert raw(drawn(at, skip={"compare_script"})) == {}

    # Prompts: the page's previews.
    at.switch_page("app_pages/prompts.py").run()
    assert not at.exception
    assert raw(drawn(at)) == {}


def test_the_terminal_chat_prints_no_raw_value_but_the_confirmation(base_env: dict[str, str]) -> None:
    """Piped into ``python -m agent chat`` with every command that prints the conversation: the echo of each
    line, ``/trace``, ``/trace full``, ``/state``, ``/cost``, a burst. The one raw value printed is the CPF in
    the agent's confirmation ("Vamos conferir…"), the message the customer receives on the channel."""
    lines: list[str] = []
    for line in pii_scan.SCRIPT:
        lines += [line, "/trace", "/trace full", "/state"]
    lines += ["/cost", "/burst " + " || ".join(typed for _, typed, _ in pii_scan.PII), "/trace full", "/quit"]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(base_env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "agent", "chat"], input="\n".join(lines), text=True,
                          capture_output=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    assert printed.count("cliente: ") == len(pii_scan.SCRIPT) + len(pii_scan.PII)
    confirmation: list[str] = []  # the lines of each "agente: Vamos conferir…" reply
    rest: list[str] = []
    inside = False
    for line in printed.splitlines():
        starts_another = line.startswith(("cliente: ", "agente: ", "turno ", "{", "[", "("))
        inside = line.startswith("agente: Vamos conferir") or (inside and not starts_another)
        (confirmation if inside else rest).append(line)
    shown = "\n".join(confirmation)
    assert "• CPF: 200.000.002-99" in shown
    assert raw(shown) == {"cpf": shown.count("200.000.002-99")}
    assert raw("\n".join(rest)) == {}


def test_messages_waiting_in_a_burst_are_drawn_masked(pack_env: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before their turn runs, queued messages are drawn by the page's live fragment from the inbox, where
    they are raw (the worker needs them): drawn masked too."""
    monkeypatch.setenv("BURST_WINDOW_SECONDS", "60")
    at = open_chat()
    for line in ("oi", pii_scan.PII[0][1], "meu cpf é 200.000.002-99"):
        at.chat_input[0].set_value(line).run()
    assert not at.exception
    waiting = [m for m in at.chat_message if m.name == "user"]
    assert len(waiting) == 3 and "cartão oculto" in waiting[1].markdown[0].value
    assert raw(drawn(at)) == {}
