"""The evaluation bench: loader errors, scorers and their not- forms, runner, history, diff, reports, CLI."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evals.cases import CaseError, dump_case, load_case, load_suite, parse_case, parse_yaml, validate_suite
from evals.report import (
    cheapest_passing,
    diff,
    html_report,
    junit_xml,
    matrix,
    pareto_front,
    percentile,
    role_sweeps,
)
from evals.results import CaseResult, RunConfig, RunResult
from evals.runner import AdaptiveLimiter, run_suite
from evals.scorers import SCORERS, ConversationObservation, ScoreContext, TurnObservation, evaluate, lexical_similarity

GOOD = """\
id: tiny
description: two turns
tags: [unit]
turns:
  - customer: oi
    expect: {step: optin, message_code: 10}
  - customer: aceito
    expect:
      - {type: step, value: collect_data}
      - {type: not-message_code, value: 40}
expect:
  final_step: collect_data
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- loader


def test_loader_reads_a_golden(tmp_path: Path) -> None:
    case = load_case(write(tmp_path, GOOD))
    assert case.id == "tiny" and case.tags == ("unit",)
    assert [t.kind for t in case.turns] == ["customer", "customer"]
    assert case.turns[1].expect[1].name == "not-message_code" and case.turns[1].expect[1].negate
    assert case.turns[0].line == 5 and case.expect[0].type == "final_step"
    again = parse_case(parse_yaml(dump_case(case)), tmp_path / "again.yaml")
    assert [[e.to_dict() for e in t.expect] for t in again.turns] == \
        [[e.to_dict() for e in t.expect] for t in case.turns]


@pytest.mark.parametrize(("text", "line", "message"), [
    (GOOD.replace("step: optin", "stepp: optin"), 6, "unknown turn scorer 'stepp'"),
    (GOOD.replace("final_step", "step"), 12, "is a turn-level scorer"),
    (GOOD.replace("  - customer: aceito", "  - customer: aceito\n    colour: red"), 8, "unknown field(s) ['colour']"),
    (GOOD.replace("tags: [unit]", "tags: [unit]\ntags: [dup]"), 4, "duplicate key 'tags'"),
    (GOOD.replace("{step: optin, message_code: 10}", "{step: optin, message_code: [10}"), 6, "invalid YAML"),
    (GOOD.replace("  - customer: oi", "  - audio: nowhere.ogg"), 5, "audio file 'nowhere.ogg' not found"),
    (GOOD.replace("message_code: 10", "message_code: true"), 6, "message code is a number"),
    (GOOD.replace("  - customer: oi", "  - burst: [oi]"), 5, "at least two messages"),
    (GOOD.replace("  - customer: oi", "  - event: nap"), 5, "unknown event 'nap'"),
    (GOOD.replace("description: two turns", "settings: {database_url: x}"), 2, "cannot be overridden"),
])
def test_loader_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_suite_filters_duplicates_and_validation(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD.replace("id: tiny", "id: other").replace("[unit]", "[other]"), "b.yaml")
    assert [c.id for c in load_suite(tmp_path, tags=["other"])] == ["other"]
    assert [c.id for c in load_suite(tmp_path, ids=["ti*"])] == ["tiny"]
    write(tmp_path, GOOD, "c.yaml")
    with pytest.raises(CaseError, match="duplicate id 'tiny'"):
        load_suite(tmp_path)
    write(tmp_path, "id: broken\nturns: []\n", "d.yaml")
    errors = validate_suite(tmp_path)
    assert len(errors) == 1 and errors[0].line == 2 and "non-empty list" in errors[0].message


def test_the_shipped_goldens_are_valid_and_cover_the_journey() -> None:
    cases = load_suite()
    assert len(cases) >= 30 and not validate_suite()
    tags = {t for c in cases for t in c.tags}
    for needed in ("happy_path", "not_authorized", "not_opted_in", "no_balance", "active_operation", "api_error",
                   "typo", "spelled", "out_of_order", "burst", "faq", "optout", "handoff", "emotion", "injection",
                   "audio", "image", "reengagement"):
        assert needed in tags, needed


