"""agent/tools.py against the real sandbox over HTTP (no HTTP mocks)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest

from agent.br.cpf import complete
from agent.adapters.tools import ToolArgumentError, ToolResult
from agent.adapters.tools import ToolRegistry as Registry
from agent.core.pack import get_pack
from sandbox import SandboxServer

PACK = get_pack()  # the fgts pack declares the tool, its outcomes and events
OUTCOME_EVENTS, OUTCOMES, TOOLS = PACK.module.OUTCOME_EVENTS, PACK.module.OUTCOMES, PACK.tools
event_for, outcome_for_code = PACK.module.event_for, PACK.module.outcome_for_code
tool_schemas, validate_args = TOOLS.schemas, TOOLS.validate_args


def ToolRegistry(api_url: str | None = None, **options: object) -> Registry:  # noqa: N802
    """The fgts pack's tools bound to ``api_url`` (None: the pack's shared sandbox)."""
    return PACK.tool_registry(api_url=api_url, **options)


DECK_CPF = "073.602.846-35"
CASES = [
    (DECK_CPF, "not_authorized", "api_not_authorized", 701),
    (complete("200000002"), "eligible", "api_eligible", 200),
    (complete("701000001"), "not_authorized", "api_not_authorized", 701),
    (complete("702000001"), "not_opted_in", "api_not_opted_in", 702),
    (complete("703000001"), "no_balance", "api_no_balance", 703),
    (complete("704000001"), "active_operation", "api_active_operation", 704),
]


@pytest.fixture
def tools(sb: SandboxServer) -> Iterator[Registry]:
    with ToolRegistry(sb.url, timeout_s=2, retries=2, backoff_s=0.01) as registry:
        yield registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_schema_is_openai_function_format() -> None:
    (schema,) = tool_schemas()
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "consultar_fgts" and fn["parameters"]["required"] == ["cpf"]
    json.dumps(schema)  # serialisable as-is for LiteLLM
    assert list(TOOLS) == ["consultar_fgts"]


def test_every_outcome_has_an_event() -> None:
    assert set(OUTCOME_EVENTS) == set(OUTCOMES)
    assert event_for("eligible") == "api_eligible" and event_for("whatever") == "api_error"
    assert outcome_for_code(0) == outcome_for_code("200") == "eligible"
    assert outcome_for_code(999) == outcome_for_code(None) == "api_error"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"cpf": DECK_CPF}, {"cpf": "07360284635"}),
        ({"cpf": " 073 602 846 35 "}, {"cpf": "07360284635"}),
        ('{"cpf": "07360284635"}', {"cpf": "07360284635"}),
    ],
)
def test_validate_args_normalises(args: object, expected: dict) -> None:
    assert validate_args("consultar_fgts", args) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "required"),
        ({"cpf": "073.602.846-36"}, "check digits"),
        ({"cpf": "111.111.111-11"}, "check digits"),
        ({"cpf": "123"}, "11 digits"),
        ({"cpf": DECK_CPF, "extra": 1}, "unexpected"),
        ("{not json", "JSON"),
    ],
)
def test_validate_args_rejects(args: object, message: str) -> None:
    with pytest.raises(ToolArgumentError, match=message):
        validate_args("consultar_fgts", args)  # type: ignore[arg-type]


def test_unknown_tool() -> None:
    with pytest.raises(ToolArgumentError, match="unknown tool"):
        validate_args("transferir_dinheiro", {})


@pytest.mark.parametrize(("cpf", "outcome", "event", "code"), CASES)
def test_each_outcome_over_http(tools: Registry, sb: SandboxServer, cpf: str, outcome, event, code) -> None:
    result = tools.call("consultar_fgts", {"cpf": cpf})
    assert (result.outcome, result.event, result.code, result.status) == (outcome, event, code, "ok")
    assert result.http_status == 200 and result.attempts == 1 and result.source == "http"
    assert result.error is None and result.latency_ms > 0
    assert "•" in result.args["cpf"] and "•" in result.data["cpf"]  # masked for traces
    assert len(sb.consultas()) == 1
    if outcome == "eligible":
        assert result.data["balance"] == 4000.0 and result.data["yearly_withdrawal"] == 1350.0
        assert result.data["adhesion_date"] == "2020-07-01" and result.data["existing_operation"] is False


def test_async_call_matches_sync(tools: Registry) -> None:
    async def both() -> list[ToolResult]:
        return list(await asyncio.gather(*(tools.acall("consultar_fgts", {"cpf": c}) for c, *_ in CASES)))

    results = asyncio.run(both())
    assert [r.outcome for r in results] == [outcome for _, outcome, *_ in CASES]
    sync = tools.call("consultar_fgts", {"cpf": DECK_CPF})
    assert results[0].data == sync.data


def test_invalid_cpf_never_hits_http(tools: Registry, sb: SandboxServer) -> None:
    result = tools.call("consultar_fgts", {"cpf": "073.602.846-36"})
    assert result.outcome == "invalid_cpf" and result.status == "invalid_args"
    assert result.event == "cpf_invalid" and result.http_status is None and result.attempts == 0
    assert result.args == {"cpf": "•••.602.846-••"}
    assert "check digits" in (result.error or "")
    asyncio.run(tools.acall("consultar_fgts", {"cpf": "12"}))
    assert sb.requests == []


def test_timeout_is_api_error_without_retry(sb: SandboxServer) -> None:
    sb.config.delay_ms = 1500
    with ToolRegistry(sb.url, timeout_s=0.3, retries=2, backoff_s=0.01) as tools:
        started = time.perf_counter()
        result = tools.call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.outcome == "api_error" and result.event == "api_error"
    assert "did not answer within 0.3 s" in (result.error or "")
    assert result.attempts == 1  # a slow API is not retried: the customer is waiting
    assert 250 < result.latency_ms < 1200 and time.perf_counter() - started < 1.2


def test_timeout_fixture_async(sb: SandboxServer) -> None:
    tools = ToolRegistry(sb.url, timeout_s=0.3)
    result = asyncio.run(tools.acall("consultar_fgts", {"cpf": complete("408000001")}))
    assert result.outcome == "api_error" and "ReadTimeout" in (result.error or "")


def test_a_timed_out_request_never_reaches_the_next_tests_log(sb: SandboxServer) -> None:
    import httpx

    # The client gives up; the server still holds the request (what the timeout tests above leave). The client
    # waits 0.5 s first, so that on a loaded machine the request has surely reached the server before the reset.
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{sb.url}/consulta", params={"cpf": DECK_CPF, "delay_ms": 1500}, timeout=0.5)
    sb.reset()  # what the next test's fixture does
    sb.config.fail, sb.config.fail_times = "503", 1
    time.sleep(1.2)  # the straggler's delay runs out meanwhile
    assert sb.requests == []
    assert httpx.get(f"{sb.url}/consulta", params={"cpf": DECK_CPF}).status_code == 503  # fail_times intact


def test_500_is_retried_then_reported(tools: Registry, sb: SandboxServer) -> None:
    result = tools.call("consultar_fgts", {"cpf": complete("500000001")})
    assert result.outcome == "api_error" and result.status == "error" and result.http_status == 500
    assert result.attempts == 3 and len(sb.consultas()) == 3
    assert result.error == "FGTS API HTTP 500: Erro interno no serviço de consulta (3 attempt(s))"


def test_transient_503_recovers_on_retry(tools: Registry, sb: SandboxServer) -> None:
    sb.config.fail, sb.config.fail_times = "503", 1
    result = tools.call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.outcome == "not_authorized" and result.attempts == 2
    assert [r.status for r in sb.consultas()] == [503, 200]
    flaky = asyncio.run(tools.acall("consultar_fgts", {"cpf": complete("503000002")}))
    assert flaky.outcome == "eligible" and flaky.attempts == 2


def test_no_retries_when_disabled(sb: SandboxServer) -> None:
    sb.config.fail = "503"
    result = ToolRegistry(sb.url, retries=0).call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.attempts == 1 and result.http_status == 503 and len(sb.consultas()) == 1


def test_4xx_is_not_retried(tools: Registry, sb: SandboxServer) -> None:
    # Our validator accepts the CPF, but the API may be stricter: its 400 is final.
    with ToolRegistry(f"{sb.url}/nowhere", retries=2, backoff_s=0.01) as wrong_path:
        result = wrong_path.call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.outcome == "api_error" and result.http_status == 404 and result.attempts == 1
    assert "check FGTS_API_URL" in (result.error or "")


def test_malformed_json(tools: Registry) -> None:
    result = tools.call("consultar_fgts", {"cpf": complete("900000001")})
    assert result.outcome == "api_error" and result.http_status == 200
    assert (result.error or "").startswith("FGTS API returned malformed JSON")


def test_connection_refused_is_readable(sb: SandboxServer) -> None:
    port = free_port()  # bound then closed: nothing listens there
    with ToolRegistry(f"http://127.0.0.1:{port}", retries=2, backoff_s=0.01) as tools:
        result = tools.call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.outcome == "api_error" and result.event == "api_error" and result.http_status is None
    assert result.attempts == 3
    assert f"cannot connect to the FGTS API at http://127.0.0.1:{port}" in (result.error or "")
    assert "FGTS_API_URL" in (result.error or "")
    async_result = asyncio.run(
        ToolRegistry(f"http://127.0.0.1:{port}", backoff_s=0.01).acall("consultar_fgts", {"cpf": DECK_CPF})
    )
    assert async_result.outcome == "api_error" and async_result.attempts == 3


def test_fixed_responses_skip_http(sb: SandboxServer) -> None:
    fixed = {
        DECK_CPF: {"code": 200, "description": "ok", "balance": 1000.0, "cpf": "07360284635"},
        complete("702000001"): {"code": 503, "description": "fora do ar"},
    }
    tools = ToolRegistry(sb.url, fixed_responses=fixed)
    eligible = tools.call("consultar_fgts", {"cpf": "07360284635"})
    assert eligible.outcome == "eligible" and eligible.source == "fixed" and eligible.http_status is None
    assert eligible.data["cpf"] == "•••.602.846-••"
    down = asyncio.run(tools.acall("consultar_fgts", {"cpf": complete("702000001")}))
    assert down.outcome == "api_error" and down.error == "FGTS API error 503: fora do ar"
    assert sb.requests == []
    # CPFs not in the table still go to the API.
    assert tools.call("consultar_fgts", {"cpf": complete("704000001")}).outcome == "active_operation"
    assert len(sb.consultas()) == 1


def test_fixed_wildcard_and_bad_body() -> None:
    tools = ToolRegistry("http://127.0.0.1:9", fixed_responses={"*": {"description": "sem code"}})
    result = tools.call("consultar_fgts", {"cpf": DECK_CPF})
    assert result.outcome == "api_error" and "without a 'code' field" in (result.error or "")


def test_result_is_frozen_and_serialisable(tools: Registry) -> None:
    result = tools.call("consultar_fgts", {"cpf": complete("200000001")})
    with pytest.raises(AttributeError):
        result.outcome = "api_error"  # type: ignore[misc]
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["event"] == "api_eligible" and payload["args"] == {"cpf": "•••.000.001-••"}
    assert "200000001" not in json.dumps(payload)


def test_default_url_is_the_shared_sandbox() -> None:
    tools = ToolRegistry()
    assert tools.call("consultar_fgts", {"cpf": DECK_CPF}).outcome == "not_authorized"
    assert tools.api_url.startswith("http://127.0.0.1:")


def test_from_settings(settings, sb: SandboxServer) -> None:  # settings: tests/conftest.py
    tools = PACK.tool_registry(settings.with_pack_settings(api_url=sb.url + "/"), retries=0)
    assert tools.api_url == sb.url and tools.retries == 0 and tools.timeout_s == settings.tool_timeout_s


def test_what_a_prompt_sees_of_a_result_does_not_depend_on_load_or_transport() -> None:
    # A retried 500 on a loaded machine (1,013.8 ms: one more token than 616.7) and the same fault on a quiet one;
    # a timeout and a refused connection carry the sandbox's URL and attempt count: the model sees none of it.
    def fault(latency: float, attempts: int, error: str, status: int | None = 500) -> ToolResult:
        return ToolResult("consultar_fgts", {"cpf": "***"}, "error", status, latency, "api_error", {}, error, attempts)

    quiet = fault(616.7, 3, "FGTS API HTTP 500: Erro interno (3 attempt(s))")
    loaded = fault(1013.8, 2, "FGTS API HTTP 500: Erro interno (2 attempt(s))")
    assert quiet.for_model() == loaded.for_model()
    assert quiet.for_model()["error"] == "api_error (HTTP 500)"
    assert "latency_ms" not in quiet.for_model() and "attempts" not in quiet.for_model()
    timeout = fault(8003.1, 1, "FGTS API at http://127.0.0.1:40123 did not answer within 8 s (ReadTimeout, 1 attempt(s))",
                    status=None)
    refused = fault(2.0, 3, "cannot connect to the FGTS API at http://127.0.0.1:51515 (refused, 3 attempt(s))",
                    status=None)
    assert timeout.for_model() == refused.for_model() and timeout.for_model()["error"] == "api_error (no HTTP answer)"
    ok = ToolResult("consultar_fgts", {"cpf": "***"}, "ok", 200, 8.7, "eligible", {"code": 0, "saldo": 4000.0})
    assert ok.for_model() == {k: v for k, v in ok.to_dict().items() if k not in {"latency_ms", "attempts", "source"}}
