"""Held-out WhatsApp messages (evals/heldout/fgts.yaml) read by the engine on local/rules (prints figures).

Intent (event) accuracy, attribute exact-match (items that expect attributes: every expected key equal,
no extra name/CPF/month), the misses (text → expected/got), per-event accuracy and names/CPFs/months
read from messages that give none. Target ≥ 95 % each; never fails. See evals/heldout/README.md.

    .venv/bin/python bench/bench_heldout.py [FILE.yaml ...] [--all]   (--all: list every item)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.heldout import ATTRIBUTES, DEFAULT_SET, ItemResult, load_items, score  # noqa: E402

TARGET = 0.95


def _attrs(values: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if k in ATTRIBUTES}
    return "{" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}" if shown else ""


def _line(r: ItemResult) -> str:
    got = f"{r.event} {_attrs(r.attributes)}".strip()
    expected = f"{r.item.event} {_attrs(r.item.attributes)}".strip()
    captured = f" [captured: {', '.join(r.item.captured)}]" if r.item.captured else ""
    return (f"  [{r.item.step}]{captured} {r.item.text!r}\n      expected {expected} → got {got} "
            f"(classifier: {r.intent} {r.confidence:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_SET])
    parser.add_argument("--all", action="store_true", help="print every item, not only the misses")
    args = parser.parse_args()
    items = [item for f in args.files for item in load_items(f)]
    started = time.perf_counter()
    result = score(items)
    wall = time.perf_counter() - started

    def mark(value: float) -> str:
        return "ok" if value >= TARGET else f"below the {TARGET:.0%} target"

    with_attrs = result.with_attributes
    print(f"held-out set: {len(items)} messages from {', '.join(str(f) for f in args.files)} "
          f"(local/rules, {wall:.1f} s)")
    print(f"intent (event) accuracy: {result.intent_accuracy:.1%} "
          f"({sum(r.event_ok for r in result.results)}/{len(items)}) — {mark(result.intent_accuracy)}")
    print(f"attribute exact-match:   {result.attribute_exact_match:.1%} "
          f"({sum(bool(r.attributes_ok) for r in with_attrs)}/{len(with_attrs)} items with attributes) — "
          f"{mark(result.attribute_exact_match)}")
    print(f"spurious captures:       {len(result.spurious)} message(s) giving no data read as name/CPF/month")
    print("\nper event (correct/total):")
    for event, (ok, total) in sorted(result.per_event.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
        print(f"  {event:<18} {ok:>3}/{total:<3} {ok / total:6.1%}")
    shown = result.results if args.all else result.misses
    print(f"\n{'all items' if args.all else 'misses'} ({len(shown)}): text → expected / got")
    for r in shown:
        print(_line(r))
    if result.spurious:
        print(f"\nspurious captures ({len(result.spurious)}):")
        for r in result.spurious:
            print(f"  [{r.item.step}] {r.item.text!r} → {_attrs(r.attributes)} (event {r.event})")


if __name__ == "__main__":
    main()
