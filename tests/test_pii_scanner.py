"""Issue 13's scanner: a PII-rich conversation through AgentSession and the chat worker, replayed as a golden
by the eval runner with its reports written, then every artefact scanned for the raw values — the database
(SQLite: ``iterdump`` and every column; PostgreSQL: every column of the test's schema), the three reports,
the files left in the data folder and the log records of the session.

With ``CONVERSA_ENCRYPTION_KEY`` set there is no raw value anywhere. Without a key the only raw value is the
one the journey captured and needs: the CPF in ``chats.state`` (the captured attribute), a column the README
lists as stored in clear (README "Data at rest" and "Personal data in text").
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sqlite3
import sys
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.crypto import KEY_ENV, generate_key
from agent.adapters.inbox import Inbox
from agent.adapters.store import Store
from agent.config import Settings, load_settings
from agent.worker import Workers

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("pii_scan", ROOT / "scripts" / "pii_scan.py")
assert _spec and _spec.loader
pii_scan = importlib.util.module_from_spec(_spec)
sys.modules["pii_scan"] = pii_scan
_spec.loader.exec_module(pii_scan)

# Without a key, the (table, column) where a raw value may stay, and which kinds: README "Data at rest" lists
# both columns as stored in clear without a key (encrypted with one); test_the_allowed_columns_are_the_readmes
# keeps the two from drifting. With a key, nothing is allowed.
RAW_IN_CLEAR: dict[tuple[str, str], set[str]] = {
    # The captured attribute the journey and the tool call need (README "Personal data in text").
    ("chats", "state"): {"cpf"},
    # The rows of a failed turn (the worker's), kept as typed: only answered rows are scrubbed (README
    # "Personal data in text": "answered `chat_inbox` rows … hold no raw identifier").
    ("chat_inbox", "text"): {kind for kind, _, _ in pii_scan.PII},
}
README_SECTIONS = ("## Data at rest", "## Personal data in text (PII layer)")


def _forbidden(where: str, text: str, allowed: Collection[tuple[str, str]] = ()) -> list[str]:
    return [f"{where}: {kind} ×{n}" for kind, n in pii_scan.hits(text).items()
            if n and (where, kind) not in allowed]


def _columns(url: str) -> dict[tuple[str, str], str]:
    """Every column of every table of the database at ``url`` (for PostgreSQL: the test's schema, the
    ``search_path`` of the URL), as text: one value a line, JSON as written; numbers and times empty."""
    from sqlalchemy import create_engine, inspect, select, table, column

    engine = create_engine(url)
    try:
        out: dict[tuple[str, str], str] = {}
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar() if engine.dialect.name == "postgresql" \
                else None
            for name in inspect(conn).get_table_names(schema=schema):
                names = [c["name"] for c in inspect(conn).get_columns(name, schema=schema)]
                rows = conn.execute(select(*[column(c) for c in names]).select_from(table(name, schema=schema)))
                values: list[list[str]] = [[] for _ in names]
                for row in rows:
                    for i, value in enumerate(row):
                        values[i].append(_text(value))
                out.update({(name, c): "\n".join(values[i]) for i, c in enumerate(names)})
        return out
    finally:
        engine.dispose()


def _text(value: Any) -> str:
    if value is None or isinstance(value, (int, float, Decimal, datetime)):  # no typed text in a number
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@pytest.fixture(params=["no key", "key"])
def key(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``CONVERSA_ENCRYPTION_KEY`` for the store (read from the process environment): empty, or a new key."""
    value = generate_key() if request.param == "key" else ""
    monkeypatch.setenv(KEY_ENV, value)
    return value


def _through_worker(settings: Settings) -> int:
    """The PII-rich script sent the Chat page's way (the inbox and a chat worker); the chat's id once idle."""
    pool = Workers()
    try:
        chat = pool.new_chat(settings)
        for line in pii_scan.SCRIPT:
            pool.enqueue(settings, chat, line)
        assert pool.get(settings, chat).wait_idle(120)
    finally:
        pool.shutdown()
    return chat