# ---------------------------------------------------------------- scorers


def obs(**kwargs) -> TurnObservation:
    base = dict(index=0, label="oi", customer_text="oi", replies=["Olá! Você autoriza? Responda *aceito*."],
                step_before="greeting", step_after="optin", message_codes=[10], intent="greeting",
                attributes={"cpf": "•••.602.846-••", "name": "Ana"},
                raw_attributes={"cpf": "07360284635", "name": "Ana"},
                tool_calls=[{"name": "consultar_fgts", "args": {"cpf": "•••.602.846-••"}, "outcome": "not_authorized"}],
                input_tokens=100, output_tokens=20, cost_usd=0.0002, latency_ms=120.0,
                guard_input=["prompt_injection"], trace={"event": {"name": "greeting"}})
    base.update(kwargs)
    return TurnObservation(**base)


@pytest.mark.parametrize(("name", "value", "passed", "reason"), [
    ("step", "optin", True, 'Expected the step after the turn to be "optin"; it was "optin".'),
    ("not-step", "optin", False, 'Expected the step after the turn not to be "optin"; it was "optin".'),
    ("contains", "autoriza", True, None),
    ("not-contains", "senha", True, 'Expected the reply not to contain "senha"; it was'),
    ("icontains", "OLA", True, None),
    ("regex", r"respond[ae]\s+\*aceito\*", True, None),
    ("equals", "Olá!", False, 'Expected the reply to equal "Olá!"'),
    ("message_code", [10], True, None),
    ("not-message_code", [21, 22], True, None),
    ("message_code", [10, 11], False, 'Expected message code 11 to be used; codes used: [10].'),
    ("attribute", {"cpf": "073.602.846-35", "name": "ana"}, True, None),
    ("attribute", {"cpf": "200.000.002-99"}, False, 'Expected cpf to be "•••.000.002-••"; it was "•••.602.846-••".'),
    ("not-attribute", "birth_month", True, None),
    ("tool_called", {"name": "consultar_fgts", "args": {"cpf": "073.602.846-35"}, "outcome": "not_authorized"},
     True, None),
    ("not-tool_called", "*", False, "Expected no tool call; calls: consultar_fgts"),
    ("intent", "greeting", True, None),
    ("json_field", {"path": "trace.event.name", "equals": "greeting"}, True, None),
    ("json_field", {"path": "attributes.birth_month", "exists": True}, False, "attributes.birth_month to exist"),
    ("max_tokens", 100, False, "Expected at most 100 tokens; the turn used 120 (100 in + 20 out)."),
    ("max_cost", 0.001, True, None),
    ("max_latency", 100, False, "Expected an answer within 100 ms; it took 120 ms."),
    ("no_guard_violation", True, True, None),
    ("guard_flagged", "injection", True, None),
    ("silent", True, False, "Expected the agent to stay silent; it sent 1 message(s)"),
    ("not-silent", True, True, None),
    ("no_errors", True, True, None),
    ("icontains_any", ["xyz", "aceito"], True, None),
])
def test_turn_scorers_and_their_not_forms(name: str, value, passed: bool, reason: str | None) -> None:
    spec = SCORERS[name.removeprefix("not-")]
    if spec.validate:
        value = spec.validate(value)
    score = evaluate(name, value, obs())
    assert score.passed is passed, score.reason
    assert 0.0 <= score.score <= 1.0
    if reason:
        assert reason in score.reason


def test_list_values_pass_when_all_match_and_not_forms_when_none_do() -> None:
    assert evaluate("contains", ["Olá", "aceito"], obs()).passed
    partial = evaluate("contains", ["Olá", "nunca"], obs())
    assert not partial.passed and partial.score == 0.5 and '"nunca"' in partial.reason
    assert not evaluate("not-contains", ["Olá", "nunca"], obs()).passed
    assert evaluate("not-contains", ["xyz", "nunca"], obs()).passed


