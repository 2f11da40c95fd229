"""Where a burst's flush waits for its window: one small interface, an in-process implementation (the default).

``schedule(job, delay_s)`` runs ``handler(job)`` after ``delay_s``. Correctness never depends on the queue: a
flush whose generation is no longer the newest does nothing (:meth:`agent.adapters.channels.Channels.claim`),
so a queue may deliver late, twice, or out of order. What a process-local queue cannot do is survive the
process: a burst whose timer died with it is answered with the customer's next message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

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
    """asyncio timers on the server's event loop; each due job runs in the thread pool."""

    def __init__(self) -> None:
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
            await run_in_threadpool(self._handler, job)
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
