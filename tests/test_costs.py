"""Cost aggregates (agent/costs.py) against a real database: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from agent.analytics.costs import CostFilter, CostReport, format_money, project, to_currency
from agent.adapters.store import CostRow, Store

DAY1 = datetime(2024, 8, 27, 23, 10, tzinfo=UTC)
DAY2 = datetime(2024, 8, 28, 0, 43, 59, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def report(store: Store) -> CostReport:
    """Two chats (one finished), the deck's two sample features, two days."""
    done = store.create_chat("finished", state={"step": "finalized"})
    open_ = store.create_chat("open", state={"step": "collect_data"})
    rows = [
        # The deck's rows: "Analise de Emoção" on Claude 3 Haiku, "API" on GPT-3.5 Turbo.
        CostRow("Analise de Emoção", "claude-3-haiku-20240307", 345, 15, Decimal("0.000105"), done,
                latency_ms=100, created_at=DAY2),
        CostRow("Analise de Emoção", "claude-3-haiku-20240307", 333, 15, Decimal("0.000102"), done,
                latency_ms=300, created_at=DAY2),
        CostRow("API", "gpt-3.5-turbo-0125", 126, 16, Decimal("0.000087"), done, latency_ms=200, created_at=DAY1),
        CostRow("API", "gpt-3.5-turbo-0125", 110, 31, Decimal("0.0001015"), open_, latency_ms=400,
                created_at=DAY1),
        CostRow("API", "gpt-3.5-turbo-0125", 0, 0, Decimal(0), open_, status="error", created_at=DAY2),
        CostRow("Transcrição", "local/whisper", 0, 0, Decimal(0), None, created_at=DAY2),
    ]
    for row in rows:
        store.record_cost(row)
    r = CostReport(store)
    r.chat_ids = (done, open_)  # type: ignore[attr-defined]
    return r


def test_totals_sum_every_row(report: CostReport) -> None:
    t = report.totals()
    assert t.calls == 6
    assert t.input_tokens == 345 + 333 + 126 + 110
    assert t.output_tokens == 15 + 15 + 16 + 31
    assert t.cost_usd == pytest.approx(0.000105 + 0.000102 + 0.000087 + 0.0001015)
    assert t.errors == 1
    assert t.avg_latency_ms == pytest.approx(250)


def test_ledger_is_the_decks_layout_newest_first(report: CostReport) -> None:
    rows = report.ledger(limit=3)
    assert [r["feature_name"] for r in rows] == ["Transcrição", "API", "API"]
    assert list(rows[0])[:10] == ["id_llm_cost", "fk_id_chat", "feature_name", "fk_id_llm_model", "model",
                                  "input_tokens", "output_tokens", "feat_request_id", "price", "created_at"]
    deck = report.ledger(CostFilter(features=("Analise de Emoção",)))[-1]
    assert (deck["fk_id_llm_model"], deck["model"]) == (6, "claude-3-haiku-20240307")
    assert float(deck["price"]) == pytest.approx(0.000105)
    assert report.last_id() == rows[0]["id_llm_cost"]


def test_group_by_feature_and_model(report: CostReport) -> None:
    features = {r["feature_name"]: r for r in report.by_feature()}
    assert features["API"]["calls"] == 3
    assert features["API"]["cost_usd"] == pytest.approx(0.0001885)
    assert list(features)[0] == "Analise de Emoção"  # most expensive first
    models = {r["model"]: r for r in report.by_model()}
    assert models["claude-3-haiku-20240307"]["label"] == "Claude 3 Haiku"
    assert models["claude-3-haiku-20240307"]["input_tokens"] == 678
    assert models["local/whisper"]["cost_usd"] == 0


def test_filters_chat_feature_model_and_days(report: CostReport) -> None:
    done, open_ = report.chat_ids  # type: ignore[attr-defined]
    assert report.totals(CostFilter(chat_id=open_)).calls == 2
    assert report.totals(CostFilter(features=("API", "Transcrição"))).calls == 4
    assert report.totals(CostFilter(models=("gpt-3.5-turbo-0125",))).calls == 3
    assert report.totals(CostFilter(models=("no-such-model",))).calls == 0
    assert report.totals(CostFilter(start=date(2024, 8, 27), end=date(2024, 8, 27))).calls == 2
    assert report.totals(CostFilter(start=date(2024, 8, 28))).calls == 4
    both = CostFilter(chat_id=done, features=("API",), start=date(2024, 8, 27), end=date(2024, 8, 28))
    assert report.totals(both).input_tokens == 126
    assert report.day_range() == (date(2024, 8, 27), date(2024, 8, 28))


