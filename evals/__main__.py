"""``python -m evals``: replay golden conversations, list runs, diff them, write reports.

  run [SUITE]        replay the goldens on the configured models (default: the configured pack's,
                     evals/golden/<pack>/ if it exists, else evals/golden/ — PACK_DIR picks the pack)
                     --tag/--id filter · --config FILE|SPEC (repeatable) · --sweep ROLE=M1,M2
                     --concurrency N · --workers N · --junit/--html/--json PATH · --baseline RUN|latest
                     --target URL: through a deployed agent's POST /chat (evals/remote.py)
                     exit 1 on any failure or on a regression against the baseline; Ctrl-C cancels
                     (finished cases kept, run stored "cancelled", exit 130; a second Ctrl-C aborts)
  list               runs (default), --cases [SUITE] (default: the pack's), --scorers, --personas
  diff RUN_A RUN_B   newly failing / passing, cost and latency change (exit 1 if anything newly fails)
  report RUN         --html/--junit/--json PATH (RUN may be "latest")
  validate [SUITE]   check every golden file (default: all of evals/golden/, subfolders too; file:line)
  simulate PERSONA   a simulated customer (judge role) talks to the agent; --save writes a golden

A config SPEC is "label:decision=gpt-4o-mini,conversation=gpt-4o@0.3" (label, @temperature optional).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _settings() -> Any:
    from agent.config import load_settings

    return load_settings()


def _suite(args: argparse.Namespace, settings: Any | None = None) -> Path:
    """The suite named on the command line, else the configured pack's goldens."""
    from evals.cases import suite_for_pack

    if args.suite:
        return Path(args.suite)
    return suite_for_pack((settings or _settings()).pack_dir)


def _progress(stream: Any) -> Any:
    """A one-line progress bar on a terminal, one line per case otherwise."""
    started = time.perf_counter()
    tty = stream.isatty()

    def show(done: int, total: int, result: Any) -> None:
        mark = "✓" if result.passed else "✗"
        if tty:
            width = 30
            filled = int(width * done / max(1, total))
            stream.write(f"\r[{'█' * filled}{'·' * (width - filled)}] {done}/{total} {mark} {result.case_id[:40]:<40}"
                         f" {time.perf_counter() - started:5.1f}s")
            if done == total:
                stream.write("\n")
        else:
            stream.write(f"{done}/{total} {mark} {result.case_id} [{result.config}]\n")
        stream.flush()

    return show


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _write(path: str | None, text: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)


def _configs(args: argparse.Namespace) -> list[Any]:
    from evals.runner import RunConfig, load_configs, sweep_configs

    configs: list[Any] = []
    for spec in args.config or []:
        configs.extend(load_configs(spec) if Path(spec).is_file() else [RunConfig.parse(spec)])
    for sweep in args.sweep or []:
        role, _, models = sweep.partition("=")
        base = configs[0] if configs else RunConfig(label="base")
        configs.extend(sweep_configs(base, role.strip(), [m.strip() for m in models.split(",") if m.strip()]))
    labels = [c.label for c in configs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"config labels must be unique: {labels}")
    return configs


