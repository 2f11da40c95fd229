"""A fake WhatsApp Cloud API (Graph API) for tests and benchmarks, loopback only.

- ``POST /{version}/{phone_number_id}/messages``: records the message, answers like Graph
  (``{"messaging_product": "whatsapp", "contacts": […], "messages": [{"id": "wamid.…"}]}``);
  ``fail_sends = n`` answers the next n sends with HTTP 500 (each failure recorded too).
- ``GET /{version}/{media_id}``: the media's metadata with a download ``url`` on this server; unknown ids 404.
- ``GET /media/{media_id}``: the bytes. Every call needs ``Authorization: Bearer <token>`` (else 401).

    with GraphStub(token="t") as graph:
        graph.add_media("123", b"...", "audio/ogg")
        ...  # WHATSAPP_GRAPH_URL=graph.url
        graph.sent  # [{"to": …, "text": {"body": …}, …}]
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "v23.0"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode())

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.stub.token}":
            return True
        self._json(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
        return False

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        stub = self.server.stub
        parts = self.path.strip("/").split("/")
        with stub.lock:
            stub.requests.append(("GET", self.path))
            if len(parts) == 2 and parts[0] == "media" and parts[1] in stub.media:
                data, mime = stub.media[parts[1]]
                self._send(200, data, mime)
                return
            if len(parts) == 2 and parts[1] in stub.media:
                data, mime = stub.media[parts[1]]
                self._json(200, {"messaging_product": "whatsapp", "url": f"{stub.base}/media/{parts[1]}",
                                 "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
                                 "file_size": str(len(data)), "id": parts[1]})
                return
        self._json(404, {"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self._authorised():
            return
        stub = self.server.stub
        with stub.lock:
            stub.requests.append(("POST", self.path))
            if not self.path.rstrip("/").endswith("/messages"):
                self._json(404, {"error": {"message": "Unknown path", "code": 100}})
                return
            if stub.fail_sends > 0:
                stub.fail_sends -= 1
                stub.failed.append(body)
                self._json(500, {"error": {"message": "Service temporarily unavailable", "code": 2}})
                return
            stub.sent.append(body)
            wamid = f"wamid.stub{len(stub.sent)}"
        self._json(200, {"messaging_product": "whatsapp", "contacts": [{"input": body.get("to"),
                                                                          "wa_id": body.get("to")}],
                         "messages": [{"id": wamid}]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: GraphStub


class GraphStub:
    """The fake Graph API on a free loopback port; ``url`` is what ``WHATSAPP_GRAPH_URL`` should be."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.fail_sends = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.base}/{VERSION}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_media(self, media_id: str, data: bytes, mime: str) -> None:
        with self.lock:
            self.media[media_id] = (data, mime)

    def texts(self) -> list[str]:
        with self.lock:
            return [str((m.get("text") or {}).get("body") or "") for m in self.sent]

    def start(self) -> GraphStub:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GraphStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
