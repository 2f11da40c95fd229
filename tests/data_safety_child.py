"""A separate process for tests/test_data_safety.py: plays one scripted conversation on ``local/rules``.

``python tests/data_safety_child.py DATABASE_URL [--chat ID] [--worker]`` with the environment of the
test (``CONVERSA_DATA_DIR``, ``FGTS_API_URL``…). Prints one JSON line per event, flushed at once, so
the parent knows exactly what was acknowledged before it kills this process:
``{"event": "chat", "chat": ID}`` then, after each turn the session wrote,
``{"event": "ack", "chat": ID, "turn": N, "messages": M, "ledger": L}`` (M messages and L ledger rows
in the chat once that turn is written). ``--worker`` queues the script in ``chat_inbox`` instead and
lets a :class:`agent.worker.ChatWorker` answer it (the page's path).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import agent.adapters.offline  # noqa: E402,F401  (before litellm)
from agent.config import Settings, load_settings  # noqa: E402

SCRIPT = ("oi", "aceito", "Maria Souza", "200.000.002-99", "julho", "sim")
ENV_KEYS = ("PATH", "HOME", "TIKTOKEN_CACHE_DIR", "LITELLM_LOCAL_MODEL_COST_MAP", "CONVERSA_DATA_DIR",
            "FGTS_API_URL", "TOOL_TIMEOUT_SECONDS")


def child_settings(database_url: str) -> Settings:
    """The test's settings: no keys, no burst window, this database."""
    env = {k: os.environ[k] for k in ENV_KEYS if k in os.environ}
    env.update(BURST_WINDOW_SECONDS="0", DATABASE_URL=database_url)
    return load_settings(env=env, dotenv_path=None)


_events: Any = None  # a multiprocessing queue when run by run_process, else stdout


def say(**event: object) -> None:
    """Report one event to the parent, at once."""
    if _events is not None:
        _events.put(dict(event, pid=os.getpid()))
    else:
        print(json.dumps(event), flush=True)


def play(settings: Settings, chat_id: int | None) -> None:
    """The script on an AgentSession; an ``ack`` line after each written turn."""
    from agent.core.session import AgentSession

    session = (AgentSession.load(settings, chat_id) if chat_id is not None
               else AgentSession.new(settings, title="data safety", source="simulation"))
    say(event="chat", chat=session.chat_id)
    ledger = sum(len(t.calls) for t in session.traces)
    for turn, text in enumerate(SCRIPT):
        result = session.send(text)
        assert result is not None and session.save_error is None, session.save_error
        ledger += len(result.trace.calls)
        say(event="ack", chat=session.chat_id, turn=turn, messages=len(session.messages), ledger=ledger,
            step=result.step_after)


def play_queued(settings: Settings, chat_id: int | None) -> None:
    """The script queued in ``chat_inbox`` and answered by the chat's worker."""
    from agent.adapters.inbox import Inbox
    from agent.adapters.store import Store
    from agent.worker import Workers

    workers = Workers()
    if chat_id is None:
        chat_id = workers.new_chat(settings, title="data safety (queued)", source="simulation")
        inbox = Inbox(Store.open(settings.database_url))
        for text in SCRIPT:
            inbox.put(chat_id, text)
    say(event="chat", chat=chat_id)
    worker = workers.get(settings, chat_id)
    assert worker.wait_idle(120)
    say(event="idle", chat=chat_id)
    workers.shutdown()


def warm() -> None:
    """What every turn loads, loaded once: a forkserver that imports this module hands it to its children
    (LiteLLM, the pack, the intent classifier, the token counter), so 20 processes start in a blink."""
    from agent.core import budget, session

    session._preload(child_settings("sqlite://"))
    budget._encoding()


def run_process(database_url: str, data_dir: str, events: Any, *, worker: bool = False,
                env: dict[str, str] | None = None) -> None:
    """A multiprocessing target (tests start it from a forkserver that imported LiteLLM once): the
    script on its own AgentSession (``worker``: queued for a ChatWorker) in this process, with ``env``
    added to its environment; every event goes to the parent's ``events`` queue instead of stdout."""
    global _events
    os.environ.update(env or {}, CONVERSA_DATA_DIR=data_dir)
    _events = events
    warm()  # a no-op when the forkserver preloaded it
    try:
        (play_queued if worker else play)(child_settings(database_url), None)
    except BaseException as exc:  # noqa: BLE001  (reported, the parent fails the test with it)
        say(event="error", error=f"{type(exc).__name__}: {exc}")
        raise
    say(event="done")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--chat", type=int)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    settings = child_settings(args.database_url)
    (play_queued if args.worker else play)(settings, args.chat)
    say(event="done")


if __name__ == "__main__":
    main()
