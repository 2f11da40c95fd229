"""The prompt diet: tokens per prompt section, the pack's budget per role and its trims, budget off."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from agent.adapters.gateway import Gateway
from agent.adapters.store import Store
from agent.config import PROJECT_ROOT, Settings, load_settings
from agent.core.budget import BudgetError, Compressor, RoleBudget, parse_budget, prompt_sections
from agent.core.engine import Engine
from agent.core.pack import PackError, get_pack
from agent.core.session import AgentSession
from agent.core.turn import TurnState
from agent.types import Message

CPF = "073.602.846-35"


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return Engine(settings, Gateway(settings, Store.open(settings.database_url)))


def long_history(exchanges: int = 10) -> list[Message]:
    history: list[Message] = []
    for i in range(exchanges):
        history.append(Message("customer", f"mensagem {i} do cliente sobre o prazo do saque e o valor, CPF {CPF}"))
        history.append(Message("agent", f"resposta {i} do agente explicando as regras com bastante detalhe"))
    return history


def turn(engine: Engine, settings: Settings, history: list[Message] | None = None) -> TurnState:
    pack = engine.pack
    state = replace(pack.journey.initial_state(), step="collect_data",
                    attributes=MappingProxyType({"name": "Maria Souza", "cpf": "07360284635"}))
    ts = engine.new_turn(None, state, history if history is not None else long_history(), settings)
    ts.customer_text = "e quanto tempo demora pra cair?"
    return ts


def conversation_variables(ts: TurnState) -> dict[str, str]:
    return {**ts.variables(), "missing_attributes": "birth_month", "api_result": "(sem consulta)",
            "retrieved_docs": ts.docs_text() or "(nenhum)", "suggested_reply": "Qual é o seu mês de nascimento?"}


def with_budget(monkeypatch: pytest.MonkeyPatch, ts: TurnState, **budgets: RoleBudget) -> None:
    monkeypatch.setattr(ts.pack, "prompt_budget", MappingProxyType(budgets))


HITS = [{"faq_id": f"faq-{i}", "question": f"Pergunta {i}?", "score": 1.0 / i,
         "answer": f"Resposta {i} " + "com um texto comprido da base de conhecimento " * 8} for i in (1, 2, 3)]


# ---------------------------------------------------------------------- sections


def test_sections_add_up_to_the_prompt_tokens_of_every_call(settings: Settings) -> None:
    session = AgentSession.new(settings.with_changes(burst_mode=False))
    for text in ("oi", "como funciona o saque-aniversário?", "aceito", f"Maria Souza, CPF {CPF}, nasci em março"):
        session.send(text)
    calls = [c for trace in session.traces for c in trace.calls]
    assert calls and all(c.sections for c in calls)
    for c in calls:  # local/rules reports the same encoding and framing: only token boundaries differ
        assert abs(sum(c.sections.values()) - c.input_tokens) <= 5, (c.prompt_name, c.sections, c.input_tokens)
    classify = next(c for c in calls if c.prompt_name == "journey_classification")
    assert {"instructions", "history", "intent menu", "customer message"} <= set(classify.sections)
    polish = [c for c in calls if c.prompt_name == "conversation_prompt"]
    assert any(c.sections.get("retrieved docs", 0) > 50 for c in polish)  # the FAQ turn carried the docs


def test_a_template_splits_into_instructions_variables_and_the_customer_message() -> None:
    template = "Regras de $bank_name.\nHistórico:\n$history\nDocs: $retrieved_docs\nOutro: $step\nCliente: $customer_message"
    values = {"bank_name": "Banco Conversa", "history": "Cliente: oi\nAgente: olá", "retrieved_docs": "",
              "step": "greeting", "customer_message": "quero antecipar"}
    sections = prompt_sections(template, values, ["history", "retrieved_docs", "step", "customer_message"],
                               [{"role": "user", "content": "quero antecipar"}])
    assert list(sections) == ["instructions", "history", "retrieved docs", "customer message", "other variables"]
    assert sections["retrieved docs"] == 0
    plain = prompt_sections(template.replace("$bank_name", "Banco Conversa"), values,
                            ["history", "retrieved_docs", "step", "customer_message"])
    assert plain["instructions"] == sections["instructions"]  # a global reads as part of the instructions


# ---------------------------------------------------------------------- trims


def test_history_window_is_the_first_trim(engine: Engine, settings: Settings, monkeypatch) -> None:
    ts = turn(engine, settings)
    variables = conversation_variables(ts)
    full, _ = ts.fit_budget("conversation", "conversation_prompt", variables)
    assert full is variables  # no budget for the role: untouched
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=550, history_turns=2,
                                                         summarize_earlier_turns=True))
    fitted, record = ts.fit_budget("conversation", "conversation_prompt", variables)
    assert record is not None and [t["trim"] for t in record["trims"]] == ["history_window"]
    assert record["before"] > record["after"] == record["trims"][0]["after"] <= 550
    assert "mensagem 9" in fitted["history"] and "mensagem 8" in fitted["history"]
    assert "mensagem 7" not in fitted["history"]
    assert CPF not in fitted["history"]  # still masked


def test_top_k_docs_keeps_only_the_best_passages(engine: Engine, settings: Settings, monkeypatch) -> None:
    ts = turn(engine, settings, history=[])
    ts.retrieved = [dict(h) for h in HITS]
    variables = conversation_variables(ts)
    assert "[3] Pergunta 3?" in variables["retrieved_docs"]
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=400, history_turns=3, top_k_docs=1))
    fitted, record = ts.fit_budget("conversation", "conversation_prompt", variables)
    assert record is not None and [t["trim"] for t in record["trims"]] == ["top_k_docs"]  # no history to cut
    assert "[1] Pergunta 1?" in fitted["retrieved_docs"] and "Pergunta 2?" not in fitted["retrieved_docs"]


def test_summary_replaces_earlier_turns(engine: Engine, settings: Settings, monkeypatch) -> None:
    ts = turn(engine, settings)
    variables = conversation_variables(ts)
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=100, history_turns=4,
                                                         summarize_earlier_turns=True))
    fitted, record = ts.fit_budget("conversation", "conversation_prompt", variables)
    assert record is not None and [t["trim"] for t in record["trims"]] == ["history_window", "summary"]
    summary = fitted["history"]
    assert summary.startswith("(resumo das mensagens anteriores) etapa: collect_data; dados já capturados: cpf, name.")
    assert summary.count("Cliente:") == 2 and "mensagem 9" in summary and "mensagem 8" in summary
    assert "Agente" not in summary and "07360284635" not in summary and CPF not in summary
    # Nothing fits 100 tokens: the record says so, and the turn's notes too.
    assert record["after"] > 100 and "still over the budget" in record["notes"][-1]
    assert any("still over the budget" in note for note in ts.notes)


def test_under_the_budget_nothing_is_trimmed(engine: Engine, settings: Settings, monkeypatch) -> None:
    ts = turn(engine, settings)
    variables = conversation_variables(ts)
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=100_000, history_turns=1,
                                                         summarize_earlier_turns=True))
    fitted, record = ts.fit_budget("conversation", "conversation_prompt", variables)
    assert fitted is variables and record is not None and record["trims"] == []
    assert record["before"] == record["after"]


def test_compressor_is_skipped_with_a_note_when_llmlingua_is_absent(engine: Engine, settings: Settings,
                                                                      monkeypatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llmlingua" else real(name, *a))
    ts = turn(engine, settings)
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=100, compressor=Compressor(str(tmp_path))))
    fitted, record = ts.fit_budget("conversation", "conversation_prompt", conversation_variables(ts))
    assert record is not None and record["trims"] == []
    assert record["notes"][0] == "compressor skipped: llmlingua is not installed"
    assert any("llmlingua is not installed" in n for n in ts.notes)


def test_compressor_without_a_local_model_folder_is_skipped(engine: Engine, settings: Settings, monkeypatch,
                                                            tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "llmlingua" else real(name, *a))
    ts = turn(engine, settings)
    with_budget(monkeypatch, ts, conversation=RoleBudget(max_tokens=100,
                                                         compressor=Compressor(str(tmp_path / "absent"))))
    _, record = ts.fit_budget("conversation", "conversation_prompt", conversation_variables(ts))
    assert record is not None and "model folder" in record["notes"][0] and "not found" in record["notes"][0]


# ---------------------------------------------------------------------- budget off


def conversation_calls(settings: Settings) -> list:
    session = AgentSession.new(settings.with_changes(burst_mode=False))
    for text in ("oi", "quero antecipar", "como funciona o saque-aniversário?", "aceito", "Maria Souza",
                 CPF, "março", "qual o prazo para cair o dinheiro?"):
        session.send(text)
    return [c for trace in session.traces for c in trace.calls]


def test_budget_off_renders_the_prompts_as_before(settings: Settings, monkeypatch) -> None:
    off = load_settings(env={**settings.env, "PROMPT_BUDGET": "off"}, dotenv_path=None)
    assert settings.prompt_budget and not off.prompt_budget
    with_off = conversation_calls(off)
    assert all(c.budget is None for c in with_off)
    monkeypatch.setattr(get_pack(settings.pack_dir), "prompt_budget", MappingProxyType({}))  # no budget at all
    without = conversation_calls(settings)
    assert [c.rendered_messages for c in with_off] == [c.rendered_messages for c in without]
    monkeypatch.undo()
    on = conversation_calls(settings)
    trimmed = [c for c in on if c.budget and c.budget["trims"]]
    assert trimmed, "the fgts pack's budget trims the longer prompts of this conversation"
    assert sum(c.input_tokens for c in on) < sum(c.input_tokens for c in with_off)
    # Same journey, same replies: local/rules decides on the structured context, not the trimmed prompt.
    assert [c.output for c in on] == [c.output for c in with_off]


# ---------------------------------------------------------------------- validation


@pytest.mark.parametrize(("raw", "message"), [
    (["conversation"], "prompt_budget must map a role"),
    ({"conversation": 1200}, "must be a mapping with max_tokens"),
    ({"conversation": {"history_turns": 2}}, "max_tokens is required"),
    ({"conversation": {"max_tokens": "lots"}}, "max_tokens must be a whole number ≥ 1, not 'lots'"),
    ({"conversation": {"max_tokens": 0}}, "max_tokens must be a whole number ≥ 1"),
    ({"conversation": {"max_tokens": 900, "history_turns": -1}}, "history_turns must be a whole number ≥ 0"),
    ({"conversation": {"max_tokens": 900, "top_k_docs": 1.5}}, "top_k_docs must be a whole number ≥ 0"),
    ({"conversation": {"max_tokens": 900, "summarize_earlier_turns": "yes"}}, "must be true or false"),
    ({"conversation": {"max_tokens": 900, "history_turn": 2}}, "unknown key(s) history_turn"),
    ({"decision": {"max_tokens": 900, "compressor": {"rate": 2}}}, "compressor.rate must be a number in (0, 1]"),
    ({"decision": {"max_tokens": 900, "compressor": {"model": "x"}}}, "compressor: unknown key(s) model"),
])
def test_bad_budgets_are_refused_with_a_clear_message(raw: object, message: str) -> None:
    with pytest.raises(BudgetError) as exc:
        parse_budget(raw, "pack.yaml")
    assert message in str(exc.value)


def test_the_fgts_budget_and_a_bad_pack_budget(tmp_path: Path) -> None:
    budget = get_pack().prompt_budget
    assert set(budget) == {"conversation", "decision"}
    assert budget["conversation"] == RoleBudget(max_tokens=1000, history_turns=3, top_k_docs=1,
                                                summarize_earlier_turns=True)
    assert parse_budget(None) == {}
    folder = tmp_path / "bad"
    shutil.copytree(PROJECT_ROOT / "prompts" / "fgts", folder, ignore=shutil.ignore_patterns("__pycache__"))
    spec = yaml.safe_load((folder / "pack.yaml").read_text(encoding="utf-8"))
    spec["prompt_budget"] = {"conversation": {"max_tokens": -5}}
    (folder / "pack.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError, match=r"prompt_budget\.conversation\.max_tokens must be a whole number"):
        get_pack(folder)


def test_the_contrato_pack_has_no_budget_and_still_loads() -> None:
    assert get_pack(PROJECT_ROOT / "prompts" / "contrato").prompt_budget == {}


# ---------------------------------------------------------------------- evals


def test_eval_runs_record_the_budget_and_prompt_tokens_per_call(settings: Settings) -> None:
    from evals import RunConfig, budget_comparison, budget_pair, load_suite, run_suite, suite_for_pack

    cases = [c for c in load_suite(suite_for_pack(settings.pack_dir)) if c.id == "smalltalk_robot"]
    assert cases
    pair = budget_pair(RunConfig(label="local", settings={"today": "2026-01-10"}))
    assert [c.label for c in pair] == ["local · budget on", "local · budget off"]
    assert [c.settings for c in pair] == [{"today": "2026-01-10", "prompt_budget": True},
                                          {"today": "2026-01-10", "prompt_budget": False}]
    run = run_suite(cases, pair, settings, concurrency=1, save=False)
    rows = {r["config"]: r for r in budget_comparison([run])}
    on, off = rows["local · budget on"], rows["local · budget off"]
    assert on["prompt_budget"] is True and off["prompt_budget"] is False
    assert on["pass_rate"] == off["pass_rate"] == 1.0
    assert on["model_calls"] == off["model_calls"] > 0
    assert 0 < on["prompt_tokens_per_call"] <= off["prompt_tokens_per_call"]
