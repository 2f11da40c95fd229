"""Costs page on free offline traffic: "price this traffic as…", tokens in the charts, the projection,
and the source filter (people's chats by default in lists). AppTest, real SQLite ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from agent.adapters.store import CostRow, Store
from agent.config import load_settings

WHEN = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


@pytest.fixture
def offline_ledger(app_env) -> dict[str, int]:
    store = Store.open(load_settings(env=app_env, dotenv_path=None).database_url)
    mine = store.create_chat("Conversa minha", state={"step": "finalized"})
    evals = [store.create_chat(f"eval case{i} [local]", state={"step": "finalized"}, source="eval")
             for i in range(3)]
    for chat in (mine, *evals):
        store.record_cost(CostRow("Conversa", "local/rules", 3000, 400, Decimal(0), chat, created_at=WHEN))
        store.record_cost(CostRow("Análise de intenção", "local/rules", 800, 60, Decimal(0), chat, created_at=WHEN))
    store.record_cost(CostRow("Transcrição", "local/whisper", 0, 0, Decimal(0), mine, audio_seconds=90.0,
                              created_at=WHEN))
    store.record_cost(CostRow("Embeddings", "local/rules", 500, 0, Decimal(0), None, created_at=WHEN))
    return {"mine": mine, "eval": evals[0]}


def open_costs() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/costs.py")
    return at.run()


def nonzero(money: str) -> bool:
    """Whether a shown amount is more than zero, whatever the locale's format (R$ 0,00 · R$0.00)."""
    return any(ch in "123456789" for ch in money)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    return [d.value for d in at.dataframe if column in d.value.columns]


def chart_titles(at: AppTest) -> str:
    return " ".join(json.dumps(json.loads(c.proto.spec).get("title", "")) for c in at.get("vega_lite_chart"))


def test_free_traffic_is_priced_on_a_real_model(offline_ledger) -> None:
    at = open_costs()
    assert not at.exception, at.exception
    assert not nonzero(metric(at, "Spent"))
    priced = metric(at, "Priced")
    assert priced.startswith("R$") and nonzero(priced)
    features = frame_with(at, "feature")[0]
    assert len(features) == 4  # Conversa, Análise de intenção, Transcrição, Embeddings (display names)
    assert "12,000" in set(features["input tokens"]) and "1.5" in set(features["audio (min)"])  # English formats
    # Per conversation: people's chats only, until the bench is picked in Source.
    chats = frame_with(at, "chat")[0]
    assert list(chats["chat"]) == [offline_ledger["mine"]]
    # Charts show tokens when nothing cost money.
    assert "Tokens by feature" in chart_titles(at)
    # The projection works on free traffic, priced on the chosen model.
    projection = next(m for m in at.metric if m.label.startswith("At 1,000 conversations/day"))
    assert projection.value.endswith("/month") and nonzero(projection.value)
    assert not any("chat with the agent first" in i.value for i in at.info)


def test_another_model_and_currency_change_the_price(offline_ledger) -> None:
    at = open_costs()
    mini = metric(at, "Priced")
    at.selectbox(key="costs_price_as").set_value("openai/sabia-3").run()
    assert not at.exception
    sabia = metric(at, "Priced")
    assert sabia != mini and sabia.startswith("R$")
    assert any("Maritaca Sabiá 3" in c for c in frame_with(at, "feature")[0].columns)


def test_source_filter_narrows_every_figure(offline_ledger) -> None:
    at = open_costs()
    assert metric(at, "Calls") == "10"
    at.multiselect(key="costs_sources").set_value(["eval"]).run()
    assert not at.exception
    assert metric(at, "Calls") == "6"
    chats = frame_with(at, "chat")[0]
    assert offline_ledger["eval"] in set(chats["chat"]) and offline_ledger["mine"] not in set(chats["chat"])
    at.multiselect(key="costs_sources").set_value(["playground"]).run()
    assert metric(at, "Calls") == "3"


def test_projection_from_a_filter_without_conversations(offline_ledger) -> None:
    at = open_costs()
    at.multiselect(key="costs_features").set_value(["Embeddings"]).run()
    assert not at.exception
    assert at.radio(key="costs_basis").options == ["average call"]
    projection = next(m for m in at.metric if m.label.startswith("At 1,000 calls/day"))
    assert projection.value.endswith("/month")
