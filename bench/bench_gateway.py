"""Gateway overhead per call vs a bare ``litellm.completion(mock_response=...)`` in the same run.

The gateway adds: role resolution, key checks, usage/cost computation and one ledger row (SQLite WAL).
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
from agent.adapters.gateway import Gateway  # noqa: E402

N = 300
MSG = [{"role": "user", "content": "quero antecipar meu saque-aniversário do FGTS"}]


def timed(fn, n: int = N) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    settings = load_settings(env={"CONVERSA_DATA_DIR": tempfile.mkdtemp()}, dotenv_path=None)
    gw = Gateway(settings)
    bare = lambda: litellm.completion(model="gpt-4o-mini", messages=MSG, mock_response="ok")  # noqa: E731
    through = lambda: gw.complete("decision", "bench", MSG, model="gpt-4o-mini", mock_response="ok")  # noqa: E731
    # gpt-4o-mini needs a key only for real calls; mock_response never leaves the process.
    gw.settings = settings.with_changes(env={**settings.env, "OPENAI_API_KEY": "sk-mock"})
    local = lambda: gw.complete("conversation", "bench", MSG)  # noqa: E731
    for fn in (bare, through, local):
        timed(fn, 20)  # warm-up
    b, g, lr = timed(bare), timed(through), timed(local)
    med_b, med_g, med_l = statistics.median(b), statistics.median(g), statistics.median(lr)
    print(f"calls per variant: {N}")
    print(f"bare litellm.completion(mock_response)  median {med_b:7.2f} ms  p95 {sorted(b)[int(N*.95)]:7.2f} ms")
    print(f"gateway.complete(mock_response)         median {med_g:7.2f} ms  p95 {sorted(g)[int(N*.95)]:7.2f} ms")
    print(f"gateway.complete(local/rules)           median {med_l:7.2f} ms  p95 {sorted(lr)[int(N*.95)]:7.2f} ms")
    print(f"gateway overhead per call: {med_g - med_b:+.2f} ms ({med_g / med_b:.2f}x bare), ledger rows: "
          f"{gw.store.cost_count()}")


if __name__ == "__main__":
    main()
