"""The FGTS consultation API simulator: a stdlib HTTP server (no dependency beyond the stdlib).

Endpoints: ``GET /consulta?cpf=``, the contract endpoints of the contrato pack
(``GET /contrato?cpf=``, ``GET /contrato/quitacao?cpf=``, ``GET|POST /contrato/ccb?cpf=&email=``;
see ``sandbox/contrato.py``), ``GET /health``, ``GET /openapi.json``, ``GET /docs``.
Faults for tests come from four places, strongest first: the ``fail``/``delay_ms`` query
parameters, the ``X-Sandbox-Fail``/``X-Sandbox-Delay-Ms`` headers, the server's
``SandboxConfig`` (constructor arguments, mutable at run time), and fixture CPFs; they apply to
every API endpoint (``/consulta`` and ``/contrato…``), never to ``/health`` or the docs.
"""

from __future__ import annotations

import atexit
import html
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from agent.br.cpf import digits, format_cpf, is_valid, mask
from agent.config import PROJECT_ROOT
from agent.core.pack import import_pack_module
from sandbox.contrato import CONTRACT_DESCRIPTIONS, CONTRACT_FIXTURES, CONTRACT_TODAY, ccb_body, contrato_body, quitacao_body
from sandbox.fixtures import (
    CODE_ACTIVE_OPERATION,
    CODE_ELIGIBLE,
    CODE_INTERNAL_ERROR,
    CODE_INVALID_CPF,
    CODE_UNAVAILABLE,
    DESCRIPTIONS,
    FAULTS,
    FIXTURES,
    profile_for,
)

# The FGTS arithmetic is the fgts pack's own (prompts/fgts/rules.py, with its dated advance_rules.yaml):
# the simulator answers by the same law.
FGTS_RULES = import_pack_module(PROJECT_ROOT / "prompts" / "fgts", "rules")
DEFAULT_MONTHLY_RATE = FGTS_RULES.DEFAULT_MONTHLY_RATE
advance_estimate = FGTS_RULES.advance_estimate
yearly_withdrawal = FGTS_RULES.yearly_withdrawal

log = logging.getLogger("sandbox")

# Cut in the middle of a string on purpose: a client must survive a body that is not JSON.
MALFORMED_BODY = b'{"code": 200, "description": "Consulta realiz'


@dataclass
class SandboxConfig:
    """Server-wide behaviour; tests may change fields while the server runs."""

    delay_ms: int = 0
    fail: str | None = None  # one of FAULTS, applied to every /consulta
    # Apply ``fail`` to the first N /consulta requests only (None: to all of them).
    fail_times: int | None = None
    hang_s: float = 30.0  # how long a "timeout" fault keeps the client waiting
    # By default an eligible body carries the facts only (balance, yearly withdrawal, dates): the
    # amount that may be advanced depends on the FGTS rules of the conversation's date, which the
    # agent's pack applies. ``quote_on`` makes the sandbox quote it too, like a bank API that prices
    # the advance itself: ``available_advance`` and ``advance{…}`` under the rules of that date.
    quote_on: date | None = None
    advance_years: int | None = None  # the bank's own limit for the quote (None: the rules' maximum)
    monthly_rate: Decimal = DEFAULT_MONTHLY_RATE
    # The contract endpoints' "today": fixed, so instalments paid/open and quotes are repeatable.
    contract_today: date = CONTRACT_TODAY

    def __post_init__(self) -> None:
        if self.fail is not None and self.fail not in FAULTS:
            raise ValueError(f"fail must be one of {FAULTS}, got {self.fail!r}")


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox served (CPF masked: the sandbox log is a log like any other)."""

    method: str
    path: str
    cpf: str | None
    status: int
    fault: str | None
    at: float = field(default_factory=time.time)


def _money(value: Decimal) -> float:
    # JSON numbers with two decimals, as bank APIs usually send; clients read them via str().
    return float(value)


def consulta_body(cpf: str, config: SandboxConfig | None = None) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``/consulta`` for a CPF, ignoring faults (pure)."""
    config = config or SandboxConfig()
    if not is_valid(cpf):
        return HTTPStatus.BAD_REQUEST, {
            "code": CODE_INVALID_CPF,
            "description": DESCRIPTIONS[CODE_INVALID_CPF],
            "detail": "Informe os 11 dígitos do CPF com dígitos verificadores corretos.",
        }
    profile = profile_for(cpf)
    body: dict[str, Any] = {
        "code": profile.code,
        "description": DESCRIPTIONS[profile.code],
        "cpf": mask(cpf),
    }
    if profile.code == CODE_ACTIVE_OPERATION:
        # The operation that holds the balance, and when (the one-operation-a-year rule needs the date).
        body.update(existing_operation=True, operation_date=_iso(profile.operation_date),
                    adhesion_date=_iso(profile.adhesion_date))
        return HTTPStatus.OK, body
    if profile.code != CODE_ELIGIBLE:
        # Refusals carry no balance: a bank that is not authorised must not see it.
        return HTTPStatus.OK, body
    body.update(
        balance=_money(profile.balance),
        birth_month=profile.birth_month,
        yearly_withdrawal=_money(yearly_withdrawal(profile.balance)),
        adhesion_date=_iso(profile.adhesion_date),
        existing_operation=False,
    )
    if config.quote_on is not None:
        body.update(_quote(profile.balance, profile.birth_month, config))
    return HTTPStatus.OK, body


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _quote(balance: Decimal, birth_month: int, config: SandboxConfig) -> dict[str, Any]:
    """The advance priced by the sandbox under the rules in force on ``config.quote_on``."""
    assert config.quote_on is not None
    estimate = advance_estimate(balance, config.quote_on, config.monthly_rate, birth_month=birth_month,
                                max_instalments=config.advance_years)
    return {
        "available_advance": _money(estimate.total_net),
        "advance": {
            "quoted_on": config.quote_on.isoformat(),
            "years": estimate.instalments,
            "monthly_rate": float(config.monthly_rate),
            "total_advanced": _money(estimate.total_advanced),
            "total_net": _money(estimate.total_net),
            "instalments": [
                {
                    "year": row.year,
                    "months_until_payment": row.months_until_payment,
                    "withdrawal": _money(row.withdrawal),
                    "advanced": _money(row.advanced),
                    "present_value": _money(row.present_value),
                }
                for row in estimate.rows
            ],
        },
    }


