"""Audit data (issue 14): the conversations list, the journey funnel and the review queue, on conversations
really played through AgentSession on local/rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from agent import audit
from agent import privacy_rights as rights
from agent.adapters.crypto import KEY_ENV, generate_key
from agent.adapters.schema import chat_review, chats, utcnow
from agent.adapters.store import CostRow, Store
from agent.config import Settings, load_settings
from agent.core.pack import get_pack
from agent.core.session import AgentSession

ROOT = Path(__file__).resolve().parent.parent

# Who says what: each script ends in a different place of the FGTS journey.
SCRIPTS = {
    "happy": ["oi", "sim", "Maria Souza", "200.000.002-99", "julho", "sim", "sim, quero seguir"],
    "optout": ["oi", "não quero passar meus dados"],
    "handoff": ["oi", "sim", "quero falar com um atendente"],
    "declined": ["oi", "sim", "João Batista", "111.444.777-35", "setembro", "sim", "não, obrigado"],
    "ineligible": ["oi", "sim", "Ana Paula", "073.602.846-35", "março", "sim"],
    "idle": ["oi", "sim", "Carla Dias"],
}


def settings_for(base_env: dict[str, str], url: str, **extra: str) -> Settings:
    return load_settings(env={**base_env, "DATABASE_URL": url, "BURST_MODE": "false", **extra}, dotenv_path=None)


def play(settings: Settings, store: Store, texts: list[str], source: str = "playground") -> int:
    session = AgentSession.new(settings, store=store, source=source)
    for text in texts:
        session.send(text)
    return session.chat_id


def seed(settings: Settings, store: Store) -> dict[str, int]:
    ids = {name: play(settings, store, texts) for name, texts in SCRIPTS.items()}
    ids["eval"] = play(settings, store, SCRIPTS["happy"], source="eval")
    ids["simulation"] = play(settings, store, SCRIPTS["optout"], source="simulation")
    return ids


def test_funnel_counts_drop_offs_and_rates_on_a_seeded_database(base_env: dict[str, str], database_url: str) -> None:
    settings = settings_for(base_env, database_url)
    store = Store.open(database_url)
    ids = seed(settings, store)
    people = {k: v for k, v in ids.items() if k not in ("eval", "simulation")}
    # Cost from the ledger: the happy conversation spent 0.003, the idle one 0.001 (local/rules costs 0).
    for name, price in (("happy", "0.003"), ("idle", "0.001")):
        store.record_cost(CostRow("Conversa", "gpt-4o-mini", 100, 10, Decimal(price), fk_id_chat=ids[name]))

    rows = {r.chat_id: r for r in audit.conversations(settings)}
    assert set(rows) == set(people.values())  # the bench's chats are one filter away
    assert {r.chat_id for r in audit.conversations(settings, sources=None)} == set(ids.values())
    outcome = {name: rows[chat_id].outcome for name, chat_id in people.items()}
    assert outcome == {"happy": "completed", "optout": "refusal", "handoff": "handoff", "declined": "refusal",
                       "ineligible": "completed", "idle": "aborted"}
    happy = rows[ids["happy"]]
    assert happy.steps[:4] == ("greeting", "optin", "collect_data", "confirm_data") and "eligibility" in happy.steps
    assert happy.step_reached == "finalized" and rows[ids["idle"]].step_reached == "collect_data"
    assert rows[ids["optout"]].step_reached == "optin" and rows[ids["ineligible"]].step_reached == "not_authorized"
    assert happy.turns == 7 and happy.consent and not happy.handoff and happy.cost_usd == pytest.approx(0.003)
    assert happy.tool_outcomes == (("consultar_fgts", "200", "eligible"),) and happy.verdict is None
    assert happy.config == "decision=local/rules · conversation=local/rules"
    assert [r.chat_id for r in audit.conversations(settings, step="offer")] == [ids["declined"], ids["happy"]]
    assert [r.chat_id for r in audit.conversations(settings, handoff=True)] == [ids["handoff"]]

    report = audit.funnel(settings)
    overall = report.overall
    reached = {s.step: s.reached for s in overall.steps}
    assert list(reached) == [s for s in get_pack(settings.pack_dir).journey.steps if s in reached]  # file order
    assert "handoff" not in reached and "optout" not in reached  # exits are not funnel steps
    assert (reached["greeting"], reached["optin"], reached["collect_data"], reached["confirm_data"]) == (6, 6, 5, 3)
    assert (reached["eligibility"], reached["offer"], reached["not_authorized"], reached["finalized"]) == (3, 2, 1, 2)
    assert overall.dropped("optin") == (ids["optout"],)
    assert set(overall.dropped("collect_data")) == {ids["handoff"], ids["idle"]}
    assert overall.dropped("offer") == ()
    step = next(s for s in overall.steps if s.step == "collect_data")
    assert (step.dropped, step.continued, step.drop_rate) == (2, 3, pytest.approx(0.4))
    assert (overall.conversations, overall.completed) == (6, 3)
    assert (overall.consent_asked, overall.consent_granted, overall.optin_rate) == (6, 5, pytest.approx(5 / 6))
    assert (overall.handoffs, overall.handoff_rate) == (1, pytest.approx(1 / 6))
    assert overall.outcomes == {"completed": 2, "aborted": 1, "refusal": 2, "handoff": 1}
    codes = {(o.code, o.outcome): o.conversations for o in overall.tool_outcomes}
    assert codes == {("200", "eligible"): 2, ("701", "not_authorized"): 1}
    assert overall.avg_cost_per_completed_usd == pytest.approx(0.003 / 3)  # happy, declined, ineligible
    assert overall.cost_per_completion_usd == pytest.approx(0.004 / 3)
    table = report.to_rows()
    assert table[0]["group"] == "all" and {"step", "reached", "dropped_chat_ids", "drop_rate"} <= set(table[0])
    assert report.outcome_rows() and report.summary_rows()[0]["optin_rate"] == pytest.approx(0.8333, abs=1e-4)

    # By day: two conversations moved to yesterday are their own group; `since` leaves them out.
    yesterday = utcnow() - timedelta(days=1)
    with store.begin() as conn:
        conn.execute(update(chats).where(chats.c.id_chat.in_([ids["happy"], ids["optout"]]))
                     .values(created_at=yesterday))
    by_day = audit.funnel(settings, by="day")
    groups = {g.group: g for g in by_day.groups[1:]}
    assert groups[yesterday.date().isoformat()].conversations == 2
    assert groups[utcnow().date().isoformat()].conversations == 4
    assert groups[yesterday.date().isoformat()].dropped("optin") == (ids["optout"],)
    assert audit.funnel(settings, since=utcnow().date()).overall.conversations == 4
    by_config = audit.funnel(settings, by="config")
    assert [g.group for g in by_config.groups] == ["all", "decision=local/rules · conversation=local/rules"]
    with pytest.raises(ValueError, match="funnel by"):
        audit.funnel(settings, by="week")  # type: ignore[arg-type]
    assert audit.funnel(settings, sources=None).overall.conversations == 8
    store.engine.dispose()


def test_the_funnel_names_no_fgts_step_for_another_pack(base_env: dict[str, str], data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'contrato.db'}"
    settings = settings_for(base_env, url, PACK_DIR=str(ROOT / "prompts" / "contrato"))
    store = Store.open(url)
    found = play(settings, store, ["oi", "aceito", "200.100.001-43"])
    play(settings_for(base_env, url), store, ["oi"])  # an fgts chat in the same database: not this pack's
    report = audit.funnel(settings)
    assert report.pack == "contrato" and report.overall.conversations == 1
    assert set(report.steps) <= set(get_pack(settings.pack_dir).journey.steps)
    assert {"collect_data", "offer", "eligibility"}.isdisjoint(report.steps)
    row = audit.conversations(settings)[0]
    assert row.chat_id == found and row.outcome == "completed" and "menu" in row.steps
    assert {o.tool for o in report.overall.tool_outcomes} == {"consultar_contrato"}


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_review_round_trip_is_scrubbed_and_sealed(base_env: dict[str, str], database_url: str, encrypted: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, generate_key() if encrypted else "")
    settings = settings_for(base_env, database_url)
    store = Store.open(database_url)
    happy = play(settings, store, SCRIPTS["happy"])
    idle = play(settings, store, SCRIPTS["idle"])
    messages = audit.transcript(settings, happy)
    agent_at = [m["index"] for m in messages if m["role"] == "agent"]
    assert messages[agent_at[0]]["role"] == "agent" and messages[0]["role"] == "customer"

    saved = audit.review(settings, happy, "approved", comment="ótima; CPF 200.000.002-99, maria@gmail.com",
                         corrections={agent_at[2]: "Prazer! Qual é o seu CPF? (ex.: 073.602.846-35)"},
                         reviewer="  Júlia   Lima ")
    assert saved.verdict == "approved" and saved.reviewer == "Júlia Lima"
    assert "200.000.002-99" not in saved.comment and "maria@gmail.com" not in saved.comment
    assert "•••.000.002-••" in saved.comment  # masked, as everywhere else
    assert saved.corrections == {agent_at[2]: "Prazer! Qual é o seu CPF? (ex.: •••.602.846-••)"}
    assert audit.reviews(settings) == [saved]
    with store.engine.connect() as conn:
        raw = conn.execute(select(chat_review.c.comment, chat_review.c.corrections)).one()
    dumped = json.dumps([raw[0], raw[1]], ensure_ascii=False)
    assert "200.000.002-99" not in dumped
    assert ("ótima" not in dumped and "Prazer" not in dumped) if encrypted else "ótima" in dumped

    # A second verdict replaces the first; the queue puts the unreviewed first.
    assert audit.review(settings, happy, "rejected", comment="tom frio").verdict == "rejected"
    assert [(r.chat_id, r.verdict, r.corrections) for r in audit.reviews(settings)] == [(happy, "rejected", {})]
    assert [r.chat_id for r in audit.review_queue(settings)] == [idle, happy]
    assert [r.chat_id for r in audit.review_queue(settings, include_reviewed=False)] == [idle]
    assert audit.conversations(settings, verdict="unreviewed")[0].chat_id == idle
    assert audit.conversations(settings, verdict="rejected")[0].verdict == "rejected"
    with pytest.raises(ValueError, match="no agent message"):
        audit.review(settings, happy, "approved", corrections={0: "o cliente não é o agente"})
    with pytest.raises(ValueError, match="verdict"):
        audit.review(settings, happy, "maybe")
    with pytest.raises(ValueError, match="no conversation"):
        audit.review(settings, 99_999, "approved")
    store.engine.dispose()


def test_forget_deletes_reviews_and_the_export_includes_them(base_env: dict[str, str], database_url: str) -> None:
    settings = settings_for(base_env, database_url)
    store = Store.open(database_url)
    happy = play(settings, store, SCRIPTS["happy"])
    other = play(settings, store, SCRIPTS["declined"])
    audit.review(settings, happy, "approved", comment="modelo a seguir", reviewer="Júlia")
    audit.review(settings, other, "rejected", reviewer="Júlia")
    exported = rights.export_holder(store, "200.000.002-99")
    assert [r["verdict"] for r in exported["conversations"][0]["reviews"]] == ["approved"]
    assert exported["conversations"][0]["reviews"][0]["comment"] == "modelo a seguir"
    counts = rights.forget_chat(store, happy)
    assert counts.reviews == 1 and counts.as_dict()["reviews"] == 1
    assert audit.reviews(settings, chat_ids=[happy]) == []
    assert [r.chat_id for r in audit.reviews(settings)] == [other]  # the other conversation's review is kept
    done = subprocess.run([sys.executable, "-m", "agent", "privacy", "forget", "--chat-id", str(other), "--yes"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**base_env, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "1 review(s) deleted" in done.stderr, done.stderr
    assert audit.reviews(settings) == []
    store.engine.dispose()


def test_an_approved_conversation_becomes_a_golden_that_passes(settings: Settings, tmp_path: Path) -> None:
    from evals.approved import NotApproved, golden_from_review, save_approved_golden
    from evals.cases import load_case
    from evals.runner import run_suite

    store = Store.open(settings.database_url)
    chat_id = play(settings, store, SCRIPTS["happy"])
    with pytest.raises(NotApproved):
        golden_from_review(settings, chat_id)
    audit.review(settings, chat_id, "approved", comment="jornada ideal", reviewer="Júlia")
    path = save_approved_golden(settings, chat_id, tmp_path)
    case = load_case(path)
    assert case.id == f"approved_chat_{chat_id}" and "approved" in case.tags
    run = run_suite([case], [], settings, save=False)
    assert run.passed, run.results[0].failures

    # A corrected reply becomes its turn's reference (the corrected message's code is no longer expected).
    agent_at = [m["index"] for m in audit.transcript(settings, chat_id) if m["role"] == "agent"]
    audit.review(settings, chat_id, "approved", corrections={agent_at[2]: "Prazer, Maria! Qual é o seu CPF?"})
    data = golden_from_review(settings, chat_id, case_id="approved_corrected")
    third = data["turns"][2]["expect"]
    assert third["similar"]["reference"] == "Prazer, Maria! Qual é o seu CPF?" and "message_code" not in third
    assert "message_code" in data["turns"][1]["expect"]
