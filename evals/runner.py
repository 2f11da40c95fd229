"""Replay goldens against model configurations, concurrently, and score every turn.

``run_suite`` (sync) / ``run_suite_async``: every case × config pair is one job. ``AgentSession`` is
synchronous, so each job runs in a worker thread (a pool sized to the concurrency — the default
``asyncio.to_thread`` pool has only cpu+4 threads, too few to wait on 50 slow providers at once).
An AIMD limiter (promptfoo's scheduler idea) halves concurrency on a 429 and pauses with
exponential back-off, then adds one slot per window of successes; a case that hit a rate limit is
replayed so its verdict reflects the model, not the provider's quota.

``workers > 1`` runs the jobs in that many worker processes (``spawn``: each has its own GIL, store,
gateways and engines, and a thread pool): the parent keeps the one limiter (a single budget across the
processes), hands each granted job to the least-loaded worker, and the workers forward every provider
rate limit to it. ``should_stop`` cancels a run: no new job starts, running ones are abandoned (worker
processes terminated), the finished results are kept and the run is stored with status ``cancelled``.

The clock is simulated: bursts, delays and "24 h idle" cost no real time.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import pickle
import queue
import string
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import agent.adapters.offline  # noqa: F401  (before litellm anywhere)
from agent.config import Settings
from agent.core.trace import TurnTrace
from agent.privacy import scrub
from agent.text import json_storable
from agent.adapters.adversary import ADVERSARY_MODEL, fixed_usage, is_adversary, priced_model, scripted
from evals import snapshots
from evals.cases import PROJECT_ROOT, Case, Expectation, Turn, scripted_roles
from evals.report import summary
from evals.results import CaseResult, RunConfig, RunResult, with_overrides
from evals.scorers import ConversationObservation, Score, ScoreContext, TurnObservation, evaluate

JUDGE_FEATURE = "Avaliação (juiz)"
SIMILARITY_FEATURE = "Avaliação (similaridade)"
SIMULATOR_FEATURE = "Avaliação (cliente simulado)"
# The evaluation's own calls: ledgered under the case's chat, never counted as the agent's cost.
EVAL_FEATURES = frozenset({JUDGE_FEATURE, SIMILARITY_FEATURE, SIMULATOR_FEATURE})
JUDGE_PROMPT = Path(__file__).resolve().parent / "judge_prompt.txt"
DEFAULT_BURST_WINDOW_S = 4.0
# Every golden starts at the same instant (Monday 30/11/2026, 10:00 in Brasília): what the agent says never
# depends on the day the suite runs (dates, the FGTS rules in force, the next birth month), so transcripts can
# be snapshotted. A golden that needs another day pins the pack's date setting (fgts: ``today``).
EVAL_EPOCH = 1_796_043_600.0
Progress = Callable[[int, int, "CaseResult"], None]


# ---------------------------------------------------------------- configurations


def load_configs(path: Path | str) -> list[RunConfig]:
    """A YAML file ``configs: [{label, roles: {role: model | {model, temperature}}, pack}]``; or ``sweep:``."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    configs = [RunConfig.from_dict(c) for c in data.get("configs") or []]
    sweep = data.get("sweep")
    if sweep:
        configs.extend(sweep_configs(RunConfig.from_dict(sweep.get("base") or {"label": "base"}),
                                     sweep["role"], sweep["models"]))
    if not configs:
        raise ValueError(f"{path}: no 'configs' (or 'sweep') found")
    return configs


def sweep_configs(base: RunConfig, role: str, models: Sequence[str]) -> list[RunConfig]:
    """Vary one role's model, keep the others fixed (the deck's "right model for each situation")."""
    out = []
    for model in models:
        roles = {**{r: dict(c) for r, c in base.roles.items()}, role: {"model": model}}
        out.append(RunConfig(label=f"{role}={model}", roles=roles, pack=base.pack, settings=base.settings))
    return out


def settings_label(settings: Settings) -> str:
    """A readable label for a Settings' text roles."""
    return " · ".join(f"{r}={settings.role(r).model}" for r in ("decision", "conversation"))


# ---------------------------------------------------------------- judge and embeddings


