"""Suite strength (issue 11, first part): the built-in mutants of a pack, and one mutant replayed."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.config import DEFAULT_PACK_DIR
from evals.strength import OPERATORS, Mutant, _run_mutant, mutants

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "golden"


def test_every_operator_yields_mutants_that_apply_cleanly(tmp_path: Path) -> None:
    found = mutants(DEFAULT_PACK_DIR, per_operator=3)
    assert {m.operator for m in found} == set(OPERATORS)
    assert len({m.id for m in found}) == len(found)
    for mutant in found:
        copy = tmp_path / mutant.id.replace(":", "_").replace("/", "_")
        shutil.copytree(DEFAULT_PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
        before = (copy / mutant.file).read_text(encoding="utf-8")
        mutant.apply(copy)
        assert (copy / mutant.file).read_text(encoding="utf-8") != before, mutant.id


def test_mutants_are_deterministic() -> None:
    assert [m.id for m in mutants(per_operator=2)] == [m.id for m in mutants(per_operator=2)]


def test_a_mutant_is_killed_by_the_golden_that_sees_it(tmp_path: Path) -> None:
    # The opt-in reply loses its consent question: the happy path golden expects "LGPD" in it.
    text = (DEFAULT_PACK_DIR / "message_code_10.txt").read_text(encoding="utf-8")
    sentence = next(line for line in text.splitlines() if "LGPD" in line)
    mutant = Mutant("delete_sentence:message_code_10", "delete_sentence", "message_code_10.txt", "test", sentence, "")
    result = _run_mutant(mutant, str(DEFAULT_PACK_DIR), [str(GOLDEN / "happy_path_eligible.yaml")], str(tmp_path))
    assert result.killed_by == "happy_path_eligible" and result.goldens_run == 1


def test_an_equivalent_mutant_survives(tmp_path: Path) -> None:
    # A comment line changed in journey.yaml changes nothing the customer sees.
    mutant = Mutant("noop", "delete_sentence", "journey.yaml", "a comment", "# Jornada", "# A jornada")
    result = _run_mutant(mutant, str(DEFAULT_PACK_DIR), [str(GOLDEN / "goodbye_mid_journey.yaml")], str(tmp_path))
    assert not result.killed and result.goldens_run == 1
