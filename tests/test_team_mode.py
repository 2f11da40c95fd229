"""Team mode: the server, the eval CLI and the playground's session on one PostgreSQL (the one ``.ci/run`` starts)
see the same conversations, runs and costs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.adapters.store import Store
from agent.analytics.costs import CostFilter, CostReport
from agent.audit import conversations
from agent.config import Settings
from agent.core.session import AgentSession, list_conversations
from evals.cases import PROJECT_ROOT
from evals.store import EvalStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def team_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("team mode is one PostgreSQL for every process")
    return database_url


def _env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    return {**keep, "DATABASE_URL": database_url, "CONVERSA_DATA_DIR": str(data_dir), "BURST_WINDOW_SECONDS": "0",
            **extra}


@pytest.fixture
def server(team_url: str, data_dir: Path) -> Iterator[str]:
    """``python -m agent.server`` in its own process on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.server", "--port", str(port), "--log-level", "warning"], cwd=PROJECT_ROOT,
        env=_env(team_url, data_dir / "server", SERVER_EVAL_HOOKS="1"), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "server exited"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _evals(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evals", "run", "--id", "burst_greeting", "--quiet", *args],
                          cwd=PROJECT_ROOT, env=_env(url, data_dir / "cli"), capture_output=True, text=True,
                          timeout=300)


def test_server_cli_and_playground_share_one_database(team_url: str, server: str, settings: Settings,
                                                      data_dir: Path) -> None:
    settings = settings.with_changes(database_url=team_url)
    # A customer on the server, a person in the playground.
    served = httpx.post(f"{server}/chat", json={"messages": ["oi", "quero antecipar meu FGTS"]}, timeout=60).json()
    playground = AgentSession.new(settings, title="playground")
    assert playground.send("oi") is not None
    # The eval CLI: once through the server, once in process; both runs written to the same database.
    remote = _evals(team_url, data_dir, "--target", server, "--name", "team-remote")
    local = _evals(team_url, data_dir, "--name", "team-local")
    assert remote.returncode == 0, remote.stderr
    assert local.returncode == 0, local.stderr

    # Conversations: the playground's picker and the Audit page see the server's chat, source = server.
    people = {c["chat_id"]: c["source"] for c in list_conversations(settings)}
    assert people[served["chat_id"]] == "server" and people[playground.chat_id] == "playground"
    audited = {r.chat_id: r for r in conversations(settings)}
    assert served["chat_id"] in audited and playground.chat_id in audited
    every = {c["chat_id"]: c["source"] for c in list_conversations(settings, sources=None)}
    assert sorted(s for s in every.values() if s == "eval") == ["eval", "eval"]  # one per run
    # Runs: both CLI runs, read back from the database the playground uses.
    runs = {r["name"]: r for r in EvalStore.open(team_url).list_runs()}
    assert {"team-remote", "team-local"} <= set(runs)
    assert runs["team-remote"]["passed"] == runs["team-local"]["passed"] == 1
    # Costs: the server's turns are in the ledger the Costs page reads, under a server chat.
    report = CostReport(Store.open(team_url))
    assert report.totals(CostFilter(chat_id=served["chat_id"])).calls > 0
    assert {"server", "playground", "eval"} <= set(report.source_counts())