def _error_body(code: int) -> dict[str, Any]:
    return {"code": code, "description": DESCRIPTIONS[code]}


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, so httpx's connection pool is exercised
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        # What the request log records; set by _consulta, logged by _send *before* the answer
        # leaves, so a client that got its answer always finds its request in the log.
        self._log_cpf: str | None = None
        self._log_fault: str | None = None
        # The log generation this request belongs to: once ``reset()`` starts a new one, a request
        # still held by a delay is an earlier test's straggler and must not reach the new log.
        self._generation = self.server.sandbox.generation
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        routes: dict[str, Callable[[dict[str, str]], None]] = {
            "/consulta": self._consulta,
            "/contrato": lambda q: self._api(q, lambda: contrato_body(q.get("cpf", ""), self._today())),
            "/contrato/quitacao": lambda q: self._api(q, lambda: quitacao_body(q.get("cpf", ""), self._today())),
            "/contrato/ccb": self._ccb,
            "/health": lambda q: self._json(HTTPStatus.OK, {"status": "ok"}),
            "/openapi.json": lambda q: self._json(HTTPStatus.OK, openapi()),
            "/docs": lambda q: self._send(HTTPStatus.OK, docs_html().encode(), "text/html; charset=utf-8"),
            "/": lambda q: self._send(HTTPStatus.OK, docs_html().encode(), "text/html; charset=utf-8"),
        }
        path = url.path.rstrip("/") or "/"
        route = routes.get(path)
        if route is None:
            self._json(
                HTTPStatus.NOT_FOUND,
                {
                    "code": 404,
                    "description": "Rota não encontrada",
                    "endpoints": [
                        "/consulta?cpf=",
                        "/contrato?cpf=",
                        "/contrato/quitacao?cpf=",
                        "/contrato/ccb?cpf=&email=",
                        "/health",
                        "/openapi.json",
                        "/docs",
                    ],
                },
            )
            return
        route(query)

    def do_POST(self) -> None:
        # Only the CCB copy is an action; its parameters may come in the query, a JSON or a form body.
        self._log_cpf, self._log_fault = None, None
        self._generation = self.server.sandbox.generation
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = _int(self.headers.get("Content-Length")) or 0
        raw = self.rfile.read(length) if length else b""
        try:
            if raw and "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw)
                query.update({str(k): str(v) for k, v in (body.items() if isinstance(body, dict) else ())})
            elif raw:
                query.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()})
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._json(HTTPStatus.BAD_REQUEST, {"code": 400, "description": "Corpo da requisição inválido"})
            return
        if (url.path.rstrip("/") or "/") != "/contrato/ccb":
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"code": 405, "description": "Use GET nesta rota"})
            return
        self._ccb(query)

    def _today(self) -> date:
        return self.server.sandbox.config.contract_today

    def _ccb(self, query: dict[str, str]) -> None:
        self._api(query, lambda: ccb_body(query.get("cpf", ""), query.get("email", ""), self._today()))

    def _consulta(self, query: dict[str, str]) -> None:
        self._api(query, lambda: consulta_body(query.get("cpf", ""), self.server.sandbox.config))

    def _api(self, query: dict[str, str], answer: Callable[[], tuple[int, dict[str, Any]]]) -> None:
        """One API request: delay, faults (query > header > config > fixture CPF), then ``answer()``."""
        sandbox = self.server.sandbox
        cpf = query.get("cpf", "")
        self._log_cpf = mask(cpf) if cpf else None
        delay_ms = _int(query.get("delay_ms") or self.headers.get("X-Sandbox-Delay-Ms"))
        if delay_ms is None:
            delay_ms = sandbox.config.delay_ms
        if delay_ms and sandbox.hold(delay_ms / 1000, self._generation):
            self.close_connection = True  # shutting down or reset: drop the request unanswered
            return
        fault = (query.get("fail") or self.headers.get("X-Sandbox-Fail")
                 or sandbox.take_config_fault(generation=self._generation))
        if fault and fault not in FAULTS:
            self._json(
                HTTPStatus.BAD_REQUEST,
                {"code": 400, "description": f"fail deve ser um de {list(FAULTS)}"},
            )
            return
        if not fault and is_valid(cpf):
            fault = profile_for(cpf).fault
            if fault == "flaky" and not sandbox.first_sight(digits(cpf)):
                fault = None
        self._log_fault = fault
        if fault:
            self._serve_fault(fault)
        else:
            self._json(*answer())

    def _serve_fault(self, fault: str) -> None:
        if fault == "500":
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, _error_body(CODE_INTERNAL_ERROR))
        elif fault in ("503", "flaky"):
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, _error_body(CODE_UNAVAILABLE), {"Retry-After": "1"})
        elif fault == "malformed":
            self._send(HTTPStatus.OK, MALFORMED_BODY, "application/json")
        else:  # "timeout": hold the connection until the client gives up (or the server stops).
            self._record(HTTPStatus.GATEWAY_TIMEOUT)  # now, so tests see the request while it hangs
            # Released early when the server stops or resets; the 504 is not logged again either way.
            self.server.sandbox.hold(self.server.sandbox.config.hang_s, self._generation)
            self._json(HTTPStatus.GATEWAY_TIMEOUT, _error_body(CODE_UNAVAILABLE), record=False)

    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None, *, record: bool = True
    ) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self._send(status, payload, "application/json; charset=utf-8", headers, record=record)

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        record: bool = True,
    ) -> None:
        if record:
            self._record(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired): nothing to answer to.
            self.close_connection = True

    def _record(self, status: int) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        self.server.sandbox.record(RequestRecord(self.command or "GET", path, self._log_cpf, int(status),
                                                 self._log_fault), generation=self._generation)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class _HTTPServer(ThreadingHTTPServer):
    # A hanging "timeout" request must never block interpreter exit.
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


