"""Cost to the cent: a golden's priced fake model (``price_as`` + ``usage``), the exact cost scorers and
their validation (``evals/golden/cost_*.yaml``)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from agent import errors
from agent.adapters import adversary
from agent.adapters.gateway import Gateway
from agent.adapters.pricing import compute_cost, price_for, priced_as
from agent.adapters.store import Store
from agent.config import load_settings
from evals.cases import CaseError, load_case, parse_case, parse_yaml
from evals.scorers import ConversationObservation, evaluate

MSG = [{"role": "user", "content": "quero sacar meu FGTS"}]
CONVERSE = {"task": "conversation", "suggested_reply": "Olá! Quer simular o saque-aniversário?"}
USAGE = {"conversation": {"prompt_tokens": 1200, "completion_tokens": 80}}

GOLDEN = """\
id: cost_x
price_as:
  conversation: gpt-4o-mini
usage:
  conversation: {prompt_tokens: 1200, completion_tokens: 80}
turns:
  - customer: oi
"""


# ---------------------------------------------------------------- the priced fake


def test_priced_fake_costs_what_the_real_model_costs_under_its_own_name() -> None:
    real, fake = price_for("gpt-4o-mini"), price_for("local/adversary:gpt-4o-mini")
    assert priced_as("local/adversary:gpt-4o-mini") == "gpt-4o-mini" and priced_as("gpt-4o-mini") is None
    assert (fake.input_per_mtok, fake.output_per_mtok, fake.currency) == (real.input_per_mtok, real.output_per_mtok,
                                                                         "USD")
    assert fake.model == "local/adversary:gpt-4o-mini" and "priced as GPT-4o-mini (fake)" in fake.label
    assert fake.provider == "local" and fake.id is None  # never mistaken for the real model's row
    assert price_for("local/adversary:sabia-3").currency == "BRL"
    assert price_for("local/adversary").input_per_mtok == 0  # the unpriced adversary stays free


@pytest.fixture(params=[True, False], ids=["fast_path", "litellm"])
def gw(request, base_env):
    values = {**base_env, "CONVERSATION_MODEL": "local/adversary:gpt-4o-mini", "DECISION_MODEL": "local/adversary:sabia-3"}
    settings = load_settings(env=values, dotenv_path=None)
    gateway = Gateway(settings, Store(settings.database_url), sleep=lambda s: None)
    gateway.local_fast_path = request.param
    return gateway


def test_fixed_usage_is_priced_by_the_gateway_and_ledgered(gw) -> None:
    with adversary.fixed_usage(21, USAGE):
        c = gw.complete("conversation", "Conversa", MSG, chat_id=21, context=CONVERSE)
    assert (c.usage.input_tokens, c.usage.output_tokens) == (1200, 80)
    # 1200 × 0.15/1M + 80 × 0.60/1M = 0.000180 + 0.000048
    assert Decimal(str(c.usage.cost_usd)) == Decimal("0.000228")
    assert c.model == "local/adversary:gpt-4o-mini" and "saque-aniversário" in c.text  # answers as local/rules
    row = gw.store.cost_rows(chat_id=21)[0]
    assert row["model"] == "local/adversary:gpt-4o-mini" and row["input_tokens"] == 1200
    assert abs(Decimal(str(row["price"])) - Decimal("0.000228")) <= Decimal("1e-12")
    assert row["usage_source"] == "scripted" and c.usage.source == "scripted"  # not a provider's count
    model = next(m for m in gw.store.models() if m["name"] == "local/adversary:gpt-4o-mini")
    assert "fake" in model["label"] and model["provider"] == "local"


def test_brl_priced_fake_is_converted_at_the_rate(gw) -> None:
    with adversary.fixed_usage(22, {"decision": {"prompt_tokens": 1000, "completion_tokens": 50}}):
        c = gw.complete("decision", "Classificação de jornada", MSG, chat_id=22, expect_json=True,
                        context={"task": "journey_classification", "customer_message": "quero sacar"})
    # (1000 + 50) × R$ 10/1M = R$ 0.0105 → ÷ 5.52 in USD
    expected = compute_cost(1000, 50, price_for("sabia-3"), usd_brl=5.52)
    assert abs(expected * Decimal("5.52") - Decimal("0.0105")) < Decimal("1e-15")
    assert abs(Decimal(str(c.usage.cost_usd)) - expected) < Decimal("1e-15")


def test_without_registered_usage_the_fake_counts_tokens_like_local_rules(gw) -> None:
    c = gw.complete("conversation", "Conversa", MSG, chat_id=23, context=CONVERSE)
    assert c.usage.source == "provider" and 0 < c.usage.input_tokens < 1200


def test_a_failed_call_on_a_priced_fake_still_writes_its_ledger_row(gw) -> None:
    with adversary.fixed_usage(24, USAGE), adversary.scripted(24, {"conversation": {"error": 500}}), \
            pytest.raises(errors.ProviderServerError):
        gw.complete("conversation", "Conversa", MSG, chat_id=24, context=CONVERSE)
    (row,) = gw.store.cost_rows(chat_id=24)
    assert row["model"] == "local/adversary:gpt-4o-mini" and row["status"] == "server_error"
    assert (row["input_tokens"], row["output_tokens"], Decimal(str(row["price"]))) == (0, 0, Decimal(0))
    assert "after 3 attempts" in row["error"]


def test_is_adversary_covers_the_priced_fakes() -> None:
    assert adversary.is_adversary("local/adversary") and adversary.is_adversary("local/adversary:sabia-3")
    assert not adversary.is_adversary("local/rules") and not adversary.is_adversary(None)


# ---------------------------------------------------------------- validation (file:line)


@pytest.mark.parametrize(("text", "line", "message"), [
    (GOLDEN.replace("conversation: gpt-4o-mini", "conversation: gpt-5-nano"), 3, "unknown model 'gpt-5-nano'"),
    (GOLDEN.replace("conversation: gpt-4o-mini", "conversation: local/rules"), 3, "unknown model 'local/rules'"),
    (GOLDEN.replace("  conversation: gpt-4o-mini", "  conversaton: gpt-4o-mini"), 3, "unknown role 'conversaton'"),
    (GOLDEN.replace("  conversation: gpt-4o-mini", "  decision/tool_call: gpt-4o-mini"), 3, "price a whole role"),
    (GOLDEN.replace("  conversation: {prompt", "  decision: {prompt"), 5, "role 'decision' is not in 'price_as'"),
    (GOLDEN.replace("completion_tokens: 80", "completion_tokens: -1"), 5, "whole numbers"),
    (GOLDEN.replace("completion_tokens: 80", "completion: 80"), 5, "write {prompt_tokens: N, completion_tokens: N}"),
    (GOLDEN.replace("  conversation: {prompt", "  conversation/conversation: {prompt"), 4,
     "needs an entry for each priced role"),
    (GOLDEN.replace("usage:\n  conversation: {prompt_tokens: 1200, completion_tokens: 80}\n", ""), 2,
     "'price_as' needs 'usage'"),
    (GOLDEN.replace("price_as:\n  conversation: gpt-4o-mini\n", ""), 2, "add 'price_as'"),
])
def test_price_as_and_usage_errors_name_the_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_case(parse_yaml(text, "g.yaml"), "g.yaml")
    assert caught.value.line == line and message in caught.value.message, str(caught.value)


def test_price_as_accepts_aliases_and_role_task_usage() -> None:
    text = GOLDEN.replace("conversation: gpt-4o-mini", "conversation: sabia-3") + \
        "expect:\n  total_cost: {equals: 0.0128, currency: BRL}\n"
    text = text.replace("usage:\n", "usage:\n  conversation/conversation: {prompt_tokens: 1, completion_tokens: 2}\n")
    case = parse_case(parse_yaml(text, "g.yaml"), "g.yaml")
    assert case.price_as == {"conversation": "sabia-3"}
    assert case.usage["conversation/conversation"] == {"prompt_tokens": 1, "completion_tokens": 2}


@pytest.mark.parametrize(("expect", "message"), [
    ("total_cost: {equals: 0.1, currency: EUR}", "currency is USD or BRL"),
    ("total_cost: {max: 0.1}", "{equals: N, currency: USD|BRL}"),
    ("feature_cost: {currency: BRL}", "expects {feature name: cost"),
    ("feature_cost: {Conversa: -1}", "the cost of 'Conversa' expects a number"),
    ("ledger_row: {feature: Conversa, price: 0}", "expects {feature, model"),
    ("ledger_row: {feature: Conversa, count: two}", "count is a whole number"),
])
def test_cost_scorer_values_are_checked(expect: str, message: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_case(parse_yaml(GOLDEN + "expect:\n  " + expect + "\n", "g.yaml"), "g.yaml")
    assert caught.value.line == 9 and message in caught.value.message, str(caught.value)


# ---------------------------------------------------------------- the scorers


def _conv(*rows: tuple[str, str, float], usd_brl: float = 5.52) -> ConversationObservation:
    ledger = [{"feature_name": f, "status": s, "price": Decimal(str(p)), "model": "local/adversary:gpt-4o-mini",
               "role": "conversation", "input_tokens": 0 if s != "ok" else 1200, "output_tokens": 80 * (s == "ok"),
               "error": None if s == "ok" else "server error (after 3 attempts)", "usage_source": "scripted"}
              for f, s, p in rows]
    return ConversationObservation([], ledger=ledger, usd_brl=usd_brl)


def test_total_cost_equals_reads_the_ledger_to_a_billionth() -> None:
    conv = _conv(("Conversa", "ok", 0.000228), ("Analise de Emoção", "ok", 0.000087))
    assert evaluate("total_cost", {"equals": 0.000315, "currency": "USD"}, conv).passed
    low = evaluate("total_cost", {"equals": 0.000314, "currency": "USD"}, conv)
    assert not low.passed and "add up to US$ 0.000315" in low.reason
    assert evaluate("total_cost", {"equals": 0.0003150000005, "currency": "USD"}, conv).passed  # within 1e-9
    assert evaluate("total_cost", 0.001, conv).passed  # the plain number is still "at most" (turn usage)
    assert evaluate("not-total_cost", {"equals": 0.1, "currency": "USD"}, conv).passed


def test_brl_is_the_ledger_usd_times_the_cases_rate() -> None:
    conv = _conv(("Conversa", "ok", 0.0128 / 5.52), usd_brl=5.52)
    assert evaluate("total_cost", {"equals": 0.0128, "currency": "BRL"}, conv).passed
    assert evaluate("feature_cost", {"currency": "BRL", "features": {"Conversa": 0.0128}}, conv).passed
    unconverted = _conv(("Conversa", "ok", 0.0128))  # a BRL price stored as USD
    assert not evaluate("total_cost", {"equals": 0.0128, "currency": "BRL"}, unconverted).passed


def test_feature_cost_names_the_wrong_and_the_missing_features() -> None:
    conv = _conv(("Conversa", "ok", 0.000228), ("Conversa", "ok", 0.000228), ("API", "ok", 0))
    ok = evaluate("feature_cost", {"currency": "USD", "features": {"Conversa": 0.000456, "API": 0}}, conv)
    assert ok.passed, ok.reason
    bad = evaluate("feature_cost", {"currency": "USD", "features": {"Conversa": 0.000228, "Conversas": 0.1}}, conv)
    assert not bad.passed
    assert '"Conversa" cost US$ 0.000456' in bad.reason and '"Conversas" cost US$ 0.0 (no ledger row)' in bad.reason
    assert "the ledger's features: API, Conversa" in bad.reason


def test_ledger_row_matches_fields_error_text_and_count() -> None:
    conv = _conv(("Conversa", "ok", 0.000228), ("Conversa", "server_error", 0))
    assert evaluate("ledger_row", {"feature": "Conversa", "status": "server_error", "input_tokens": 0, "cost": 0,
                                   "error": "AFTER 3 ATTEMPTS"}, conv).passed
    assert evaluate("ledger_row", {"feature": "Conversa", "count": 2}, conv).passed
    assert not evaluate("ledger_row", {"feature": "Conversa", "count": 1}, conv).passed
    missing = evaluate("ledger_row", {"status": "timeout"}, conv)
    assert not missing.passed and "0 matched; the ledger: Conversa [conversation]" in missing.reason
    assert evaluate("not-ledger_row", {"status": "timeout"}, conv).passed
    assert evaluate("ledger_row", [{"status": "ok"}, {"status": "server_error", "cost": 0}], conv).passed


# ---------------------------------------------------------------- the goldens


def test_cost_goldens_route_priced_roles_to_the_fake(base_env) -> None:
    from evals.runner import RunConfig, case_settings

    case = load_case("evals/golden/cost_mixed_roles.yaml")
    settings = case_settings(case, RunConfig(label="mini", roles={"conversation": {"model": "gpt-4o"}}),
                             load_settings(env=base_env, dotenv_path=None))
    for role, model in case.price_as.items():
        assert settings.role(role).model == f"local/adversary:{model}"
        assert settings.role(role).fallback_model is None


def _swapped_gpt4o_mini(table):
    mini = table["gpt-4o-mini"]
    swapped = replace(mini, input_per_mtok=mini.output_per_mtok, output_per_mtok=mini.input_per_mtok)
    return {name: swapped if price is mini else price for name, price in table.items()}


@pytest.mark.parametrize(("defect", "failing"), [
    ("input and output prices swapped", {"cost_gpt4o_mini_usd", "cost_mixed_roles", "cost_failed_call_ledger"}),
    ("the BRL price not converted", {"cost_sabia3_brl", "cost_mixed_roles"}),
    ("no ledger row on a failed call", {"cost_failed_call_ledger"}),
])
def test_cost_goldens_catch_the_seeded_defects(monkeypatch, base_env, defect: str, failing: set[str]) -> None:
    from agent.adapters import pricing
    from evals.cases import load_suite
    from evals.runner import RunConfig, run_suite

    if defect.startswith("input"):
        table = _swapped_gpt4o_mini(pricing.deck_prices())
        monkeypatch.setattr(pricing, "deck_prices", lambda path=pricing.PRICE_FILE: table)
    elif defect.startswith("the BRL"):
        monkeypatch.setattr(pricing.Price, "to_usd", lambda self, amount, usd_brl: amount)
    else:
        monkeypatch.setattr(Gateway, "_ledger_failure", lambda self, spec, error, latency_ms, attempts=1: None)
    cases = load_suite(ids=["cost_*"])
    assert len(cases) >= 4
    run = run_suite(cases, [RunConfig(label="rules")], load_settings(env=base_env, dotenv_path=None), save=False)
    assert {r.case_id for r in run.results if not r.passed} == failing, defect