def test_per_conversation_and_completed_journeys(report: CostReport) -> None:
    done, open_ = report.chat_ids  # type: ignore[attr-defined]
    chats = report.per_conversation()
    assert [c["fk_id_chat"] for c in chats] == [done, open_]  # the ledger row without a chat is left out
    stats = report.conversation_stats()
    assert stats["conversations"] == 2
    assert stats["avg_cost_usd"] == pytest.approx((0.000294 + 0.0001015) / 2)
    journeys = report.per_completed_journey()
    assert [(j["step"], j["journeys"]) for j in journeys] == [("finalized", 1)]
    assert journeys[0]["avg_cost_usd"] == pytest.approx(0.000294)
    assert journeys[0]["avg_calls"] == pytest.approx(3)
    steps = [c["step"] for c in report.recent_chats()]
    assert steps == ["collect_data", "finalized"]


def test_tokens_over_time_by_day_and_hour(report: CostReport) -> None:
    days = report.over_time()
    assert [(d["period"], d["input_tokens"]) for d in days] == [("2024-08-27", 236), ("2024-08-28", 678)]
    hours = report.over_time(bucket="hour")
    assert [h["period"] for h in hours] == ["2024-08-27 23", "2024-08-28 00"]
    assert report.features() == ["API", "Analise de Emoção", "Transcrição"]


def test_saving_prices_applies_them_and_keeps_versions(report: CostReport, store: Store) -> None:
    assert report.save_prices([{"model": "gpt-4o-mini", "input_per_mtok": 0.15, "output_per_mtok": 0.6,
                                "currency": "USD"}]) == 0  # unchanged: no version
    changed = report.save_prices([{"model": "gpt-4o-mini", "input_per_mtok": 0.075, "output_per_mtok": 0.3,
                                   "currency": "USD"}], note="batch price")
    assert changed == 1
    price = store.price_overrides()["gpt-4o-mini"]
    assert (price.input_per_mtok, price.output_per_mtok) == (Decimal("0.075"), Decimal("0.3"))
    history = report.versions("gpt-4o-mini")
    assert [h["note"] for h in history] == ["batch price", "original (deck)"]
    assert history[1]["input_price_per_mtok"] == pytest.approx(0.15)
    assert next(r for r in report.price_table() if r["model"] == "gpt-4o-mini")["source"] == "custom"
    with pytest.raises(ValueError, match="negative"):
        report.save_prices([{"model": "gpt-4o", "input_per_mtok": -1, "output_per_mtok": 1, "currency": "USD"}])
    with pytest.raises(ValueError, match="currency"):
        report.save_prices([{"model": "gpt-4o", "input_per_mtok": 1, "output_per_mtok": 1, "currency": "EUR"}])


def test_empty_ledger_gives_zeros(store: Store) -> None:
    report = CostReport(store)
    assert report.totals().calls == 0
    assert report.totals().cost_usd == 0
    assert report.by_feature() == []
    assert report.conversation_stats()["avg_cost_usd"] == 0
    assert report.day_range() == (None, None)
    assert report.last_id() == 0


def test_projection_and_money() -> None:
    plan = project(0.05, 1000)
    assert plan.per_day_usd == pytest.approx(50)
    assert plan.per_month_usd == pytest.approx(1500)
    assert to_currency(1, "BRL", 5.52) == pytest.approx(5.52)
    assert format_money(1500, "BRL", 5.52) == "R$ 8.280,00"
    assert format_money(1500, "USD", 5.52) == "$1,500.00"
    assert format_money(0.000105, "USD", 5.52) == "$0.000105"  # small amounts keep their digits
    assert format_money(0, "BRL", 5.52) == "R$ 0,00"
