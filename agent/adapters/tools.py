"""API tools: JSON-schema declarations, argument validation, the HTTP client, outcome → event.

The decision model picks a tool and its arguments (OpenAI function-calling format, see
``tool_schemas()``); ``ToolRegistry.call`` validates the arguments, calls the consultation API
with httpx (timeout, a few retries with backoff on 5xx and connection errors, never on 4xx),
and returns a frozen ``ToolResult`` whose ``outcome`` the journey turns into an event
(``OUTCOME_EVENTS``). The CPF is masked in every ``ToolResult``: results go into traces.

Evals can pin the API's answer with ``fixed_responses`` (CPF → JSON body): no HTTP at all.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

import httpx

from agent.br import cpf as cpf_rules

Outcome = Literal[
    "eligible",
    "not_authorized",
    "not_opted_in",
    "no_balance",
    "active_operation",
    "invalid_cpf",
    "api_error",
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

# Body ``code`` → outcome. 0 is accepted as "eligible" too: real bank APIs often use it for
# success, and accepting it costs nothing (the sandbox answers 200).
CODE_OUTCOMES: dict[int, Outcome] = {
    0: "eligible",
    200: "eligible",
    701: "not_authorized",
    702: "not_opted_in",
    703: "no_balance",
    704: "active_operation",
    400: "invalid_cpf",
}

# Outcome → journey event (agent/journey.py consumes these names).
OUTCOME_EVENTS: dict[Outcome, str] = {
    "eligible": "api_eligible",
    "not_authorized": "api_not_authorized",
    "not_opted_in": "api_not_opted_in",
    "no_balance": "api_no_balance",
    "active_operation": "api_active_operation",
    "invalid_cpf": "cpf_invalid",
    "api_error": "api_error",
}

Status = Literal["ok", "error", "invalid_args"]
Source = Literal["http", "fixed", "none"]


def outcome_for_code(code: Any) -> Outcome:
    """Map an API body ``code`` to an outcome; anything unknown is an ``api_error``."""
    try:
        return CODE_OUTCOMES.get(int(code), "api_error")
    except (TypeError, ValueError):
        return "api_error"


def event_for(outcome: str) -> str:
    """Journey event name for an outcome (``api_error`` for anything unknown)."""
    return OUTCOME_EVENTS.get(outcome, "api_error")  # type: ignore[call-overload]


# --- declarations ---------------------------------------------------------------------------


class ToolArgumentError(ValueError):
    """The model (or caller) gave arguments the tool cannot be called with."""

    def __init__(self, message: str, *, tool: str, field: str = "") -> None:
        super().__init__(message)
        self.tool = tool
        self.field = field


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its JSON schema for the model and the validator run before any call."""

    name: str
    description: str
    parameters: dict[str, Any]
    validate: Callable[[Mapping[str, Any]], dict[str, Any]] = field(repr=False)
    mask_args: Callable[[Mapping[str, Any]], dict[str, Any]] = field(repr=False)
    endpoint: str = "/consulta"  # GET path on the API; the validated args are the query string

    def schema(self) -> dict[str, Any]:
        """OpenAI function-calling declaration (what LiteLLM's ``tools=`` takes)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


def _validate_consultar_fgts(args: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(args) - {"cpf"}
    if unknown:
        raise ToolArgumentError(f"unexpected argument(s): {', '.join(sorted(unknown))}", tool="consultar_fgts")
    raw = args.get("cpf")
    if not isinstance(raw, str | int) or not str(raw).strip():
        raise ToolArgumentError("cpf is required (11 digits)", tool="consultar_fgts", field="cpf")
    number = cpf_rules.digits(str(raw))
    if len(number) != 11:
        raise ToolArgumentError(
            f"CPF must have 11 digits, got {len(number)}: ask the customer to type it again",
            tool="consultar_fgts",
            field="cpf",
        )
    if not cpf_rules.is_valid(number):
        raise ToolArgumentError(
            "CPF check digits do not match: ask the customer to check the number",
            tool="consultar_fgts",
            field="cpf",
        )
    return {"cpf": number}


def _mask_cpf_args(args: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(args)
    if "cpf" in masked:
        masked["cpf"] = cpf_rules.mask(str(masked["cpf"]))
    return masked


TOOLS: dict[str, ToolSpec] = {
    "consultar_fgts": ToolSpec(
        name="consultar_fgts",
        description=(
            "Consulta a situação do cliente no FGTS saque-aniversário (autorização do banco, adesão, "
            "saldo, operação ativa) e, se elegível, o saque anual e o valor disponível para antecipação. "
            "Chame somente com um CPF informado e confirmado pelo cliente."
        ),
        parameters={
            "type": "object",
            "properties": {
                "cpf": {
                    "type": "string",
                    "description": "CPF do cliente, 11 dígitos, com ou sem pontuação (ex.: 073.602.846-35)",
                }
            },
            "required": ["cpf"],
            "additionalProperties": False,
        },
        validate=_validate_consultar_fgts,
        mask_args=_mask_cpf_args,
        endpoint="/consulta",
    ),
}


def tool_schemas(names: list[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI-format declarations of the named tools (all when ``names`` is None)."""
    return [TOOLS[n].schema() for n in (names or list(TOOLS))]