def test_similarity_says_which_method_it_used() -> None:
    assert lexical_similarity("saque aniversário do FGTS", "saque-aniversario do fgts") == pytest.approx(1.0)
    assert lexical_similarity("bom dia", "tchau") == 0.0
    lexical = evaluate("similar", {"reference": "Olá! Você autoriza?", "threshold": 0.5}, obs())
    assert lexical.passed and "lexical" in lexical.reason and lexical.meta["similarity_method"] == "lexical"
    ctx = ScoreContext(embed=lambda texts: [[1.0, 0.0], [0.6, 0.8]], embedding_model="text-embedding-3-small")
    semantic = evaluate("similar", {"reference": "x", "threshold": 0.5}, obs(), ctx)
    assert semantic.passed and "embeddings (text-embedding-3-small)" in semantic.reason
    assert semantic.score == pytest.approx(0.6)


def test_judge_uses_the_context_and_reports_its_cost() -> None:
    calls = []

    def fake_judge(payload):
        calls.append(payload)
        return {"pass": True, "score": 0.9, "reason": "asks for consent", "model": "judge-model", "cost_usd": 0.001}

    ctx = ScoreContext(judge=fake_judge)
    score = evaluate("judge", SCORERS["judge"].validate("Asks for consent"), obs(), ctx)
    assert score.passed and "judge-model said: asks for consent" in score.reason
    assert score.meta["judge_cost_usd"] == 0.001 and calls[0]["reply"].startswith("Olá")
    strict = evaluate("judge", {"rubric": "x", "threshold": 0.95}, obs(), ctx)
    assert not strict.passed
    assert not evaluate("judge", {"rubric": "x"}, obs()).passed  # no judge configured: a clear failure


def test_conversation_scorers() -> None:
    turns = [obs(step_after="optin", tool_calls=[]), obs(step_after="collect_data", tool_calls=[]),
             obs(step_after="not_authorized"), obs(step_after="finalized", tool_calls=[])]
    conv = ConversationObservation(turns, final_step="finalized")
    assert evaluate("journey_completed", True, conv).passed
    assert evaluate("turns_to_completion", 3, conv).passed
    assert not evaluate("turns_to_completion", 2, conv).passed
    assert evaluate("final_step", "finalized", conv).passed
    assert evaluate("step_visited", ["collect_data", "not_authorized"], conv).passed
    assert evaluate("not-step_visited", "handoff", conv).passed
    assert evaluate("tool_sequence", ["consultar_fgts"], conv).passed
    assert evaluate("total_cost", 0.001, conv).passed and not evaluate("total_cost", 0.0001, conv).passed
    assert "it cost US$ 0.000800" in evaluate("total_cost", 0.0001, conv).reason


def test_a_broken_scorer_fails_its_expectation_not_the_run() -> None:
    score = evaluate("json_field", {"path": "x", "min": 1}, object())
    assert not score.passed and "the scorer failed" in score.reason


# ---------------------------------------------------------------- runner


def test_limiter_halves_on_429_and_recovers() -> None:
    now = [0.0]
    limiter = AdaptiveLimiter(8, base_backoff_s=1.0, clock=lambda: now[0])
    assert limiter.on_rate_limit() == 1.0 and limiter.limit == 4
    assert limiter.on_rate_limit() > 0 and limiter.limit == 4  # one cut per back-off window
    now[0] = 5.0
    assert limiter.on_rate_limit() == 2.0 and limiter.limit == 2 and limiter.min_seen == 2

    async def successes() -> None:
        for _ in range(2 + 3):
            limiter.on_success()

    asyncio.run(successes())
    assert limiter.limit == 4 and limiter.backoff_s == 1.0


def test_limiter_bounds_concurrency() -> None:
    limiter = AdaptiveLimiter(3)
    peak = 0

    async def worker() -> None:
        nonlocal peak
        async with limiter:
            peak = max(peak, limiter.active)
            await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(12)))

    asyncio.run(main())
    assert peak == 3 and limiter.active == 0


