"""The sandbox over real HTTP on 127.0.0.1: every fixture outcome, the hash rule, the faults."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from agent.br.cpf import complete, format_cpf, is_valid
from sandbox import FIXTURES, SandboxServer, consulta_body, profile_for, start_sandbox
from sandbox.server import yearly_withdrawal

ROOT = Path(__file__).resolve().parents[1]
DECK_CPF = "073.602.846-35"


def consulta(
    sb: SandboxServer, cpf: str, params: dict | None = None, headers: dict | None = None, timeout: float = 5
) -> httpx.Response:
    return httpx.get(f"{sb.url}/consulta", params={"cpf": cpf, **(params or {})}, headers=headers, timeout=timeout)


def test_deck_example(sb: SandboxServer) -> None:
    r = consulta(sb, DECK_CPF)
    assert r.status_code == 200
    assert r.json() == {"code": 701, "description": "CPF não autorizado", "cpf": "•••.602.846-••"}


BUSINESS = [(cpf, p) for cpf, p in FIXTURES.items() if p.fault is None]


@pytest.mark.parametrize(("cpf", "profile"), BUSINESS, ids=[format_cpf(c) for c, _ in BUSINESS])
def test_every_business_fixture(sb: SandboxServer, cpf: str, profile) -> None:
    r = consulta(sb, format_cpf(cpf))
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == profile.code
    assert body["cpf"].startswith("•••.")
    if profile.code == 200:
        balance = Decimal(str(body["balance"]))
        assert balance == profile.balance
        assert body["birth_month"] == profile.birth_month
        assert Decimal(str(body["yearly_withdrawal"])) == yearly_withdrawal(balance)
        # Facts only: the advance depends on the conversation date's rules (the pack estimates it;
        # tests/test_fgts_rules.py checks the dates and SandboxConfig(quote_on=…)).
        assert body["adhesion_date"] == profile.adhesion_date.isoformat() and body["existing_operation"] is False
        assert "available_advance" not in body
    else:
        assert "balance" not in body  # a refusal never leaks the balance


def test_cpf_without_punctuation_is_the_same_customer(sb: SandboxServer) -> None:
    assert consulta(sb, "07360284635").json() == consulta(sb, DECK_CPF).json()


@pytest.mark.parametrize("cpf", ["", "123", "073.602.846-36", "111.111.111-11", "abc"])
def test_invalid_cpf_is_400(sb: SandboxServer, cpf: str) -> None:
    r = consulta(sb, cpf)
    assert r.status_code == 400
    assert r.json()["code"] == 400


def test_hash_rule_is_deterministic_and_covers_every_outcome() -> None:
    seen: dict[int, int] = {}
    for i in range(400):
        cpf = complete(f"{314159000 + i:09d}")
        p = profile_for(cpf)
        assert p == profile_for(format_cpf(cpf))
        assert p.fault is None
        assert 1 <= p.birth_month <= 12
        if p.code == 703:
            assert p.balance == 0
        else:
            assert Decimal("50") <= p.balance < Decimal("30050")
        seen[p.code] = seen.get(p.code, 0) + 1
    assert set(seen) == {200, 701, 702, 703, 704}
    assert seen[200] > seen[701]  # most random customers are eligible


def test_hash_rule_over_http(sb: SandboxServer) -> None:
    cpf = complete("314159265")
    status, body = consulta_body(cpf)
    assert consulta(sb, cpf).json() == body and status == 200


def test_fault_fixtures(sb: SandboxServer) -> None:
    assert consulta(sb, complete("500000001")).status_code == 500
    r = consulta(sb, complete("503000001"))
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and r.json()["code"] == 503
    malformed = consulta(sb, complete("900000001"))
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    flaky = complete("503000002")
    assert consulta(sb, flaky).status_code == 503
    assert consulta(sb, flaky).json()["code"] == 200


def test_timeout_fixture_holds_the_request(sb: SandboxServer) -> None:
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        consulta(sb, complete("408000001"), timeout=0.3)
    assert time.perf_counter() - started < 2


def test_query_and_header_controls(sb: SandboxServer) -> None:
    ok = complete("200000002")
    started = time.perf_counter()
    assert consulta(sb, ok, params={"delay_ms": 300}).status_code == 200
    assert time.perf_counter() - started >= 0.3
    assert consulta(sb, ok, params={"fail": "503"}).status_code == 503
    assert consulta(sb, ok, headers={"X-Sandbox-Fail": "500"}).status_code == 500
    started = time.perf_counter()
    consulta(sb, ok, headers={"X-Sandbox-Delay-Ms": "200"})
    assert time.perf_counter() - started >= 0.2
    assert consulta(sb, ok, params={"fail": "bogus"}).status_code == 400


def test_config_fault_for_first_n_requests(sb: SandboxServer) -> None:
    sb.config.fail, sb.config.fail_times = "500", 2
    ok = complete("200000002")
    assert [consulta(sb, ok).status_code for _ in range(3)] == [500, 500, 200]
    assert [r.fault for r in sb.consultas()] == ["500", "500", None]


def test_request_log_masks_cpf(sb: SandboxServer) -> None:
    consulta(sb, DECK_CPF)
    httpx.get(f"{sb.url}/health")
    log = sb.requests
    assert [(r.path, r.cpf, r.status) for r in log] == [("/consulta", "•••.602.846-••", 200), ("/health", None, 200)]


def test_health_docs_openapi_404(sb: SandboxServer) -> None:
    assert httpx.get(f"{sb.url}/health").json() == {"status": "ok"}
    spec = httpx.get(f"{sb.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/consulta" in spec["paths"]
    assert "CPF não autorizado" in spec["info"]["description"]
    docs = httpx.get(f"{sb.url}/docs")
    assert docs.headers["content-type"].startswith("text/html") and DECK_CPF in docs.text
    assert httpx.get(f"{sb.url}/nowhere").status_code == 404


def test_readme_fixture_table_matches_code() -> None:
    readme = (ROOT / "sandbox" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d{3}\.\d{3}\.\d{3}-\d{2})` \| (\S+) \|", readme, flags=re.M)
    documented = {cpf: code for cpf, code in rows}
    assert set(documented) == {format_cpf(c) for c in FIXTURES}
    for cpf, profile in FIXTURES.items():
        assert is_valid(cpf)
        if profile.fault not in ("timeout", "malformed"):
            assert documented[format_cpf(cpf)] == str(profile.code)


def test_start_sandbox_returns_url_and_stop() -> None:
    url, stop = start_sandbox(port=0)
    try:
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=1)


def test_stop_releases_a_hanging_request() -> None:
    server = SandboxServer(hang_s=30).start()
    started = time.perf_counter()
    outcome: list[BaseException | httpx.Response] = []

    def ask() -> None:
        try:
            outcome.append(httpx.get(f"{server.url}/consulta?cpf={complete('408000001')}", timeout=10))
        except httpx.HTTPError as exc:  # the server went away mid-request: that is the point
            outcome.append(exc)

    t = threading.Thread(target=ask)
    t.start()
    time.sleep(0.2)
    server.stop()
    t.join(5)
    assert not t.is_alive() and time.perf_counter() - started < 5
    assert len(outcome) == 1  # the client got an answer or an error, not a hang


def test_standalone_cli() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        assert "FGTS sandbox on" in proc.stderr.readline()
        r = httpx.get(f"http://127.0.0.1:{port}/consulta", params={"cpf": DECK_CPF}, timeout=5)
        assert r.json()["code"] == 701
    finally:
        proc.terminate()
        proc.wait(5)
