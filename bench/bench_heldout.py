"""Held-out WhatsApp messages (evals/heldout/fgts.yaml, fgts_fresh.yaml, fgts_unseen.yaml, fgts_sealed.yaml) read by
the engine on local/rules.

Each file is scored on its own. The first three batches were each written apart from the pack and from the
batches before them, and each was then read while tuning (issue 10, in that order); fgts_sealed.yaml (a fourth
batch, written the same way) is the one nobody tuned on: its figure is the honest one for generalisation, and the
gap between it and the others is how much of theirs is memory.

Intent (event) accuracy, attribute exact-match (items that expect attributes: every expected key equal,
no extra name/CPF/month), the misses (text → expected/got), per-event accuracy and names/CPFs/months
read from messages that give none. Target ≥ 95 % each; never fails. See evals/heldout/README.md.

    .venv/bin/python bench/bench_heldout.py [FILE.yaml ...] [--all]   (--all: list every item;
                                                                       default: all four files)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.heldout import (  # noqa: E402
    ATTRIBUTES,
    DEFAULT_SET,
    HELDOUT_DIR,
    HeldoutScore,
    ItemResult,
    load_items,
    score,
)

TARGET = 0.95
FRESH_SET = HELDOUT_DIR / "fgts_fresh.yaml"
UNSEEN_SET = HELDOUT_DIR / "fgts_unseen.yaml"
SEALED_SET = HELDOUT_DIR / "fgts_sealed.yaml"
# What each default file is worth: the first three were written apart and then read while tuning (in that order);
# the fourth, written the same way, is sealed: nobody tunes on it.
LABELS = {DEFAULT_SET: "fgts.yaml (tuned on, round 1)", FRESH_SET: "fgts_fresh.yaml (tuned on, round 2)",
          UNSEEN_SET: "fgts_unseen.yaml (tuned on, round 3)",
          SEALED_SET: "fgts_sealed.yaml (sealed: never tuned on)"}


def _attrs(values: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if k in ATTRIBUTES}
    return "{" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}" if shown else ""


def _line(r: ItemResult) -> str:
    got = f"{r.event} {_attrs(r.attributes)}".strip()
    expected = f"{r.item.event} {_attrs(r.item.attributes)}".strip()
    captured = f" [captured: {', '.join(r.item.captured)}]" if r.item.captured else ""
    return (f"  [{r.item.step}]{captured} {r.item.text!r}\n      expected {expected} → got {got} "
            f"(classifier: {r.intent} {r.confidence:.2f})")


def _mark(value: float) -> str:
    return "ok" if value >= TARGET else f"below the {TARGET:.0%} target"


def _figures(result: HeldoutScore) -> tuple[str, str]:
    with_attrs = result.with_attributes
    intent = (f"{result.intent_accuracy:.1%} ({sum(r.event_ok for r in result.results)}/{len(result.results)}) — "
              f"{_mark(result.intent_accuracy)}")
    attributes = (f"{result.attribute_exact_match:.1%} ({sum(bool(r.attributes_ok) for r in with_attrs)}/"
                  f"{len(with_attrs)} items with attributes) — {_mark(result.attribute_exact_match)}")
    return intent, attributes


def _report(label: str, path: Path, result: HeldoutScore, wall: float, show_all: bool) -> None:
    intent, attributes = _figures(result)
    print(f"=== {label}: {len(result.results)} messages from {path} (local/rules, {wall:.1f} s)")
    print(f"intent (event) accuracy: {intent}")
    print(f"attribute exact-match:   {attributes}")
    print(f"spurious captures:       {len(result.spurious)} message(s) giving no data read as name/CPF/month")
    print("\nper event (correct/total):")
    for event, (ok, total) in sorted(result.per_event.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
        print(f"  {event:<18} {ok:>3}/{total:<3} {ok / total:6.1%}")
    shown = result.results if show_all else result.misses
    print(f"\n{'all items' if show_all else 'misses'} ({len(shown)}): text → expected / got")
    for r in shown:
        print(_line(r))
    if result.spurious:
        print(f"\nspurious captures ({len(result.spurious)}):")
        for r in result.spurious:
            print(f"  [{r.item.step}] {r.item.text!r} → {_attrs(r.attributes)} (event {r.event})")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_SET, FRESH_SET, UNSEEN_SET, SEALED_SET])
    parser.add_argument("--all", action="store_true", help="print every item, not only the misses")
    args = parser.parse_args()
    summary = []
    for path in args.files:
        label = LABELS.get(path.resolve(), path.name)
        started = time.perf_counter()
        result = score(load_items(path))
        _report(label, path, result, time.perf_counter() - started, args.all)
        summary.append((label, *_figures(result)))
    if len(summary) > 1:
        print("summary:")
        for label, intent, attributes in summary:
            print(f"  {label:<44} intent {intent}; attributes {attributes}")


if __name__ == "__main__":
    main()
