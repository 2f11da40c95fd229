"""A lean OpenAI-compatible stub for benchmarks, run in its own process (asyncio, HTTP/1.1 keep-alive).

    .venv/bin/python bench/stub_llm.py --port 0 --latency 0.2

Prints ``listening on http://127.0.0.1:<port>/v1`` once ready. Every ``POST …/chat/completions`` is
answered after ``--latency`` seconds (an ``asyncio.sleep``: thousands may wait at once) with what the
agent's roles expect, chosen by the model name LiteLLM forwards (``openai/json`` → ``json``):

- ``json``, or any model asked for ``response_format`` JSON: the decision JSON
  ``{"intent": "greeting", "confidence": 0.9}``;
- ``score``: a judge's verdict ``{"score": 0.8, "reason": …}``;
- anything else: conversation text, ``eco: <last user message>``.

``GET /stats`` answers the request counter per model, the request bytes received and the stub's own
CPU seconds (so a benchmark can show the stub is not its bottleneck); ``GET …/models`` lists one model. Headers and body go out
in one write, with ``TCP_NODELAY`` on every connection: no delayed-ACK stall. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


class Stub:
    """The stub's state: latency, request counter per model, its CPU clock at start."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.calls: Counter[str] = Counter()
        self.bytes_in = 0
        self.cpu_at_start = time.process_time()

    def stats(self) -> dict[str, Any]:
        total = sum(self.calls.values())
        cpu = time.process_time() - self.cpu_at_start
        return {"calls": dict(self.calls), "total": total, "cpu_s": round(cpu, 4),
                "cpu_ms_per_request": round(cpu / total * 1000, 4) if total else None,
                "bytes_in": self.bytes_in,
                "latency_s": self.latency_s}

    def completion(self, payload: dict[str, Any]) -> dict[str, Any]:
        model = str(payload.get("model", "ok"))
        self.calls[model] += 1
        messages = payload.get("messages") or [{}]
        response_format = payload.get("response_format") or {}
        if model == "json" or response_format.get("type") in {"json_object", "json_schema"}:
            content = '{"intent": "greeting", "confidence": 0.9}'
        elif model == "score":
            content = '{"score": 0.8, "reason": "conduziu a jornada com calma"}'
        else:
            content = f"eco: {messages[-1].get('content', '')}"[:500]
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages) + 5
        completion_tokens = len(content.split())
        return {
            "id": f"chatcmpl-stub-{self.calls[model]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    async def respond(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        route = path.split("?", 1)[0].rstrip("/")
        if method == "POST" and route.endswith("/chat/completions"):
            try:
                payload = json.loads(body or b"{}")
            except json.JSONDecodeError:
                return 400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
            self.bytes_in += len(body)
            reply = self.completion(payload)
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return 200, reply
        if method == "GET" and route == "/stats":
            return 200, self.stats()
        if method == "GET" and route.endswith("/models"):
            return 200, {"object": "list", "data": [{"id": "ok", "object": "model"}]}
        return 404, {"error": {"message": f"no route {method} {route}", "type": "invalid_request_error"}}

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = (lines[0].split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await _read_chunked(reader)
                else:
                    body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, reply = await self.respond(method, path, body)
                data = json.dumps(reply).encode()
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
                    .encode() + data)
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # the client went away, or the stub is stopping with idle keep-alive connections
        finally:
            writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()  # the empty line after the last chunk (no trailers expected)
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def serve(port: int, latency_s: float) -> None:
    """Serve until SIGTERM/SIGINT; print the stats line on the way out."""
    stub = Stub(latency_s)
    server = await asyncio.start_server(stub.serve_connection, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{bound}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(f"stub stats: {json.dumps(stub.stats())}", file=sys.stderr, flush=True)


class StubProcess:
    """The stub in a child process: ``url`` (…/v1), ``stats()``, ``stop()``; a context manager."""

    def __init__(self, latency_s: float = 0.0, port: int = 0) -> None:
        script = Path(__file__).resolve()
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--port", str(port), "--latency", str(latency_s)],
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(f"the stub did not start: {line!r}")
        self.url = line.removeprefix("listening on ")
        self.root = self.url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        """The stub's request counter and CPU (a GET on its /stats)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.root}/stats", timeout=10) as reply:
            stats: dict[str, Any] = json.loads(reply.read())
            return stats

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> StubProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8799, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each completion is answered")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency))


if __name__ == "__main__":
    main()