class SandboxServer:
    """The simulator on a background thread: ``with SandboxServer() as sb: httpx.get(sb.url + …)``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        **options: Any,
    ):
        self.config = config or SandboxConfig(**options)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        # Wakes the requests held by a delay or a "timeout" fault when the server stops or resets.
        self._changed = threading.Condition(self._lock)
        self._generation = 0
        self._requests: list[RequestRecord] = []
        self._seen: set[str] = set()
        self._config_faults_served = 0
        self._httpd = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of every request served so far (CPFs masked)."""
        with self._lock:
            return list(self._requests)

    def consultas(self) -> list[RequestRecord]:
        """Only the ``/consulta`` requests."""
        return [r for r in self.requests if r.path == "/consulta"]

    def contratos(self) -> list[RequestRecord]:
        """Only the contract requests (``/contrato``, ``/contrato/quitacao``, ``/contrato/ccb``)."""
        return [r for r in self.requests if r.path.startswith("/contrato")]

    def reset(self) -> None:
        """Forget requests, flaky state and the ``fail_times`` counter (config is kept).

        Starts a new log generation: requests still held by a delay or a "timeout" fault (a test
        whose client gave up) are dropped unanswered at once, so they never land in the new log nor
        use up the new ``fail_times``.
        """
        with self._lock:
            self._generation += 1
            self._requests.clear()
            self._seen.clear()
            self._config_faults_served = 0
            self._changed.notify_all()

    @property
    def generation(self) -> int:
        """How many times ``reset()`` ran: a request remembers the generation it arrived in."""
        with self._lock:
            return self._generation

    def hold(self, seconds: float, generation: int) -> bool:
        """Keep a request waiting up to ``seconds``. True if it must be dropped instead: the server
        is stopping, or ``reset()`` started a generation after the request's."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not (self.stopping.is_set() or self._generation != generation):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def record(self, entry: RequestRecord, *, generation: int | None = None) -> None:
        """Add to the request log; an entry of an earlier ``generation`` (before a reset) is left out."""
        with self._lock:
            if generation is None or generation == self._generation:
                self._requests.append(entry)

    def first_sight(self, cpf_digits: str) -> bool:
        """True the first time this server sees a CPF (drives the "flaky" fixture)."""
        with self._lock:
            if cpf_digits in self._seen:
                return False
            self._seen.add(cpf_digits)
            return True

    def take_config_fault(self, *, generation: int | None = None) -> str | None:
        """The configured fault for this request, counting it against ``fail_times`` (a request of
        an earlier ``generation``, before a reset, gets none and counts for nothing)."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return None
            fail, limit = self.config.fail, self.config.fail_times
            if fail is None or (limit is not None and self._config_faults_served >= limit):
                return None
            self._config_faults_served += 1
            return fail

    def start(self) -> Self:
        """Serve on a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fgts-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread (``python -m sandbox``)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and release the port; hanging requests are released first."""
        self.stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(port: int = 0, host: str = "127.0.0.1", **options: Any) -> tuple[str, Callable[[], None]]:
    """Start the simulator in-process on a background thread; returns ``(base_url, stop)``.

    ``port=0`` picks a free port. ``options`` are ``SandboxConfig`` fields (``delay_ms``,
    ``fail``, ``fail_times``, ``hang_s``, ``quote_on``, ``advance_years``, ``monthly_rate``).
    """
    server = SandboxServer(host, port, **options).start()
    return server.url, server.stop


