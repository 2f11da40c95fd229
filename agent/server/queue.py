"""Where a burst's flush waits for its window: one small interface, two implementations — in process (asyncio
timers, the default of ``python -m agent.server``) and Amazon SQS (per-message delay; the Lambda deployment).

``schedule(job, delay_s)`` runs ``handler(job)`` after ``delay_s``. Correctness never depends on the queue: a
flush whose generation is no longer the newest does nothing (:meth:`agent.adapters.channels.Channels.claim`),
so a queue may deliver late, twice, or out of order. What a process-local queue cannot do is survive the
process: a burst whose timer died with it is answered with the customer's next message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from agent.privacy import scrubbed_logger
from agent.server.whatsapp import FlushJob

log = scrubbed_logger("agent.server.queue")

Handler = Callable[[FlushJob], Any]


class FlushQueue(Protocol):
    """A delay queue of flush jobs."""

    def bind(self, handler: Handler) -> None:
        """What to run for each job (blocking: run off the event loop)."""

    def schedule(self, job: FlushJob, delay_s: float) -> None:
        """Run the handler for ``job`` after ``delay_s`` seconds. Called on the event loop."""

    async def aclose(self) -> None:
        """Drop the jobs not yet due and wait for the running ones."""


class InProcessQueue:
    """asyncio timers on the server's event loop; each due job runs in ``executor`` (the server's thread pool;
    None: the event loop's default one)."""

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = executor
        self._handler: Handler | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, handler: Handler) -> None:
        self._handler = handler

    def schedule(self, job: FlushJob, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def due() -> None:
            if timer is not None:
                self._timers.discard(timer)
            task = loop.create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        timer = loop.call_later(max(0.0, delay_s), due)
        self._timers.add(timer)

    async def _run(self, job: FlushJob) -> None:
        if self._handler is None:
            raise RuntimeError("InProcessQueue: no handler bound")
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._handler, job)
        except Exception:  # noqa: BLE001  (one failed flush must not stop the others; its messages stay queued)
            log.exception("flush of chat %s failed", job.chat_id)

    @property
    def busy(self) -> bool:
        """Jobs waiting or running."""
        return bool(self._timers or self._tasks)

    async def aclose(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class SqsQueue:
    """Amazon SQS with a per-message delay (``DelaySeconds``, at most 900 s): each job is one JSON message; the
    consumer is the flush Lambda's SQS trigger (:func:`agent.server.aws.flush_handler`) or :meth:`poll`.

    The job needs the customer's WhatsApp number (to send the replies), which the database keeps only as a keyed
    hash: the message body carries it sealed (Fernet, under a key derived from the app secret, ``secret``), never
    in clear — on top of the queue's own encryption at rest (SSE-SQS)."""

    MAX_DELAY_S = 900

    def __init__(self, queue_url: str, client: Any = None, *, secret: str) -> None:
        if not secret:
            raise ValueError("SqsQueue needs the app secret (WHATSAPP_APP_SECRET): it seals the number in each job")
        if client is None:
            import boto3  # type: ignore[import-untyped]

            client = boto3.client("sqs")
        self.queue_url = queue_url
        self.client = client
        self.secret = secret
        self._handler: Handler | None = None

    def bind(self, handler: Handler) -> None:
        self._handler = handler

    def schedule(self, job: FlushJob, delay_s: float) -> None:
        delay = min(self.MAX_DELAY_S, max(0, math.ceil(delay_s)))
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=encode_job(job, self.secret),
                                 DelaySeconds=delay)

    def handle(self, body: str) -> Any:
        """Run the handler for one message body."""
        if self._handler is None:
            raise RuntimeError("SqsQueue: no handler bound")
        return self._handler(decode_job(body, self.secret))

    def poll(self, wait_s: int = 0, max_messages: int = 10) -> int:
        """Receive the due messages once, run each and delete it (a failed one stays for SQS to retry).
        Returns how many ran."""
        answer = self.client.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages,
                                             WaitTimeSeconds=wait_s)
        done = 0
        for message in answer.get("Messages", []):
            try:
                self.handle(message["Body"])
            except Exception:  # noqa: BLE001  (left in the queue: SQS delivers it again after its visibility timeout)
                log.exception("flush from SQS failed")
                continue
            self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
        return done

    async def aclose(self) -> None:
        return None


def _job_cipher(secret: str) -> Any:
    from cryptography.fernet import Fernet

    key = hmac.new(secret.encode(), b"conversa flush job: the customer's number", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encode_job(job: FlushJob, secret: str) -> str:
    """A job as an SQS message body: the chat, the generation and the customer's number sealed under ``secret``."""
    sealed = _job_cipher(secret).encrypt(job.to.encode()).decode("ascii")
    return json.dumps({"chat_id": job.chat_id, "generation": job.generation, "to": sealed})


def decode_job(body: str, secret: str) -> FlushJob:
    """The job of a body :func:`encode_job` wrote (``cryptography.fernet.InvalidToken`` under another secret)."""
    data = json.loads(body)
    to = _job_cipher(secret).decrypt(str(data["to"]).encode()).decode()
    return FlushJob(chat_id=int(data["chat_id"]), generation=int(data["generation"]), to=to)
