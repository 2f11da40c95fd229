"""API tools: declarations from typed Python functions, the HTTP client, outcome → journey event.

A pack declares its tools as typed functions (as simonw/llm's ``Tool.function`` does)::

    @tool(endpoint="/consulta", codes={200: "eligible", 701: "not_authorized"},
          events={"eligible": "api_eligible", "not_authorized": "api_not_authorized"})
    def consultar(documento: Annotated[str, "documento do cliente, 11 dígitos"]) -> dict[str, Any]:
        # docstring: what the tool does, for the model
        return {"documento": normalise_or_raise(documento)}

The function's signature is the JSON schema the model sees (``Annotated`` strings describe the
parameters, the docstring describes the tool); its body validates and normalises the arguments,
raising ``ToolArgumentError`` with a sentence that says what to ask the customer. The decision
model picks a tool and arguments; ``ToolRegistry.call`` validates them, calls the pack's API with
httpx (timeout, a few retries with backoff on 5xx and connection errors, never on 4xx) and returns
a frozen ``ToolResult`` whose ``outcome`` the journey turns into an event. Results are masked with
the tool's maskers: they go into traces.

Evals can pin the API's answer with ``fixed_responses`` (key argument → JSON body): no HTTP at all.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import httpx

Status = Literal["ok", "error", "invalid_args"]
Source = Literal["http", "fixed", "none"]
API_ERROR = "api_error"


class ToolArgumentError(ValueError):
    """The model (or caller) gave arguments the tool cannot be called with.

    ``outcome`` names the business outcome of such a call (e.g. an invalid document), when the
    journey has an event for it; otherwise the call is an ``api_error``.
    """

    def __init__(self, message: str, *, tool: str = "", field: str = "", outcome: str = API_ERROR) -> None:
        super().__init__(message)
        self.tool = tool
        self.field = field
        self.outcome = outcome


_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _identity(values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(values)


@dataclass(frozen=True)
class Tool:
    """One tool: its schema (from a typed function), validator, endpoint and outcome tables."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., dict[str, Any]] = field(repr=False)
    endpoint: str = "/"
    method: str = "GET"  # GET sends the arguments as the query string; POST/PUT as a JSON body
    codes: Mapping[int, str] = field(default_factory=dict)
    events: Mapping[str, str] = field(default_factory=dict)
    service: str = "API"
    url_setting: str = "API_URL"
    invalid_outcome: str = API_ERROR  # outcome of a call whose arguments are missing
    mask_args: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=_identity, repr=False)
    mask_data: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=_identity, repr=False)

    @classmethod
    def from_function(cls, fn: Callable[..., dict[str, Any]], **options: Any) -> Tool:
        """Declare a tool from a typed function: name, docstring and parameters become the schema."""
        hints = typing.get_type_hints(fn, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, param in inspect.signature(fn).parameters.items():
            hint = hints.get(name, str)
            description = ""
            if typing.get_origin(hint) is typing.Annotated:
                hint, *extras = typing.get_args(hint)
                description = next((str(e) for e in extras if isinstance(e, str)), "")
            prop: dict[str, Any] = {"type": _JSON_TYPES.get(hint, "string")}
            if description:
                prop["description"] = description
            properties[name] = prop
            if param.default is inspect.Parameter.empty:
                required.append(name)
        parameters = {"type": "object", "properties": properties, "required": required,
                      "additionalProperties": False}
        doc = " ".join(inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0].split())
        return cls(name=fn.__name__, description=doc, parameters=parameters, function=fn, **options)

    @property
    def success_outcome(self) -> str:
        """The outcome of the API's success code (200, else 0)."""
        return self.codes.get(200) or self.codes.get(0) or "ok"

    @property
    def key_argument(self) -> str:
        """The first required argument: what ``fixed_responses`` are keyed by."""
        required = self.parameters.get("required") or list(self.parameters["properties"])
        return str(required[0]) if required else ""

    def schema(self) -> dict[str, Any]:
        """OpenAI function-calling declaration (what LiteLLM's ``tools=`` takes)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Normalised arguments, or ``ToolArgumentError`` saying what is wrong."""
        properties = self.parameters["properties"]
        unknown = set(args) - set(properties)
        if unknown:
            raise ToolArgumentError(f"unexpected argument(s): {', '.join(sorted(unknown))}", tool=self.name)
        for name in self.parameters.get("required") or ():
            value = args.get(name)
            if value is None or not str(value).strip():
                raise ToolArgumentError(f"{name} is required", tool=self.name, field=name,
                                        outcome=self.invalid_outcome)
        try:
            return self.function(**args)
        except ToolArgumentError as exc:
            exc.tool = exc.tool or self.name
            raise

    def outcome_for_code(self, code: Any) -> str:
        """Map an API body ``code`` to an outcome; anything unknown is an ``api_error``."""
        try:
            return self.codes.get(int(code), API_ERROR)
        except (TypeError, ValueError):
            return API_ERROR

    def event_for(self, outcome: str) -> str:
        """Journey event name for an outcome (``api_error`` for anything unknown)."""
        return self.events.get(outcome, self.events.get(API_ERROR, API_ERROR))


