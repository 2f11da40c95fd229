"""Prompt contracts in goldens (issue 11): assertions over the rendered prompts in a turn's trace."""

from __future__ import annotations

import pytest

from evals.scorers import SCORERS, TurnObservation, evaluate


def observation() -> TurnObservation:
    calls = [
        {"role": "decision", "prompt_name": "journey_classification", "input_tokens": 900,
         "rendered_messages": [{"role": "system", "content": "Classifique a intenção: sacar, aderir…"}]},
        {"role": "conversation", "prompt_name": "conversation_prompt", "input_tokens": 700,
         "rendered_messages": [{"role": "system", "content": "Use somente os fatos abaixo. Nunca peça SENHA."},
                               {"role": "user", "content": "quero sacar"}]},
    ]
    return TurnObservation(index=0, label="t", trace={"calls": calls})


def test_prompt_contains_per_role_ignoring_case_and_accents() -> None:
    obs = observation()
    assert evaluate("prompt_contains", {"role": "conversation", "text": "nunca peca senha"}, obs).passed
    miss = evaluate("prompt_contains", {"role": "decision", "text": "Use somente os fatos"}, obs)
    assert not miss.passed
    assert miss.reason == ('Expected the decision prompt to contain "Use somente os fatos"; '
                           "prompts seen: journey_classification.")
    assert evaluate("prompt_contains", "sacar", obs).passed  # any role


def test_not_prompt_contains_fails_when_any_prompt_carries_the_text() -> None:
    obs = observation()
    assert evaluate("not-prompt_contains", ["073.602.846-35", "07360284635"], obs).passed
    leaked = evaluate("not-prompt_contains", "quero sacar", obs)
    assert not leaked.passed and "conversation_prompt" in leaked.reason


def test_prompt_max_tokens_checks_the_largest_call_of_the_role() -> None:
    obs = observation()
    assert evaluate("prompt_max_tokens", {"role": "conversation", "max": 700}, obs).passed
    over = evaluate("prompt_max_tokens", [{"role": "conversation", "max": 800}, {"role": "decision", "max": 800}], obs)
    assert not over.passed and "the largest had 900" in over.reason
    assert not evaluate("prompt_max_tokens", {"max": 850}, obs).passed  # any role: the decision call


@pytest.mark.parametrize("bad", [{"role": "decision"}, {"text": "x", "rol": "decision"}, 42])
def test_a_malformed_contract_is_rejected(bad: object) -> None:
    validate = SCORERS["prompt_contains"].validate
    assert validate is not None
    with pytest.raises(ValueError):
        validate(bad)