def cmd_run(args: argparse.Namespace) -> int:
    from evals.cases import load_suite
    from evals.history import load_run, open_store
    from evals.report import (diff, html_report, json_report, junit_xml, text_diff, text_failures, text_hold_rates,
                              text_matrix)
    from evals.runner import default_workers, run_suite

    settings = _settings()
    suite = _suite(args, settings)
    cases = load_suite(suite, tags=args.tag or (), ids=args.id or ())
    if not cases:
        print("No goldens match the filters.", file=sys.stderr)
        return 2
    configs = _configs(args)
    if args.target:
        if configs:
            print("--target replays on the deployment's own models: no --config/--sweep with it.", file=sys.stderr)
            return 2
        from evals.results import RunConfig

        configs = [RunConfig(label=f"target={args.target}")]
    if args.update_snapshots:
        from evals.snapshots import UPDATE_ENV

        os.environ[UPDATE_ENV] = "1"
    workers = args.workers if args.workers is not None else default_workers(len(cases) * max(1, len(configs)),
                                                                            args.target)
    print(f"Replaying {len(cases)} golden(s) × {max(1, len(configs))} config(s), concurrency {args.concurrency}"
          + (f", {workers} worker processes" if workers > 1 else "") + "…", file=sys.stderr)
    with _ctrl_c_cancels() as stop:
        run = run_suite(cases, configs, settings, concurrency=args.concurrency, name=args.name or "",
                        suite=str(args.suite or _relative(suite)), save=not args.no_save,
                        progress=None if args.quiet else _progress(sys.stderr), target=args.target,
                        workers=workers, should_stop=stop.is_set)
    if run.stats.get("cancelled"):
        if not args.quiet:
            sys.stderr.write("\n")
        print(text_matrix(run, bar=args.bar))
        print(f"CANCELLED: {len(run.results)}/{run.stats.get('planned_cases')} cases finished, "
              f"{sum(r.passed for r in run.results)} passed, in {run.wall_s:.1f} s"
              + (f" — run #{run.run_id} (status cancelled)" if run.run_id else ""), file=sys.stderr)
        return 130
    for skipped in run.stats.get("skipped") or ():
        print(f"skipped {skipped['case_id']}: {skipped['reason']}", file=sys.stderr)
    print(text_matrix(run, bar=args.bar))
    rates = text_hold_rates(run)
    if rates:
        print(rates)
    failures = text_failures(run)
    if failures:
        print(failures)
    baseline = None
    code = 0 if run.passed else 1
    if args.baseline:
        store = open_store(settings)
        try:
            baseline = load_run(store, args.baseline if args.baseline != "latest" else
                                (store.latest_run_id(before=run.run_id) or "latest"))
        except KeyError as exc:
            print(f"baseline: {exc}", file=sys.stderr)
        if baseline is not None:
            d = diff(baseline, run)
            print(text_diff(d))
            if d["regression"]:
                code = 1
    _write(args.junit, junit_xml(run))
    _write(args.html, html_report(run, baseline=baseline, bar=args.bar, lang=args.lang))
    _write(args.json, json_report(run, bar=args.bar))
    status = "PASS" if run.passed else "FAIL"
    skipped = len(run.stats.get("skipped") or ())
    print(f"{status}: {sum(r.passed for r in run.results)}/{len(run.results)} passed in {run.wall_s:.1f} s"
          + (f", {skipped} skipped (see above)" if skipped else "")
          + (f" — run #{run.run_id}" if run.run_id else ""), file=sys.stderr)
    return code


