"""The fgts pack's rules (prompts/fgts/rules.py): Lei 13.932/2019 brackets, advance estimate, BRL formatting."""

from decimal import Decimal

import pytest

from agent.config import PROJECT_ROOT
from agent.core.pack import import_pack_module

rules = import_pack_module(PROJECT_ROOT / "prompts" / "fgts", "rules")
DEFAULT_MONTHLY_RATE, MAX_INSTALMENT_2025 = rules.DEFAULT_MONTHLY_RATE, rules.MAX_INSTALMENT_2025
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
    est = advance_estimate(D("4000"), years=3, monthly_rate=D("0.0179"))
    assert [r.balance_before for r in est.rows] == [D("4000.00"), D("2650.00"), D("1705.00")]
    assert [r.withdrawal for r in est.rows] == [D("1350.00"), D("945.00"), D("661.50")]
    assert [r.months_until_payment for r in est.rows] == [12, 24, 36]
    expected = [to_cents(w / D("1.0179") ** m) for w, m in ((1350, 12), (945, 24), (D("661.5"), 36))]
    assert [r.present_value for r in est.rows] == expected == [D("1091.12"), D("617.32"), D("349.26")]
    assert est.total_withdrawals == D("2956.50")
    assert est.total_net == sum(expected) == D("2057.70")
    assert est.total_interest == D("898.80")
    assert est.monthly_rate == DEFAULT_MONTHLY_RATE


def test_advance_estimate_defaults_and_zero_rate() -> None:
    est = advance_estimate(D("4000"))
    assert len(est.rows) == 5
    assert est.total_net == D("2352.62")
    free = advance_estimate(D("4000"), years=5, monthly_rate=D("0"))
    assert free.total_net == free.total_withdrawals == est.total_withdrawals


def test_advance_estimate_cap_and_first_payment_month() -> None:
    capped = advance_estimate(D("25000"), years=2, max_instalment=MAX_INSTALMENT_2025)
    assert [r.withdrawal for r in capped.rows] == [D("500.00"), D("500.00")]
    # The worker still takes the rest in the birth month, so the balance shrinks by the full amount.
    assert capped.rows[1].balance_before == D("25000.00") - D("4150.00")
    soon = advance_estimate(D("4000"), years=1, monthly_rate=D("0.01"), months_until_first=0)
    assert soon.total_net == D("1350.00")


def test_advance_estimate_zero_balance_and_bad_args() -> None:
    assert advance_estimate(D("0")).total_net == D("0.00")
    with pytest.raises(ValueError):
        advance_estimate(D("100"), years=0)
    with pytest.raises(ValueError):
        advance_estimate(D("100"), monthly_rate=D("-0.01"))


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
