"""Agent overhead per turn on local/rules vs one bare ``litellm.completion(mock_response=...)``.

A turn = media → guard → emotion + classification (+ extraction) → transition → tools (HTTP to the
in-process sandbox) → templates → conversation → persistence. We time whole turns, the time spent
inside gateway calls (LiteLLM + ledger), and report the rest as the agent's own overhead.
Prints figures; never fails on time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.adapters.offline  # noqa: E402,F401
import litellm  # noqa: E402

from agent.config import load_settings  # noqa: E402
from agent.core.session import AgentSession  # noqa: E402

SCRIPT = ["oi", "aceito", "quanto tempo demora o crédito?", "Maria Souza", "200.000.002-99", "julho", "sim",
          "sim, quero", "tchau"]
CONVERSATIONS = 30


def main() -> None:
    settings = load_settings(env={"CONVERSA_DATA_DIR": tempfile.mkdtemp(), "BURST_MODE": "false"},
                             dotenv_path=None)
    bare = []
    for _ in range(200):
        t = time.perf_counter()
        litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "oi"}], mock_response="ok")
        bare.append((time.perf_counter() - t) * 1000)
    session = AgentSession.new(settings)
    gateway = session.engine.gateway
    inside = [0.0]
    original = gateway.complete

    def timed_complete(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside[0] += (time.perf_counter() - t) * 1000

    gateway.complete = timed_complete  # type: ignore[method-assign]
    for text in SCRIPT:  # warm-up: indexes, tokenizer, sandbox
        session.send(text)
    turns, model_ms, calls = [], [], 0
    for _ in range(CONVERSATIONS):
        session = AgentSession.new(settings, engine=session.engine)
        for text in SCRIPT:
            inside[0] = 0.0
            t = time.perf_counter()
            result = session.send(text)
            turns.append((time.perf_counter() - t) * 1000)
            model_ms.append(inside[0])
            calls += len(result.trace.calls)
    overhead = [t - m for t, m in zip(turns, model_ms, strict=True)]
    med_bare = statistics.median(bare)
    print(f"turns: {len(turns)} ({CONVERSATIONS} conversations × {len(SCRIPT)} turns), "
          f"model calls per turn: {calls / len(turns):.2f}")
    print(f"bare litellm.completion(mock_response)   median {med_bare:6.2f} ms")
    print(f"whole turn                              median {statistics.median(turns):6.2f} ms  "
          f"p95 {sorted(turns)[int(len(turns) * .95)]:6.2f} ms")
    print(f"  inside gateway calls (LiteLLM+ledger) median {statistics.median(model_ms):6.2f} ms")
    print(f"  agent's own overhead per turn         median {statistics.median(overhead):6.2f} ms "
          f"= {statistics.median(overhead) / med_bare:.2f}x one bare mock completion (target ≤ 1x)")


if __name__ == "__main__":
    main()