@contextlib.contextmanager
def _ctrl_c_cancels() -> Iterator[threading.Event]:
    """Inside the block the first Ctrl-C sets the event (the run cancels, keeping its finished cases); the
    second one interrupts as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def first(signum: int, frame: Any) -> None:
        stop.set()
        print("\nCancelling: finished cases are kept (Ctrl-C again to abort)…", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_list(args: argparse.Namespace) -> int:
    if args.scorers:
        from evals.scorers import describe

        for s in describe():
            print(f"{s['level']:<13} {s['name']:<20} {s['doc']}" + (" (list: each item)" if s["list"] else ""))
        print("Every scorer also has a not- form (not-contains, not-step …).")
        return 0
    if args.personas:
        from evals.simulate import PERSONAS

        for key, p in PERSONAS.items():
            print(f"{key:<24} {p.name}: {p.goal}")
        return 0
    if args.cases:
        from evals.cases import load_suite

        for case in load_suite(_suite(args)):
            print(f"{case.id:<40} {len(case.turns):>2} turns {case.expectation_count:>3} checks  [{', '.join(case.tags)}]")
        return 0
    from evals.history import open_store

    runs = open_store(_settings()).list_runs(args.limit)
    if not runs:
        print("No eval runs yet — `python -m evals run`.")
    for r in runs:
        labels = ", ".join(c.get("label", "") for c in r.get("configs") or [])
        when = r["started_at"].strftime("%Y-%m-%d %H:%M") if r.get("started_at") else ""
        print(f"#{r['id']:<5} {when}  {r['status']:<8} {r['passed']:>4}/{r['cases']:<4} {r.get('git_commit') or '':<20}"
              f" {r.get('name') or ''} [{labels}]")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from evals.history import load_run, open_store
    from evals.report import diff, text_diff

    store = open_store(_settings())
    d = diff(load_run(store, args.run_a), load_run(store, args.run_b))
    print(json.dumps(d, indent=2, ensure_ascii=False) if args.json else text_diff(d))
    return 1 if d["regression"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    from evals.history import load_run, open_store
    from evals.report import html_report, json_report, junit_xml, text_failures, text_hold_rates, text_matrix

    store = open_store(_settings())
    run = load_run(store, args.run)
    baseline = load_run(store, args.baseline) if args.baseline else None
    print(text_matrix(run, bar=args.bar))
    if text_hold_rates(run):
        print(text_hold_rates(run))
    failures = text_failures(run)
    if failures:
        print(failures)
    html_path = args.html or (None if (args.junit or args.json) else f"evals-report-{run.run_id}.html")
    _write(html_path, html_report(run, baseline=baseline, bar=args.bar, lang=args.lang))
    _write(args.junit, junit_xml(run))
    _write(args.json, json_report(run, bar=args.bar))
    return 0 if run.passed else 1


def cmd_validate(args: argparse.Namespace) -> int:
    from evals.cases import golden_files, validate_suite

    files = golden_files(args.suite, recursive=not args.suite)
    errors = [e for f in files for e in validate_suite(f)]
    for error in errors:
        print(error)
    print(f"{len(files) - len(errors)} valid, {len(errors)} invalid", file=sys.stderr)
    return 1 if errors else 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from evals.record import golden_yaml, save_golden
    from evals.simulate import simulate

    sim = simulate(_settings(), args.persona, max_turns=args.max_turns, today=args.today)
    for m in sim.transcript:
        print(f"{m['role']}: {m['text']}")
    print(f"— stopped: {sim.stop_reason} (step {sim.final_step}; simulator cost US$ {sim.customer_cost_usd:.6f})",
          file=sys.stderr)
    data = sim.as_golden()
    if args.save:
        print(f"saved {save_golden(data, overwrite=args.overwrite)}", file=sys.stderr)
    else:
        print(golden_yaml(data))
    return 0


def cmd_strength(args: argparse.Namespace) -> int:
    """Seeded defects (mutants) of a pack against its goldens: a table and the kill rate."""
    from evals.strength import mutants, run_strength

    if args.list:
        for m in mutants(args.pack, per_operator=args.per_operator):
            print(f"{m.id:<40} {m.description}")
        return 0

    def progress(i: int, total: int, result: Any) -> None:
        verdict = f"killed by {result.killed_by}" if result.killed else "SURVIVED"
        print(f"{i}/{total} {result.mutant.id}: {verdict} ({result.seconds:.0f} s)", flush=True)

    report = run_strength(args.pack, workers=args.workers, per_operator=args.per_operator, progress=progress)
    print()
    print(report.table())
    return 2 if report.baseline_failure else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="replay goldens and score them")
    run.add_argument("suite", nargs="?", help="folder or file of goldens (default evals/golden)")
    run.add_argument("--tag", action="append", help="only goldens with this tag (repeatable)")
    run.add_argument("--id", action="append", help="only this golden id (glob; repeatable)")
    run.add_argument("--config", action="append", help="YAML file of configs, or a SPEC (repeatable)")
    run.add_argument("--sweep", action="append", help="ROLE=MODEL1,MODEL2: vary one role, others fixed")
    run.add_argument("--concurrency", type=int, default=int(os.environ.get("EVAL_CONCURRENCY", "4")),
                     help="cases played at once across all workers (default 4, or EVAL_CONCURRENCY); halved on a 429")
    run.add_argument("--workers", type=int, default=None,
                     help="worker processes sharing the cases (default: the CPU count for more than 8 cases "
                          "in process on more than 2 CPUs, else 1; never more than --concurrency)")
    run.add_argument("--target", help="base URL of a deployed agent (python -m agent.server, SERVER_EVAL_HOOKS=1): "
                                      "replay every turn through its POST /chat")
    run.add_argument("--junit", help="write JUnit XML here")
    run.add_argument("--html", help="write the HTML report here")
    run.add_argument("--lang", choices=["pt", "en"], default=os.environ.get("CONVERSA_UI_LANG", "pt")[:2],
                     help="language of the HTML report (default pt, or CONVERSA_UI_LANG)")
    run.add_argument("--json", help="write the run as JSON here")
    run.add_argument("--baseline", help="RUN id or 'latest': exit 1 on any newly failing golden")
    run.add_argument("--bar", type=float, default=1.0, help="pass-rate bar for 'cheapest passing' (default 1.0)")
    run.add_argument("--name", help="a name for this run")
    run.add_argument("--no-save", action="store_true", help="do not store the run in the database")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--update-snapshots", action="store_true",
                     help="write each golden's transcript to evals/snapshots/ instead of comparing (read the diff, commit)")
    run.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="runs, cases, scorers or personas")
    ls.add_argument("suite", nargs="?")
    ls.add_argument("--cases", action="store_true")
    ls.add_argument("--scorers", action="store_true")
    ls.add_argument("--personas", action="store_true")
    ls.add_argument("--limit", type=int, default=30)
    ls.set_defaults(func=cmd_list)

    df = sub.add_parser("diff", help="compare two runs")
    df.add_argument("run_a")
    df.add_argument("run_b")
    df.add_argument("--json", action="store_true")
    df.set_defaults(func=cmd_diff)

    rp = sub.add_parser("report", help="reports of a stored run")
    rp.add_argument("run")
    rp.add_argument("--html")
    rp.add_argument("--lang", choices=["pt", "en"], default=os.environ.get("CONVERSA_UI_LANG", "pt")[:2])
    rp.add_argument("--junit")
    rp.add_argument("--json")
    rp.add_argument("--baseline")
    rp.add_argument("--bar", type=float, default=1.0)
    rp.set_defaults(func=cmd_report)

    va = sub.add_parser("validate", help="check golden files")
    va.add_argument("suite", nargs="?")
    va.set_defaults(func=cmd_validate)

    sm = sub.add_parser("simulate", help="a simulated customer talks to the agent")
    sm.add_argument("persona", nargs="?", default="eligible_whatsapp")
    sm.add_argument("--max-turns", type=int, default=14)
    sm.add_argument("--today", help="the conversation's date, AAAA-MM-DD (a pack's `today` setting)")
    sm.add_argument("--save", action="store_true", help="save the conversation as a golden")
    sm.add_argument("--overwrite", action="store_true")
    sm.set_defaults(func=cmd_simulate)

    st = sub.add_parser("strength", help="how many seeded defects of a pack its goldens catch (mutants)")
    st.add_argument("--pack", help="pack folder (default: the default pack, prompts/fgts)")
    st.add_argument("--workers", type=int, help="parallel processes (default: CPU count)")
    st.add_argument("--per-operator", type=int, default=6, help="mutants per operator (default 6)")
    st.add_argument("--list", action="store_true", help="only list the mutants, do not run them")
    st.set_defaults(func=cmd_strength)

    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or [])])
    from agent.errors import ConversaError
    from evals.cases import CaseError

    try:
        return int(args.func(args))
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, ConversaError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
