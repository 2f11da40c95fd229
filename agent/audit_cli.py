"""``python -m agent audit funnel|export-finetune``: the audit data from a terminal (README, "Audit data").

``funnel [--by day|config]`` prints the journey funnel of the configured pack (people's and the server's
conversations; ``--all-sources`` adds the bench's). ``export-finetune --out FILE [--allow-small]`` writes
the approved conversations as OpenAI chat fine-tuning JSONL and prints the mix, the tokens and the
estimated training cost. Exit codes: 0 done, 1 nothing to export or the file failed validation, 2 a
usage error or blocked by the deck's rule (under 100 approved conversations without ``--allow-small``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.adapters.schema import PEOPLE_SOURCES


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _print_funnel(args: argparse.Namespace) -> int:
    from agent.audit import funnel
    from agent.config import load_settings

    report = funnel(load_settings(), sources=None if args.all_sources else PEOPLE_SOURCES, by=args.by)
    for group in report.groups:
        print(f"== {report.pack} · {group.group}: {group.conversations} conversation(s), {group.completed} completed")
        print(f"{'step':<22} {'reached':>8} {'of start':>9} {'stopped':>8} {'drop':>7}  stopped chats")
        for step in group.steps:
            ids = ", ".join(map(str, step.dropped_chat_ids[:10])) + (", …" if len(step.dropped_chat_ids) > 10 else "")
            print(f"{step.step:<22} {step.reached:>8} {_pct(step.share_of_start):>9} {step.dropped:>8} "
                  f"{_pct(step.drop_rate):>7}  {ids}")
        print(f"opt-in: {_pct(group.optin_rate)} ({group.consent_granted}/{group.consent_asked}) · handoff: "
              f"{_pct(group.handoff_rate)} ({group.handoffs}) · cost per completed journey: "
              f"US$ {group.avg_cost_per_completed_usd:.6f} "
              f"(all spend / completed: US$ {group.cost_per_completion_usd:.6f})")
        print("outcomes: " + ", ".join(f"{k} {v}" for k, v in group.outcomes.items()))
        for o in group.tool_outcomes:
            print(f"  {o.tool} · API {o.code} · {o.outcome}: {o.calls} call(s) in {o.conversations} conversation(s)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from agent.config import load_settings
    from agent.finetune import FinetuneTooSmall, export_finetune

    try:
        report = export_finetune(load_settings(), Path(args.out), allow_small=args.allow_small, model=args.model,
                                 epochs=args.epochs)
    except FinetuneTooSmall as exc:
        print(f"blocked: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    if report.problems:
        return 1
    return 0 if report.examples else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent audit",
                                     description="Audit data: the journey funnel and the fine-tuning dataset.")
    commands = parser.add_subparsers(dest="action", required=True)
    fun = commands.add_parser("funnel", help="the journey funnel of the configured pack")
    fun.add_argument("--by", choices=("day", "config"), help="one funnel per day or per model configuration")
    fun.add_argument("--all-sources", action="store_true", help="include the bench's eval and simulation chats")
    exp = commands.add_parser("export-finetune", help="approved conversations as OpenAI fine-tuning JSONL")
    exp.add_argument("--out", required=True, help="the JSONL file to write")
    exp.add_argument("--allow-small", action="store_true",
                     help="export under the deck's minimum of 100 approved conversations (a trial file)")
    exp.add_argument("--model", default="gpt-4o-mini", help="the model whose training price estimates the cost")
    exp.add_argument("--epochs", type=int, help="training epochs (default: the price table's)")
    args = parser.parse_args(argv)
    return _print_funnel(args) if args.action == "funnel" else _export(args)