_shared: SandboxServer | None = None
_shared_lock = threading.Lock()


def shared_sandbox_url() -> str:
    """URL of one process-wide sandbox, started on first use: the default ``FGTS_API_URL``."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SandboxServer().start()
            atexit.register(_shared.stop)
        return _shared.url


def openapi() -> dict[str, Any]:
    """OpenAPI 3 description of the simulator, with every code."""
    codes = "\n".join(f"- `{code}`: {text}" for code, text in sorted(DESCRIPTIONS.items()))
    contract_codes = "\n".join(f"- `{code}`: {text}" for code, text in sorted(CONTRACT_DESCRIPTIONS.items()))
    cpf_param = {"name": "cpf", "in": "query", "required": True, "schema": {"type": "string"},
                 "example": "200.100.001-43", "description": "11 digits, punctuation optional"}
    email_param = {"name": "email", "in": "query", "required": True, "schema": {"type": "string"},
                   "example": "maria.souza@gmail.com",
                   "description": "where to send the copy: must be the e-mail registered in the contract"}
    contract_paths = {
        "/contrato": {"get": {
            "summary": "The CPF's FGTS-advance contract: status, instalments paid and open, amounts",
            "parameters": [cpf_param],
            "responses": {"200": {"description": "code 200 active, 804 active with an instalment in arrears, "
                                                 "803 settled, 801 no contract"},
                          "400": {"description": "code 400: invalid CPF"}}}},
        "/contrato/quitacao": {"get": {
            "summary": "Early-settlement quote (open instalments discounted at the contract rate, no fee)",
            "parameters": [cpf_param],
            "responses": {"200": {"description": "code 200 quote (valor_quitacao, desconto, valido_ate), "
                                                 "803 settled, 801 no contract"},
                          "400": {"description": "code 400: invalid CPF"}}}},
        "/contrato/ccb": {op: {
            "summary": "Send the CCB's second copy (PDF) to the e-mail registered in the contract",
            "parameters": [cpf_param, email_param],
            "responses": {"200": {"description": "code 200 sent (protocolo), 805 not the registered e-mail, "
                                                 "801 no contract"},
                          "400": {"description": "code 400 invalid CPF, 802 invalid e-mail"}}}
            for op in ("get", "post")},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "FGTS consultation API (sandbox)",
            "version": "1.0",
            "description": "Deterministic simulator of the FGTS saque-aniversário consultation. "
            "Body `code` values:\n" + codes + "\n\nContract endpoints (`/contrato…`), body `code` values:\n"
            + contract_codes,
        },
        "paths": {
            **contract_paths,
            "/consulta": {
                "get": {
                    "summary": "Consult a CPF's saque-aniversário situation",
                    "parameters": [
                        {
                            "name": "cpf",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "example": "073.602.846-35",
                            "description": "11 digits, punctuation optional",
                        },
                        {
                            "name": "delay_ms",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer"},
                            "description": "Test control: wait before answering (also header X-Sandbox-Delay-Ms)",
                        },
                        {
                            "name": "fail",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": list(FAULTS)},
                            "description": "Test control: force a fault (also header X-Sandbox-Fail)",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "code 200 eligible (balance, birth_month, yearly_withdrawal, "
                            "adhesion_date, existing_operation; available_advance and advance only when the "
                            "server quotes: quote_on) or 701/702/703/704 refusal (704: existing_operation, "
                            "operation_date, adhesion_date)"
                        },
                        "400": {"description": "code 400: invalid CPF"},
                        "500": {"description": "code 500: internal error"},
                        "503": {"description": "code 503: unavailable (Retry-After)"},
                        "504": {"description": "the 'timeout' fault, after hang_s"},
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": {"description": '{"status": "ok"}'}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI"}},
                }
            },
            "/docs": {
                "get": {
                    "summary": "Human-readable docs",
                    "responses": {"200": {"description": "HTML"}},
                }
            },
        },
    }


def docs_html() -> str:
    """A one-page HTML description: endpoints, codes, fixture CPFs, fault controls."""
    codes = "".join(f"<tr><td>{c}</td><td>{html.escape(d)}</td></tr>" for c, d in sorted(DESCRIPTIONS.items()))
    fixtures = "".join(
        f"<tr><td><code>{format_cpf(cpf)}</code></td><td>{p.code}</td><td>{p.fault or ''}</td>"
        f"<td>{p.balance}</td><td>{html.escape(p.note)}</td></tr>"
        for cpf, p in FIXTURES.items()
    )
    contract_codes = "".join(f"<tr><td>{c}</td><td>{html.escape(d)}</td></tr>"
                             for c, d in sorted(CONTRACT_DESCRIPTIONS.items()))
    contracts = "".join(
        f"<tr><td><code>{format_cpf(cpf)}</code></td><td>{html.escape(c.number or '—')}</td>"
        f"<td>{html.escape(c.email)}</td><td>{html.escape(c.note)}</td></tr>"
        for cpf, c in CONTRACT_FIXTURES.items()
    )
    return f"""<!doctype html><html lang="pt-BR"><meta charset="utf-8"><title>FGTS sandbox</title>
