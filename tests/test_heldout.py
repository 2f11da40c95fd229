"""The held-out message set (evals/heldout/) is valid and its scorer runs. The accuracy itself is a bench
figure (bench/bench_heldout.py), never asserted here."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from agent.br import cpf as cpf_rules
from agent.core.pack import get_pack
from evals.heldout import (DEFAULT_SET, HELDOUT_DIR, NEW_INTENTS, Item, ItemResult, known_events, load_items, problems,
                           score)


FRESH_SET = HELDOUT_DIR / "fgts_fresh.yaml"  # second batch, written apart from the pack and the first
UNSEEN_SET = HELDOUT_DIR / "fgts_unseen.yaml"  # third batch, never seen, scored once
SEALED_SET = HELDOUT_DIR / "fgts_sealed.yaml"  # fourth batch, sealed, scored once
# Each file and the fewest items it must hold per labelled event.
SETS = pytest.mark.parametrize(("path", "per_event"), [(DEFAULT_SET, 8), (FRESH_SET, 6), (UNSEEN_SET, 6),
                                                      (SEALED_SET, 6)],
                               ids=["fgts", "fgts_fresh", "fgts_unseen", "fgts_sealed"])


@SETS
def test_the_set_is_valid_and_large_enough(path: Path, per_event: int) -> None:
    items = load_items(path)
    assert len(items) >= 150
    assert problems(path) == []
    journey = get_pack().journey
    assert {i.step for i in items} <= set(journey.steps)
    assert {i.event for i in items} <= known_events(journey.intents)
    for item in items:
        for values in (item.attributes, item.captured):
            if "cpf" in values:
                assert cpf_rules.is_valid(str(values["cpf"])), item.text


@SETS
def test_the_set_is_balanced(path: Path, per_event: int) -> None:
    items = load_items(path)
    counts = Counter(i.event for i in items)
    assert counts["provide_data"] >= 30
    for event in ("confirm_yes", "confirm_no", "optin_accept", "faq", "goodbye", "complaint", "ask_human",
                  "cpf_invalid", *NEW_INTENTS):
        assert counts[event] >= per_event, event
    assert len({i.step for i in items}) >= 8


@SETS
def test_the_header_keeps_the_rule(path: Path, per_event: int) -> None:
    header = path.read_text(encoding="utf-8").split("items:")[0]
    assert "never tune" in header and "fresh" in header and "2026-" in header


def test_problems_are_found(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n"
                   "  - {text: oi, step: nowhere, event: greeting}\n"
                   "  - {text: oi, step: greeting, event: dancing}\n"
                   "  - {text: '123.456.789-00', step: collect_data, event: provide_data, attributes: {cpf: '12345678900'}}\n"
                   "  - {text: '949.828.886-04', step: collect_data, event: provide_data, attributes: {cpf: '46514546820'}}\n"
                   "  - {text: marco, step: collect_data, event: provide_data, attributes: {birth_month: 13, age: 3}}\n",
                   encoding="utf-8")
    found = "\n".join(problems(bad))
    for expected in ("unknown step 'nowhere'", "unknown event 'dancing'", "'12345678900' is not a valid CPF",
                     "not the one in the text", "birth_month 13", "['age']"):
        assert expected in found


def test_attribute_exact_match_rules() -> None:
    item = Item("Maria Souza 949.828.886-04", "collect_data", "provide_data",
                {"name": "maria souza", "cpf": "94982888604"})
    ok = ItemResult(item, "provide_data", {"name": "Maria  Souza", "cpf": "949.828.886-04", "balance": 3.0},
                    "provide_data", 1.0)
    assert ok.event_ok and ok.attributes_ok is True
    assert replace(ok, attributes={"name": "Maria Souza"}).attributes_ok is False  # CPF missing
    assert replace(ok, attributes={**ok.attributes, "birth_month": 3}).attributes_ok is False  # extra month
    assert replace(ok, attributes={**ok.attributes, "birth_date": "1990-03-01"}).attributes_ok is True
    nothing = ItemResult(Item("desisto", "collect_data", "quit"), "provide_data", {"name": "Desisto"}, "quit", 0.9)
    assert nothing.attributes_ok is None and nothing.spurious == ("name",) and not nothing.event_ok


def test_the_scorer_runs_on_the_engine() -> None:
    items = load_items()
    sample = [items[0], next(i for i in items if i.event == "provide_data" and "cpf" in i.attributes),
              next(i for i in items if i.event == "cpf_invalid")]
    wrong = replace(sample[0], event="complaint")  # a label the reader cannot meet
    result = score([*sample, wrong])
    assert len(result.results) == 4 and 0.0 <= result.intent_accuracy <= 0.75
    assert result.results[-1] in result.misses
    assert 0.0 <= result.attribute_exact_match <= 1.0 and len(result.with_attributes) == 1
    assert set(result.per_event) == {sample[0].event, "provide_data", "cpf_invalid", "complaint"}
    assert all(r.event for r in result.results)
