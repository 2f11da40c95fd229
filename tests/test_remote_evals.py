"""``python -m evals run --target URL``: goldens replayed through a real uvicorn's ``POST /chat`` give the same
verdicts as in process (a representative subset here; the whole suite: see the README's "Evals against a
deployed agent")."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest
from test_server import live_server

from agent.adapters.store import Store
from agent.config import Settings
from agent.server import ServerConfig
from evals.cases import PROJECT_ROOT, load_case
from evals.remote import remote_skip_reason
from evals.runner import run_suite

GOLDEN = PROJECT_ROOT / "evals" / "golden"
# Bursts split by a pause, idle re-engagement, handoff and operator events, lone surrogates, an erasure turn,
# a pinned date, an injection, another pack, the API down, pinned API answers; and goldens that cannot run remotely
# (a scripted fake model, a priced fake).
SUBSET = ["burst_split_by_pause.yaml", "reengagement_idle.yaml", "ask_human_handoff.yaml",
          "text_bad_bytes_mid_journey.yaml", "withdrawal_para_com_isso.yaml", "rules_old_rules_2025_06.yaml",
          "injection_mid_data.yaml", "contrato/contrato_handoff_and_back.yaml",
          "contrato/contrato_ccb_bad_then_good_email.yaml", "api_down_500.yaml", "api_fixed_eligible_amounts.yaml",
          "adversary_decision_prose.yaml", "cost_gpt4o_mini_usd.yaml"]
FAILING = """id: remote_failing_on_purpose
description: A golden whose expectation is wrong, so both modes must fail it.
tags: [test]
turns:
  - customer: oi
    expect: {step: collect_data}
  - customer: sim, aceito
    expect: {step: optin}
"""


def serving(settings: Settings, *, eval_hooks: bool = True) -> contextlib.AbstractContextManager[str]:
    """The app on a real uvicorn on a free loopback port (tests/test_server.py's), eval hooks on or off."""
    return live_server(settings, ServerConfig(eval_hooks=eval_hooks))


def test_remote_verdicts_match_in_process(settings: Settings, tmp_path: Path) -> None:
    failing = tmp_path / "remote_failing_on_purpose.yaml"
    failing.write_text(FAILING, encoding="utf-8")
    cases = [load_case(GOLDEN / name) for name in SUBSET] + [load_case(failing)]
    local = run_suite(cases, [], settings, save=False, concurrency=2)
    # The server has its own database; the runner (judge, run record) keeps the bench's.
    server_settings = settings.with_changes(database_url=f"sqlite:///{tmp_path / 'server.db'}")
    with serving(server_settings) as url:
        remote = run_suite(cases, [], settings, save=False, concurrency=2, target=url)
    skipped = {s["case_id"]: s["reason"] for s in remote.stats["skipped"]}
    assert set(skipped) == {"adversary_decision_prose", "cost_gpt4o_mini_usd"}
    assert all(skipped.values())
    in_process = {r.case_id: r.passed for r in local.results if r.case_id not in skipped}
    over_http = {r.case_id: r.passed for r in remote.results}
    assert over_http == in_process
    assert over_http["remote_failing_on_purpose"] is False and sum(over_http.values()) == len(over_http) - 1
    assert all(not r.error for r in remote.results), [r.error for r in remote.results if r.error]
    # The replayed conversations are the server's eval chats.
    chats = Store.open(server_settings.database_url).list_chats(100, None)
    assert len(chats) == len(over_http) and {c["source"] for c in chats} == {"eval"}


def test_skip_reasons() -> None:
    assert remote_skip_reason(load_case(GOLDEN / "cost_sabia3_brl.yaml"))
    assert remote_skip_reason(load_case(GOLDEN / "audio_turn.yaml"))
    assert remote_skip_reason(load_case(GOLDEN / "adversary_decision_prose.yaml"))
    assert remote_skip_reason(load_case(GOLDEN / "burst_greeting.yaml")) is None
    assert remote_skip_reason(load_case(GOLDEN / "api_fixed_eligible_amounts.yaml")) is None


def test_eval_hooks_are_refused_unless_enabled(settings: Settings) -> None:
    with serving(settings, eval_hooks=False) as url, httpx.Client(base_url=url, timeout=60) as http:
        refused = http.post("/chat", json={"messages": ["oi"], "at": 1_796_043_600})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "eval_hooks_off"
        assert http.post("/chat", json={"messages": ["oi"], "settings": {"today": "2026-01-01"}}).status_code == 403
        assert http.post("/chat", json={"event": "idle"}).status_code == 403
        assert http.post("/chat", json={"messages": ["oi"], "api_responses": {"*": {"status": 500}}}).status_code == 403
        # The trace alone is not a hook: the stored (masked) trace of each turn, no unmasked attributes.
        body = http.post("/chat", json={"messages": ["oi", "sim, aceito", "meu CPF é 073.602.846-35"],
                                        "trace": True}).json()
        assert len(body["turns"]) == 1 and body["turns"][0]["trace"]["replies"] and "raw_attributes" not in body
        assert "073.602.846-35" not in str(body["turns"]) and isinstance(body["ledger"], list)
        plain = http.post("/chat", json={"chat_id": body["chat_id"], "messages": ["ok"]}).json()
        assert "turns" not in plain and "ledger" not in plain


@pytest.mark.parametrize("settings_override", [{"database_url": "sqlite:///elsewhere.db"}, {"pack": "../x"},
                                               {"burst_window_s": 1}])
def test_per_chat_settings_cannot_reach_the_server(settings: Settings, settings_override: dict[str, object]) -> None:
    with serving(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        response = http.post("/chat", json={"messages": ["oi"], "settings": settings_override})
        assert response.status_code == 422
    assert Store.open(settings.database_url).list_chats(10, None) == []
