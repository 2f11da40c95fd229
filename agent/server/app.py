"""The ASGI app (Starlette): ``GET /health``, ``POST /chat`` and the WhatsApp Cloud API webhook.

The engine is synchronous: every turn and every database write runs in the server's one thread pool, never on
the event loop. Errors are JSON ``{"error": {"code": …, "message": …}}`` with the HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from agent.adapters.schema import CHAT_SOURCES
from agent.config import Settings
from agent.core.pack import get_pack
from agent.core.session import is_warm, warm_up
from agent.privacy import scrubbed_logger
from agent.server.config import ServerConfig
from agent.server.queue import FlushQueue, InProcessQueue
from agent.server.turns import EVENTS, ChatAnswer, Incoming, Turns, UnknownChat
from agent.server.whatsapp import SIGNATURE_HEADER, GraphClient, WhatsApp, parse_payload, signature_ok
from agent.text import valid_unicode

log = scrubbed_logger("agent.server")

MAX_MESSAGES = 50  # per POST /chat
THREADS = 40  # turns and database writes at once: POST /chat's, the webhook's, the flushes' (Starlette's default)
T = TypeVar("T")


class ApiError(Exception):
    """A request the server refuses: its status and a sentence saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON ({exc}).") from exc


EVAL_FIELDS = ("at", "settings", "event", "api_responses")


@dataclass(frozen=True)
class ChatRequest:
    """A parsed ``POST /chat`` body. ``at``, ``settings`` and ``event`` are the eval bench's hooks (a pinned
    clock, per-chat settings, journey events): refused unless the server runs with ``SERVER_EVAL_HOOKS=1``."""

    chat_id: int | None
    messages: list[Incoming]
    source: str = "server"
    trace: bool = False
    at: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    event: str | None = None
    event_text: str = ""
    api_responses: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_eval_hooks(self) -> bool:
        return self.at is not None or bool(self.settings) or self.event is not None or bool(self.api_responses) \
            or any(m.at is not None for m in self.messages)


def _instant(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ApiError(422, "invalid_request", f'"{name}" must be a time in seconds since the epoch.')
    return float(value)


def chat_request(payload: Any) -> ChatRequest:
    """``POST /chat``'s body: ``{"chat_id"?: int, "messages": [str | {"text": str, "at"?: float}], "source"?: str,
    "trace"?: bool, "at"?: float, "settings"?: {name: scalar}, "event"?: str, "text"?: str, "api_responses"?:
    {cpf: body}}``; with an
    ``event`` (``idle``, ``request_handoff``, ``hand_back``, ``operator_reply`` + ``text``) no messages."""
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", 'The body must be a JSON object with "messages".')
    chat_id = payload.get("chat_id")
    if chat_id is not None and (isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id <= 0):
        raise ApiError(422, "invalid_request", '"chat_id" must be a positive integer (or absent for a new chat).')
    event = payload.get("event")
    if event is not None and event not in EVENTS:
        raise ApiError(422, "invalid_request", f'"event" must be one of: {", ".join(EVENTS)}.')
    raw = payload.get("messages", [] if event else None)
    if not isinstance(raw, list) or len(raw) > MAX_MESSAGES or (not raw and not event) or (raw and event):
        raise ApiError(422, "invalid_request", f'"messages" must be a list of 1 to {MAX_MESSAGES} messages '
                                               '(none with an "event").')
    messages: list[Incoming] = []
    for item in raw:
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise ApiError(422, "invalid_request", 'Each message is a string or {"text": string}.')
        messages.append(Incoming(text=valid_unicode(text), at=_instant(item.get("at"), "at") if isinstance(item, dict) else None))
    source = payload.get("source", "server")
    if source not in CHAT_SOURCES:
        raise ApiError(422, "invalid_request", f'"source" must be one of: {", ".join(CHAT_SOURCES)}.')
    trace = payload.get("trace", False)
    settings = payload.get("settings") or {}
    if not isinstance(trace, bool):
        raise ApiError(422, "invalid_request", '"trace" must be true or false.')
    if not isinstance(settings, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | int | float | bool)) for k, v in settings.items()):
        raise ApiError(422, "invalid_request", '"settings" must be an object of names to plain values.')
    event_text = payload.get("text", "")
    if not isinstance(event_text, str):
        raise ApiError(422, "invalid_request", '"text" must be a string.')
    api = payload.get("api_responses") or {}
    if not isinstance(api, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in api.items()):
        raise ApiError(422, "invalid_request", '"api_responses" maps a CPF (or "*") to the API\'s answer.')
    return ChatRequest(chat_id, messages, source, trace, _instant(payload.get("at"), "at"), dict(settings),
                       event, event_text, dict(api))


