"""Insights cost per conversation on the deck's price table: gpt-4o-mini vs Claude 3 Haiku.

Plays a few offline conversations (local/rules), computes each one's insights, then reads the insights
role's token counts from the ledger ("Analise de Emoção" on every customer message, "Satisfação e objeções"
and "Resumo da conversa" once per conversation) and prices them with agent/adapters/pricing.py as if the
insights role ran on each model. Token counts are local/rules' (tiktoken cl100k on the same prompts);
a real model's own tokenizer and longer JSON answers move them a little. Prints figures; never fails.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.adapters.offline  # noqa: E402,F401

from agent.adapters.pricing import compute_cost, price_for  # noqa: E402
from agent.config import load_settings  # noqa: E402
from agent.core.session import AgentSession  # noqa: E402
from agent.insights import FEATURES, session_insights  # noqa: E402

CONVERSATIONS = {
    "happy path": ["oi", "aceito", "Maria Souza", "200.000.002-99", "julho", "sim", "quero sim", "obrigada 🙏"],
    "objections": ["oi", "tem taxa? é seguro mesmo?", "aceito", "Maria Souza", "200.000.002-99", "julho", "sim",
                   "agora não, vou pensar"],
    "detractor": ["oi", "aceito", "que demora 😤", "parabéns pela demora 🙄", "vocês são uns incompetentes"],
    "opt-out": ["oi", "não quero passar meus dados"],
}
MODELS = ("gpt-4o-mini", "claude-3-haiku-20240307")
EMOTION = "Analise de Emoção"


def main() -> None:
    settings = load_settings(env={"CONVERSA_DATA_DIR": tempfile.mkdtemp(), "BURST_MODE": "false"}, dotenv_path=None)
    features = (EMOTION, FEATURES["satisfaction"], FEATURES["summary"])
    prices = {m: price_for(m) for m in MODELS}
    print(f"{'conversation':<12} {'msgs':>4} {'feature':<22} {'in':>6} {'out':>5} "
          + " ".join(f"{m[:14]:>14}" for m in MODELS))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for name, lines in CONVERSATIONS.items():
        session = AgentSession.new(settings, source="simulation")
        for line in lines:
            session.send(line)
        session_insights(session)
        rows = [r for r in session.store.cost_rows(chat_id=session.chat_id, limit=10_000) if r["role"] == "insights"]
        for feature in features:
            mine = [r for r in rows if r["feature_name"] == feature]
            tokens_in, tokens_out = sum(r["input_tokens"] for r in mine), sum(r["output_tokens"] for r in mine)
            costs = {m: compute_cost(tokens_in, tokens_out, p, usd_brl=settings.usd_brl) for m, p in prices.items()}
            for m, c in costs.items():
                totals[m] += c
            print(f"{name:<12} {len(lines):>4} {feature:<22} {tokens_in:>6} {tokens_out:>5} "
                  + " ".join(f"{float(costs[m]):>14.6f}" for m in MODELS))
    n = len(CONVERSATIONS)
    print("-" * 84)
    print(f"{'mean per conversation (USD)':<52} " + " ".join(f"{float(totals[m] / n):>14.6f}" for m in MODELS))
    print(f"{'per 1,000 conversations (USD)':<52} " + " ".join(f"{float(totals[m] / n * 1000):>14.2f}" for m in MODELS))
    print("prices (USD per 1M tokens in/out): " + "; ".join(
        f"{m} {p.input_per_mtok}/{p.output_per_mtok}" for m, p in prices.items()))


if __name__ == "__main__":
    main()
