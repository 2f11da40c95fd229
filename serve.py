"""`make run`'s entry point: build the agent's engine first, then serve app.py.

``streamlit run app.py`` runs nothing until a browser connects, so the first visitor waited for
LiteLLM's import and the engine's build (~5–10 s on 2 cores) after the page was drawn. Here the
warm-up (``agent.warm_up``, the same idempotent one the Chat page calls) runs before the server
listens, with the settings a fresh browser session starts from (env / ``.env``): whoever opens the
URL finds the agent ready with the first paint. Not in a thread beside the server: the import holds
the GIL and made the first paint 2× slower (bench/bench_ui.py measured both). A failed warm-up is
printed and the server starts anyway (the page retries and says why). Arguments are
``streamlit run``'s options:

    python serve.py --server.port 8501 --server.address localhost
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def main(argv: list[str]) -> int:
    """Start the warm-up, then hand over to Streamlit's own command line."""
    import time

    from agent import enforce_retention, load_settings, warm_up, warm_up_error

    started = time.monotonic()
    print("conversa-lab: warming up the agent (pack, indexes; LiteLLM for a provider's model)…", file=sys.stderr,
          flush=True)
    try:
        settings = load_settings()
        try:  # RETENTION_DAYS (LGPD): idle conversations are forgotten before anyone reads them
            enforce_retention(settings)
        except Exception as exc:  # noqa: BLE001 — app.py tries again and shows why on the page
            print(f"conversa-lab: retention not enforced: {type(exc).__name__}: {exc}", file=sys.stderr)
        warm_up(settings).join(timeout=120)
        problem = warm_up_error(settings)
    except Exception as exc:  # noqa: BLE001 — the page warms up (and reports why) on its own
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        print(f"conversa-lab: warm-up failed, the page will retry: {problem}", file=sys.stderr)
    else:
        print(f"conversa-lab: agent ready in {time.monotonic() - started:.1f} s", file=sys.stderr)

    # The Chat page's first run imports pandas (~0.5 s of CPU): done here, before the server listens, it is
    # not in the first visitor's wait.
    import pandas  # noqa: F401
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    return int(cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
