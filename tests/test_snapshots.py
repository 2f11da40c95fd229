"""Transcript snapshots (evals/snapshots.py): what the customer saw, pinned to the character."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import snapshots
from evals.cases import GOLDEN_DIR, load_case
from evals.scorers import TurnObservation


@pytest.fixture
def golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A golden that lives under evals/golden (as the suite's do), with its snapshot folder in tmp."""
    case = load_case(GOLDEN_DIR / "happy_path_eligible.yaml")
    monkeypatch.setattr(snapshots, "SNAPSHOT_DIR", tmp_path / "snapshots")
    monkeypatch.delenv(snapshots.UPDATE_ENV, raising=False)
    monkeypatch.delenv(snapshots.STRICT_ENV, raising=False)
    return case


def _observations(case, reply: str = "Olá! Eu sou a Clara.") -> list[TurnObservation]:
    return [TurnObservation(index=i, label=t.label, replies=[reply, "linha 1\nlinha 2"], step_after="optin",
                            message_codes=[10]) for i, t in enumerate(case.turns)]


def test_first_run_records_then_a_changed_reply_fails_with_a_diff(golden) -> None:
    first = snapshots.check(golden, _observations(golden))
    assert first["passed"] and "recorded" in first["reason"]
    path = snapshots.path_for(golden)
    assert path.read_text(encoding="utf-8").count("< Olá! Eu sou a Clara.") == len(golden.turns)
    assert snapshots.check(golden, _observations(golden))["passed"]
    changed = snapshots.check(golden, _observations(golden, "Olá! Eu sou a Clara, do banco."))
    assert not changed["passed"]
    assert "-< Olá! Eu sou a Clara." in changed["reason"] and "+< Olá! Eu sou a Clara, do banco." in changed["reason"]
    assert changed["name"] == "snapshot" and changed["level"] == "conversation"


def test_update_mode_accepts_the_change_and_strict_mode_never_records(golden, monkeypatch) -> None:
    snapshots.check(golden, _observations(golden))
    monkeypatch.setenv(snapshots.UPDATE_ENV, "1")
    assert snapshots.check(golden, _observations(golden, "Oi!"))["passed"]
    monkeypatch.delenv(snapshots.UPDATE_ENV)
    assert snapshots.check(golden, _observations(golden, "Oi!"))["passed"]
    snapshots.path_for(golden).unlink()
    monkeypatch.setenv(snapshots.STRICT_ENV, "1")
    missing = snapshots.check(golden, _observations(golden))
    assert not missing["passed"] and "--update-snapshots" in missing["reason"]
    assert not snapshots.path_for(golden).exists()


def test_control_characters_and_surrogates_read_back_exactly(golden) -> None:
    weird = "nul\x00 cr\r ls\u2028 esc\x1b[1m surrogate \udcff fim"
    assert snapshots.check(golden, _observations(golden, weird))["passed"]
    text = snapshots.path_for(golden).read_text(encoding="utf-8")
    assert "nul\\x00 cr\\x0d ls\\u2028 esc\\x1b[1m surrogate \\udcff fim" in text
    assert snapshots.check(golden, _observations(golden, weird))["passed"]


def test_only_offline_text_goldens_of_the_suite_are_snapshotted(golden, tmp_path: Path) -> None:
    assert snapshots.applies(golden, ["local/rules", "local/adversary", "local/adversary:gpt-4o-mini"])
    assert not snapshots.applies(golden, ["local/rules", "gpt-4o-mini"])  # a real model words it its own way
    image = load_case(next(p for p in sorted(GOLDEN_DIR.glob("*.yaml")) if "image:" in p.read_text()))
    assert not snapshots.applies(image, ["local/rules"])  # OCR engines differ between machines
    outside = tmp_path / "tiny.yaml"
    outside.write_text("id: tiny\nturns:\n  - customer: oi\n", encoding="utf-8")
    assert not snapshots.applies(load_case(outside), ["local/rules"])
    from dataclasses import replace

    assert not snapshots.applies(replace(golden, id=f"{golden.id}_7"), ["local/rules"])  # a bench's renamed copy
    opted_out = GOLDEN_DIR / "zz_tmp_opt_out.yaml"
    opted_out.write_text("id: zz_tmp_opt_out\nsnapshot: false\nturns:\n  - customer: oi\n", encoding="utf-8")
    try:
        assert not snapshots.applies(load_case(opted_out), ["local/rules"])
    finally:
        opted_out.unlink()


def test_every_suite_golden_that_is_snapshotted_has_its_snapshot_committed() -> None:
    missing = []
    for path in sorted(GOLDEN_DIR.rglob("*.yaml")):
        case = load_case(path)
        if snapshots.applies(case, ["local/rules"]) and not snapshots.path_for(case).is_file():
            missing.append(case.id)
    assert not missing, f"run `python -m evals run --update-snapshots` and commit: {missing}"


def test_a_failing_golden_never_records_its_first_snapshot(golden) -> None:
    assert snapshots.check(golden, _observations(golden), record=False) is None
    assert not snapshots.path_for(golden).exists()
