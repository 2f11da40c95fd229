"""Contract arithmetic and dates for the FGTS-advance contract pack (and its sandbox).

Pure functions over ``Decimal`` and ``date`` (never float, never the clock: the caller passes "today").

Sources
- Early settlement with a proportional reduction of interest: Código de Defesa do Consumidor
  (Lei 8.078/1990), art. 52, §2º. The settlement value is the present value of the instalments
  not yet due, discounted at the contract's monthly rate for the calendar days left
  (``(1 + i) ** (days / 30)``, the usual convention for a monthly rate); an instalment already due
  and not covered is owed in full. The Conselho Monetário Nacional forbids a fee for early
  settlement of loans to individuals (Resolução CMN 3.516/2007, consolidated in Resolução CMN
  5.004/2022): there is no fee here. The real rule for which rate discounts contracts with more than
  12 months to run is the bank's to apply; the simulator uses the contract rate throughout.
- Repayment: each instalment is one advanced yearly withdrawal, transferred by the CAIXA to the bank
  from the blocked FGTS balance in the customer's birth month (Lei 8.036/1990, art. 20-D, added by
  Lei 13.932/2019). The simulator dates it on the first business day of that month.
- Business days: weekends and national bank holidays (fixed dates plus Carnival Monday and
  Tuesday, Good Friday and Corpus Christi, from Easter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from agent.br.calendar import month_name
from agent.br.money import as_decimal, to_cents

DAYS_PER_MONTH = Decimal(30)

# Fixed national holidays on which banks do not open (month, day). 20 Nov is national since 2024.
_FIXED_HOLIDAYS = ((1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25))


def easter(year: int) -> date:
    """Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def bank_holidays(year: int) -> frozenset[date]:
    """National days without banking in ``year``."""
    fixed = {date(year, m, d) for m, d in _FIXED_HOLIDAYS}
    if year >= 2024:
        fixed.add(date(year, 11, 20))  # Dia Nacional de Zumbi e da Consciência Negra (Lei 14.759/2023)
    sunday = easter(year)
    moving = {sunday - timedelta(days=48), sunday - timedelta(days=47), sunday - timedelta(days=2),
              sunday + timedelta(days=60)}
    return frozenset(fixed | moving)


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday."""
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def first_business_day(year: int, month: int) -> date:
    """The first business day of a month (when the CAIXA releases the saque-aniversário)."""
    day = date(year, month, 1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(day: date, count: int) -> date:
    """``count`` business days after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def due_dates(signed: date, birth_month: int, count: int, *, min_days: int = 30) -> tuple[date, ...]:
    """Repayment dates: the first business day of the birth month, yearly, starting with the first
    one at least ``min_days`` after signing."""
    year = signed.year
    while first_business_day(year, birth_month) < signed + timedelta(days=min_days):
        year += 1
    return tuple(first_business_day(year + k, birth_month) for k in range(count))


def present_value(amount: Decimal | str | float, today: date, due: date, monthly_rate: Decimal | str | float) -> Decimal:
    """``amount`` due on ``due`` worth on ``today`` at ``monthly_rate`` (calendar days / 30), to the cent."""
    value = as_decimal(amount)
    days = (due - today).days
    if days <= 0:
        return to_cents(value)
    factor = (1 + as_decimal(monthly_rate)) ** (Decimal(days) / DAYS_PER_MONTH)
    return to_cents(value / factor)


@dataclass(frozen=True)
class Instalment:
    """One advanced yearly withdrawal of a contract."""

    number: int
    due: date
    amount: Decimal
    paid: Decimal = Decimal("0.00")

    @property
    def open_amount(self) -> Decimal:
        """What is still owed on it."""
        return to_cents(self.amount - self.paid)


@dataclass(frozen=True)
class Settlement:
    """An early-settlement quote on ``today``."""

    today: date
    nominal: Decimal  # instalments not yet due, at face value
    present: Decimal  # the same instalments discounted
    overdue: Decimal  # due and not covered, owed in full
    upcoming: int  # instalments not yet due that the payment settles
    overdue_count: int = 0  # instalments due and not fully covered

    @property
    def instalments(self) -> int:
        """How many instalments the payment settles."""
        return self.upcoming + self.overdue_count

    @property
    def discount(self) -> Decimal:
        """Interest removed by paying early (CDC art. 52, §2º)."""
        return to_cents(self.nominal - self.present)

    @property
    def total(self) -> Decimal:
        """What the customer pays to settle today."""
        return to_cents(self.present + self.overdue)


def settlement(instalments: Iterable[Instalment], today: date, monthly_rate: Decimal | str | float) -> Settlement:
    """Quote for paying off every open instalment on ``today``."""
    nominal = present = overdue = Decimal("0.00")
    upcoming = late = 0
    for item in instalments:
        owed = item.open_amount
        if owed <= 0:
            continue
        if item.due > today:
            upcoming += 1
            nominal += owed
            present += present_value(owed, today, item.due, monthly_rate)
        else:
            late += 1
            overdue += owed
    return Settlement(today, to_cents(nominal), to_cents(present), to_cents(overdue), upcoming, late)


def released_amount(amounts: Sequence[Decimal], dues: Sequence[date], signed: date,
                    monthly_rate: Decimal | str | float) -> Decimal:
    """What the bank paid out on signing: every instalment discounted to the signing date."""
    return to_cents(sum((present_value(a, signed, d, monthly_rate) for a, d in zip(amounts, dues, strict=True)),
                        Decimal("0.00")))


def yearly_rate(monthly_rate: Decimal | str | float) -> Decimal:
    """The equivalent yearly rate ``(1 + i)^12 - 1`` (as a fraction, 4 decimals)."""
    return ((1 + as_decimal(monthly_rate)) ** 12 - 1).quantize(Decimal("0.0001"))


# ---------------------------------------------------------------------- the Brazilian way


def date_br(value: date | str | None) -> str:
    """``2026-07-01`` → ``01/07/2026`` (empty for nothing)."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.strftime("%d/%m/%Y")


def month_year_br(value: date | str | None) -> str:
    """``2026-07-01`` → ``julho de 2026``."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{month_name(day.month)} de {day.year}"


def percent_br(fraction: Decimal | str | float, places: int = 2) -> str:
    """``0.0179`` → ``1,79%``."""
    value = (as_decimal(fraction) * 100).quantize(Decimal(1).scaleb(-places))
    return f"{value}".replace(".", ",") + "%"


def ordinal_br(number: int) -> str:
    """``3`` → ``3ª`` (parcela is feminine)."""
    return f"{number}ª"
