"""FGTS saque-aniversário arithmetic: yearly withdrawal, advance estimate, BRL formatting.

Pure functions over ``Decimal`` (never float: these are the amounts the agent quotes to the
customer, and the output guard compares them character by character with the API result).
Every amount is rounded half-up to the cent, as a bank statement would show it.

Sources
- Yearly withdrawal: Lei 13.932/2019, annex (bracket table ``BRACKETS`` below).
- Advance ("antecipação"): a loan that the bank recovers from the next yearly withdrawals, so
  its value is each future withdrawal discounted at the bank's monthly rate. No legal interest
  cap could be confirmed offline; published market rates for this product were 0,99 %–1,99 % a.m.,
  so ``DEFAULT_MONTHLY_RATE`` (1,79 % a.m.) is a realistic, configurable setting, not a law.
  IOF and fees are ignored: the result is an *estimate*, and the agent must present it so.
- Conselho Curador do FGTS, 2025 (reported effective 1 Nov 2025): at most R$ 500 per advanced
  instalment (minimum R$ 100), five instalments in the first 12 months, then three. These are
  available as ``max_instalment=MAX_INSTALMENT_2025`` / ``years=…``; the default stays the plain
  Lei 13.932 arithmetic so the numbers are easy to check by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agent.br.money import CENT, brl, to_cents
from agent.br.money import as_decimal as _as_decimal

__all__ = ["CENT", "BRACKETS", "AdvanceEstimate", "AdvanceRow", "advance_estimate", "bracket_for", "brl", "to_cents",
           "yearly_withdrawal"]

# (upper bound of the bracket, rate, additional portion) — Lei 13.932/2019, annex.
# The additional portions make the function continuous across brackets (500 → 250 on both
# sides of the boundary), which the tests check.
BRACKETS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal("500.00"), Decimal("0.50"), Decimal(0)),
    (Decimal("1000.00"), Decimal("0.40"), Decimal(50)),
    (Decimal("5000.00"), Decimal("0.30"), Decimal(150)),
    (Decimal("10000.00"), Decimal("0.20"), Decimal(650)),
    (Decimal("15000.00"), Decimal("0.15"), Decimal(1150)),
    (Decimal("20000.00"), Decimal("0.10"), Decimal(1900)),
    (None, Decimal("0.05"), Decimal(2900)),
)

DEFAULT_MONTHLY_RATE = Decimal("0.0179")
DEFAULT_ADVANCE_YEARS = 5
MAX_INSTALMENT_2025 = Decimal("500.00")


def bracket_for(balance: Decimal) -> tuple[Decimal, Decimal]:
    """Return ``(rate, additional portion)`` of the bracket that holds ``balance``."""
    amount = to_cents(_as_decimal(balance))
    for upper, rate, additional in BRACKETS:
        if upper is None or amount <= upper:
            return rate, additional
    raise AssertionError("unreachable: the last bracket is open-ended")


def yearly_withdrawal(balance: Decimal) -> Decimal:
    """Yearly saque-aniversário amount for a balance: ``balance × rate + additional``, to the cent.

    A zero balance withdraws nothing; a negative balance is a caller bug and raises ``ValueError``.
    """
    amount = to_cents(_as_decimal(balance))
    if amount < 0:
        raise ValueError(f"FGTS balance cannot be negative: {amount}")
    if amount == 0:
        return Decimal("0.00")
    rate, additional = bracket_for(amount)
    return to_cents(amount * rate + additional)


@dataclass(frozen=True)
class AdvanceRow:
    """One advanced yearly withdrawal: what the fund pays then, and what it is worth today."""

    year: int
    balance_before: Decimal
    withdrawal: Decimal
    months_until_payment: int
    present_value: Decimal


@dataclass(frozen=True)
class AdvanceEstimate:
    """Estimate of an advance of ``years`` yearly withdrawals at ``monthly_rate``."""

    rows: tuple[AdvanceRow, ...]
    monthly_rate: Decimal
    total_withdrawals: Decimal
    total_net: Decimal

    @property
    def total_interest(self) -> Decimal:
        """What the customer pays for receiving the money now."""
        return self.total_withdrawals - self.total_net


def advance_estimate(
    balance: Decimal,
    years: int = DEFAULT_ADVANCE_YEARS,
    monthly_rate: Decimal = DEFAULT_MONTHLY_RATE,
    *,
    months_until_first: int = 12,
    max_instalment: Decimal | None = None,
) -> AdvanceEstimate:
    """Estimate the net amount of advancing ``years`` yearly withdrawals.

    The balance shrinks each year by that year's withdrawal (fund yield and new deposits are
    ignored, as banks do for this simulation). Instalment *k* (1-based) is paid
    ``months_until_first + 12·(k-1)`` months from now and discounted by ``(1 + rate)^months``.
    ``max_instalment`` caps each advanced instalment (e.g. ``MAX_INSTALMENT_2025``).
    Row values are rounded to the cent and the totals are sums of the rounded rows, so a table
    shown to the customer always adds up.
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    if months_until_first < 0:
        raise ValueError("months_until_first cannot be negative")
    rate = _as_decimal(monthly_rate)
    if rate < 0:
        raise ValueError("monthly_rate cannot be negative")
    remaining = to_cents(_as_decimal(balance))
    rows: list[AdvanceRow] = []
    for year in range(1, years + 1):
        withdrawal = yearly_withdrawal(remaining)
        advanced = withdrawal if max_instalment is None else min(withdrawal, to_cents(max_instalment))
        months = months_until_first + 12 * (year - 1)
        present = to_cents(advanced / (1 + rate) ** months)
        rows.append(AdvanceRow(year, remaining, advanced, months, present))
        # With a cap the worker still takes the rest in the birth month: the balance shrinks by
        # the full yearly withdrawal either way.
        remaining -= withdrawal
    return AdvanceEstimate(
        rows=tuple(rows),
        monthly_rate=rate,
        total_withdrawals=sum((r.withdrawal for r in rows), Decimal("0.00")),
        total_net=sum((r.present_value for r in rows), Decimal("0.00")),
    )

