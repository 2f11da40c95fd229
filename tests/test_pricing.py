"""The deck's price table and its ledger sample reproduce to the last digit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.adapters.pricing import canonical_prices, compute_cost, price_for

# The deck's `llm_cost` sample: id, feature, fk_id_llm_model, input, output, price.
DECK_ROWS = [
    (1025827, "Analise de Emoção", 6, 345, 15, "0.000105"),
    (1025826, "Analise de Emoção", 6, 333, 15, "0.000102"),
    (1025825, "Analise de Emoção", 6, 346, 17, "0.00010775"),
    (1025824, "Analise de Emoção", 6, 346, 15, "0.00010525"),
    (1025823, "Analise de Emoção", 6, 328, 17, "0.00010325"),
    (1025822, "API", 1, 126, 16, "0.000087"),
    (1025821, "API", 1, 110, 31, "0.0001015"),
    (1025820, "Analise de Emoção", 6, 327, 17, "0.000103"),
    (1025819, "Analise de Emoção", 6, 332, 18, "0.0001055"),
    (1025818, "Analise de Emoção", 6, 328, 17, "0.00010325"),
]


@pytest.mark.parametrize(("row_id", "feature", "model_id", "tokens_in", "tokens_out", "expected"), DECK_ROWS)
def test_deck_ledger_rows_reproduce(row_id, feature, model_id, tokens_in, tokens_out, expected) -> None:
    price = next(p for p in canonical_prices() if p.id == model_id)
    assert compute_cost(tokens_in, tokens_out, price) == Decimal(expected)


def test_deck_table_has_eight_models_with_maritaca_in_brl() -> None:
    deck = [p for p in canonical_prices() if p.source == "deck"]
    assert len(deck) == 8
    sabia3 = price_for("openai/sabia-3")
    assert sabia3.currency == "BRL"
    # R$10 per 1M at 5.52 BRL/USD ≈ US$1.81, as the deck says.
    assert round(compute_cost(1_000_000, 0, sabia3, usd_brl=5.52), 2) == Decimal("1.81")
    assert price_for("sabia-2-small").label.startswith("Maritaca")


def test_price_lookup_order() -> None:
    assert price_for("gpt-4o").source == "deck"
    assert price_for("local/rules").input_per_mtok == 0
    from_litellm = price_for("gpt-4.1-mini")
    assert from_litellm.source == "litellm" and from_litellm.input_per_mtok > 0
    assert price_for("definitely-not-a-model").source == "unknown"


def test_audio_minutes_priced_apart() -> None:
    whisper = price_for("whisper-1")
    assert compute_cost(0, 0, whisper, audio_seconds=90) == Decimal("0.009")
