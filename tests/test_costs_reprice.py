""""Price this traffic as…": recorded tokens and audio seconds re-priced with any model of the table,
next to what was actually spent; the source filter; charts and projections on free local traffic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agent.analytics.costs import (
    PEOPLE_SOURCES,
    CostFilter,
    CostReport,
    Pricer,
    chart_measure,
    project,
)
from agent.adapters.pricing import price_for
from agent.adapters.store import CostRow, Store

WHEN = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
USD_BRL = 5.0


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def report(store: Store) -> CostReport:
    """Offline traffic: everything on local/rules (free), a person's chat finished, two eval chats."""
    mine = store.create_chat("Conversa", state={"step": "finalized"})
    evals = [store.create_chat(f"eval c{i} [local]", state={"step": "collect_data"}, source="eval") for i in range(2)]
    rows = [
        CostRow("Análise de intenção", "local/rules", 1000, 200, Decimal(0), mine, created_at=WHEN),
        CostRow("Conversa", "local/rules", 3000, 500, Decimal(0), mine, created_at=WHEN),
        CostRow("Transcrição", "local/whisper", 0, 0, Decimal(0), mine, audio_seconds=30.0, created_at=WHEN),
        CostRow("Conversa", "local/rules", 2000, 100, Decimal(0), evals[0], created_at=WHEN),
        CostRow("Conversa", "local/rules", 4000, 300, Decimal(0), evals[1], created_at=WHEN),
        CostRow("Conversa", "local/rules", 500, 50, Decimal(0), None, created_at=WHEN),  # no chat
    ]
    for row in rows:
        store.record_cost(row)
    r = CostReport(store)
    r.ids = (mine, *evals)  # type: ignore[attr-defined]
    return r


def mini(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * 0.15 + output_tokens * 0.60) / 1e6


