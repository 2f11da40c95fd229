"""Eval runner benchmarks (prints figures; never fails on time).

1. 1,000 conversations × 6 turns on local/rules, generated from the text goldens (target ≤ 10 s on
   2 cores); with ``--profile`` the top functions of a sequential sample.
2. 500 conversations against the OpenAI-compatible stub answering after 200 ms, at concurrency 50,
   wall time vs the latency bound ``calls × 0.2 s ÷ 50`` (target ≤ 1.25×); then at promptfoo's
   default concurrency 4 (a sample of ``--c4-conversations``, since 500 would take ~10 minutes).

    .venv/bin/python bench/bench_evals.py [--local N] [--stub N] [--c4-conversations N] [--profile] [--skip-stub]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.adapters.offline  # noqa: E402,F401  (before litellm)
from agent.config import load_settings  # noqa: E402
from evals.cases import Case, load_suite  # noqa: E402
from evals.runner import RunConfig, _Resources, run_case, run_suite  # noqa: E402

TURNS = 6


def six_turn_cases(n: int) -> list[Case]:
    """``n`` conversations of 6 turns from the text-only goldens (cycled, truncated, renamed)."""
    pool = [c for c in load_suite() if all(t.kind in {"customer", "burst"} for t in c.turns) and len(c.turns) >= 4]
    out = []
    i = 0
    while len(out) < n:
        case = pool[i % len(pool)]
        turns = case.turns[:TURNS]
        while len(turns) < TURNS:  # pad short goldens with a harmless FAQ turn
            turns = (*turns, replace(case.turns[0], messages=(replace(case.turns[0].messages[0],
                                                                      text="como funciona o saque-aniversário?"),),
                                     expect=()))
        out.append(replace(case, id=f"{case.id}_{i}", turns=turns, expect=()))
        i += 1
    return out


def env_for(data_dir: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    return {**keep, "CONVERSA_DATA_DIR": data_dir, **extra}


def bench_local(n: int, concurrency: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env=env_for(tmp), dotenv_path=None)
        cases = six_turn_cases(n)
        # Warm-up (imports, pack, knowledge index, sandbox) outside the timing, as a long-lived runner would be.
        run_suite(cases[:2], [], settings, concurrency=1, save=False)
        started = time.perf_counter()
        run = run_suite(cases, [], settings, concurrency=concurrency, save=True)
        wall = time.perf_counter() - started
        turns = sum(len(r.turns) for r in run.results)
        passed = sum(r.passed for r in run.results)
        print(f"local/rules: {n} conversations × {TURNS} turns ({turns} turns), concurrency {concurrency}: "
              f"{wall:.2f} s wall — {turns / wall:,.0f} turns/s, {wall / turns * 1000:.2f} ms/turn "
              f"({passed}/{n} passed; {os.cpu_count()} CPUs)")
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


def bench_stub(n: int, concurrency: int, latency_ms: int) -> None:
    import sandbox.openai_stub as stub
    from sandbox.openai_stub import start_stub

    # The stub writes headers and body in two segments; with Nagle's algorithm on, the client's delayed
    # ACK adds ~40 ms to every call (measured: 52 → 12 ms per call at 0 ms latency). Measure the runner,
    # not that TCP artefact.
    stub._Handler.disable_nagle_algorithm = True
    server = start_stub(latency_ms=latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            extra = {"OPENAI_API_KEY": "sk-test", "MAX_RETRIES": "0"}
            for role, model in (("DECISION", "openai/json"), ("INSIGHTS", "openai/json"),
                                ("CONVERSATION", "openai/ok")):
                extra[f"{role}_MODEL"] = model
                extra[f"{role}_API_BASE"] = server.url
            settings = load_settings(env=env_for(tmp, **extra), dotenv_path=None)
            cases = six_turn_cases(n)
            run_suite(cases[:1], [], settings, concurrency=1, save=False)  # warm-up
            before = sum(server.calls.values())
            started = time.perf_counter()
            run = run_suite(cases, [], settings, concurrency=concurrency, save=True)
            wall = time.perf_counter() - started
            calls = sum(server.calls.values()) - before
            bound = calls * latency_ms / 1000 / concurrency
            errors = [r.error for r in run.results if r.error]
            print(f"stub {latency_ms} ms: {n} conversations, concurrency {concurrency}: {wall:.1f} s wall, "
                  f"{calls} model calls → bound {bound:.1f} s, ratio {wall / bound:.2f}× "
                  f"(errors {len(errors)}, limiter {run.stats})" + (f"; first error: {errors[0]}" if errors else ""))
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", type=int, default=1000)
    parser.add_argument("--local-concurrency", type=int, default=2, help="threads; 2 was fastest on 2 cores")
    parser.add_argument("--stub", type=int, default=500)
    parser.add_argument("--c4-conversations", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-stub", action="store_true")
    args = parser.parse_args()
    if args.local > 0:
        bench_local(args.local, args.local_concurrency, args.profile)
    if not args.skip_stub:
        bench_stub(args.stub, 50, args.latency_ms)
        bench_stub(args.c4_conversations, 4, args.latency_ms)


if __name__ == "__main__":
    main()
