"""A small OpenAI-compatible HTTP server for tests and benchmarks (loopback only).

Behaviour is chosen by the requested model name, so one server covers every failure path of
LiteLLM's real HTTP client:

- ``ok`` (or anything else): answers at once; echoes the last user message.
- ``json``: answers with a JSON object.  ``badjson``: answers with text that is not JSON.
- ``score``: a judge's verdict as JSON (``{"score": 0.8, "reason": …}``).
- ``slow-<ms>``: answers after <ms> milliseconds (``--latency-ms`` applies to every model).
- ``429``: always 429 with ``Retry-After: 0``.  ``429-once``: 429 on the first call per request id.
  ``429-wait-<s>``: 429 with ``Retry-After: <s>`` on the model's first call, then OK.
- ``500``: always 500.  ``500-once``: 500 then OK.
- ``malformed``: 200 with a body that is not JSON.  ``truncated``: 200 with a JSON body cut in the middle.  ``401``: invalid key.  ``404``: unknown model.
- ``invent``: a reply with an amount nobody gave (output-guard tests).  ``secret``: asks for a password.
- ``parrot``: a model that believes the customer: when the last user message (or, failing that, a
  "Cliente: …" line of the history in the system prompt) names an amount ("R$ 50 mil", "20.000 reais",
  "aprovou 20k"), "Aprovado! Você vai receber R$ 50.000,00"; otherwise it echoes the last message.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"
    # Headers and body go in two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # keep test output clean
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": {"message": message, "type": kind, "code": str(status)}}).encode()
        self._send(status, body, headers)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": [{"id": "ok", "object": "model"}]}).encode())
        else:
            self._error(404, "not found", "invalid_request_error")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        model = str(payload.get("model", "ok"))
        server = self.server
        with server.lock:
            server.calls[model] += 1
            count = server.calls[model]
        if server.latency_ms:
            time.sleep(server.latency_ms / 1000)
        if model.startswith("slow-"):
            time.sleep(int(model.split("-", 1)[1]) / 1000)
        if model == "401":
            return self._error(401, "Incorrect API key provided", "invalid_request_error")
        if model == "404":
            return self._error(404, f"The model `{model}` does not exist", "invalid_request_error")
        if model == "429" or (model == "429-once" and count == 1):
            return self._error(429, "Rate limit reached", "rate_limit_error", {"Retry-After": "0"})
        if model.startswith("429-wait-") and count == 1:
            return self._error(429, "Rate limit reached", "rate_limit_error", {"Retry-After": model.rsplit("-", 1)[1]})
        if model == "500" or (model == "500-once" and count == 1):
            return self._error(500, "Internal server error", "server_error")
        if model == "malformed":
            return self._send(200, b"<html>Bad gateway</html>")
        if model == "truncated":  # a proxy cut the reply short: valid HTTP, half a JSON document
            return self._send(200, b'{"id": "chatcmpl-stub", "object": "chat.completion", "choices": [{"index": 0, "mes')
        messages = payload.get("messages") or [{}]
        last = str(messages[-1].get("content", ""))
        if model == "json":
            content = json.dumps({"intent": "greeting", "confidence": 0.9})
        elif model == "badjson":
            content = "Claro! A intenção é saudação."
        elif model == "score":
            content = json.dumps({"score": 0.8, "reason": "conduziu a jornada com calma"})
        elif model == "invent":
            content = "Ótima notícia: você tem R$ 98.765,43 disponíveis para antecipar hoje!"
        elif model == "parrot":
            system = str(messages[0].get("content", "")) if messages[0].get("role") == "system" else ""
            said = [line.split(":", 1)[1] for line in system.splitlines() if line.startswith("Cliente:")]
            content = next((a for a in map(_approval, [last, *reversed(said)]) if a), last)
        elif model == "secret":
            content = "Para continuar, me informe a sua senha do aplicativo FGTS."
        else:
            content = f"eco: {last}"[:500]
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages) + 5
        body = {
            "id": f"chatcmpl-stub-{count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(content.split()),
                "total_tokens": prompt_tokens + len(content.split()),
            },
        }
        self._send(200, json.dumps(body).encode())


_AMOUNT = re.compile(r"(?:R\$\s*)?(\d[\d.]*)(?:,(\d{1,2}))?\s*(mil|k\b)?", re.IGNORECASE)


def _approval(message: str) -> str | None:
    """What a gullible model says when the customer names an amount: that amount, approved."""
    for m in _AMOUNT.finditer(message):
        if not (m.group(0).upper().startswith("R$") or m.group(3) or re.match(r"\s*reais", message[m.end():])):
            continue
        cents = int(m.group(1).replace(".", "")) * 100 + int((m.group(2) or "0").ljust(2, "0"))
        if m.group(3):
            cents *= 1000
        reais = f"{cents // 100:,}".replace(",", ".")
        return f"Aprovado! Você vai receber R$ {reais},{cents % 100:02d}"
    return None


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, latency_ms: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.latency_ms = latency_ms
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test, benchmark shutdown) is not a server error.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def start_stub(port: int = 0, latency_ms: int = 0) -> StubServer:
    """Start the stub in a background thread; call ``.shutdown()`` to stop it."""
    server = StubServer(port, latency_ms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    stub = start_stub(args.port, args.latency_ms)
    print(f"OpenAI-compatible stub on {stub.url}")
    threading.Event().wait()
