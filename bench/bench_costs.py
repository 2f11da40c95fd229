"""Cost-page queries on a 1,000,000-row ledger (target ≤ 0.5 s each). Prints figures; never fails on time.

Seeds a temporary SQLite database with ``INSERT … SELECT`` over a recursive CTE (no Python loop),
50,000 chats with journey states, then times every query the Costs page runs, with and without filters.
Usage: ``python bench/bench_costs.py [rows] [--url DATABASE_URL]`` (PostgreSQL works too).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from agent.analytics.costs import PEOPLE_SOURCES, CostFilter, CostReport  # noqa: E402
from agent.core.pack import get_pack  # noqa: E402
from agent.adapters.store import Store  # noqa: E402

FEATURES = ("Analise de Emoção", "API", "Classificação de jornada", "Captura de atributo",
            "Conversa", "Transcrição", "Resumo")
STEPS = (*get_pack().completed_steps, "greeting", "optin", "collect_data", "handoff")


def seed(store: Store, rows: int, chats: int) -> float:
    """Fill chats and llm_cost in SQL; returns seconds taken."""
    started = time.perf_counter()
    dialect = store.engine.dialect.name
    features = " ".join(f"WHEN {i} THEN '{f}'" for i, f in enumerate(FEATURES))
    steps = " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STEPS))
    if dialect == "sqlite":
        series = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count)"
        ts = "printf('%s.000000', datetime('2024-07-01', '+' || (n * 5) || ' seconds'))"
        state = f"json_object('step', CASE n % {len(STEPS)} {steps} END)"
    else:
        series = "WITH s(n) AS (SELECT generate_series(1, CAST(:count AS bigint)))"
        ts = "TIMESTAMPTZ '2024-07-01 00:00:00+00' + n * INTERVAL '5 seconds'"
        state = f"json_build_object('step', CASE n % {len(STEPS)} {steps} END)"
    with store.engine.begin() as conn:
        # Bulk load without the ledger's secondary indexes, then build them once (much faster).
        if dialect == "sqlite":
            found = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND tbl_name = 'llm_cost' AND sql IS NOT NULL")).all()
        else:
            found = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'llm_cost' "
                                      "AND indexname NOT LIKE '%pkey'")).all()
        for name, _ in found:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text(
            f"{series} INSERT INTO chats (id_chat, title, pack, status, state, created_at, updated_at) "
            f"SELECT n, 'chat ' || n, 'fgts', 'open', {state}, {ts}, {ts} FROM s"
        ), {"count": chats})
        # Three chats in four are the bench's (eval runs), as after a few `python -m evals run`.
        conn.execute(text("UPDATE chats SET source = 'eval' WHERE id_chat % 4 <> 0"))
        # Deck-like mix: models 1 (GPT-3.5) and 6 (Claude 3 Haiku) dominate, a few others.
        conn.execute(text(
            f"{series} INSERT INTO llm_cost (id_llm_cost, fk_id_chat, feature_name, fk_id_llm_model, "
            "input_tokens, output_tokens, feat_request_id, price, created_at, updated_at, latency_ms, status) "
            f"SELECT n, 1 + (n * 7919) % {chats}, CASE n % {len(FEATURES)} {features} END, "
            "CASE n % 5 WHEN 0 THEN 1 WHEN 1 THEN 6 WHEN 2 THEN 4 WHEN 3 THEN 6 ELSE 3 END, "
            "300 + n % 60, 10 + n % 40, NULL, (300 + n % 60) * 0.00000025 + (10 + n % 40) * 0.00000125, "
            f"{ts}, {ts}, 200 + n % 900, CASE WHEN n % 97 = 0 THEN 'error' ELSE 'ok' END FROM s"
        ), {"count": rows})
        for _, sql in found:
            conn.execute(text(sql))
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=50_000)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--no-seed", action="store_true", help="time an already seeded --url database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(url)
        report = CostReport(store)
        seconds = 0.0 if args.no_seed else seed(store, args.rows, args.chats)
        print(f"{'reused' if args.no_seed else 'seeded'} {report.totals().calls:,} ledger rows and {args.chats:,} chats in {seconds:.1f} s "
              f"({store.engine.dialect.name})")
        first, last = report.day_range()
        assert first and last
        week = CostFilter(start=last - timedelta(days=6), end=last)
        queries: list[tuple[str, Callable[[], object]]] = [
            ("ledger (newest 200)", lambda: report.ledger(limit=200)),
            ("ledger, feature filter", lambda: report.ledger(CostFilter(features=("API",)), limit=200)),
            ("ledger, one chat", lambda: report.ledger(CostFilter(chat_id=4242), limit=200)),
            ("totals, all rows", report.totals),
            ("totals, last 7 days", lambda: report.totals(week)),
            ("by feature", report.by_feature),
            ("by feature, model filter", lambda: report.by_feature(CostFilter(models=("gpt-4o-mini",)))),
            ("by model", report.by_model),
            ("by model, last 7 days", lambda: report.by_model(week)),
            ("per conversation (top 20)", report.per_conversation),
            ("conversation stats (avg)", report.conversation_stats),
            ("per completed journey", report.per_completed_journey),
            ("tokens per day", report.over_time),
            ("tokens per hour, last 7 days", lambda: report.over_time(week, "hour")),
            ("feature list", report.features),
            ("day range", report.day_range),
            ("recent chats", report.recent_chats),
            ("recent chats, people's", lambda: report.recent_chats(sources=PEOPLE_SOURCES)),
            ("per conversation, people's", lambda: report.per_conversation(CostFilter(sources=PEOPLE_SOURCES))),
            ("totals, source eval", lambda: report.totals(CostFilter(sources=("eval",)))),
            ("price as gpt-4o-mini (totals)", lambda: report.price_traffic(CostFilter(), "gpt-4o-mini")),
            ("price as, per feature", lambda: report.reprice(CostFilter(), "gpt-4o-mini")),
            ("price as, per conversation top 50",
             lambda: report.reprice(CostFilter(), "gpt-4o-mini", by="conversation", limit=50)),
            ("price as, per journey", lambda: report.reprice_journeys(CostFilter(), "gpt-4o-mini")),
        ]
        print(f"{'query':34} {'median s':>9}  rows  (target ≤ 0.5 s)")
        worst = 0.0
        for name, fn in queries:
            seconds, result = timed(fn)
            worst = max(worst, seconds)
            size = len(result) if isinstance(result, (list, tuple)) else 1
            flag = "" if seconds <= 0.5 else "  ← over target"
            print(f"{name:34} {seconds:9.3f} {size:5}{flag}")
        print(f"slowest: {worst:.3f} s")
        store.engine.dispose()


if __name__ == "__main__":
    main()