def tool(**options: Any) -> Callable[[Callable[..., dict[str, Any]]], Tool]:
    """Decorator form of :meth:`Tool.from_function`."""
    return lambda fn: Tool.from_function(fn, **options)


class ToolSet(Mapping[str, Tool]):
    """A pack's tools by name, with the argument checks the engine runs before any call."""

    def __init__(self, tools: Sequence[Tool] = ()) -> None:
        self._tools = {t.name: t for t in tools}

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def schemas(self, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-format declarations of the named tools (all when ``names`` is None)."""
        return [self._tools[n].schema() for n in (names or list(self._tools))]

    def validate_args(self, name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any]:
        """Normalised arguments for tool ``name`` (``args`` may be the model's JSON string)."""
        spec = self._tools.get(name)
        if spec is None:
            raise ToolArgumentError(f"unknown tool {name!r}; known: {', '.join(self._tools)}", tool=name)
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

    def masked_args(self, name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any]:
        """Arguments as they may appear in a trace, even when invalid."""
        spec = self._tools.get(name)
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                return {"raw": spec.mask_args({"raw": args})["raw"] if spec else "***"}
        if not isinstance(args, Mapping):
            return {}
        return spec.mask_args(args) if spec else {k: "***" for k in args}


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    """What one tool call produced; safe to store in a trace (personal data masked)."""

    name: str
    args: dict[str, Any]
    status: Status
    http_status: int | None
    latency_ms: float
    outcome: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0
    source: Source = "http"
    event: str = API_ERROR

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
        return asdict(self)

    def for_model(self) -> dict[str, Any]:
        """What a model's prompt sees: no latency, attempt count or source, and an error said as its outcome and
        HTTP status only. Those depend on the machine (a loaded one crosses 1,000 ms: one more token) and on the
        transport (a timeout's or a refused connection's text, with the sandbox's random port): a prompt, and so
        its token count and cost, must be the same in every run of a golden."""
        out = asdict(self)
        for key in ("latency_ms", "attempts", "source"):
            del out[key]
        if self.error is not None:
            status = f"HTTP {self.http_status}" if self.http_status else "no HTTP answer"
            out["error"] = f"{self.outcome} ({status})"
        return out


def result_from_body(spec: Tool, args: Mapping[str, Any], body: Any, *, http_status: int | None,
                     latency_ms: float, attempts: int, source: Source) -> ToolResult:
    """Interpret an API JSON body (from HTTP or a fixed table) as a ``ToolResult``."""
    masked = spec.mask_args(args)
    if not isinstance(body, Mapping) or "code" not in body:
        return ToolResult(
            name=spec.name, args=masked, status="error", http_status=http_status, latency_ms=latency_ms,
            outcome=API_ERROR, data={"body": body} if isinstance(body, list | int | float | str) else {},
            error=f"{spec.service} answered JSON without a 'code' field: check that {spec.url_setting} points at "
                  "the right API",
            attempts=attempts, source=source, event=spec.event_for(API_ERROR))
    outcome = spec.outcome_for_code(body.get("code"))
    data = spec.mask_data(body)
    status: Status = "ok"
    error = None
    if outcome == API_ERROR:
        status, error = "error", f"{spec.service} error {body.get('code')}: {body.get('description') or 'no description'}"
    return ToolResult(spec.name, masked, status, http_status, latency_ms, outcome, data, error, attempts, source,
                      spec.event_for(outcome))


# --- the client -----------------------------------------------------------------------------

# Read/write timeouts are not retried: a customer is waiting in the chat, and a slow API retried
# only multiplies the wait. Connection failures and 5xx usually are brief, so they are.
_NO_RETRY = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)


@dataclass
class _Attempts:
    """Retry bookkeeping shared by the sync and async paths (one call)."""

    registry: ToolRegistry
    spec: Tool
    args: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)
    attempt: int = 0

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def judge(self, response: httpx.Response | None, exc: httpx.HTTPError | None) -> ToolResult | float:
        """The final result, or how many seconds to wait before trying again."""
        reg, spec = self.registry, self.spec
        can_retry = self.attempt <= reg.retries
        delay = reg.backoff_s * (2 ** (self.attempt - 1))
        if exc is not None:
            if can_retry and not isinstance(exc, _NO_RETRY):
                return delay
            return self._error(None, _describe(exc, spec, reg.api_url, self.attempt, reg.timeout_s))
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
            return self._error(status, f"{spec.service} HTTP {status}{detail} ({self.attempt} attempt(s))")
        if body is None:
            snippet = response.text[:60].replace("\n", " ")
            if status >= 400:
                return self._error(status, f"{spec.service} HTTP {status} at {reg.api_url}: check {spec.url_setting}")
            return self._error(status, f"{spec.service} returned malformed JSON (HTTP {status}): {snippet!r}")
        result = result_from_body(spec, self.args, body, http_status=status, latency_ms=self.elapsed_ms(),
                                  attempts=self.attempt, source="http")
        if status >= 400 and result.outcome == API_ERROR:
            return replace(result, error=f"{result.error} (HTTP {status} at {reg.api_url}): check {spec.url_setting}")
        if status >= 400 and result.outcome == spec.success_outcome:
            # An error status with a success body is contradictory: trust the status. A business refusal
            # (e.g. "not authorised") may come with a 4xx and stays the business outcome.
            return self._error(status, f"{spec.service} HTTP {status} with a success body")
        return result

    def _error(self, http_status: int | None, message: str) -> ToolResult:
        return ToolResult(name=self.spec.name, args=self.spec.mask_args(self.args), status="error",
                          http_status=http_status, latency_ms=self.elapsed_ms(), outcome=API_ERROR, error=message,
                          attempts=self.attempt, event=self.spec.event_for(API_ERROR))


