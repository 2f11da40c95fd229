"""The money goldens are what scripts/money_goldens.py writes, and its arithmetic is the law's."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("money_goldens", ROOT / "scripts" / "money_goldens.py")
assert _spec and _spec.loader
money = importlib.util.module_from_spec(_spec)
sys.modules["money_goldens"] = money  # dataclasses look their module up
_spec.loader.exec_module(money)


def test_the_golden_files_are_the_scripts_output() -> None:
    assert money.main(["--check"]) == 0


def test_the_reference_shares_no_code_with_the_agent() -> None:
    source = (ROOT / "scripts" / "money_goldens.py").read_text(encoding="utf-8")
    assert "import agent" not in source and "from agent" not in source and "prompts" not in source.split('"""')[2]


def test_yearly_withdrawal_follows_the_law_table_and_is_continuous() -> None:
    # Lei 13.932/2019 examples: R$ 4.000 → 30 % + 150; R$ 60.000 → 5 % + 2.900; the boundaries meet.
    assert money.yearly(400_000) == 135_000 and money.yearly(6_000_000) == 590_000
    for bound in (50_000, 100_000, 500_000, 1_000_000, 1_500_000, 2_000_000):
        assert money.yearly(bound) == money.yearly(bound + 1)
    assert money.yearly(0) == 0 and money.reais(123_456) == "R$ 1.234,56" and money.reais(50_000, short=True) == "R$ 500"


def test_each_bracket_and_each_rules_period_has_a_golden() -> None:
    brackets = {next(i for i, (upper, _, _) in enumerate(money.LAW_TABLE) if upper is None or s.balance <= upper)
                for s in money.SCENARIOS}
    assert brackets == set(range(len(money.LAW_TABLE)))
    periods = {money.rules_on(s.day) for s in money.SCENARIOS}
    assert len(periods) == len(money.LIMITS)
    assert any(money.months_to_first(s.day, s.birth_month) == 12 for s in money.SCENARIOS)


def test_the_advance_matches_the_sandbox_table() -> None:
    # sandbox/README.md: 200.000.002-99 (R$ 4.000,00, July) → 3× 1.067,89 on 29/11/2026; 10× 2.943,49 on 15/06/2025.
    for day, expected in ((date(2026, 11, 29), "R$ 1.067,89"), (date(2025, 6, 15), "R$ 2.943,49")):
        scenario = money.Scenario("x", 400_000, 7, day, "", "", "")
        assert money.offer(scenario)[0][2].endswith(expected)