<h1>FGTS consultation API — sandbox</h1>
<p><code>GET /consulta?cpf=073.602.846-35</code> · <code>GET /health</code> ·
<a href="/openapi.json"><code>GET /openapi.json</code></a></p>
<h2>Codes</h2><table border=1><tr><th>code</th><th>description</th></tr>{codes}</table>
<h2>Fixture CPFs</h2><table border=1><tr><th>CPF</th><th>code</th><th>fault</th><th>balance</th><th>note</th></tr>
{fixtures}</table>
<p>Any other valid CPF: deterministic rule on sha256 of its digits (see sandbox/README.md).</p>
<h2>Contract endpoints</h2><p><code>GET /contrato?cpf=</code> ·
<code>GET /contrato/quitacao?cpf=</code> · <code>GET|POST /contrato/ccb?cpf=&amp;email=</code>
(today = {CONTRACT_TODAY.isoformat()})</p><table border=1><tr><th>code</th><th>description</th></tr>{contract_codes}</table>
<table border=1><tr><th>CPF</th><th>contract</th><th>registered e-mail</th><th>note</th></tr>{contracts}</table>
<h2>Fault controls</h2><p>Query <code>delay_ms</code>, <code>fail</code>={"|".join(FAULTS)};
headers <code>X-Sandbox-Delay-Ms</code>, <code>X-Sandbox-Fail</code>; server config / environment
<code>SANDBOX_DELAY_MS</code>, <code>SANDBOX_FAIL</code>.</p></html>"""
