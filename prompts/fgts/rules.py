"""FGTS saque-aniversário arithmetic: yearly withdrawal, the advance rules in force on a date, the estimate.

Pure functions over ``Decimal`` (never float: these are the amounts the agent quotes to the
customer, and the output guard compares them character by character with the API result).
Every amount is rounded half-up to the cent, as a bank statement would show it.

Sources
- Yearly withdrawal: Lei 13.932/2019, annex (bracket table ``BRACKETS`` below).
- The advance rules (instalment count, minimum and cap per instalment, waiting period after joining,
  operations per year) change over time, so they are *data*: ``advance_rules.yaml`` in this folder, one
  row per period with its source. ``rules_for(day)`` is the period in force on ``day``; nothing of those
  rules is written here. Today's rows: Conselho Curador do FGTS, resolution approved 2025-10-07, in force
  from 2025-11-01 (R$ 100–500 per instalment, 5 instalments in the first 12 months then 3, one operation
  a year, 90 days after joining); before it, no cap and up to 10 yearly withdrawals.
- Advance ("antecipação"): a loan that the bank recovers from the next yearly withdrawals, so
  its value is each advanced instalment discounted at the bank's monthly rate. No legal interest
  cap could be confirmed offline; published market rates for this product were 0,99 %–1,99 % a.m.,
  so ``DEFAULT_MONTHLY_RATE`` (1,79 % a.m.) is a realistic, configurable setting, not a law.
  IOF and fees are ignored: the result is an *estimate*, and the agent must present it so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from agent.br.money import CENT, brl, to_cents
from agent.br.money import as_decimal as _as_decimal

__all__ = ["CENT", "BRACKETS", "RULES_FILE", "AdvanceEstimate", "AdvancePeriod", "AdvanceRow", "RulesError",
           "advance_estimate", "bracket_for", "brl", "first_advance_day", "load_rules", "months_until_birthday",
           "next_operation_day", "parse_rules", "rules_for", "to_cents", "yearly_withdrawal"]

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
RULES_FILE = Path(__file__).with_name("advance_rules.yaml")


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


# ---------------------------------------------------------------------- the dated rules table


class RulesError(ValueError):
    """``advance_rules.yaml`` is unusable, or no period covers the date asked for."""


@dataclass(frozen=True)
class AdvancePeriod:
    """The advance rules in force from ``effective_from`` until the next period starts."""

    effective_from: date
    in_force_since: date
    max_instalments: int
    min_instalment: Decimal | None
    max_instalment: Decimal | None
    waiting_days: int
    operations_per_year: int | None
    source: str
    notes: str = ""


_REQUIRED = ("effective_from", "max_instalments", "min_instalment", "max_instalment", "waiting_days",
             "operations_per_year", "source")
_KNOWN = frozenset({*_REQUIRED, "in_force_since", "notes"})


def _day(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RulesError(f"{what} must be a date AAAA-MM-DD, got {value!r}") from None


def _count(value: Any, what: str, *, minimum: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = f"a whole number ≥ {minimum}" + (" or null" if optional else "")
        raise RulesError(f"{what} must be {kind}, got {value!r}")
    return value


def _amount(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = _as_decimal(value) if not isinstance(value, bool) else None
    except (InvalidOperation, TypeError, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise RulesError(f"{what} must be an amount in reais (e.g. 500.00) or null, got {value!r}")
    return to_cents(amount)


def _period(raw: Any, where: str) -> AdvancePeriod:
    if not isinstance(raw, Mapping):
        raise RulesError(f"{where} must be a mapping with {', '.join(_REQUIRED)}")
    missing = [k for k in _REQUIRED if k not in raw]
    unknown = sorted(set(map(str, raw)) - _KNOWN)
    if missing or unknown:
        raise RulesError(f"{where}: " + "; ".join(filter(None, (
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN))})" if unknown else ""))))
    start = _day(raw["effective_from"], f"{where}.effective_from")
    minimum = _amount(raw["min_instalment"], f"{where}.min_instalment")
    cap = _amount(raw["max_instalment"], f"{where}.max_instalment")
    if minimum is not None and cap is not None and minimum > cap:
        raise RulesError(f"{where}: min_instalment {minimum} is above max_instalment {cap}")
    source = str(raw["source"] or "").strip()
    if not source:
        raise RulesError(f"{where}.source must say where the rule comes from (title, date, address)")
    return AdvancePeriod(
        effective_from=start,
        in_force_since=_day(raw.get("in_force_since") or start, f"{where}.in_force_since"),
        max_instalments=int(_count(raw["max_instalments"], f"{where}.max_instalments", minimum=1) or 0),
        min_instalment=minimum,
        max_instalment=cap,
        waiting_days=int(_count(raw["waiting_days"], f"{where}.waiting_days", minimum=0) or 0),
        operations_per_year=_count(raw["operations_per_year"], f"{where}.operations_per_year", minimum=1,
                                   optional=True),
        source=source,
        notes=str(raw.get("notes") or "").strip(),
    )


def parse_rules(data: Any, where: str = "advance_rules.yaml") -> tuple[AdvancePeriod, ...]:
    """Validate the parsed YAML: a non-empty ``periods`` list, each period complete, dates strictly ascending."""
    periods_raw = data.get("periods") if isinstance(data, Mapping) else None
    if not isinstance(periods_raw, list) or not periods_raw:
        raise RulesError(f"{where}: expected a mapping with a non-empty 'periods' list")
    periods = tuple(_period(raw, f"{where}: periods[{i}]") for i, raw in enumerate(periods_raw))
    for i, (before, after) in enumerate(zip(periods, periods[1:], strict=False), start=1):
        if after.effective_from <= before.effective_from:
            raise RulesError(f"{where}: periods[{i}] starts {after.effective_from}, not after periods[{i - 1}] "
                             f"({before.effective_from}); list the periods in ascending effective_from order, "
                             "each date once")
    return periods


_cache: dict[Path, tuple[int, tuple[AdvancePeriod, ...]]] = {}
_cache_lock = threading.Lock()


def load_rules(path: Path | str = RULES_FILE) -> tuple[AdvancePeriod, ...]:
    """The periods of ``path`` (re-read when the file changes, like the pack's other files)."""
    file = Path(path)
    try:
        mtime = file.stat().st_mtime_ns
    except OSError:
        raise RulesError(f"{file} not found: the FGTS pack needs its dated advance rules") from None
    with _cache_lock:
        cached = _cache.get(file)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesError(f"{file}: not valid YAML ({exc})") from exc
    periods = parse_rules(data, str(file))
    with _cache_lock:
        _cache[file] = (mtime, periods)
    return periods


def rules_for(day: date, periods: Sequence[AdvancePeriod] | None = None) -> AdvancePeriod:
    """The period in force on ``day``: the last one whose ``effective_from`` is on or before it."""
    table = tuple(periods) if periods is not None else load_rules()
    found = None
    for period in table:
        if period.effective_from <= day:
            found = period
    if found is None:
        raise RulesError(f"no FGTS advance rules for {day.isoformat()}: the first period starts "
                         f"{table[0].effective_from.isoformat() if table else '(none)'}")
    return found


def first_advance_day(adhesion: date, period: AdvancePeriod) -> date:
    """First day an advance may be contracted after joining saque-aniversário on ``adhesion``."""
    return adhesion + timedelta(days=period.waiting_days)


def next_operation_day(operation: date) -> date:
    """One operation a year: the day a new one may be contracted after one made on ``operation``."""
    try:
        return operation.replace(year=operation.year + 1)
    except ValueError:  # 29/02 → 01/03 of the next year
        return date(operation.year + 1, 3, 1)


def months_until_birthday(day: date, birth_month: int) -> int:
    """Whole months from ``day``'s month to the next birth month, 1–12.

    The first advanced instalment is the next yearly withdrawal the bank can still receive: when
    the birth month is the current one, this year's withdrawal is already being paid to the
    worker, so the first advanced one is next year's (12 months).
    """
    if not 1 <= int(birth_month) <= 12:
        raise ValueError(f"birth_month must be 1–12, got {birth_month!r}")
    return (int(birth_month) - day.month - 1) % 12 + 1


# ---------------------------------------------------------------------- the estimate


@dataclass(frozen=True)
class AdvanceRow:
    """One advanced yearly withdrawal: what the fund pays then, what is advanced, and its value today."""

    year: int
    balance_before: Decimal
    withdrawal: Decimal  # the whole yearly withdrawal (Lei 13.932 table)
    advanced: Decimal  # the part advanced: the withdrawal, capped by the rules of the day
    months_until_payment: int
    present_value: Decimal

    @property
    def capped(self) -> bool:
        return self.advanced < self.withdrawal


@dataclass(frozen=True)
class AdvanceEstimate:
    """Estimate of an advance under ``period``'s rules at ``monthly_rate``."""

    rows: tuple[AdvanceRow, ...]
    monthly_rate: Decimal
    period: AdvancePeriod
    total_advanced: Decimal
    total_net: Decimal
    # Why there are not more rows: "max_instalments" (the rules' or the bank's count), "below_minimum"
    # (the next withdrawal is under the rules' minimum), "no_balance".
    stopped_by: str = "max_instalments"

    @property
    def instalments(self) -> int:
        return len(self.rows)

    @property
    def capped(self) -> bool:
        """True when the per-instalment cap lowered at least one instalment."""
        return any(r.capped for r in self.rows)

    @property
    def total_interest(self) -> Decimal:
        """What the customer pays for receiving the money now."""
        return self.total_advanced - self.total_net


def advance_estimate(
    balance: Decimal,
    day: date,
    monthly_rate: Decimal = DEFAULT_MONTHLY_RATE,
    *,
    birth_month: int | None = None,
    max_instalments: int | None = None,
    months_until_first: int | None = None,
    periods: Sequence[AdvancePeriod] | None = None,
) -> AdvanceEstimate:
    """Estimate the net amount of an advance contracted on ``day``, under the rules in force that day.

    Instalment *k* (1-based) is the *k*-th next yearly withdrawal (Lei 13.932 table on the balance
    left), capped at the period's ``max_instalment``; the balance shrinks by the whole withdrawal each
    year (with a cap, the worker still takes the rest in the birth month; fund yield and new deposits
    are ignored, as banks do for this simulation). There are the period's ``max_instalments``
    instalments (or ``max_instalments`` here, a bank's own lower limit), fewer when a withdrawal falls
    under the period's ``min_instalment`` (later ones are smaller still) or reaches zero.
    Instalment *k* is paid ``m + 12·(k-1)`` months from ``day``, ``m`` = months until the next birth
    month (``months_until_birthday``; 12 without a birth month, or ``months_until_first``), and
    discounted by ``(1 + rate)^months``. Rows are rounded to the cent and the totals are sums of the
    rounded rows, so a table shown to the customer always adds up.
    """
    period = rules_for(day, periods)
    count = period.max_instalments
    if max_instalments is not None:
        if max_instalments < 1:
            raise ValueError("max_instalments must be at least 1")
        count = min(count, int(max_instalments))
    if months_until_first is None:
        months_until_first = months_until_birthday(day, birth_month) if birth_month else 12
    if months_until_first < 0:
        raise ValueError("months_until_first cannot be negative")
    rate = _as_decimal(monthly_rate)
    if rate < 0:
        raise ValueError("monthly_rate cannot be negative")
    remaining = to_cents(_as_decimal(balance))
    rows: list[AdvanceRow] = []
    stopped_by = "max_instalments"
    for year in range(1, count + 1):
        withdrawal = yearly_withdrawal(remaining)
        if withdrawal <= 0:
            stopped_by = "no_balance"
            break
        if period.min_instalment is not None and withdrawal < period.min_instalment:
            stopped_by = "below_minimum"
            break
        advanced = withdrawal if period.max_instalment is None else min(withdrawal, period.max_instalment)
        months = months_until_first + 12 * (year - 1)
        present = to_cents(advanced / (1 + rate) ** months)
        rows.append(AdvanceRow(year, remaining, withdrawal, advanced, months, present))
        remaining -= withdrawal
    return AdvanceEstimate(
        rows=tuple(rows),
        monthly_rate=rate,
        period=period,
        total_advanced=sum((r.advanced for r in rows), Decimal("0.00")),
        total_net=sum((r.present_value for r in rows), Decimal("0.00")),
        stopped_by=stopped_by,
    )