def test_pricer_prices_tokens_audio_and_brl() -> None:
    pricer = Pricer(price_for("gpt-4o-mini"), price_for("whisper-1"), USD_BRL)
    assert pricer.usd(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert pricer.usd(0, 0, 60.0) == pytest.approx(0.006)  # one audio minute on whisper-1
    sabia = Pricer(price_for("openai/sabia-3"), usd_brl=USD_BRL)
    assert sabia.usd(1_000_000, 0) == pytest.approx(10 / USD_BRL)  # R$ 10 per 1M tokens, in USD
    assert Pricer(price_for("gpt-4o-mini")).usd(0, 0, 60.0) == 0  # no per-minute price: audio is free


def test_reprice_per_feature_side_by_side_with_the_spend(report: CostReport) -> None:
    rows = {r["feature_name"]: r for r in report.reprice(CostFilter(), "gpt-4o-mini", usd_brl=USD_BRL,
                                                         audio_model="whisper-1")}
    conversa = rows["Conversa"]
    assert (conversa["calls"], conversa["input_tokens"], conversa["output_tokens"]) == (4, 9500, 950)
    assert conversa["cost_usd"] == 0  # what local/rules actually cost
    assert conversa["priced_usd"] == pytest.approx(mini(9500, 950))
    assert rows["Transcrição"]["audio_seconds"] == pytest.approx(30)
    assert rows["Transcrição"]["priced_usd"] == pytest.approx(0.003)  # half a minute of whisper-1
    assert list(rows)[0] == "Transcrição"  # most expensive on the chosen model first
    haiku = {r["feature_name"]: r for r in report.reprice(CostFilter(), "claude-3-haiku-20240307")}
    assert haiku["Conversa"]["priced_usd"] == pytest.approx((9500 * 0.25 + 950 * 1.25) / 1e6)
    by_model = {r["model"]: r for r in report.reprice(CostFilter(), "gpt-4o-mini", by="model")}
    assert by_model["local/rules"]["calls"] == 5


def test_reprice_per_conversation_and_journey(report: CostReport) -> None:
    mine, eval0, eval1 = report.ids  # type: ignore[attr-defined]
    chats = report.reprice(CostFilter(), "gpt-4o-mini", by="conversation", limit=10)
    assert [c["fk_id_chat"] for c in chats] == [mine, eval1, eval0]  # ranked in SQL by the priced cost
    assert chats[0]["priced_usd"] == pytest.approx(mini(4000, 700))
    assert len(report.reprice(CostFilter(), "gpt-4o-mini", by="conversation", limit=2)) == 2
    journeys = report.reprice_journeys(CostFilter(), "gpt-4o-mini", ["finalized"])
    assert [(j["step"], j["journeys"], j["calls"]) for j in journeys] == [("finalized", 1, 3)]
    assert journeys[0]["avg_priced_usd"] == pytest.approx(mini(4000, 700))
    assert journeys[0]["avg_cost_usd"] == 0
    assert journeys[0]["audio_seconds"] == pytest.approx(30)  # the voice note of the finished chat
    with_audio = report.reprice_journeys(CostFilter(), "gpt-4o-mini", ["finalized"], audio_model="whisper-1")
    assert with_audio[0]["priced_usd"] == pytest.approx(mini(4000, 700) + 0.003)


def test_price_traffic_feeds_a_projection_even_when_nothing_was_spent(report: CostReport) -> None:
    traffic = report.price_traffic(CostFilter(), "gpt-4o-mini", usd_brl=USD_BRL, steps=["finalized"])
    assert (traffic.calls, traffic.conversations, traffic.journeys) == (6, 3, 1)
    assert traffic.actual_usd == 0
    assert traffic.priced_usd == pytest.approx(mini(10500, 1150))
    assert traffic.bases() == ["conversation", "journey", "call"]
    per_conversation = traffic.per("conversation")
    assert per_conversation == pytest.approx(mini(10000, 1100) / 3)  # the row without a chat is left out
    assert traffic.per("conversation", priced=False) == 0
    plan = project(per_conversation, 1000)
    assert plan.per_month_usd == pytest.approx(per_conversation * 1000 * 30)
    # A filter without conversations still projects per call.
    lone = report.price_traffic(CostFilter(features=("Transcrição",), chat_id=-1), "gpt-4o-mini")
    assert lone.bases() == [] and lone.per("call") == 0
    sabia = report.price_traffic(CostFilter(), "openai/sabia-3", usd_brl=USD_BRL)
    assert sabia.priced_usd == pytest.approx((10500 + 1150) * 10 / 1e6 / USD_BRL)
    assert sabia.label == "Maritaca Sabiá 3"


def test_source_filter_separates_people_from_the_bench(report: CostReport) -> None:
    mine, eval0, eval1 = report.ids  # type: ignore[attr-defined]
    people = CostFilter(sources=PEOPLE_SOURCES)
    assert report.totals(people).calls == 3
    assert report.totals(CostFilter(sources=("eval",))).calls == 2
    assert report.totals().calls == 6
    assert [c["fk_id_chat"] for c in report.per_conversation(people)] == [mine]
    assert [c["id_chat"] for c in report.recent_chats(sources=PEOPLE_SOURCES)] == [mine]
    assert report.recent_chats()[0]["source"] == "eval"
    assert report.source_counts() == {"playground": 1, "eval": 2}
    # With few of the chats (here 1 in 8), the filter seeks each chat instead of scanning: same figures.
    for i in range(5):
        report.store.create_chat(f"eval more{i} [local]", source="eval")
    assert report.totals(people).calls == 3 and report.totals(CostFilter(sources=("eval",))).calls == 2
    assert report.price_traffic(people, "gpt-4o-mini").conversations == 1


def test_charts_show_tokens_when_nothing_cost_money(report: CostReport) -> None:
    assert chart_measure(report.by_feature()) == "tokens"
    assert chart_measure([{"cost_usd": 0.0}, {"cost_usd": 0.0001}]) == "cost"
    assert chart_measure([]) == "tokens"


def test_edited_prices_are_used_for_repricing(report: CostReport) -> None:
    report.save_prices([{"model": "gpt-4o-mini", "input_per_mtok": 1.0, "output_per_mtok": 2.0,
                         "currency": "USD"}])
    traffic = report.price_traffic(CostFilter(), "gpt-4o-mini")
    assert traffic.priced_usd == pytest.approx((10500 * 1.0 + 1150 * 2.0) / 1e6)
