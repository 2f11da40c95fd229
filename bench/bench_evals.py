"""Eval runner benchmarks (prints figures; never fails on time).

1. 1,000 conversations × 6 turns on local/rules, generated from the text goldens (target ≤ 10 s on
   2 cores); with ``--profile`` the top functions of a sequential sample.
2. The runner against an OpenAI-compatible stub in its own process (bench/stub_llm.py: asyncio,
   TCP_NODELAY, answers after ``--latency`` s), at each ``--concurrency``. For each level, in one run:

   - the latency bound: ``calls × latency ÷ concurrency``, ``calls`` counted by the stub;
   - the floor: a bare ``litellm.acompletion`` loop making the same number of calls at the same
     concurrency against the same stub (requests of the runner's mean size), and the same with the
     ``openai`` SDK's ``AsyncOpenAI`` (``--sync-floor``: also blocking ``litellm.completion`` on threads);
   - the runner: ``run_suite`` on six-turn conversations (``workers=`` each ``--workers`` value);

   each as wall time, ratio to the bound and CPU ms per model call (this process and its reaped
   children — the runner's workers —, never the stub, whose own CPU per request is printed too).
   Goal (issue 16): at concurrency 50, 500 conversations, 0.2 s: runner ≤ 1.25× the bound and
   ≤ 1.1× the bare-LiteLLM floor.

    .venv/bin/python bench/bench_evals.py [--local N] [--profile] [--skip-stub]
        [--stub-conversations 100] [--small-conversations 20] [--concurrency 4,16,50,100]
        [--latency 0.2] [--workers N[,M]] [--model openai/gpt-4o-mini] [--skip-floors] [--sync-floor]
    .venv/bin/python bench/bench_evals.py --local 0 --concurrency 50 --stub-conversations 500   # the goal figure
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.adapters.offline  # noqa: E402,F401  (before litellm)
from agent.config import load_settings  # noqa: E402
from evals.cases import Case, load_suite  # noqa: E402
from evals.runner import RunConfig, _Resources, run_case, run_suite  # noqa: E402

from bench.stub_llm import StubProcess  # noqa: E402

TURNS = 6


def six_turn_cases(n: int) -> list[Case]:
    """``n`` conversations of 6 turns from the text-only goldens (cycled, truncated, renamed)."""
    pool = [c for c in load_suite() if all(t.kind in {"customer", "burst"} for t in c.turns) and len(c.turns) >= 4]
    out: list[Case] = []
    i = 0
    while len(out) < n:
        case = pool[i % len(pool)]
        turns = case.turns[:TURNS]
        while len(turns) < TURNS:  # pad short goldens with a harmless FAQ turn
            turns = (*turns, replace(case.turns[0], messages=(replace(case.turns[0].messages[0],
                                                                      text="como funciona o saque-aniversário?"),),
                                     expect=()))
        out.append(replace(case, id=f"{case.id}_{i}", turns=turns, expect=(), snapshot=False))  # not a golden: no transcript snapshot recorded
        i += 1
    return out


def env_for(data_dir: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    return {**keep, "CONVERSA_DATA_DIR": data_dir, **extra}


def bench_local(n: int, concurrency: int, profile: bool, workers: int = 1) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env=env_for(tmp), dotenv_path=None)
        cases = six_turn_cases(n)
        # Warm-up (imports, pack, knowledge index, sandbox) outside the timing, as a long-lived runner would be;
        # worker processes (workers > 1) start inside it, their start-up included.
        run_suite(cases[:2], [], settings, concurrency=1, save=False)
        cpu0, started = cpu_seconds(), time.perf_counter()
        run = run_suite(cases, [], settings, concurrency=concurrency, save=True, workers=workers)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        turns = sum(len(r.turns) for r in run.results)
        passed = sum(r.passed for r in run.results)
        print(f"local/rules: {n} conversations × {TURNS} turns ({turns} turns), concurrency {concurrency}, "
              f"{workers} worker(s): {wall:.2f} s wall, {cpu:.2f} s CPU — {turns / wall:,.0f} turns/s, "
              f"{wall / turns * 1000:.2f} ms/turn wall, {cpu / turns * 1000:.2f} CPU ms/turn "
              f"({passed}/{n} passed; {os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        if profile:
            from agent.adapters.store import Store

            resources = _Resources(settings, Store.open(settings.database_url), None)
            sample = cases[:60]
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            for case in sample:
                run_case(case, RunConfig("p"), settings, resources=resources)
            profiler.disable()
            per_turn = (time.perf_counter() - t0) / (len(sample) * TURNS) * 1000
            print(f"  sequential profile of {len(sample)} conversations: {per_turn:.2f} ms/turn")
            stream = io.StringIO()
            stats = pstats.Stats(profiler, stream=stream)
            stats.sort_stats("cumulative").print_stats(28)
            print("\n".join("  " + line for line in stream.getvalue().splitlines()[6:40]))
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
            print("\n".join("  " + line for line in stream.getvalue().splitlines()[6:28]))


def cpu_seconds() -> float:
    """CPU of this process and of its reaped children (the runner's worker processes; not the live stub)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Measure:
    """One timed batch of model calls."""

    name: str
    calls: int
    wall_s: float
    cpu_s: float
    errors: int = 0
    cores: int = 1  # cores this batch can use at once (one process: one core, the GIL)

    def ratio(self, latency_s: float, concurrency: int) -> float:
        """Wall time ÷ the latency bound of this batch's own calls."""
        bound = self.calls * latency_s / concurrency
        return self.wall_s / bound if bound else float("nan")

    def cpu_bound_ratio(self, latency_s: float, concurrency: int) -> float:
        """The ratio to the bound that this batch's CPU alone imposes on its usable cores."""
        bound = self.calls * latency_s / concurrency
        return self.cpu_s / (bound * self.cores) if bound else float("nan")

    @property
    def cpu_ms_per_call(self) -> float:
        return self.cpu_s / self.calls * 1000 if self.calls else float("nan")


def floor_messages(request_bytes: int, i: int) -> list[dict[str, str]]:
    """A system prompt + a customer message whose JSON request is about ``request_bytes`` long."""
    system = ("Você é a assistente do saque-aniversário do FGTS. Responda com calma e clareza. "
              * max(1, request_bytes // 84))[: max(80, request_bytes - 250)]
    return [{"role": "system", "content": system}, {"role": "user", "content": f"quero antecipar, pedido {i}"}]


async def _bounded(calls: int, concurrency: int, one: Any) -> int:
    """Run ``one(i)`` for ``calls`` indices, ``concurrency`` at a time (fixed tasks pulling indices)."""
    indices = iter(range(calls))
    errors = 0

    async def lane() -> None:
        nonlocal errors
        for i in indices:
            try:
                await one(i)
            except Exception:  # noqa: BLE001  (counted and reported)
                errors += 1

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return errors


def bare_litellm(url: str, model: str, calls: int, concurrency: int, request_bytes: int) -> Measure:
    """``calls`` × ``litellm.acompletion`` against the stub, nothing else."""
    import litellm

    async def one(i: int) -> None:
        reply = await litellm.acompletion(model=model, messages=floor_messages(request_bytes, i), api_base=url,
                                          api_key="sk-bench", temperature=0.2, timeout=60, num_retries=0,
                                          max_retries=0)
        assert reply.choices[0].message.content

    return _timed("bare litellm.acompletion", calls, lambda: _bounded(calls, concurrency, one))


def bare_litellm_threads(url: str, model: str, calls: int, concurrency: int, request_bytes: int) -> Measure:
    """The same calls with the blocking ``litellm.completion`` on ``concurrency`` threads — what a runner
    whose engine is synchronous (one thread per running conversation) pays at best."""
    import litellm

    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        try:
            reply = litellm.completion(model=model, messages=floor_messages(request_bytes, i), api_base=url,
                                       api_key="sk-bench", temperature=0.2, timeout=60, num_retries=0, max_retries=0)
            assert reply.choices[0].message.content
        except Exception:  # noqa: BLE001  (counted and reported)
            errors += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        cpu0, started = cpu_seconds(), time.perf_counter()
        list(pool.map(one, range(calls)))
        return Measure("bare litellm.completion × threads", calls, time.perf_counter() - started,
                       cpu_seconds() - cpu0, errors)


def bare_openai(url: str, model: str, calls: int, concurrency: int, request_bytes: int) -> Measure:
    """The same calls with the ``openai`` SDK's AsyncOpenAI (one client, its own httpx pool)."""
    import openai

    async def run() -> int:
        async with openai.AsyncOpenAI(base_url=url, api_key="sk-bench", max_retries=0, timeout=60) as client:
            async def one(i: int) -> None:
                reply = await client.chat.completions.create(model=model.split("/", 1)[-1], temperature=0.2,
                                                             messages=floor_messages(request_bytes, i))  # type: ignore[arg-type]
                assert reply.choices[0].message.content

            return await _bounded(calls, concurrency, one)

    return _timed("bare openai AsyncOpenAI", calls, run)


def _timed(name: str, calls: int, make: Any) -> Measure:
    """Run the coroutine ``make()`` in a fresh event loop; wall and CPU of this process."""
    cpu0, started = cpu_seconds(), time.perf_counter()
    errors = asyncio.run(make())
    return Measure(name, calls, time.perf_counter() - started, cpu_seconds() - cpu0, errors)


def run_runner(stub: StubProcess, settings: Any, cases: list[Case], concurrency: int, workers: int,
               ) -> tuple[Measure, dict[str, Any], dict[str, Any], Any]:
    """``run_suite`` on ``cases``; the stub's stats before and after (its counter gives the calls)."""
    before, cpu0, started = stub.stats(), cpu_seconds(), time.perf_counter()
    run = run_suite(cases, [], settings, concurrency=concurrency, save=True, workers=workers)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    after = stub.stats()
    errors = [r.error for r in run.results if r.error]
    label = f"{workers} worker{'s' if workers != 1 else ''}"
    cores = min(max(1, workers), os.cpu_count() or 1)
    measure = Measure(f"runner ({len(cases)} conv., {label})", after["total"] - before["total"], wall, cpu,
                      len(errors), cores)
    if errors:
        print(f"  first runner error ({label}): {errors[0]}")
    return measure, before, after, run


def run_stub_level(stub: StubProcess, settings: Any, cases: list[Case], concurrency: int, args: argparse.Namespace,
                   ) -> dict[str, Any]:
    """The runner (once per ``--workers`` value), then the floors with the runner's exact call count."""
    runners, first = [], None
    for workers in args.workers:
        measure, before, after, run = run_runner(stub, settings, cases, concurrency, workers)
        runners.append(measure)
        first = first or (before, after, run)
    assert first is not None
    before, after, run = first
    calls = runners[0].calls
    request_bytes = (after["bytes_in"] - before["bytes_in"]) // max(1, calls)
    stub_cpu_ms = (after["cpu_s"] - before["cpu_s"]) / max(1, calls) * 1000
    bound = calls * args.latency / concurrency
    measures = []
    if not args.skip_floors:
        measures.append(bare_litellm(stub.url, args.model, calls, concurrency, request_bytes))
        measures.append(bare_openai(stub.url, args.model, calls, concurrency, request_bytes))
        if args.sync_floor:
            measures.append(bare_litellm_threads(stub.url, args.model, calls, concurrency, request_bytes))
    measures.extend(runners)
    print(f"concurrency {concurrency}: {len(cases)} conversations → {calls} model calls "
          f"({calls / max(1, len(cases)):.1f}/conversation, ~{request_bytes} B/request), latency {args.latency} s "
          f"→ bound {bound:.2f} s; stub CPU {stub_cpu_ms:.3f} ms/request")
    for m in measures:
        print(f"  {m.name:<42} {m.wall_s:7.2f} s  {m.ratio(args.latency, concurrency):5.2f}× bound  "
              f"{m.cpu_ms_per_call:6.2f} ms CPU/call  CPU-bound {m.cpu_bound_ratio(args.latency, concurrency):4.2f}× "
              f"on {m.cores} core{'s' if m.cores > 1 else ''}" + (f"  ({m.errors} errors)" if m.errors else "")
              + (f"  [{m.calls} calls]" if m.calls != calls else ""))
    if not args.skip_floors:
        for runner in runners:
            print(f"  {runner.name} ÷ bare-LiteLLM floor: {runner.wall_s / measures[0].wall_s:.2f}×")
    return {"concurrency": concurrency, "conversations": len(cases), "calls": calls, "bound": bound,
            "stub_cpu_ms": stub_cpu_ms, "measures": measures, "limiter": run.stats}


def bench_stub(args: argparse.Namespace) -> None:
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    rows = []
    with StubProcess(args.latency) as stub, tempfile.TemporaryDirectory() as tmp:
        extra = {"OPENAI_API_KEY": "sk-bench", "MAX_RETRIES": "0"}
        for role in ("DECISION", "INSIGHTS", "CONVERSATION"):
            extra[f"{role}_MODEL"] = args.model
            extra[f"{role}_API_BASE"] = stub.url
        settings = load_settings(env=env_for(tmp, **extra), dotenv_path=None)
        # Warm-up outside the timings: imports, pack, knowledge index, LiteLLM's and the SDK's first calls.
        run_suite(six_turn_cases(1), [], settings, concurrency=1, save=False)
        bare_litellm(stub.url, args.model, 8, 4, 2000)
        bare_openai(stub.url, args.model, 8, 4, 2000)
        for concurrency in levels:
            n = args.stub_conversations if concurrency > 4 else min(args.stub_conversations, args.small_conversations)
            rows.append(run_stub_level(stub, settings, six_turn_cases(n), concurrency, args))
    print_table(rows, args)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The figures as a Markdown table (bench/README.md keeps the latest one)."""
    print("\n| concurrency | conversations | calls | bound (s) | what | wall (s) | × bound | CPU ms/call "
          "| CPU-bound × (cores) |\n|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for m in row["measures"]:
            print(f"| {row['concurrency']} | {row['conversations']} | {row['calls']} | {row['bound']:.2f} | {m.name} "
                  f"| {m.wall_s:.2f} | {m.ratio(args.latency, row['concurrency']):.2f} | {m.cpu_ms_per_call:.2f} "
                  f"| {m.cpu_bound_ratio(args.latency, row['concurrency']):.2f} ({m.cores}) |")
    print(f"\nlatency {args.latency} s, model {args.model}; stub CPU per request: "
          + ", ".join(f"c{r['concurrency']} {r['stub_cpu_ms']:.3f} ms" for r in rows)
          + f"; {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", type=int, default=1000, help="local/rules conversations (0 skips)")
    parser.add_argument("--local-concurrency", type=int, default=2, help="threads; 2 was fastest on 2 cores")
    parser.add_argument("--profile", action="store_true", help="profile a sequential local/rules sample")
    parser.add_argument("--skip-stub", action="store_true")
    parser.add_argument("--stub-conversations", type=int, default=100, help="500 for the goal figure")
    parser.add_argument("--small-conversations", type=int, default=20,
                        help="conversations at concurrency ≤ 4 (100 would take minutes per measure)")
    parser.add_argument("--concurrency", default="4,16,50,100", help="comma-separated levels")
    parser.add_argument("--latency", type=float, default=0.2, help="stub seconds per completion")
    parser.add_argument("--workers", default=str(os.cpu_count() or 1),
                        help="runner worker processes; a comma list runs the runner "
                             "once per value, e.g. 1,2 (1 = in process)")
    parser.add_argument("--model", default="openai/gpt-4o-mini",
                        help="model string of every role (the stub answers JSON when asked for JSON)")
    parser.add_argument("--skip-floors", action="store_true", help="the runner only")
    parser.add_argument("--sync-floor", action="store_true",
                        help="also the blocking litellm.completion on a thread per concurrent call")
    args = parser.parse_args()
    args.workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    if args.local > 0:
        for workers in args.workers:
            bench_local(args.local, args.local_concurrency, args.profile and workers == args.workers[0], workers)
    if not args.skip_stub:
        bench_stub(args)


if __name__ == "__main__":
    main()