def test_run_suite_stores_the_run_and_history_reloads_it(settings, tmp_path: Path) -> None:
    from agent.adapters.store import Store
    from evals.history import load_run, open_store

    cases = [load_case(write(tmp_path, GOOD))]
    seen = []
    run = run_suite(cases, [RunConfig("a"), RunConfig("b", {"conversation": {"temperature": 0.9}})], settings,
                    concurrency=2, progress=lambda done, total, r: seen.append((done, total, r.case_id)))
    assert run.passed and len(run.results) == 2 and sorted(seen)[-1][:2] == (2, 2)
    assert run.git_commit and run.prompt_versions["a"]["conversation_prompt"]
    stored = load_run(open_store(settings), run.run_id)
    assert [r.case_id for r in stored.results] == ["tiny", "tiny"] and stored.passed
    assert stored.results[0].turns[0]["observation"]["step_after"] == "optin"
    assert open_store(settings).list_runs()[0]["passed"] == 2
    chats = {r.chat_id for r in run.results}
    assert len(chats) == 2 and all(Store.open(settings.database_url).get_chat(c) for c in chats)
    # The bench's chats are marked as such, so people's lists leave them out.
    assert {Store.open(settings.database_url).get_chat(c)["source"] for c in chats} == {"eval"}


def test_judge_cost_is_its_own_feature(settings, tmp_path: Path) -> None:
    from agent.adapters.store import Store

    text = GOOD.replace("expect: {step: optin, message_code: 10}",
                        "expect: {judge: {rubric: asks for consent, must: [autoriza]}}")
    run = run_suite([load_case(write(tmp_path, text))], [], settings, save=False)
    assert run.passed, run.results[0].failures
    rows = Store.open(settings.database_url).cost_rows(chat_id=run.results[0].chat_id, limit=50)
    features = {r["feature_name"] for r in rows}
    assert "Avaliação (juiz)" in features and "Classificação de jornada" in features
    judge_score = run.results[0].turns[0]["scores"][0]
    assert "local/rules phrase check" in judge_score["reason"]


def test_rate_limited_cases_are_replayed_with_back_off(settings, tmp_path: Path, openai_stub) -> None:
    cases = [load_case(write(tmp_path, GOOD))]
    config = RunConfig("stub-429", {"decision": {"model": "openai/429", "api_base": openai_stub.url}})
    settings = settings.with_changes(env={**settings.env, "OPENAI_API_KEY": "sk-test"}, max_retries=0)
    run = run_suite(cases, [config], settings, concurrency=4, save=False, max_attempts=2, backoff_s=0.01)
    result = run.results[0]
    assert result.attempts == 2 and result.rate_limited
    assert run.stats["rate_limits"] >= 1 and run.stats["min_concurrency"] < 4
    assert result.passed  # the deterministic fallback kept the journey right; the 429 is in the errors
    assert any("(429)" in e for t in result.turns for e in t["observation"]["errors"])


def test_config_parsing_and_sweeps(tmp_path: Path, settings) -> None:
    c = RunConfig.parse("fast:decision=gpt-4o-mini,conversation=gpt-4o@0.3")
    assert c.label == "fast" and c.roles["conversation"] == {"model": "gpt-4o", "temperature": 0.3}
    applied = c.apply(settings)
    assert applied.role("decision").model == "gpt-4o-mini" and applied.role("conversation").temperature == 0.3
    assert RunConfig.parse("decision=local/rules").label == "decision=local/rules"
    with pytest.raises(ValueError, match="unknown role"):
        RunConfig.parse("brain=x")
    from evals.runner import load_configs

    path = write(tmp_path, "configs:\n  - {label: a, roles: {decision: local/rules}}\n"
                           "sweep: {base: {roles: {conversation: local/rules}}, role: decision, "
                           "models: [local/rules, gpt-4o-mini]}\n", "configs.yaml")
    assert [c.label for c in load_configs(path)] == ["a", "decision=local/rules", "decision=gpt-4o-mini"]


# ---------------------------------------------------------------- reports and diff