def test_no_raw_value_is_written_anywhere(key: str, database_url: str, base_env: dict[str, str],
                                          data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from evals.record import golden_from_session, save_golden
    from evals.report import html_report, json_report, junit_xml
    from evals.cases import load_case
    from evals.runner import run_suite

    caplog.set_level(logging.DEBUG, logger="agent")
    env = {**base_env, "DATABASE_URL": database_url}
    settings = load_settings(env=env, dotenv_path=None)
    store = Store.open(settings.database_url)
    assert (store.cipher is not None) == bool(key)

    # 1. The scripted conversation (card first, password, SMS code, CPF, CNPJ, e-mail, phone, bank, PIX).
    contexts: list[str] = []
    chat_id = pii_scan.play(env, contexts)
    assert not [k for k, n in pii_scan.hits("\n".join(contexts)).items() if n], "raw value in a model context"

    # 2. The same lines through the Chat page's path: the inbox and the chat worker.
    worker_settings = settings.with_changes(burst_mode=False)
    worker_chat = _through_worker(worker_settings)
    assert {r.status for r in Inbox(store).all(worker_chat)} == {"done"}
    # A turn that fails with an error quoting the customer's words (as a provider's may): the worker logs
    # it with its traceback, writes it to the inbox row and to the conversation.
    from agent.core.session import AgentSession

    def failing(self: AgentSession, text: str, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"the provider rejected {text!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AgentSession, "send", failing)
        failed_chat = _through_worker(worker_settings)
    assert {r.status for r in Inbox(store).all(failed_chat)} == {"failed"}
    assert any(r.name == "agent.worker" and r.exc_info for r in caplog.records)  # the scan below reads logs

    # 3. The conversation recorded as a golden (a YAML file a person chose to write: not scanned), replayed
    # by the eval runner into the same database, with the three reports.
    session = AgentSession.load(settings, chat_id)
    golden = save_golden(golden_from_session(session, case_id="pii_rich"), tmp_path / "goldens")
    run = run_suite([load_case(golden)], [], settings, save=True)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "run.html").write_text(html_report(run), encoding="utf-8")
    (reports / "run.json").write_text(json_report(run), encoding="utf-8")
    (reports / "run.xml").write_text(junit_xml(run), encoding="utf-8")
    # The journey still got what it needed: the CPF captured and the API consulted.
    assert session.state.attributes.get("cpf") and session.state.step == "offer"
    # 4. The audit: the conversation's insights (cached in chat_insights), a review whose comment and corrected
    # reply quote what the customer typed, and the fine-tuning export (JSONL) of the approved conversation.
    from agent import conversation_insights, export_finetune, review, transcript

    assert conversation_insights(settings, chat_id).turns
    agent_index = next(m["index"] for m in transcript(settings, chat_id) if m["role"] == "agent")
    review(settings, chat_id, "approved", comment=" ".join(typed for _, typed, _ in pii_scan.PII),
           corrections={agent_index: f"Anotei o CPF {pii_scan.PII[3][1]} e o e-mail maria.souza@gmail.com."},
           reviewer="Ana")
    export = export_finetune(settings, reports / "finetune.jsonl", allow_small=True)
    assert export.examples == 1 and not export.problems

    # The scan. The database, column by column (SQLite: and the whole file as SQL, iterdump).
    allowed = set() if key else {(t, c, kind) for (t, c), kinds in RAW_IN_CLEAR.items() for kind in kinds}
    columns = _columns(database_url)
    assert {"messages", "traces", "chats", "chat_inbox", "llm_cost", "eval_result", "chat_insights",
            "chat_review"} <= {t for t, _ in columns}
    found = {(table, col, kind) for (table, col), text in columns.items()
             for kind, n in pii_scan.hits(text).items() if n}
    assert found == allowed
    if database_url.startswith("sqlite"):
        db = Path(database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(db) as conn:  # the WAL written back, so the dump sees every row
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = pii_scan.dump(db)
        assert not [hit for name, text in tables.items()
                    for hit in _forbidden(name, text, {(t, k) for t, _, k in allowed})]
        if key:  # and the file's bytes, free pages included: with a key no row was ever written in clear
            assert not _forbidden(db.name, db.read_bytes().decode("utf-8", "replace"))
    # The reports, every other file left in the data folder (the SQLite database is scanned above), the logs.
    files = sorted(reports.iterdir()) + sorted(p for p in data_dir.rglob("*") if p.is_file()
                                               and not p.name.startswith("test.db"))
    logs = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records)])
    assert not [hit for path in files for hit in _forbidden(path.name, path.read_bytes().decode("utf-8", "replace"))]
    assert not _forbidden("(logs)", logs)


def test_the_allowed_columns_are_the_readmes() -> None:
    """RAW_IN_CLEAR names columns README "Data at rest" stores in clear without a key, and that "Personal
    data in text" says raw values remain in."""
    readme = (ROOT / "README.md").read_text("utf-8")
    sections = []
    for title in README_SECTIONS:
        assert title in readme, title
        body = readme.split(title, 1)[1]
        sections.append(body.split("\n## ", 1)[0])
    at_rest, in_text = sections
    for table, col in RAW_IN_CLEAR:
        rows = [line for line in at_rest.splitlines() if line.startswith("|") and f"`{table}.{col}`" in line]
        assert rows and all(line.rstrip(" |").endswith("**clear**") for line in rows), (table, col)
    assert "`chats.state`" in in_text and "answered `chat_inbox` rows" in in_text


@pytest.mark.parametrize(("kind", "typed", "forms"), pii_scan.PII)
def test_the_measured_values_are_each_detected(kind: str, typed: str, forms: tuple[str, ...]) -> None:
    from agent.privacy import find_pii, scrub

    assert kind in {f.kind for f in find_pii(typed)}
    assert not any(form in scrub(typed) for form in forms)
