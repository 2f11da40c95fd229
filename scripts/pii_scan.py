"""Play a PII-rich conversation through AgentSession and through the chat worker (the Chat page's inbox) on
the offline model, dump the SQLite database and count where each raw value was written (issue 13's measurement; tests/test_pii_scanner.py reuses it).

    .venv/bin/python scripts/pii_scan.py            # a table: value → hits per table
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (kind, what the customer types, the raw forms that must not be written)
PII: list[tuple[str, str, tuple[str, ...]]] = [
    ("card", "4111 1111 1111 1111", ("4111 1111 1111 1111", "4111111111111111")),
    ("password", "minha senha é flor1234", ("flor1234",)),
    ("code", "o código do sms é 482913", ("482913",)),
    ("cpf", "200.000.002-99", ("200.000.002-99", "20000000299")),
    ("cnpj", "o cnpj da empresa é 11.222.333/0001-81", ("11.222.333/0001-81", "11222333000181")),
    ("email", "meu email é maria.souza@gmail.com", ("maria.souza@gmail.com",)),
    ("phone", "meu telefone é (11) 98765-4321", ("98765-4321", "987654321")),
    ("bank", "ag 3417 cc 56789-0", ("56789-0", "567890")),
    ("pix", "minha chave pix é 7d444840-9dc0-11d1-b245-5ffdce74fad2",
     ("7d444840-9dc0-11d1-b245-5ffdce74fad2",)),
]
# The conversation: the card first, the journey's answers in between, the rest as asides.
SCRIPT = [PII[0][1], "aceito", "Maria Souza", PII[1][1], PII[2][1], PII[3][1], PII[4][1], PII[5][1],
          PII[6][1], PII[7][1], PII[8][1], "julho", "sim"]


def play(env: dict[str, str], contexts: list[str] | None = None) -> int:
    """Run ``SCRIPT`` in a new conversation; its chat id. ``contexts`` collects the model calls' context
    metadata (what LiteLLM's ``metadata`` and its logging callbacks receive) as JSON."""
    from agent.adapters.gateway import Gateway
    from agent.config import load_settings
    from agent.core.session import AgentSession

    settings = load_settings(env={**env, "BURST_MODE": "false"}, dotenv_path=None)
    session = AgentSession.new(settings, source="simulation")
    complete = Gateway.complete

    def recording(self: Gateway, *args: Any, **opts: Any) -> Any:
        if contexts is not None:
            contexts.append(json.dumps(opts.get("context"), ensure_ascii=False, default=str))
        return complete(self, *args, **opts)

    Gateway.complete = recording  # type: ignore[method-assign]
    try:
        for line in SCRIPT:
            session.send(line)
    finally:
        Gateway.complete = complete  # type: ignore[method-assign]
    return session.chat_id


def play_through_worker(env: dict[str, str]) -> int:
    """``SCRIPT`` through the Chat page's path: the inbox (``chat_inbox``) and the chat's worker."""
    from agent.config import load_settings
    from agent.worker import Workers

    settings = load_settings(env={**env, "BURST_MODE": "false"}, dotenv_path=None)
    pool = Workers()
    try:
        chat_id = pool.new_chat(settings)
        for line in SCRIPT:
            pool.enqueue(settings, chat_id, line)
        pool.get(settings, chat_id).wait_idle(120)
    finally:
        pool.shutdown()
    return chat_id


def dump(db: Path) -> dict[str, str]:
    """The SQLite database as SQL, one text per table (``iterdump``)."""
    tables: dict[str, list[str]] = {}
    with sqlite3.connect(db) as conn:
        for line in conn.iterdump():
            m = re.match(r'INSERT INTO "?(\w+)"?', line)
            tables.setdefault(m.group(1) if m else "(schema)", []).append(line)
    return {name: "\n".join(lines) for name, lines in tables.items()}


def _pattern(form: str) -> re.Pattern[str]:
    """``form`` not inside a longer number: a timestamp's microseconds or a float's decimals may hold
    ``482913``; a value typed by the customer does not sit between digits (nor right after a decimal point)."""
    return re.compile((r"(?<![\d.])" if form[0].isdigit() else "") + re.escape(form)
                      + (r"(?!\d)" if form[-1].isdigit() else ""))


_PATTERNS = [(kind, [_pattern(form) for form in forms]) for kind, _, forms in PII]


def hits(text: str) -> Counter[str]:
    """Occurrences of each kind's raw forms in ``text``."""
    found: Counter[str] = Counter()
    for kind, patterns in _PATTERNS:
        for pattern in patterns:
            found[kind] += len(pattern.findall(text))
    return found


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                             "LITELLM_LOCAL_MODEL_COST_MAP"}}
        env.update(CONVERSA_DATA_DIR=tmp, BURST_WINDOW_SECONDS="0")
        import agent.adapters.offline  # noqa: F401  (before litellm)

        contexts: list[str] = []
        play(env, contexts)
        play_through_worker(env)
        tables = dump(Path(tmp) / "conversa.db")
        tables["(model context)"] = "\n".join(contexts)
        kinds = [k for k, _, _ in PII]
        print(f"{'table':<16}" + "".join(f"{k:>9}" for k in kinds) + f"{'total':>8}")
        total: Counter[str] = Counter()
        for name, text in sorted(tables.items()):
            found = hits(text)
            if sum(found.values()):
                print(f"{name:<16}" + "".join(f"{found[k]:>9}" for k in kinds) + f"{sum(found.values()):>8}")
            total += found
        print(f"{'TOTAL':<16}" + "".join(f"{total[k]:>9}" for k in kinds) + f"{sum(total.values()):>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
