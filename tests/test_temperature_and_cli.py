"""Issue 12's smaller things: each call's temperature (and model) recorded in the turn's trace and in its
ledger row, so a change can be seen to take effect; the CLI as a newcomer pipes into it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete, text

from agent.adapters.migrations import MIGRATIONS
from agent.adapters.schema import schema_migrations
from agent.adapters.store import Store
from agent.config import load_settings
from agent.core.session import AgentSession
from agent.core.trace import ModelCall, TurnTrace

ROOT = Path(__file__).resolve().parent.parent


def test_temperature_and_model_per_call_in_the_trace_and_the_ledger(base_env: dict[str, str]) -> None:
    settings = load_settings(env={**base_env, "BURST_MODE": "false", "CONVERSATION_TEMPERATURE": "0.7"},
                             dotenv_path=None)
    session = AgentSession.new(settings)
    first = session.send("oi")
    assert first is not None and first.trace.calls
    by_role = {c.role: c for c in first.trace.calls}
    assert by_role["decision"].temperature == 0.0 and by_role["decision"].model == "local/rules"
    assert by_role["conversation"].temperature == 0.7
    # The sidebar moves the slider: the next turn's calls say so.
    session.update_settings(settings.with_role("conversation", temperature=1.1))
    second = session.send("aceito")
    assert second is not None
    assert {c.temperature for c in second.trace.calls if c.role == "conversation"} == {1.1}
    rows = session.store.cost_rows(chat_id=session.chat_id, limit=100)
    assert rows and all(r["temperature"] is not None for r in rows)
    assert {(r["role"], r["model"], r["temperature"]) for r in rows if r["role"] == "conversation"} == {
        ("conversation", "local/rules", 0.7), ("conversation", "local/rules", 1.1)}
    # And the stored trace reads back with it.
    stored = [TurnTrace.from_json(row["trace"]) for row in session.store.list_traces(session.chat_id)]
    assert any(c.temperature == 1.1 for t in stored for c in t.calls)


def test_traces_stored_before_have_no_temperature() -> None:
    call = ModelCall.from_json({"role": "decision", "feature": "x", "model": "gpt-4o-mini"})
    assert call.temperature is None


def test_an_older_ledger_gets_the_temperature_column(database_url: str) -> None:
    store = Store(database_url)
    with store.engine.begin() as conn:  # a database of a build before version 50
        conn.execute(text("ALTER TABLE llm_cost DROP COLUMN temperature"))
        conn.execute(delete(schema_migrations).where(schema_migrations.c.version == 50))
    store.engine.dispose()
    again = Store(database_url)
    columns = {c["name"] for c in __import__("sqlalchemy").inspect(again.engine).get_columns("llm_cost")}
    assert "temperature" in columns and again.migrate() == []
    assert any(m.version == 50 for m in MIGRATIONS)
    again.engine.dispose()


def run_cli(base_env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "chat"], input=script, capture_output=True, text=True,
                          cwd=ROOT, env={**base_env, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_piped_cli_echoes_the_customer_and_prints_a_short_trace(base_env: dict[str, str]) -> None:
    result = run_cli(base_env, "oi\n/trace\n/help\n/burst quero || sacar\n/nope\n/quit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    # The output reads as the conversation: each customer line, then the agent's answer.
    assert out[0] == "cliente: oi" and out[1].startswith("agente:")
    assert "cliente: quero" in out and "cliente: sacar" in out
    trace = result.stdout.split("agente:", 1)[1]
    assert "turno 0 · greeting → optin" in trace
    assert "temperatura 0.4" in trace and "local/rules" in trace  # model and temperature per call
    assert "rendered_messages" not in result.stdout  # short by default
    assert "/trace full" in result.stdout  # /help
    assert "comando desconhecido: /nope" in result.stderr


def test_trace_full_is_indented_json(base_env: dict[str, str]) -> None:
    import json

    result = run_cli(base_env, "oi\n/trace full\n")
    lines = result.stdout.splitlines()
    start = lines.index("{")
    trace = json.loads("\n".join(lines[start:lines.index("}", start) + 1]))
    assert trace["calls"][0]["rendered_messages"] and "temperature" in trace["calls"][0]


def test_the_chat_trace_panel_shows_each_calls_temperature(app_env) -> None:  # noqa: ANN001
    from test_page_chat import open_chat, say

    at = open_chat()  # app_env: the English interface
    at.sidebar.slider(key="temperature_conversation").set_value(0.9)
    at = say(at.run(), "oi")
    calls = next(d.value for d in at.dataframe if "temperature" in d.value.columns)
    by_role = dict(zip(calls["role"], calls["temperature"], strict=False))
    assert by_role["Conversation"] == "0.90" and by_role["Decision"] == "0.00"
    prompts = " ".join(m.value for m in at.markdown)
    assert "`local/rules` · temperature 0.90" in prompts
