"""Brazilian money formatting, exact to the cent (``Decimal``, never float arithmetic)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def as_decimal(value: Decimal | str | float | int) -> Decimal:
    """``Decimal`` from a number; a float goes through ``str`` so 0.1 stays 0.1."""
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def to_cents(amount: Decimal | int | str) -> Decimal:
    """Round to the cent, half-up (``Decimal("0.005")`` → ``0.01``)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def brl(amount: Decimal | str | float) -> str:
    """Format as Brazilian reais: ``brl(Decimal("1234.5"))`` → ``"R$ 1.234,50"``."""
    value = to_cents(as_decimal(amount))
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"{sign}R$ {groups},{cents}"
