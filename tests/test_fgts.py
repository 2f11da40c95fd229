"""The fgts pack's rules (prompts/fgts/rules.py): Lei 13.932/2019 brackets, advance estimate, BRL formatting.

The dated advance rules, recomputed independently, are in tests/test_fgts_rules.py."""

from datetime import date
from decimal import Decimal

import pytest

from agent.config import PROJECT_ROOT
from agent.core.pack import import_pack_module

rules = import_pack_module(PROJECT_ROOT / "prompts" / "fgts", "rules")
DEFAULT_MONTHLY_RATE = rules.DEFAULT_MONTHLY_RATE
advance_estimate, brl, to_cents, yearly_withdrawal = (rules.advance_estimate, rules.brl, rules.to_cents,
                                                      rules.yearly_withdrawal)

D = Decimal


@pytest.mark.parametrize(
    ("balance", "expected"),
    [
        ("0", "0.00"),
        ("0.01", "0.01"),  # 50 % of one cent rounds half-up to one cent
        ("100", "50.00"),
        ("500", "250.00"),
        ("500.01", "250.00"),  # 40 % + 50 = 250.004
        ("750", "350.00"),
        ("1000", "450.00"),
        ("1000.01", "450.00"),  # 30 % + 150
        ("4000", "1350.00"),
        ("5000", "1650.00"),
        ("5000.01", "1650.00"),  # 20 % + 650
        ("10000", "2650.00"),
        ("10000.01", "2650.00"),  # 15 % + 1150
        ("15000", "3400.00"),
        ("15000.01", "3400.00"),  # 10 % + 1900
        ("20000", "3900.00"),
        ("20000.01", "3900.00"),  # 5 % + 2900
        ("25000", "4150.00"),
        ("100000", "7900.00"),
        ("1234.57", "520.37"),  # 370.371 + 150 → half-up to the cent
    ],
)
def test_yearly_withdrawal_bracket_table(balance: str, expected: str) -> None:
    assert yearly_withdrawal(D(balance)) == D(expected)


def test_yearly_withdrawal_is_continuous_and_monotonic() -> None:
    # The additional portions exist to make the table continuous: one cent more never pays less.
    previous = D("0")
    for cents in range(0, 2_500_000, 997):
        value = yearly_withdrawal(D(cents) / 100)
        assert value >= previous
        previous = value


def test_yearly_withdrawal_accepts_int_and_rejects_negative() -> None:
    assert yearly_withdrawal(2000) == D("750.00")
    with pytest.raises(ValueError, match="negative"):
        yearly_withdrawal(D("-1"))


def test_to_cents_rounds_half_up() -> None:
    assert to_cents(D("0.005")) == D("0.01")
    assert to_cents(D("2.675")) == D("2.68")  # float would give 2.67


def test_advance_estimate_by_hand() -> None:
    # 2025-06-15, old rules (no cap); the bank offers 3; birth month August → first payment in 2 months.
    est = advance_estimate(D("4000"), date(2025, 6, 15), D("0.0179"), birth_month=8, max_instalments=3)
    assert [r.balance_before for r in est.rows] == [D("4000.00"), D("2650.00"), D("1705.00")]
    assert [r.withdrawal for r in est.rows] == [r.advanced for r in est.rows] == [D("1350.00"), D("945.00"),
                                                                                   D("661.50")]
    assert [r.months_until_payment for r in est.rows] == [2, 14, 26]
    expected = [to_cents(w / D("1.0179") ** m) for w, m in ((1350, 2), (945, 14), (D("661.5"), 26))]
    assert [r.present_value for r in est.rows] == expected
    assert est.total_advanced == D("2956.50")
    assert est.total_net == sum(expected)
    assert est.total_interest == est.total_advanced - est.total_net
    assert est.monthly_rate == DEFAULT_MONTHLY_RATE and not est.capped


def test_advance_estimate_zero_rate_and_first_payment_month() -> None:
    free = advance_estimate(D("4000"), date(2025, 6, 15), D("0"), max_instalments=5)
    assert free.total_net == free.total_advanced
    assert [r.months_until_payment for r in free.rows] == [12, 24, 36, 48, 60]  # no birth month: 12 months
    soon = advance_estimate(D("4000"), date(2025, 6, 15), D("0.01"), max_instalments=1, months_until_first=0)
    assert soon.total_net == D("1350.00")


def test_advance_estimate_cap_under_the_new_rules() -> None:
    capped = advance_estimate(D("25000"), date(2025, 12, 1), birth_month=5)
    assert capped.instalments == 5 and capped.capped
    assert [r.advanced for r in capped.rows] == [D("500.00")] * 5
    # The worker still takes the rest in the birth month, so the balance shrinks by the full amount.
    assert capped.rows[1].balance_before == D("25000.00") - D("4150.00")


def test_advance_estimate_zero_balance_and_bad_args() -> None:
    assert advance_estimate(D("0"), date(2026, 11, 29)).total_net == D("0.00")
    assert advance_estimate(D("0"), date(2026, 11, 29)).stopped_by == "no_balance"
    with pytest.raises(ValueError):
        advance_estimate(D("100"), date(2026, 11, 29), max_instalments=0)
    with pytest.raises(ValueError):
        advance_estimate(D("100"), date(2026, 11, 29), D("-0.01"))
    with pytest.raises(ValueError):
        advance_estimate(D("100"), date(2026, 11, 29), birth_month=13)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D("1234.56"), "R$ 1.234,56"),
        (D("1234.5"), "R$ 1.234,50"),
        (D("0"), "R$ 0,00"),
        (D("0.005"), "R$ 0,01"),
        (D("999.999"), "R$ 1.000,00"),
        (D("1234567.891"), "R$ 1.234.567,89"),
        (D("-42"), "-R$ 42,00"),
        (1350, "R$ 1.350,00"),
        (4552.3, "R$ 4.552,30"),
    ],
)
def test_brl(amount: Decimal, text: str) -> None:
    assert brl(amount) == text