def validate_args(name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Normalised arguments for tool ``name`` (``args`` may be the model's JSON string).

    Raises ``ToolArgumentError`` with a message that says what to ask the customer.
    """
    spec = TOOLS.get(name)
    if spec is None:
        raise ToolArgumentError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}", tool=name)
    if isinstance(args, str):
        try:
            args = json.loads(args or "{}")
        except json.JSONDecodeError as exc:
            raise ToolArgumentError(f"arguments are not valid JSON: {exc.msg}", tool=name) from exc
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ToolArgumentError("arguments must be a JSON object", tool=name)
    return spec.validate(args)


def masked_args(name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Arguments as they may appear in a trace (CPF masked), even when invalid."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return {"raw": cpf_rules.mask_in_text(args)}
    if not isinstance(args, Mapping):
        return {}
    spec = TOOLS.get(name)
    return spec.mask_args(args) if spec else {k: cpf_rules.mask_in_text(str(v)) for k, v in args.items()}


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    """What one tool call produced; safe to store in a trace (CPF masked)."""

    name: str
    args: dict[str, Any]
    status: Status
    http_status: int | None
    latency_ms: float
    outcome: Outcome
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0
    source: Source = "http"

    @property
    def event(self) -> str:
        """The journey event this result triggers."""
        return event_for(self.outcome)

    @property
    def ok(self) -> bool:
        """True when the API answered (any business outcome, including refusals)."""
        return self.status == "ok"

    @property
    def code(self) -> int | None:
        """The API's body ``code``, when there was a body."""
        value = self.data.get("code")
        return value if isinstance(value, int) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for traces, with the derived event."""
        return {**asdict(self), "event": self.event}


def _mask_data(body: Mapping[str, Any]) -> dict[str, Any]:
    # A real API may echo the CPF in clear: the trace must not.
    data = dict(body)
    for key in ("cpf", "documento", "document"):
        value = data.get(key)
        if isinstance(value, str | int) and "*" not in str(value):  # "*": already masked upstream
            data[key] = cpf_rules.mask(str(value))
    return data


def result_from_body(
    name: str,
    args: Mapping[str, Any],
    body: Any,
    *,
    http_status: int | None,
    latency_ms: float,
    attempts: int,
    source: Source,
) -> ToolResult:
    """Interpret an API JSON body (from HTTP or a fixed table) as a ``ToolResult``."""
    masked = _mask_cpf_args(args)
    if not isinstance(body, Mapping) or "code" not in body:
        return ToolResult(
            name=name,
            args=masked,
            status="error",
            http_status=http_status,
            latency_ms=latency_ms,
            outcome="api_error",
            data={"body": body} if isinstance(body, list | int | float | str) else {},
            error="FGTS API answered JSON without a 'code' field: check that FGTS_API_URL points at the consultation API",
            attempts=attempts,
            source=source,
        )
    outcome = outcome_for_code(body.get("code"))
    data = _mask_data(body)
    if outcome == "api_error":
        description = body.get("description") or "no description"
        error = f"FGTS API error {body.get('code')}: {description}"
        return ToolResult(name, masked, "error", http_status, latency_ms, outcome, data, error, attempts, source)
    return ToolResult(name, masked, "ok", http_status, latency_ms, outcome, data, None, attempts, source)


# --- the client -----------------------------------------------------------------------------

# Read/write timeouts are not retried: a customer is waiting in the chat, and a slow API retried
# only multiplies the wait. Connection failures and 5xx usually are brief, so they are.
_NO_RETRY = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)


@dataclass
class _Attempts:
    """Retry bookkeeping shared by the sync and async paths (one consultation)."""

    registry: ToolRegistry
    name: str
    args: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)
    attempt: int = 0

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def judge(self, response: httpx.Response | None, exc: httpx.HTTPError | None) -> ToolResult | float:
        """The final result, or how many seconds to wait before trying again."""
        reg = self.registry
        can_retry = self.attempt <= reg.retries
        delay = reg.backoff_s * (2 ** (self.attempt - 1))
        if exc is not None:
            if can_retry and not isinstance(exc, _NO_RETRY):
                return delay
            return self._error(None, _describe(exc, reg.api_url, self.attempt, reg.timeout_s))
        assert response is not None
        status = response.status_code
        if status >= 500 and can_retry:
            return delay
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if status >= 500:
            description = body.get("description") if isinstance(body, dict) else None
            detail = f": {description}" if description else ""
            return self._error(status, f"FGTS API HTTP {status}{detail} ({self.attempt} attempt(s))")
        if body is None:
            snippet = response.text[:60].replace("\n", " ")
            if status >= 400:
                return self._error(status, f"FGTS API HTTP {status} at {reg.api_url}: check FGTS_API_URL")
            return self._error(status, f"FGTS API returned malformed JSON (HTTP {status}): {snippet!r}")
        result = result_from_body(
            self.name,
            self.args,
            body,
            http_status=status,
            latency_ms=self.elapsed_ms(),
            attempts=self.attempt,
            source="http",
        )
        if status >= 400 and result.outcome == "api_error":
            return replace(
                result, error=f"{result.error} (HTTP {status} at {reg.api_url}): check FGTS_API_URL"
            )
        if status >= 400 and result.outcome == "eligible":
            # An error status with a success body is contradictory: trust the status.
            return self._error(status, f"FGTS API HTTP {status} with a success body")
        return result

    def _error(self, http_status: int | None, message: str) -> ToolResult:
        return ToolResult(
            name=self.name,
            args=_mask_cpf_args(self.args),
            status="error",
            http_status=http_status,
            latency_ms=self.elapsed_ms(),
            outcome="api_error",
            error=message,
            attempts=self.attempt,
        )


def _describe(exc: httpx.HTTPError, url: str, attempts: int, timeout_s: float) -> str:
    tries = f"{attempts} attempt(s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"FGTS API at {url} did not answer within {timeout_s:g} s ({type(exc).__name__}, {tries})"
    if isinstance(exc, httpx.ConnectError):
        return (
            f"cannot connect to the FGTS API at {url} ({exc or 'connection refused'}, {tries}): "
            "check FGTS_API_URL, or unset it to use the built-in sandbox"
        )
    return f"FGTS API request to {url} failed: {type(exc).__name__}: {exc} ({tries})"


class ToolRegistry:
    """The agent's tools bound to one API endpoint; sync ``call`` and async ``acall``.

    ``api_url=None`` uses the in-process sandbox (started on first HTTP call).
    ``fixed_responses`` maps a CPF (any punctuation) or ``"*"`` (any CPF) to the JSON body the
    API would return; matching CPFs never reach HTTP. CPFs not in the table go to ``api_url``.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        timeout_s: float = 8.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        fixed_responses: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/") if api_url else None
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.fixed_responses = {
            (k if k == "*" else cpf_rules.digits(k)): dict(v) for k, v in (fixed_responses or {}).items()
        }
        self._client: httpx.Client | None = None
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ToolRegistry:
        """Build from ``agent.config.Settings`` (``fgts_api_url``, ``tool_timeout_s``…)."""
        options: dict[str, Any] = {
            "api_url": getattr(settings, "fgts_api_url", None),
            "timeout_s": getattr(settings, "tool_timeout_s", 8.0),
        }
        return cls(**{**options, **overrides})

    @property
    def api_url(self) -> str:
        """The API base URL; resolving it starts the shared sandbox when none was configured."""
        if self._api_url is None:
            from sandbox import shared_sandbox_url  # lazy: fixed-response evals never start it

            self._api_url = shared_sandbox_url()
        return self._api_url

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format declarations of every tool."""
        return tool_schemas()

    # -- public calls --

    def call(self, name: str, args: Mapping[str, Any] | str | None) -> ToolResult:
        """Validate and run one tool call (blocking)."""
        early = self._prepare(name, args)
        if isinstance(early, ToolResult):
            return early
        # Set up before the clock starts: latency is the API's, not our client's construction.
        url, client = self.api_url + TOOLS[name].endpoint, self._sync_client()
        attempts = _Attempts(self, name, early)
        while True:
            attempts.attempt += 1
            response, error = None, None
            try:
                response = client.get(url, params=early)
            except httpx.HTTPError as exc:
                error = exc
            verdict = attempts.judge(response, error)
            if isinstance(verdict, ToolResult):
                return verdict
            time.sleep(verdict)

    async def acall(self, name: str, args: Mapping[str, Any] | str | None) -> ToolResult:
        """Validate and run one tool call without blocking the event loop."""
        early = self._prepare(name, args)
        if isinstance(early, ToolResult):
            return early
        # One AsyncClient per call: an AsyncClient is bound to the loop that created it, and
        # callers (Streamlit, evals, pytest) run several loops over a process's life.
        url = self.api_url + TOOLS[name].endpoint
        async with httpx.AsyncClient(timeout=self.timeout_s, verify=self._ssl_context()) as client:
            attempts = _Attempts(self, name, early)
            while True:
                attempts.attempt += 1
                response, error = None, None
                try:
                    response = await client.get(url, params=early)
                except httpx.HTTPError as exc:
                    error = exc
                verdict = attempts.judge(response, error)
                if isinstance(verdict, ToolResult):
                    return verdict
                await asyncio.sleep(verdict)

    def close(self) -> None:
        """Close the pooled sync connection (safe to call twice)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> ToolRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --

    def _prepare(self, name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any] | ToolResult:
        """Validated args, or the final result when no HTTP is needed (invalid args, fixed table)."""
        started = time.perf_counter()
        try:
            clean = validate_args(name, args)
        except ToolArgumentError as exc:
            outcome: Outcome = "invalid_cpf" if exc.field == "cpf" else "api_error"
            return ToolResult(
                name, masked_args(name, args), "invalid_args", None, 0.0, outcome, {}, str(exc), 0, "none"
            )
        fixed = self.fixed_responses.get(clean.get("cpf", ""), self.fixed_responses.get("*"))
        if fixed is not None:
            latency = round((time.perf_counter() - started) * 1000, 1)
            return result_from_body(
                name, clean, fixed, http_status=None, latency_ms=latency, attempts=0, source="fixed"
            )
        return clean

    def _ssl_context(self) -> ssl.SSLContext:
        # Building an SSL context costs ~10–30 ms (CA bundle load): do it once per registry.
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout_s, verify=self._ssl_context())
            return self._client
