"""The ASGI app (Starlette): ``GET /health``, ``POST /chat`` and the WhatsApp Cloud API webhook.

The engine is synchronous: every turn and every database write runs in Starlette's thread pool, never on
the event loop. Errors are JSON ``{"error": {"code": …, "message": …}}`` with the HTTP status.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.adapters.schema import CHAT_SOURCES
from agent.config import Settings
from agent.core.pack import get_pack
from agent.core.session import is_warm, warm_up
from agent.privacy import scrubbed_logger
from agent.server.config import ServerConfig
from agent.server.turns import Incoming, Turns

log = scrubbed_logger("agent.server")

MAX_MESSAGES = 50  # per POST /chat


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


def chat_request(payload: Any) -> tuple[int | None, list[Incoming], str]:
    """``POST /chat``'s body: ``{"chat_id"?: int, "messages": [str | {"text": str}], "source"?: str}``."""
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", 'The body must be a JSON object with "messages".')
    chat_id = payload.get("chat_id")
    if chat_id is not None and (isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id <= 0):
        raise ApiError(422, "invalid_request", '"chat_id" must be a positive integer (or absent for a new chat).')
    raw = payload.get("messages")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MESSAGES:
        raise ApiError(422, "invalid_request", f'"messages" must be a list of 1 to {MAX_MESSAGES} messages.')
    messages: list[Incoming] = []
    for item in raw:
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise ApiError(422, "invalid_request", 'Each message is a string or {"text": string}.')
        messages.append(Incoming(text=text))
    source = payload.get("source", "server")
    if source not in CHAT_SOURCES:
        raise ApiError(422, "invalid_request", f'"source" must be one of: {", ".join(CHAT_SOURCES)}.')
    return chat_id, messages, source


class Server:
    """What the routes share: the agent's settings, the server's config, the chats."""

    def __init__(self, settings: Settings, config: ServerConfig, turns: Turns | None = None) -> None:
        self.settings = settings
        self.config = config
        self.turns = turns or Turns(settings)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "pack": get_pack(self.settings.pack_dir).name,
                             "warm": is_warm(self.settings)})

    async def chat(self, request: Request) -> Response:
        chat_id, messages, source = chat_request(parse_json(await read_body(request, self.config.max_body_bytes)))
        if chat_id is None:
            chat_id = await run_in_threadpool(self.turns.new_chat, source)
        elif not await run_in_threadpool(self.turns.exists, chat_id):
            raise ApiError(404, "unknown_chat", f"No conversation #{chat_id}: leave chat_id out to start one.")
        answer = await run_in_threadpool(self.turns.post, chat_id, messages)
        body = answer.as_json()
        body.pop("answered", None)
        return JSONResponse(body)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, "http_error", str(exc.detail))


def create_app(settings: Settings, *, config: ServerConfig | None = None, warm: bool = True) -> Starlette:
    """The ASGI app for ``settings`` (``config``: from ``settings.env`` when None). ``warm``: build the
    engine at start-up, so the first customer is answered at once."""
    server = Server(settings, config or ServerConfig.from_settings(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if warm:
            warm_up(settings)
        yield

    app = Starlette(
        routes=[
            Route("/health", server.health, methods=["GET"]),
            Route("/chat", server.chat, methods=["POST"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.server = server
    return app