def result(case: str, config: str, passed: bool, cost: float = 0.0, lat: float = 100.0) -> CaseResult:
    scores = [{"name": "step", "passed": passed, "score": float(passed), "reason": "Expected x; it was y.",
               "value": "x", "level": "turn", "turn": 0, "meta": {}}]
    return CaseResult(case, config, passed, float(passed), turns=[{"index": 0, "label": "oi", "line": 3,
                                                                   "observation": {"replies": ["olá"]},
                                                                   "scores": scores}],
                      cost_usd=cost, latency_ms=lat, turn_latencies_ms=[lat], chat_id=1)


def sample_run(run_id: int = 1) -> RunResult:
    configs = [RunConfig("cheap", {"decision": {"model": "mini"}, "conversation": {"model": "big"}}),
               RunConfig("mid", {"decision": {"model": "big"}, "conversation": {"model": "big"}}),
               RunConfig("bad", {"decision": {"model": "tiny"}, "conversation": {"model": "big"}})]
    results = [result("a", "cheap", True, 0.001, 50), result("b", "cheap", True, 0.001, 150),
               result("a", "mid", True, 0.004, 80), result("b", "mid", True, 0.004, 90),
               result("a", "bad", True, 0.002, 40), result("b", "bad", False, 0.002, 60)]
    return RunResult(results, configs, run_id=run_id, started_at=0.0, finished_at=2.0)


def test_matrix_pareto_and_cheapest_passing() -> None:
    rows = {r["config"]: r for r in matrix(sample_run())}
    assert rows["cheap"]["pass_rate"] == 1.0 and rows["bad"]["pass_rate"] == 0.5
    assert rows["cheap"]["cost_per_conversation"] == pytest.approx(0.001)
    assert rows["cheap"]["p50_turn_ms"] == 100.0 and rows["cheap"]["p95_turn_ms"] == pytest.approx(145.0)
    assert pareto_front(list(rows.values())) == ["cheap"]
    assert cheapest_passing(list(rows.values()))["config"] == "cheap"
    assert cheapest_passing(list(rows.values()), bar=1.01) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([], 95) == 0.0
    sweeps = role_sweeps(sample_run())
    (name, sweep_rows), = sweeps.items()
    assert name.startswith("decision (fixed: conversation=big)")
    assert sorted(r["varied"] for r in sweep_rows) == ["big", "mini", "tiny"]


def test_diff_finds_newly_failing_and_passing() -> None:
    base, head = sample_run(1), sample_run(2)
    head.results[0] = result("a", "cheap", False, 0.003, 70)
    head.results[5] = result("b", "bad", True, 0.002, 60)
    d = diff(base, head)
    assert [(x["case_id"], x["config"]) for x in d["newly_failing"]] == [("a", "cheap")]
    assert [(x["case_id"], x["config"]) for x in d["newly_passing"]] == [("b", "bad")]
    assert d["regression"] and d["newly_failing"][0]["cost_delta_usd"] == pytest.approx(0.002)
    single = RunResult([result("a", "x", True), result("b", "x", True)], [RunConfig("x")], run_id=3)
    d2 = diff(single, head)  # one config vs three: every head config compared with the single one
    assert {(x["case_id"], x["config"]) for x in d2["newly_failing"]} == {("a", "cheap")}
    assert not d2["added"] and not d2["removed"]


def test_html_and_junit_reports() -> None:
    run = sample_run()
    page = html_report(run, baseline=sample_run(0), lang="en")
    assert page.startswith("<!doctype html>") and "<svg" in page and "Pareto" in page
    assert "cheapest passing" in page and "Compared with run #0" in page and "Per-role sweeps" in page
    assert "<script" not in page and "http" not in page.split("<body>")[1].split("xmlns")[0]
    from agent import i18n

    i18n.MISSING.clear()
    pt = html_report(run, baseline=sample_run(0))  # Brazilian Portuguese by default
    assert not i18n.MISSING, sorted(i18n.MISSING)
    assert '<html lang=pt-BR>' in pt and "Relatório de avaliação" in pt and "Comparado com a execução nº 0" in pt
    assert "mais barata aprovada" in pt and "Varreduras por papel" in pt and "custo por conversa (USD)" in pt
    assert not any(word in pt for word in ("cheapest passing", "Per-role sweeps", "Transcripts", "judge cost",
                                           "Newly failing", "pass rate"))
    assert re.search(r"US\$\xa00,\d{6}", pt)  # Babel's pt-BR money: decimal comma
    root = ET.fromstring(junit_xml(run))
    assert root.get("tests") == "6" and root.get("failures") == "1"
    failing = root.find(".//testcase[@name='b']/failure")
    assert failing is not None and "Expected x" in failing.text


