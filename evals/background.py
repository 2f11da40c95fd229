"""An eval run played in a background thread: the Evals page starts it, draws its progress, and can cancel it.

A page's script run must not wait on a suite (a rerun, a tab switch or a second click would cut it short, and
nothing else on the page would respond meanwhile). :class:`BackgroundRun` plays :func:`evals.runner.run_suite`
in a thread of this process — the runner's own worker processes under it when ``workers`` > 1 — and keeps what
the page draws: cases done, the last ones finished, the failures so far, the stored run once it ends.
``cancel()`` sets the runner's ``should_stop``: no new case starts, the run is stored as ``cancelled`` with the
results finished so far (the runner polls it every 0.1 s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.config import Settings
from evals.cases import Case
from evals.results import CaseResult, RunConfig, RunResult


@dataclass
class BackgroundRun:
    """One suite playing in a thread; every field is safe to read from another thread at any time."""

    total: int
    done: int = 0
    failed: list[str] = field(default_factory=list)  # "✗ case [config]", oldest first
    last: str = ""  # the last finished case: "✓ id" / "✗ id"
    run: RunResult | None = None  # once finished (cancelled too)
    error: str | None = None  # the run itself could not be played (not a failing case)
    finished: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def start(cls, cases: Sequence[Case], configs: Sequence[RunConfig], settings: Settings, *,
              concurrency: int = 4, workers: int | None = 1, name: str = "", suite: str = "") -> BackgroundRun:
        """Start playing ``cases`` × ``configs`` now; returns at once."""
        job = cls(total=len(cases) * max(1, len(configs)))
        job._thread = threading.Thread(
            target=job._play, name="eval-run", daemon=True,
            args=(list(cases), list(configs), settings),
            kwargs={"concurrency": concurrency, "workers": workers, "name": name, "suite": suite})
        job._thread.start()
        return job

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def cancelling(self) -> bool:
        return self._stop.is_set() and self.running

    @property
    def cancelled(self) -> bool:
        return bool(self.run is not None and self.run.stats.get("cancelled"))

    def cancel(self) -> None:
        """Stop starting cases; the run ends within about a second, keeping what finished."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the run has ended (scripts and tests); False on timeout."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _progress(self, done: int, total: int, result: CaseResult) -> None:
        mark = "✓" if result.passed else "✗"
        if not result.passed:
            self.failed.append(f"✗ {result.case_id} [{result.config}]")
        self.last = f"{mark} {result.case_id}"
        self.done = done

    def _play(self, cases: list[Case], configs: list[RunConfig], settings: Settings, **kwargs: Any) -> None:
        from evals.runner import run_suite

        try:
            self.run = run_suite(cases, configs, settings, progress=self._progress, should_stop=self._stop.is_set,
                                 **kwargs)
        except Exception as exc:  # noqa: BLE001  (the page shows it; a thread's exception would be lost)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.monotonic()
