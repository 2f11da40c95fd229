"""Audit page through AppTest from app.py: the reviewer's path — a funnel step's drop-off → the conversation
that stopped there → its transcript, per-message emotion and score → approved → a golden → the fine-tuning
export — on conversations really played on local/rules; the bench's chats stay out of the lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent import load_settings, reviews, validate_finetune_file
from agent.core.session import AgentSession

SCRIPTS = {
    "completed": ["oi", "sim, aceito", "Maria Souza, CPF 073.602.846-35, nasci em março", "sim"],
    "refusal": ["oi", "não quero passar meus dados"],
    "handoff": ["oi", "que porcaria, quero falar com um atendente"],
    "aborted": ["oi", "aceito", "João"],
}


@pytest.fixture
def seeded(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    monkeypatch.setenv("CONVERSA_GOLDEN_DIR", str(tmp_path / "goldens"))
    settings = load_settings().with_changes(burst_mode=False)
    ids = {}
    for name, lines in SCRIPTS.items():
        session = AgentSession.new(settings, source="playground")
        for line in lines:
            session.send(line)
        ids[name] = session.chat_id
    bench = AgentSession.new(settings, source="eval")  # the bench's: not in people's lists
    bench.send("oi")
    ids["eval"] = bench.chat_id
    return ids


def open_audit() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/audit.py")
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_from_a_drop_off_to_a_golden_and_a_fine_tuning_file(seeded: dict[str, int], tmp_path: Path) -> None:
    at = open_audit()
    assert not at.exception, at.exception
    shown = metrics(at)
    assert shown["Conversations"] == "4"  # the eval chat is not a person's
    assert shown["Completed"] == "1" and shown["Handoff rate"] == "25%"
    funnel_table = at.dataframe[0].value
    assert list(funnel_table["Journey step"])[:2] == ["greeting", "optin"]
    assert int(funnel_table.set_index("Journey step").loc["greeting", "Reached"]) == 4

    # 1. Who stopped where: the aborted conversation stopped while its data were collected.
    at.selectbox(key="audit_drop_step").set_value("collect_data").run()
    opening = [b for b in at.button if b.label == f"Open #{seeded['aborted']}"]
    assert opening, [b.label for b in at.button]
    # 2. Open it: its transcript, per-message emotion, the score and its components.
    opening[0].click().run()
    assert not at.exception, at.exception
    assert at.segmented_control(key="audit_view").value == "conversation"
    shown = metrics(at)
    assert shown["Outcome"] == "aborted" and shown["Furthest step"] == "collect_data"
    assert 0 <= float(shown["Assertiveness score"]) <= 100
    captions = " ".join(c.value for c in at.caption)
    assert "neutro" in captions  # each customer message carries its emotion
    components = next(d.value for d in at.dataframe if "Component" in d.value.columns)
    assert {"progress", "handoff"} <= set(components["Component"])

    # 3. Approve it, correcting the agent's last reply.
    chat = seeded["aborted"]
    at.radio(key=f"audit_verdict_{chat}").set_value("approved")
    at.text_input(key=f"audit_reviewer_{chat}").set_value("Bia Revisora")
    at.text_area(key=f"audit_comment_{chat}").set_value("Bom atendimento; o cliente parou no nome.")
    fix = [a for a in at.text_area if a.label.startswith("Message ")][-1]
    fix.set_value("Obrigada! Agora me passa o seu CPF?")
    next(b for b in at.button if b.label == "Save review").click().run()
    assert not at.exception, at.exception
    assert any("Review saved" in s.value for s in at.success)
    review = reviews(load_settings(), chat_ids=[seeded["aborted"]])[0]
    assert review.verdict == "approved" and review.reviewer == "Bia Revisora" and len(review.corrections) == 1

    # 4. The approved conversation becomes a golden (its button is there at once).
    next(b for b in at.button if b.label == "Save as golden").click().run()
    assert not at.exception, at.exception
    saved = next(s.value for s in at.success if "Golden saved" in s.value)
    path = Path(saved.split("`")[1])
    assert path.exists() and path.parent == tmp_path / "goldens"
    from evals.cases import load_case

    case = load_case(path)
    assert case.id == f"approved_{seeded['aborted']}" and case.turns

    # 5. The fine-tuning export: blocked under the deck's 100, then a trial run with the one approved.
    at.segmented_control(key="audit_view").set_value("export").run()
    assert metrics(at)["Approved conversations"] == "1"
    assert metrics(at)["Waiting for review"] == "3"
    next(b for b in at.button if b.label == "Export JSONL").click().run()
    assert any("100" in e.value for e in at.error)
    at.checkbox(key="audit_allow_small").check().run()
    next(b for b in at.button if b.label == "Export JSONL").click().run()
    assert not at.exception, at.exception
    assert metrics(at)["Examples"] == "1"
    written = next(Path(line.rsplit(" to ", 1)[1]) for w in [*at.warning, *at.success] for line in w.value.split("\n\n")
                   if line.startswith("wrote "))
    assert validate_finetune_file(written) == []
    example = json.loads(written.read_text("utf-8").splitlines()[0])
    assert example["messages"][0]["role"] == "system"
    assert any(m["content"] == "Obrigada! Agora me passa o seu CPF?" for m in example["messages"]
               if m["role"] == "assistant")


def test_the_list_filters_and_opens_a_row(seeded: dict[str, int]) -> None:
    at = open_audit()
    at.segmented_control(key="audit_view").set_value("list").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert sorted(table["#"]) == sorted(seeded[k] for k in SCRIPTS)
    assert table["Score"].notna().all()  # offline insights: computed (and cached) for the list
    at.selectbox(key="audit_outcome").set_value("refusal").run()
    assert list(at.dataframe[0].value["#"]) == [seeded["refusal"]]
    at.multiselect(key="audit_sources").set_value(["eval"]).run()
    at.selectbox(key="audit_outcome").set_value("").run()
    assert list(at.dataframe[0].value["#"]) == [seeded["eval"]]


def test_an_empty_database_says_what_to_do(app_env: dict[str, str]) -> None:
    at = open_audit()
    assert not at.exception, at.exception
    assert any("Chat page" in i.value for i in at.info)


def test_on_a_paid_insights_model_the_list_costs_nothing(seeded: dict[str, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores in the list are the deterministic reading when the insights role is a paid model: no call, no
    ledger row, however many conversations are listed."""
    from agent.adapters.store import Store

    monkeypatch.setenv("INSIGHTS_MODEL", "gpt-4o-mini")
    store = Store.open(load_settings().database_url)
    before = store.cost_count()
    at = open_audit()
    at.segmented_control(key="audit_view").set_value("list").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["Score"].notna().all()
    assert any("deterministic reading" in c.value for c in at.caption)
    assert store.cost_count() == before


def test_the_funnel_by_configuration(seeded: dict[str, int]) -> None:
    at = open_audit()
    at.segmented_control(key="audit_by").set_value("config").run()
    assert not at.exception, at.exception
    groups = next(d.value for d in at.dataframe if "Opt-in rate" in d.value.columns)
    assert list(groups["Group"]) == ["decision=local/rules · conversation=local/rules"]
    assert int(groups["Conversations"].iloc[0]) == 4
