"""AWS Lambda entry points: ``http_handler`` (API Gateway REST v1 and HTTP v2 events, through Mangum) and
``flush_handler`` (the SQS flush queue's trigger). The same ASGI app as ``python -m agent.server``, with the
:class:`~agent.server.queue.SqsQueue` of ``FLUSH_QUEUE_URL`` instead of in-process timers: a Lambda instance
may freeze right after it answers, so a burst's flush has to wait in SQS, not in the instance.

Configuration comes from the function's environment (``DATABASE_URL`` to PostgreSQL, the ``WHATSAPP_*``
values, ``FLUSH_QUEUE_URL``), built once per instance on its first call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from agent.privacy import scrubbed_logger
from agent.server.queue import SqsQueue

log = scrubbed_logger("agent.server.aws")


@dataclass
class Handlers:
    """The two Lambda handlers over one app (tests build them over their own)."""

    app: Starlette

    def __post_init__(self) -> None:
        from mangum import Mangum

        # No lifespan: Mangum would run start-up and shut-down around every invocation.
        self._adapter = Mangum(self.app, lifespan="off")

    def http(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return dict(self._adapter(event, context))

    def flush(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run every flush job of an SQS batch; the failed ones are returned for SQS to deliver again
        (``ReportBatchItemFailures``)."""
        queue = self.app.state.server.queue
        if not isinstance(queue, SqsQueue):
            raise RuntimeError("the flush handler needs the app's SqsQueue (set FLUSH_QUEUE_URL)")
        failures = []
        for record in event.get("Records") or ():
            try:
                queue.handle(record["body"])
            except Exception:  # noqa: BLE001  (one failed job must not fail the batch)
                log.exception("flush job %s failed", record.get("messageId"))
                failures.append({"itemIdentifier": record.get("messageId")})
        return {"batchItemFailures": failures}


_HANDLERS: Handlers | None = None
_LOCK = threading.Lock()


def handlers() -> Handlers:
    """This instance's handlers, built on the first call from the environment."""
    global _HANDLERS
    with _LOCK:
        if _HANDLERS is None:
            import agent.adapters.offline  # noqa: F401  (before litellm anywhere)
            from agent.config import load_settings
            from agent.server.app import create_app
            from agent.server.config import ServerConfig

            settings = load_settings()
            url = settings.env.get("FLUSH_QUEUE_URL")
            if not url:
                raise RuntimeError("FLUSH_QUEUE_URL is not set: the Lambda deployment flushes bursts through SQS")
            secret = ServerConfig.from_settings(settings).whatsapp_app_secret
            _HANDLERS = Handlers(create_app(settings, queue=SqsQueue(url, secret=secret), warm=False))
        return _HANDLERS


def http_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway (REST v1 or HTTP v2) → the ASGI app."""
    return handlers().http(event, context)


def flush_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS flush queue → one flush per record."""
    return handlers().flush(event, context)