# ---------------------------------------------------------------- record, simulate, CLI


def test_record_as_golden_round_trip(settings, tmp_path: Path) -> None:
    from agent.core.session import AgentSession
    from evals.record import golden_from_session, golden_yaml, save_golden

    session = AgentSession.new(settings)
    for text in ["oi", "sim", "Maria Souza", "200.000.002-99", "julho", "sim"]:
        session.send(text)
    data = golden_from_session(session, case_id="recorded_happy", tags=("recorded",))
    text = golden_yaml(data)
    assert "cpf: 200.000.002-99" in text and "consultar_fgts" in text
    path = save_golden(text, tmp_path)
    with pytest.raises(CaseError, match="already exists"):
        save_golden(text, tmp_path)
    run = run_suite([load_case(path)], [], settings, save=False)
    assert run.passed, run.results[0].failures


def test_simulated_customer_plays_its_persona_and_becomes_a_golden(settings, tmp_path: Path) -> None:
    from evals.record import save_golden
    from evals.simulate import PERSONAS, simulate

    sim = simulate(settings, "typo_terse")
    assert sim.final_step == "finalized" and "journey reached" in sim.stop_reason
    said = [m["text"] for m in sim.transcript if m["role"] == "customer"]
    assert "200.000.001-09" in said and "20000000108" in said  # the typo first, then the right CPF
    refuser = simulate(settings, PERSONAS["privacy_refuser"])
    assert refuser.final_step == "optout"
    from agent.adapters.store import Store

    sources = {c["source"] for c in Store.open(settings.database_url).list_chats()}
    assert sources == {"simulation"}
    path = save_golden(sim.as_golden(), tmp_path)
    run = run_suite([load_case(path)], [], settings, save=False)
    assert run.passed, run.results[0].failures


def test_cli_run_validate_list_diff_report(tmp_path: Path, base_env, monkeypatch, capsys) -> None:
    from evals.__main__ import main

    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    suite = tmp_path / "suite"
    suite.mkdir()
    write(suite, GOOD, "tiny.yaml")
    out = tmp_path / "out"
    assert main(["run", str(suite), "--quiet", "--junit", str(out / "r.xml"), "--html", str(out / "r.html"),
                 "--json", str(out / "r.json")]) == 0
    assert json.loads((out / "r.json").read_text())["summary"]["all_passed"]
    assert ET.parse(out / "r.xml").getroot().get("failures") == "0"
    write(suite, GOOD.replace("final_step: collect_data", "final_step: offer").replace("id: tiny", "id: tiny2"),
          "tiny2.yaml")
    assert main(["run", str(suite), "--quiet", "--baseline", "latest"]) == 1
    printed = capsys.readouterr().out
    assert 'Expected the conversation to end in "offer"; it ended in "collect_data".' in printed
    assert main(["list"]) == 0 and "#2" in capsys.readouterr().out
    assert main(["diff", "1", "2"]) == 0  # tiny passes in both; tiny2 is new, not a regression
    assert main(["report", "latest", "--html", str(out / "again.html")]) == 1
    assert (out / "again.html").read_text().count("<details") == 2
    write(suite, "id: bad\nturns:\n  - customer: oi\n    expect: {nope: 1}\n", "bad.yaml")
    assert main(["validate", str(suite)]) == 1
    assert f"{suite / 'bad.yaml'}:4: unknown turn scorer 'nope'" in capsys.readouterr().out
    assert main(["run", str(suite), "--quiet"]) == 2
