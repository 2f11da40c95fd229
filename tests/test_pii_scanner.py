"""Issue 13's scanner: a PII-rich conversation through AgentSession and the chat worker, replayed as a golden
by the eval runner with its reports written, then every artefact scanned for the raw values.

The only raw value allowed is the one the journey captured and needs: the CPF in ``chats.state`` (the
captured attribute; encrypted at rest with ``CONVERSA_ENCRYPTION_KEY``, README "Data at rest").
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest

from agent.adapters.inbox import Inbox
from agent.adapters.store import Store
from agent.config import Settings
from agent.worker import Workers

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("pii_scan", ROOT / "scripts" / "pii_scan.py")
assert _spec and _spec.loader
pii_scan = importlib.util.module_from_spec(_spec)
sys.modules["pii_scan"] = pii_scan
_spec.loader.exec_module(pii_scan)

# (table, kind) where a raw value may stay: the captured attribute the journey and the tool call need.
RAW_ALLOWED = {("chats", "cpf")}


def _forbidden(where: str, text: str) -> list[str]:
    return [f"{where}: {kind} ×{n}" for kind, n in pii_scan.hits(text).items()
            if n and (where, kind) not in RAW_ALLOWED]


def test_no_raw_value_is_written_anywhere(base_env: dict[str, str], settings: Settings, data_dir: Path,
                                          tmp_path: Path) -> None:
    from evals.record import golden_from_session, save_golden
    from evals.report import html_report, json_report, junit_xml
    from evals.cases import load_case
    from evals.runner import run_suite

    # 1. The scripted conversation (card first, password, SMS code, CPF, CNPJ, e-mail, phone, bank, PIX).
    contexts: list[str] = []
    chat_id = pii_scan.play(base_env, contexts)
    assert not [k for k, n in pii_scan.hits("\n".join(contexts)).items() if n], "raw value in a model context"

    # 2. The same lines through the Chat page's path: the inbox and the chat worker.
    worker_settings = settings.with_changes(burst_mode=False)
    pool = Workers()
    try:
        worker_chat = pool.new_chat(worker_settings)
        for line in pii_scan.SCRIPT:
            pool.enqueue(worker_settings, worker_chat, line)
        assert pool.get(worker_settings, worker_chat).wait_idle(120)
    finally:
        pool.shutdown()
    store = Store.open(settings.database_url)
    assert {r.status for r in Inbox(store).all(worker_chat)} == {"done"}

    # 3. The conversation recorded as a golden (a YAML file a person chose to write: not scanned), replayed
    # by the eval runner into the same database, with the three reports.
    from agent.core.session import AgentSession

    session = AgentSession.load(settings, chat_id)
    golden = save_golden(golden_from_session(session, case_id="pii_rich"), tmp_path / "goldens")
    run = run_suite([load_case(golden)], [], settings, save=True)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "run.html").write_text(html_report(run), encoding="utf-8")
    (reports / "run.json").write_text(json_report(run), encoding="utf-8")
    (reports / "run.xml").write_text(junit_xml(run), encoding="utf-8")

    # The scan: every table of the SQLite file (iterdump), every report.
    db = data_dir / "conversa.db"
    with sqlite3.connect(db) as conn:  # the WAL written back, so the dump sees every row
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tables = pii_scan.dump(db)
    assert {"messages", "traces", "chats", "chat_inbox", "llm_cost", "eval_result"} <= set(tables)
    found = [hit for name, text in tables.items() for hit in _forbidden(name, text)]
    found += [hit for path in sorted(reports.iterdir()) for hit in _forbidden(path.name, path.read_text("utf-8"))]
    assert found == []
    # The journey still got what it needed: the CPF captured (raw, in chats.state) and the API consulted.
    assert session.state.attributes.get("cpf") and session.state.step == "offer"
    assert pii_scan.hits(tables["chats"])["cpf"] >= 1


@pytest.mark.parametrize(("kind", "typed", "forms"), pii_scan.PII)
def test_the_measured_values_are_each_detected(kind: str, typed: str, forms: tuple[str, ...]) -> None:
    from agent.privacy import find_pii, scrub

    assert kind in {f.kind for f in find_pii(typed)}
    assert not any(form in scrub(typed) for form in forms)
