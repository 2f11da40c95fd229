"""Costs page through AppTest from app.py, with a real SQLite ledger in a temp data folder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from agent.config import load_settings
from agent.adapters.store import CostRow, Store



@pytest.fixture
def ledger(app_env) -> Store:
    store = Store.open(load_settings(env=app_env, dotenv_path=None).database_url)
    chat = store.create_chat("demo", state={"step": "finalized"})
    when = datetime(2024, 8, 28, 0, 43, tzinfo=UTC)
    for _ in range(4):
        store.record_cost(CostRow("Analise de Emoção", "claude-3-haiku-20240307", 345, 15, Decimal("0.000105"),
                                  chat, latency_ms=120, created_at=when))
    store.record_cost(CostRow("API", "gpt-3.5-turbo-0125", 126, 16, Decimal("0.000087"), chat, created_at=when))
    return store


def open_costs() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/costs.py")
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_costs_page_shows_totals_ledger_and_projection(ledger) -> None:
    at = open_costs()
    assert not at.exception
    m = metrics(at)
    assert m["Calls"] == "5"
    assert m["Input tokens"] == f"{4 * 345 + 126:,}"
    # (4 × 0.000105 + 0.000087) × 5.52, by Babel in en-US (pt-BR shows "R$ 0,00280": tests/test_i18n.py)
    assert m["Total cost (BRL)"] == "R$0.00280"
    ledger_df = at.dataframe[0].value
    assert list(ledger_df.columns[:8]) == ["id_llm_cost", "fk_id_chat", "feature_name", "fk_id_llm_model",
                                           "input_tokens", "output_tokens", "feat_request_id", "price"]
    assert ledger_df.iloc[0]["fk_id_llm_model"] == "1 → gpt-3.5-turbo-0125"
    assert "cost (BRL)" in ledger_df.columns
    projection = next(x for x in at.metric if x.label.startswith("At 1,000 conversations/day"))
    assert projection.value.endswith("/month")


def test_filters_narrow_every_figure(ledger) -> None:
    at = open_costs()
    at.multiselect(key="costs_features").set_value(["API"]).run()
    assert not at.exception
    assert metrics(at)["Calls"] == "1"
    assert len(at.dataframe[0].value) == 1
    at.multiselect(key="costs_features").set_value([])
    at.multiselect(key="costs_models").set_value(["claude-3-haiku-20240307"]).run()
    assert metrics(at)["Calls"] == "4"


def test_currency_switch_shows_usd(ledger) -> None:
    at = open_costs()
    at.sidebar.radio(key="currency").set_value("USD").run()
    assert metrics(at)["Total cost (USD)"] == "$0.000507"
    assert "cost (BRL)" not in at.dataframe[0].value.columns


def test_empty_database_explains_what_to_do(app_env) -> None:
    at = open_costs()
    assert not at.exception
    assert metrics(at)["Calls"] == "0"
    assert any("No model calls recorded yet" in i.value for i in at.info)