class Judge:
    """LLM-as-judge on the judge role. Each call is a ledger row under ``JUDGE_FEATURE`` (apart from the agent)."""

    def __init__(self, settings: Settings, gateway: Any, chat_id: int | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self.chat_id = chat_id
        self.template = string.Template(JUDGE_PROMPT.read_text(encoding="utf-8"))
        self.cost_usd = 0.0

    def __call__(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        from agent.errors import GatewayError

        rubric = dict(payload.get("rubric") or {})
        reply = scrub(str(payload.get("reply") or ""))
        text = self.template.safe_substitute(
            rubric=rubric.get("rubric") or "(see the phrase lists)", must=json.dumps(rubric.get("must") or []),
            must_not=json.dumps(rubric.get("must_not") or []), step=payload.get("step") or "",
            customer=scrub(str(payload.get("transcript") or payload.get("customer") or "")), reply=reply)
        model = self.settings.role("judge").model
        try:
            completion = self.gateway.complete(
                "judge", JUDGE_FEATURE, [{"role": "user", "content": text}], self.chat_id,
                context={"task": "judge", "reply": reply, "rubric": rubric}, expect_json=True)
        except GatewayError as exc:
            return {"pass": False, "score": 0.0, "reason": f"the judge call failed: {exc.user_message}", "model": model}
        self.cost_usd += completion.usage.cost_usd
        verdict = completion.json or {}
        return {"pass": bool(verdict.get("pass")), "score": verdict.get("score"),
                "reason": str(verdict.get("reason") or ""), "model": completion.model,
                "cost_usd": completion.usage.cost_usd}


# ---------------------------------------------------------------- one case


class _Resources:
    """Per-run shared objects: one gateway and engine per configuration, built once, thread-safe."""

    def __init__(self, base: Settings, store: Any, on_call: Callable[[Any], None] | None) -> None:
        self.base = base
        self.store = store
        self.on_call = on_call
        self._lock = threading.Lock()
        self._engines: dict[str, Any] = {}
        self._gateways: dict[str, Any] = {}

    def gateway(self, config: RunConfig, settings: Settings) -> Any:
        from agent.adapters.gateway import Gateway

        with self._lock:
            if config.label not in self._gateways:
                self._gateways[config.label] = Gateway(settings, self.store, on_call=self.on_call)
            return self._gateways[config.label]

    def engine(self, config: RunConfig, settings: Settings, case: Case) -> Any:
        from agent.core.engine import Engine
        from agent.core.pack import get_pack

        gateway = self.gateway(config, settings)
        with self._lock:
            base = self._engines.get(config.label)
            if base is None:
                base = self._engines[config.label] = Engine(settings, gateway)
        if not case.api_responses and settings.engine_key() == base.settings.engine_key():
            return base  # models and temperatures are per call: the configuration's engine serves the case
        # The case's own pack (a golden's ``pack:``), not the configuration's: its tools and API.
        tools = get_pack(settings.pack_dir).tool_registry(settings, fixed_responses=case.api_responses or None)
        knowledge = base.knowledge if settings.pack_dir == base.settings.pack_dir else None
        return Engine(settings, gateway, tools=tools, knowledge=knowledge)

    def prompt_versions(self, config: RunConfig) -> dict[str, str]:
        engine = self._engines.get(config.label)
        return dict(engine.pack.prompts.versions()) if engine is not None else {}


def case_settings(case: Case, config: RunConfig, base: Settings) -> Settings:
    """The run's settings for one case: the config's roles, the golden's overrides, a burst window; the
    roles its turns script (``model:``) on ``local/adversary`` (unscripted turns answer as local/rules),
    the roles it prices (``price_as``) on ``local/adversary:<model>``."""
    settings = config.apply(base)
    for role in sorted(scripted_roles(case) | set(case.price_as)):
        model = priced_model(case.price_as[role]) if role in case.price_as else ADVERSARY_MODEL
        settings = settings.with_role(role, model=model, fallback_model=None, api_base=None, api_key_env=None)
    changes: dict[str, Any] = {"burst_mode": True, "burst_window_s": DEFAULT_BURST_WINDOW_S}
    changes.update(case.settings)
    if case.pack:
        changes["pack_dir"] = settings.pack_dir.parent / case.pack
    return with_overrides(settings, changes)


def observe(index: int, turn: Turn, results: Sequence[Any], session: Any, latency_ms: float,
            note: str = "") -> TurnObservation:
    """Merge the TurnResults of one golden turn (a burst split by a long delay gives several)."""
    step = session.state.step
    obs = TurnObservation(index=index, label=turn.label, latency_ms=round(latency_ms, 2),
                          step_before=results[0].step_before if results else step,
                          step_after=results[-1].step_after if results else step,
                          attributes=dict(session.state_view().get("attributes") or {}),
                          raw_attributes=dict(session.state.attributes))
    customer = []
    for r in results:
        trace: TurnTrace = r.trace
        customer.append(r.customer_text)
        obs.replies.extend(m.text for m in r.replies)
        if r.replies:
            # A silent turn (handoff) keeps the state's previous reply codes in its trace: not "used".
            obs.message_codes.extend(trace.message_codes or r.message_codes)
        obs.tool_calls.extend(r.tool_calls)
        obs.input_tokens += r.usage.input_tokens
        obs.output_tokens += r.usage.output_tokens
        obs.cost_usd += r.usage.cost_usd
        obs.guard_input.extend(trace.guard.input)
        obs.guard_output.extend(r.guard_violations or trace.guard.output)
        obs.errors.extend(r.errors)
        event = trace.event.name if trace.event else trace.system_event
        obs.intent = event or obs.intent
        obs.models.extend(c.model for c in trace.calls if c.model)
        obs.trace = trace.to_json()  # golden json_field paths read the stored form
    obs.customer_text = "\n".join(c for c in customer if c) or note  # scrubbed at ingestion
    obs.models = sorted(set(obs.models))
    return obs


def _score_all(expectations: Sequence[Expectation], observation: Any, ctx: ScoreContext,
               turn: int | None) -> list[Score]:
    return [evaluate(e.name, e.value, observation, ctx, threshold=e.threshold, turn=turn) for e in expectations]


def run_case(case: Case, config: RunConfig, base: Settings, *, resources: _Resources | None = None,
             store: Any = None) -> CaseResult:
    """Replay one golden under one configuration (blocking) and score it."""
    from agent.core.session import AgentSession
    from agent.core.steps import previous_agent_message
    from agent.adapters.store import Store

    store = store or (resources.store if resources else None) or Store.open(base.database_url)
    resources = resources or _Resources(base, store, None)
    result = CaseResult(case_id=case.id, config=config.label, passed=False, score=0.0, tags=list(case.tags),
                        description=case.description, path=str(case.path or ""))
    try:
        settings = case_settings(case, config, base)
        engine = resources.engine(config, settings, case)
        clock = [EVAL_EPOCH]
        session = AgentSession.new(settings, engine=engine, store=store, clock=lambda: clock[0],
                                   title=f"eval {case.id} [{config.label}]", source="eval")
        result.chat_id = session.chat_id
        result.prompt_budget = settings.prompt_budget and bool(engine.pack.prompt_budget)
        judge_settings = settings
        ctx = ScoreContext(judge=Judge(judge_settings, engine.gateway, session.chat_id),
                           completed_steps=engine.pack.completed_steps)
        if settings.embedding_model:
            gateway = engine.gateway
            ctx.embed = lambda texts: gateway.embed(texts, session.chat_id, feature=SIMILARITY_FEATURE)
            ctx.embedding_model = settings.embedding_model
        observations: list[TurnObservation] = []
        with fixed_usage(session.chat_id, case.usage):  # a priced fake's usage, for the whole conversation
            for index, turn in enumerate(case.turns):
                clock[0] += turn.wait_s
                started = time.perf_counter()
                previous = previous_agent_message(session.messages)  # what not-repeats compares with
                with scripted(session.chat_id, turn.model):
                    results, note = _play(turn, session, clock, settings)
                observations.append(score_turn(result, ctx, index, turn, results, session, started, previous, note))
        conversation = ConversationObservation(observations, final_step=session.state.step,
                                               state=session.state_view(), ledger=ledger_rows(store, session.chat_id),
                                               usd_brl=settings.usd_brl)
        finish_result(result, case, observations, conversation, ctx, session.state.step, record_snapshot=True)
        # A 429 a golden scripted (local/adversary) is the case's subject, not the provider's quota.
        result.rate_limited = any("(429)" in e and ADVERSARY_MODEL not in e for o in observations for e in o.errors)
    except Exception as exc:  # noqa: BLE001  (one broken case must not stop the run)
        result.error = f"{type(exc).__name__}: {exc}"
        result.passed = False
    return result



def score_turn(result: CaseResult, ctx: ScoreContext, index: int, turn: Turn, results: list[Any], chat: Any,
               started: float, previous: Any, note: str) -> TurnObservation:
    """One played turn observed and scored into ``result`` (in process and through a deployment alike)."""
    calls = [c for r in results for c in r.trace.calls]
    result.model_calls += len(calls)
    result.prompt_tokens += sum(c.input_tokens for c in calls)
    obs = observe(index, turn, results, chat, (time.perf_counter() - started) * 1000, note)
    obs.previous_replies = previous
    scores = _score_all(turn.expect, obs, ctx, index)
    # A golden may carry bad text on purpose (lone surrogates, NUL): the record, the reports and the download
    # buttons get it storable, as the chat stored it.
    result.turns.append(json_storable({"index": index, "label": turn.label, "line": turn.line,
                                       "observation": obs.to_dict(), "scores": [s.to_dict() for s in scores]}))
    return obs


def finish_result(result: CaseResult, case: Case, observations: list[TurnObservation],
                  conversation: ConversationObservation, ctx: ScoreContext, final_step: str, *,
                  record_snapshot: bool) -> None:
    """The conversation's scores, the transcript snapshot (recorded from a passing run when ``record_snapshot``),
    figures and the verdict of ``result``."""
    result.conversation_scores = [s.to_dict() for s in _score_all(case.expect, conversation, ctx, None)]
    if snapshots.applies(case, (m for o in observations for m in o.models)):
        passing = all(s["passed"] for t in result.turns for s in t["scores"]) and \
            all(s["passed"] for s in result.conversation_scores)
        snapshot = snapshots.check(case, observations, record=record_snapshot and passing)
        if snapshot is not None:
            result.conversation_scores.append(snapshot)
    result.final_step = final_step
    result.cost_usd = round(conversation.cost_usd, 10)
    result.tokens = conversation.tokens
    result.turn_latencies_ms = [o.latency_ms for o in observations]
    result.latency_ms = round(sum(result.turn_latencies_ms), 2)
    result.eval_cost_usd = round(ctx.judge.cost_usd if isinstance(ctx.judge, Judge) else 0.0, 10)
    result.models = sorted({m for o in observations for m in o.models})
    all_scores = [s for t in result.turns for s in t["scores"]] + result.conversation_scores
    result.passed = all(s["passed"] for s in all_scores)
    result.score = round(sum(s["score"] for s in all_scores) / len(all_scores), 4) if all_scores else 1.0

def ledger_rows(store: Any, chat_id: int | None) -> list[dict[str, Any]]:
    """The agent's ledger rows for a case's chat, oldest first (the evaluation's own calls left out)."""
    if chat_id is None:
        return []
    rows = store.cost_rows(chat_id=chat_id, limit=100_000)
    keys = ("feature_name", "model", "role", "status", "error", "input_tokens", "output_tokens", "price",
            "usage_source")
    return [{k: row.get(k) for k in keys} for row in reversed(rows) if row.get("feature_name") not in EVAL_FEATURES]


def _play(turn: Turn, session: Any, clock: list[float], settings: Settings) -> tuple[list[Any], str]:
    """Send one golden turn through the session on the simulated clock; the TurnResults it produced."""
    results: list[Any] = []
    if turn.kind == "event":
        if turn.event == "idle":
            clock[0] += (turn.hours * 3600) if turn.hours else settings.reengagement_after_s + 60
            r = session.reengage(now=clock[0])
        elif turn.event == "request_handoff":
            r = session.request_handoff(now=clock[0])
        elif turn.event == "hand_back":
            r = session.hand_back(now=clock[0])
        else:
            session.operator_reply(turn.event_text, now=clock[0])
            return [], f"[operator] {turn.event_text}"
        return ([r] if r is not None else []), turn.label
    for message in turn.messages:
        clock[0] += message.after_s
        if session.due(clock[0]):
            flushed = session.flush(now=clock[0])
            if flushed is not None:
                results.append(flushed)
        attachment = message.load_attachment()
        r = session.send(message.text, (attachment,) if attachment is not None else (), now=clock[0])
        if r is not None:
            results.append(r)
    if session.pending:
        clock[0] = max(clock[0], session.burst_deadline or clock[0])
        r = session.flush(now=clock[0], force=True)
        if r is not None:
            results.append(r)
    return results, ""


# ---------------------------------------------------------------- the scheduler


class AdaptiveLimiter:
    """AIMD concurrency: halve on a rate limit (and pause with exponential back-off), +1 per window of successes."""

    def __init__(self, limit: int, *, minimum: int = 1, base_backoff_s: float = 1.0, max_backoff_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max = max(1, int(limit))
        self.limit = self.max
        self.minimum = max(1, minimum)
        self.active = 0
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.backoff_s = base_backoff_s
        self.paused_until = 0.0
        self.rate_limits = 0
        self.min_seen = self.max
        self._successes = 0
        self._last_cut = -1e9
        self._clock = clock
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def __aenter__(self) -> AdaptiveLimiter:
        cond = self._condition()
        while True:
            async with cond:
                await cond.wait_for(lambda: self.active < self.limit)
                wait = self.paused_until - self._clock()
                if wait <= 0:
                    self.active += 1
                    return self
            await asyncio.sleep(min(wait, 1.0))

    async def __aexit__(self, *exc: object) -> None:
        cond = self._condition()
        async with cond:
            self.active -= 1
            cond.notify_all()

    def on_rate_limit(self) -> float:
        """A 429: cut concurrency (once per back-off window) and pause; returns the pause in seconds."""
        now = self._clock()
        self.rate_limits += 1
        self._successes = 0
        if now - self._last_cut >= self.backoff_s:
            self.limit = max(self.minimum, self.limit // 2)
            self.min_seen = min(self.min_seen, self.limit)
            self._last_cut = now
            pause = self.backoff_s
            self.backoff_s = min(self.max_backoff_s, self.backoff_s * 2)
            self.paused_until = max(self.paused_until, now + pause)
            return pause
        return max(0.0, self.paused_until - now)

    def on_success(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.max:
            self.limit += 1
            self._successes = 0
            self.backoff_s = self.base_backoff_s
            if self._cond is not None:
                asyncio.ensure_future(self._wake())

    async def _wake(self) -> None:
        cond = self._condition()
        async with cond:
            cond.notify_all()


# ---------------------------------------------------------------- worker processes


class WorkerDied(RuntimeError):
    """A worker process ended without answering the jobs it held (killed, crashed)."""


def default_workers(jobs: int, target: str | None = None, cpus: int | None = None) -> int:
    """Worker processes for a run of ``jobs`` when none is asked: the CPU count for more than 8 jobs in
    process on more than 2 CPUs, else 1 — a remote target does the work itself, a short run does not repay
    the start-up, and on 2 CPUs one process already keeps ~1.5 cores busy (its model, store and scoring
    threads): 2 workers measured no faster there, for 12-20 % more CPU (evals/README.md)."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return cpus if jobs > 8 and not target and cpus > 2 else 1


def _shared_url(url: str) -> bool:
    """Whether several processes can open the same database at ``url`` (not an in-memory SQLite)."""
    return not (url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in url))


def _worker_entry(fd: int) -> None:
    """A worker process (``python -c``, started by :class:`_ProcessPool`): every message on the socket ``fd``.

    First ``("init", base, configs, store url, cipher, threads)``: its own store, gateways and engines; then
    ``("job", id, case, config index)`` played on a thread pool, each answered ``("result", id, pickled
    CaseResult, prompt versions)``; a provider rate limit is said at once (``("rate_limit",)``). ``("end",)``
    ends it after its jobs (``("bye",)``), ``("stop",)`` at once (a cancelled run), and so does the parent's end."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        try:
            with send_lock:
                conn.send(message)
        except (OSError, ValueError):  # the parent is gone: nobody to report to
            os._exit(0)

    def receive() -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = conn.recv()
            return message
        except (EOFError, OSError):  # the parent ended (or died): so does the worker
            os._exit(0)

    try:
        from agent.adapters.store import Store
        from agent.errors import RateLimited

        _, base, configs, store_url, cipher, threads = receive()
        store = Store(store_url, keys="")
        store.cipher = cipher  # the parent's keys, whatever its environment said
        Store.adopt(store)  # every Store.open(store_url) in this worker: these keys

        def on_call(outcome: Any) -> None:
            if isinstance(outcome, RateLimited) and not is_adversary(outcome.model):
                send(("rate_limit",))

        resources = _Resources(base, store, on_call)
    except BaseException:  # noqa: BLE001  (said to the parent, which fails the run with it)
        send(("fatal", traceback.format_exc(limit=8)))
        return

    def play(job_id: int, case: Case, config_index: int) -> None:
        config = configs[config_index]
        try:
            result = run_case(case, config, base, resources=resources)
            blob = pickle.dumps(result)
        except BaseException as exc:  # noqa: BLE001  (run_case catches the case's own errors; this is the rest)
            blob = pickle.dumps(CaseResult(case_id=case.id, config=config.label, passed=False, score=0.0,
                                           tags=list(case.tags), error=f"{type(exc).__name__}: {exc}"))
        send(("result", job_id, blob, resources.prompt_versions(config)))
        if not settled.is_set():
            settled.set()
            # After the first case the heap holds what lives as long as the worker (modules, LiteLLM's ~420k
            # objects, engines): moved out of the collector's reach, a full collection no longer walks them.
            gc.collect()
            gc.freeze()

    settled = threading.Event()
    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="eval")
    while True:
        message = receive()
        if message[0] == "job":
            pool.submit(play, *message[1:])
        elif message[0] == "end":
            break
        else:  # "stop": running cases are abandoned, the parent no longer reads their results
            os._exit(0)
    pool.shutdown(wait=True)
    send(("bye",))
    conn.close()


class _ProcessPool:
    """``workers`` processes playing jobs for one run; their results resolve asyncio futures in ``loop``.

    Plain ``python -c`` children on a socket pair each (not ``multiprocessing``: its ``spawn`` re-runs the
    parent's main script in every child — a script without a ``__main__`` guard would start runs there). They
    are in their own process group (a terminal's Ctrl-C reaches the parent only, which cancels the run) and
    end when the parent's end of the socket closes, however the parent ended."""

    def __init__(self, workers: int, base: Settings, configs: list[RunConfig], store: Any, threads: int,
                 loop: asyncio.AbstractEventLoop, on_rate_limit: Callable[[], Any]) -> None:
        import socket
        from multiprocessing.connection import Connection

        self.loop = loop
        self.on_rate_limit = on_rate_limit
        self.processes: list[subprocess.Popen[bytes]] = []
        self.conns: list[Any] = []
        self.alive: list[bool] = []
        self.inflight: list[int] = []
        self.futures: dict[int, tuple[asyncio.Future[CaseResult], int]] = {}
        self.versions: dict[str, dict[str, str]] = {}
        self.fatal: str | None = None
        self._ids = itertools.count()
        self._closing = False
        # Sends go through a thread: a worker still importing does not read, and the loop must not block.
        self._outbox: queue.SimpleQueue[tuple[int, tuple[Any, ...]] | None] = queue.SimpleQueue()
        code = (f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); "
                "from evals.runner import _worker_entry; _worker_entry(int(sys.argv[1]))")
        try:
            for _ in range(workers):
                mine, theirs = socket.socketpair()
                with theirs:
                    process = subprocess.Popen([sys.executable, "-c", code, str(theirs.fileno())],
                                               pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL, process_group=0)
                self.processes.append(process)
                self.conns.append(Connection(mine.detach()))
                self.alive.append(True)
                self.inflight.append(0)
        except BaseException:
            self.close(cancel=True)
            raise
        for index in range(workers):
            self._outbox.put((index, ("init", base, configs, store.url, store.cipher, threads)))
        self._sender = threading.Thread(target=self._send, name="eval-jobs", daemon=True)
        self._reader = threading.Thread(target=self._read, name="eval-results", daemon=True)
        self._sender.start()
        self._reader.start()

    async def run(self, case: Case, config_index: int) -> CaseResult:
        """Play one job on the least-loaded live worker."""
        if self.fatal is not None:
            raise RuntimeError(f"an eval worker failed to start:\n{self.fatal}")
        live = [i for i, ok in enumerate(self.alive) if ok]
        if not live:
            raise WorkerDied("every eval worker process has exited")
        worker = min(live, key=lambda i: self.inflight[i])
        job_id = next(self._ids)
        future: asyncio.Future[CaseResult] = self.loop.create_future()
        self.futures[job_id] = (future, worker)
        self.inflight[worker] += 1
        try:
            self._outbox.put((worker, ("job", job_id, case, config_index)))
            return await future
        finally:
            self.inflight[worker] -= 1
            self.futures.pop(job_id, None)

    def _send(self) -> None:
        """The sender thread: every job and order to its worker, in order."""
        while (item := self._outbox.get()) is not None:
            index, message = item
            try:
                self.conns[index].send(message)
            except (OSError, ValueError):  # that worker is gone: the reader says so
                pass

    def _read(self) -> None:
        """The reader thread: every worker message handed to the event loop."""
        from multiprocessing.connection import wait

        open_conns: dict[Any, int] = {conn: index for index, conn in enumerate(self.conns)}
        while open_conns and not self._closing:
            ready: list[Any] = wait(list(open_conns), timeout=0.2)
            for conn in ready:
                index = open_conns[conn]
                try:
                    message: tuple[Any, ...] = conn.recv()
                except (EOFError, OSError):
                    message = ("died",)
                if message[0] in ("died", "bye", "fatal"):
                    open_conns.pop(conn, None)
                try:
                    self.loop.call_soon_threadsafe(self._handle, index, message)
                except RuntimeError:  # the loop is closed: the run is over
                    return

    def _handle(self, index: int, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "result":
            _, job_id, blob, versions = message
            entry = self.futures.get(job_id)
            if entry is not None and not entry[0].done():
                result = pickle.loads(blob)
                if versions:
                    self.versions.setdefault(result.config, versions)
                entry[0].set_result(result)
            return
        if kind == "rate_limit":
            self.on_rate_limit()
            return
        self.alive[index] = False  # "died", "fatal" or "bye"
        if kind == "bye":
            return
        if kind == "fatal":
            self.fatal = message[1]
            error: Exception = RuntimeError(f"an eval worker failed to start:\n{self.fatal}")
        else:
            error = WorkerDied(f"eval worker {index} exited (code {self.processes[index].poll()}) during the case")
        for future, worker in list(self.futures.values()):
            if worker == index and not future.done():
                future.set_exception(error)

    def close(self, *, cancel: bool) -> None:
        """End the workers: after their jobs, or (``cancel``) at once; none is left running."""
        for index in range(len(self.processes)):
            self._outbox.put((index, ("stop",) if cancel else ("end",)))
        self._outbox.put(None)
        sender = getattr(self, "_sender", None)
        if sender is not None:
            sender.join(1.0)
        deadline = time.monotonic() + (0.5 if cancel else 10.0)
        for process in self.processes:
            try:
                process.wait(max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(1.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._closing = True
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(1.0)
        for conn in self.conns:
            conn.close()


# ---------------------------------------------------------------- the run


def git_commit() -> str | None:
    """The current commit (``+dirty`` when the work tree has changes), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def scoring_kit() -> SimpleNamespace:
    """What evals/remote.py scores a remote replay with: the same pieces as :func:`run_case`."""
    return SimpleNamespace(EVAL_EPOCH=EVAL_EPOCH, SIMILARITY_FEATURE=SIMILARITY_FEATURE, Judge=Judge,
                           case_settings=case_settings, score_turn=score_turn, finish_result=finish_result)


STOP_POLL_S = 0.1


async def run_suite_async(cases: Sequence[Case], configs: Sequence[RunConfig], base: Settings, *,
                          concurrency: int = 4, progress: Progress | None = None, name: str = "",
                          suite: str = "", save: bool = True, max_attempts: int = 3,
                          store: Any = None, backoff_s: float = 1.0, target: str | None = None,
                          workers: int | None = 1, should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Every case × config, ``concurrency`` at a time; stored as a run when ``save``.

    ``target``: the base URL of a deployed agent (``python -m agent.server`` with ``SERVER_EVAL_HOOKS=1``): every
    turn goes through its ``POST /chat`` (evals/remote.py); goldens it cannot replay are listed in
    ``run.stats["skipped"]`` with their reason, not run.

    A case that met a 429 is replayed (up to ``max_attempts``) after the limiter's back-off, which
    starts at ``backoff_s`` and doubles on each further rate limit.

    ``workers``: processes playing the jobs (1: threads of this process; None: :func:`default_workers`;
    never more than the jobs or the concurrency; always 1 with a ``target`` or an in-memory database).
    ``should_stop``: polled every 0.1 s; once true the run is cancelled — ``run.stats["cancelled"]``, stored
    with status ``cancelled`` and the results finished so far.
    """
    from agent.errors import RateLimited
    from agent.adapters.store import Store

    store = store or Store.open(base.database_url)
    configs = list(configs) or [RunConfig(label=settings_label(base))]
    loop = asyncio.get_running_loop()
    limiter = AdaptiveLimiter(concurrency, base_backoff_s=backoff_s)

    def on_call(outcome: Any) -> None:
        if isinstance(outcome, RateLimited) and not is_adversary(outcome.model):
            loop.call_soon_threadsafe(limiter.on_rate_limit)

    resources = _Resources(base, store, on_call)
    skipped: list[dict[str, str]] = []
    client = None
    if target:
        import httpx

        from evals.remote import split_remote

        cases, skipped = split_remote(cases)
        client = httpx.Client(base_url=target.rstrip("/"), timeout=120.0,
                              limits=httpx.Limits(max_connections=max(1, concurrency)))
    jobs = [(case, index) for index, config in enumerate(configs) for case in cases]
    if workers is None:
        workers = default_workers(len(jobs), target)
    if target or not _shared_url(store.url) or os.name != "posix":
        workers = 1  # a deployment plays the cases itself; a memory database is this process's own
    workers = max(1, min(workers, len(jobs), max(1, concurrency)))
    eval_store = None
    run = RunResult(results=[], configs=configs, name=name, suite=suite, git_commit=git_commit(),
                    started_at=time.time(), concurrency=concurrency)
    if save:
        from evals.store import EvalStore

        eval_store = EvalStore(store)
        run.run_id = await asyncio.to_thread(
            eval_store.create_run, name=name, suite=suite, configs=[c.to_dict() for c in configs],
            git_commit=run.git_commit, prompt_versions={}, concurrency=concurrency)
    total, done = len(jobs), 0
    retries = 0
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="eval") if workers == 1 else None
    processes: _ProcessPool | None = None
    writes: set[asyncio.Future[Any]] = set()

    async def attempt(case: Case, config: RunConfig, config_index: int) -> CaseResult:
        if processes is not None:
            try:
                return await processes.run(case, config_index)
            except WorkerDied as exc:
                return CaseResult(case_id=case.id, config=config.label, passed=False, score=0.0,
                                  tags=list(case.tags), description=case.description, path=str(case.path or ""),
                                  error=f"WorkerDied: {exc}")
        if client is not None:
            from evals.remote import run_case_remote

            return await loop.run_in_executor(
                pool, lambda: run_case_remote(case, config, base, client, store=store, kit=scoring_kit()))
        return await loop.run_in_executor(pool, lambda: run_case(case, config, base, resources=resources))

    async def job(case: Case, config_index: int) -> None:
        nonlocal done, retries
        config = configs[config_index]
        result: CaseResult | None = None
        for attempt_no in range(1, max_attempts + 1):
            async with limiter:
                result = await attempt(case, config, config_index)
            result.attempts = attempt_no
            if result.rate_limited and attempt_no < max_attempts:
                retries += 1
                await asyncio.sleep(limiter.on_rate_limit())
                continue
            if result.error and "database is locked" in result.error and attempt_no < max_attempts:
                # Many writers on one SQLite file can outlast its busy timeout: replay the case.
                retries += 1
                await asyncio.sleep(0.2 * attempt_no)
                continue
            limiter.on_success()
            break
        assert result is not None
        run.results.append(result)
        write = None
        if eval_store is not None and run.run_id is not None:
            # Shielded and awaited before the run is finished: a cancel never leaves a half-written result
            # nor a result written after the run's status.
            write = asyncio.ensure_future(asyncio.to_thread(eval_store.add_result, run.run_id, result.to_dict()))
            writes.add(write)
        done += 1
        if progress is not None:
            progress(done, total, result)
        if write is not None:
            await asyncio.shield(write)

    status = "done"  # or "cancelled" (should_stop, Ctrl-C, a cancelled task, a page's rerun), "failed"
    tasks: list[asyncio.Task[None]] = []
    try:
        if workers > 1:
            processes = _ProcessPool(workers, base, configs, store, max(1, concurrency), loop,
                                     limiter.on_rate_limit)
        tasks = [asyncio.ensure_future(job(c, k)) for c, k in jobs]
        pending: set[asyncio.Task[None]] = set(tasks)
        while pending:
            finished, pending = await asyncio.wait(pending, timeout=STOP_POLL_S if should_stop else None,
                                                   return_when=asyncio.FIRST_EXCEPTION)
            for task in finished:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if pending and should_stop is not None and should_stop():
                status = "cancelled"
                break
    except BaseException as exc:
        # Not an error of the run (asyncio's cancel, KeyboardInterrupt, Streamlit's stop): a cancel.
        status = "failed" if isinstance(exc, Exception) else "cancelled"
        if status == "failed":
            run.stats["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if processes is not None:
            processes.close(cancel=status != "done")
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()
        if writes:
            await asyncio.gather(*writes, return_exceptions=True)
        # Raising out too, the stored run is closed (never left "running") with the results it has.
        try:
            _close_run(run, configs, jobs, resources, processes, limiter, retries, workers, target, skipped,
                       eval_store, status=status)
        except Exception:
            if status == "done":
                raise  # else the exception on its way out says more than this one
    return run


def _close_run(run: RunResult, configs: list[RunConfig], jobs: list[tuple[Case, int]], resources: _Resources,
               processes: _ProcessPool | None, limiter: AdaptiveLimiter, retries: int, workers: int,
               target: str | None, skipped: list[dict[str, str]], eval_store: Any, *, status: str) -> None:
    """Order the results as the jobs, fill the run's figures and store its end (once)."""
    if run.finished_at:
        return
    order = {(configs[k].label, c.id): i for i, (c, k) in enumerate(jobs)}
    run.results.sort(key=lambda r: order.get((r.config, r.case_id), 0))
    run.finished_at = time.time()
    versions = processes.versions if processes is not None else {}
    run.prompt_versions = {c.label: versions.get(c.label) or resources.prompt_versions(c) for c in configs}
    run.stats.update({"rate_limits": limiter.rate_limits, "replayed_cases": retries,
                      "min_concurrency": limiter.min_seen, "final_concurrency": limiter.limit,
                      "wall_s": round(run.wall_s, 3), "workers": workers})
    if status != "done":
        run.stats.update(cancelled=status == "cancelled", planned_cases=len(jobs))
    if target:
        run.stats.update(target=target, skipped=skipped)
    if eval_store is not None and run.run_id is not None:
        _finish(eval_store, run, summary(run), status=status)


def _finish(eval_store: Any, run: RunResult, summary: Mapping[str, Any], *, status: str = "done") -> None:
    from evals.store import eval_run

    eval_store.finish_run(run.run_id, status=status, cases=len(run.results),
                          passed=sum(r.passed for r in run.results),
                          summary={**summary, "stats": run.stats, "wall_s": run.wall_s})
    with eval_store.store.begin() as conn:
        conn.execute(eval_run.update().where(eval_run.c.id_eval_run == run.run_id)
                     .values(prompt_versions=run.prompt_versions))


def run_suite(cases: Sequence[Case], configs: Sequence[RunConfig], base: Settings, **kwargs: Any) -> RunResult:
    """Blocking wrapper of :func:`run_suite_async` (CLI, pytest, Streamlit)."""
    return asyncio.run(run_suite_async(cases, configs, base, **kwargs))