class Server:
    """What the routes share: the agent's settings, the server's config, the chats, the WhatsApp channel."""

    def __init__(self, settings: Settings, config: ServerConfig, *, graph: GraphClient | None = None,
                 queue: FlushQueue | None = None) -> None:
        self.settings = settings
        self.config = config
        self.turns = Turns(settings, eval_hooks=config.eval_hooks)
        self.window_s = settings.burst_window_s if settings.burst_mode else 0.0
        self.graph = graph or GraphClient(config)
        self.whatsapp = WhatsApp(self.turns, config, self.graph, window_s=self.window_s)
        # The one thread pool: a plain executor is a lighter trip than anyio's (no limiter, no cancel scope).
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="server")
        self.queue: FlushQueue = queue or InProcessQueue(self.pool)
        self.queue.bind(self.whatsapp.flush)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in the thread pool (blocking work never runs on the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, work)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "pack": get_pack(self.settings.pack_dir).name,
                             "warm": is_warm(self.settings)})

    async def chat(self, request: Request) -> Response:
        req = chat_request(parse_json(await read_body(request, self.config.max_body_bytes)))
        if req.uses_eval_hooks and not self.config.eval_hooks:
            raise ApiError(403, "eval_hooks_off", f'{", ".join(EVAL_FIELDS)} (a pinned clock, per-chat settings, '
                                                  'events) are for the eval bench: start the server with '
                                                  'SERVER_EVAL_HOOKS=1.')
        try:
            settings = self.turns.settings_for(req.settings)
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc

        def turn() -> ChatAnswer | None:  # one trip to the thread pool: the chat, then its turn
            chat_id = req.chat_id
            if chat_id is None:
                chat_id = self.turns.new_chat(req.source, "", settings)
            try:
                if req.event is not None:
                    return self.turns.event(chat_id, req.event, req.event_text, settings=settings, at=req.at,
                                            trace=req.trace, api_responses=req.api_responses)
                return self.turns.post(chat_id, req.messages, settings=settings, at=req.at, trace=req.trace,
                                       api_responses=req.api_responses)
            except UnknownChat:
                return None

        answer = await self.run(turn)
        if answer is None:
            raise ApiError(404, "unknown_chat", f"No conversation #{req.chat_id}: leave chat_id out to start one.")
        body = answer.as_json()
        body.pop("answered", None)
        return JSONResponse(body)

    async def whatsapp_verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
        query = request.query_params
        token = self.config.whatsapp_verify_token
        if query.get("hub.mode") == "subscribe" and token and hmac.compare_digest(
                query.get("hub.verify_token", "").encode(), token.encode()):
            return PlainTextResponse(query.get("hub.challenge", ""))
        log.warning("whatsapp: verification refused (403): %s", "WHATSAPP_VERIFY_TOKEN is not set" if not token
                    else "wrong hub.mode or hub.verify_token")
        raise ApiError(403, "forbidden", "Verification refused: hub.verify_token does not match WHATSAPP_VERIFY_TOKEN.")

    async def whatsapp_receive(self, request: Request) -> Response:
        """A signed delivery: messages queued (once each), their flush scheduled; answered at once with 200."""
        body = await read_body(request, self.config.max_body_bytes)
        secret = self.config.whatsapp_app_secret
        if not secret:
            log.error("whatsapp: POST refused (401): WHATSAPP_APP_SECRET is not set, so no signature can be "
                      "checked — set it to the app secret of the Meta app")
            raise ApiError(401, "no_app_secret", "This server has no WhatsApp app secret configured.")
        header = request.headers.get(SIGNATURE_HEADER)
        if not signature_ok(secret, body, header):
            log.warning("whatsapp: POST refused (401): %s %s header", "bad" if header else "missing",
                        SIGNATURE_HEADER)
            raise ApiError(401, "bad_signature", f"The {SIGNATURE_HEADER} header is missing or wrong.")
        payload = parse_payload(parse_json(body))
        linked = 0
        if payload.receipts:  # one thread trip and one transaction for the delivery's status callbacks
            changed = await self.run(lambda: self.whatsapp.receipts(payload.receipts))
            for receipt, linked_now in zip(payload.receipts, changed, strict=True):
                if linked_now:
                    linked += 1
                else:
                    log.info("whatsapp: status callback %r ignored: no reply of ours with that message id, or an "
                             "older status than the one recorded", receipt.status)
        for why in payload.ignored:
            log.info("whatsapp: ignored %s", why)
        accepted = 0
        if payload.messages:  # one thread trip; each message its own transactions (its unique key decides)
            jobs = await self.run(lambda: [self.whatsapp.receive(m) for m in payload.messages])
            for job in jobs:
                if job is not None:
                    accepted += 1
                    self.queue.schedule(job, self.window_s)
        return JSONResponse({"status": "ok", "accepted": accepted, "statuses": len(payload.statuses), "linked": linked,
                             "ignored": len(payload.ignored)})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, "http_error", str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(500, "server_error", "The server could not handle this request; try again.")


def create_app(settings: Settings, *, config: ServerConfig | None = None, warm: bool = True,
               graph: GraphClient | None = None, queue: FlushQueue | None = None) -> Starlette:
    """The ASGI app for ``settings`` (``config``: from ``settings.env`` when None). ``warm``: build the engine at
    start-up, so the first customer is answered at once. ``graph``/``queue``: the Graph API client and the flush
    queue (defaults: from ``config``, :class:`InProcessQueue`)."""
    server = Server(settings, config or ServerConfig.from_settings(settings), graph=graph, queue=queue)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if warm:
            warm_up(settings)
        try:
            yield
        finally:
            await server.queue.aclose()
            server.pool.shutdown(wait=True)

    app = Starlette(
        routes=[
            Route("/health", server.health, methods=["GET"]),
            Route("/chat", server.chat, methods=["POST"]),
            Route("/webhook/whatsapp", server.whatsapp_verify, methods=["GET"]),
            Route("/webhook/whatsapp", server.whatsapp_receive, methods=["POST"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.server = server
    return app