def _describe(exc: httpx.HTTPError, spec: Tool, url: str, attempts: int, timeout_s: float) -> str:
    tries = f"{attempts} attempt(s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{spec.service} at {url} did not answer within {timeout_s:g} s ({type(exc).__name__}, {tries})"
    if isinstance(exc, httpx.ConnectError):
        return (
            f"cannot connect to the {spec.service} at {url} ({exc or 'connection refused'}, {tries}): "
            f"check {spec.url_setting}, or unset it to use the built-in sandbox"
        )
    return f"{spec.service} request to {url} failed: {type(exc).__name__}: {exc} ({tries})"


def _payload(spec: Tool, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"params": dict(args)} if spec.method.upper() in {"GET", "DELETE"} else {"json": dict(args)}


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    """The CA-verifying context every registry's clients share: building one costs ~20 ms (the CA bundle
    load), and an eval run builds a registry per golden with fixed API answers or its own pack settings."""
    return httpx.create_ssl_context()


class ToolRegistry:
    """A pack's tools bound to one API endpoint; sync ``call`` and async ``acall``.

    ``api_url=None`` asks ``default_url`` (the pack's sandbox, started on first HTTP call).
    ``fixed_responses`` maps a tool's key argument (e.g. a document number, any punctuation) or
    ``"*"`` (anything) to the JSON body the API would return; matching calls never reach HTTP.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        tools: ToolSet,
        default_url: Callable[[], str] | None = None,
        timeout_s: float = 8.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        fixed_responses: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.tools = tools
        self._api_url = api_url.rstrip("/") if api_url else None
        self._default_url = default_url
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.fixed_responses = {self._fixed_key(k): dict(v) for k, v in (fixed_responses or {}).items()}
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        """The API base URL; resolving it may start the pack's sandbox when none was configured."""
        if self._api_url is None:
            if self._default_url is None:
                raise ToolArgumentError("no API URL configured for this pack's tools")
            self._api_url = self._default_url().rstrip("/")
        return self._api_url

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format declarations of every tool."""
        return self.tools.schemas()

    # -- public calls --

    def call(self, name: str, args: Mapping[str, Any] | str | None) -> ToolResult:
        """Validate and run one tool call (blocking)."""
        early = self._prepare(name, args)
        if isinstance(early, ToolResult):
            return early
        spec = self.tools[name]
        # Set up before the clock starts: latency is the API's, not our client's construction.
        url, client = self.api_url + spec.endpoint, self._sync_client()
        attempts = _Attempts(self, spec, early)
        while True:
            attempts.attempt += 1
            response, error = None, None
            try:
                response = client.request(spec.method, url, **_payload(spec, early))
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
        spec = self.tools[name]
        # One AsyncClient per call: an AsyncClient is bound to the loop that created it, and
        # callers (Streamlit, evals, pytest) run several loops over a process's life.
        url = self.api_url + spec.endpoint
        async with httpx.AsyncClient(timeout=self.timeout_s, verify=_default_ssl_context()) as client:
            attempts = _Attempts(self, spec, early)
            while True:
                attempts.attempt += 1
                response, error = None, None
                try:
                    response = await client.request(spec.method, url, **_payload(spec, early))
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

    def _fixed_key(self, key: str) -> str:
        if key == "*":
            return key
        for spec in self.tools.values():
            try:
                return str(spec.validate({spec.key_argument: key})[spec.key_argument])
            except (ToolArgumentError, TypeError, KeyError):
                continue
        return key

    def _prepare(self, name: str, args: Mapping[str, Any] | str | None) -> dict[str, Any] | ToolResult:
        """Validated args, or the final result when no HTTP is needed (invalid args, fixed table)."""
        started = time.perf_counter()
        try:
            clean = self.tools.validate_args(name, args)
        except ToolArgumentError as exc:
            spec = self.tools.get(name)
            event = spec.event_for(exc.outcome) if spec else API_ERROR
            return ToolResult(name, self.tools.masked_args(name, args), "invalid_args", None, 0.0, exc.outcome, {},
                              str(exc), 0, "none", event)
        spec = self.tools[name]
        fixed = self.fixed_responses.get(str(clean.get(spec.key_argument, "")), self.fixed_responses.get("*"))
        if fixed is not None:
            latency = round((time.perf_counter() - started) * 1000, 1)
            return result_from_body(spec, clean, fixed, http_status=None, latency_ms=latency, attempts=0,
                                    source="fixed")
        return clean

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout_s, verify=_default_ssl_context())
            return self._client
