"""Write the "money to the cent" goldens: evals/golden/money_*.yaml.

Every amount the customer sees at the offer (balance, yearly withdrawal, advance) is computed HERE, by a
second implementation that shares nothing with the agent (prompts/fgts/rules.py): integer cents and exact
fractions instead of Decimal, the Lei 13.932/2019 annex and the Conselho Curador's dated limits written out
again from their sources. A defect in the agent's arithmetic, its rules table (advance_rules.yaml) or the
field it reads from the API result then fails a golden, because the golden does not ask the agent what the
right answer is.

    python scripts/money_goldens.py          # rewrite the files (then read the diff and commit)
    python scripts/money_goldens.py --check  # exit 1 when a file differs from what this script writes

tests/test_money_goldens.py runs ``--check``, so a golden edited by hand is caught.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path

import yaml

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "evals" / "golden"

# Lei 13.932/2019, annex: (upper bound in cents or None, rate, additional portion in cents).
LAW_TABLE = ((50_000, Fraction(50, 100), 0), (100_000, Fraction(40, 100), 5_000),
             (500_000, Fraction(30, 100), 15_000), (1_000_000, Fraction(20, 100), 65_000),
             (1_500_000, Fraction(15, 100), 115_000), (2_000_000, Fraction(10, 100), 190_000),
             (None, Fraction(5, 100), 290_000))
# Conselho Curador do FGTS, resolution of 07/10/2025 (in force 01/11/2025): (from, instalments, min, cap in
# cents). Before it: up to 10 yearly withdrawals, no minimum and no cap.
LIMITS = ((date(2020, 4, 1), 10, None, None), (date(2025, 11, 1), 5, 10_000, 50_000),
          (date(2026, 11, 1), 3, 10_000, 50_000))
MONTHLY_RATE = Fraction(179, 10_000)  # the pack's default advance_monthly_rate (1,79 % a.m.)
MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")


def half_up(value: Fraction) -> int:
    """A non-negative amount in cents, rounded half up (as a bank statement shows it)."""
    return int(value + Fraction(1, 2))


def yearly(balance: int) -> int:
    """The yearly withdrawal of a balance, both in cents."""
    if balance <= 0:
        return 0
    for upper, rate, additional in LAW_TABLE:
        if upper is None or balance <= upper:
            return half_up(balance * rate + additional)
    raise AssertionError("the last bracket is open")


def reais(cents: int, *, short: bool = False) -> str:
    """R$ 1.234,56 (``short``: a whole amount without cents, R$ 500, as the offer writes a limit)."""
    whole, cents_part = divmod(cents, 100)
    text = f"R$ {whole:,}".replace(",", ".")
    return text if short and not cents_part else text + f",{cents_part:02d}"


@dataclass(frozen=True)
class Scenario:
    """One customer: a balance (cents), a birth month, a conversation date and how they write."""

    id: str
    balance: int
    birth_month: int
    day: date
    data_line: str  # name, CPF and month as the customer types them
    confirm: str
    note: str


SCENARIOS = (
    Scenario("money_bracket1_old_rules_2025_06", 32_000, 1, date(2025, 6, 15),
             "Ana Paula Lima, cpf 529.982.247-25, nasci em janeiro", "sim", "bracket 1 (up to R$ 500: 50 %)"),
    Scenario("money_bracket1_upper_bound_2026", 50_000, 4, date(2026, 11, 30),
             "sou o Joao Pedro Dias cpf 39053344705 nasci em abril", "isso", "bracket 1's upper bound, exactly R$ 500,00"),
    Scenario("money_bracket2_lower_bound_2025_12", 50_001, 10, date(2025, 12, 10),
             "Carla Mendes, CPF 111.444.777-35, mes de outubro", "ta certo", "bracket 2's first cent, R$ 500,01"),
    Scenario("money_bracket2_2026", 78_045, 12, date(2026, 11, 30),
             "meu nome é Bruno Teixeira, cpf 200.000.002-99 e nasci em dezembro 🎂", "sim 👍",
             "bracket 2 (R$ 500,01–1.000: 40 % + R$ 50), born in the conversation's next month"),
    Scenario("money_bracket3_2026_birth_month_now", 321_537, 11, date(2026, 11, 30),
             "Debora Nunes cpf 529.982.247-25 nasci em novembro", "sim",
             "bracket 3 (30 % + R$ 150), born in the conversation's month: first instalment in 12 months"),
    Scenario("money_bracket4_old_rules_2025_06", 777_777, 6, date(2025, 6, 15),
             "Eduardo Ramos, cpf 390.533.447-05, junho", "confirmo", "bracket 4 (20 % + R$ 650), old rules"),
    Scenario("money_bracket5_2026", 1_234_567, 2, date(2026, 11, 30),
             "Fabiana Costa cpf 111.444.777-35 nasci em fevereiro", "sim", "bracket 5 (15 % + R$ 1.150)"),
    Scenario("money_bracket6_2025_12", 1_750_000, 8, date(2025, 12, 10),
             "Gustavo Pires, 200.000.002-99, agosto", "s", "bracket 6 (10 % + R$ 1.900), first year of the new rules"),
    Scenario("money_bracket6_upper_bound_old_rules", 2_000_000, 3, date(2025, 6, 15),
             "Helena Vieira cpf 529.982.247-25 nasci em marco", "sim", "bracket 6's upper bound, R$ 20.000,00"),
    Scenario("money_bracket7_lower_bound_2026", 2_000_001, 5, date(2026, 11, 30),
             "Igor Santana cpf 390.533.447-05 nasci em maio", "sim", "bracket 7's first cent, R$ 20.000,01 (5 % + R$ 2.900)"),
    Scenario("money_bracket7_old_rules_2025_06", 4_500_099, 9, date(2025, 6, 15),
             "Julia Araujo, cpf 111.444.777-35, setembro", "sim, pode consultar", "bracket 7, old rules, no cap"),
)


def rules_on(day: date) -> tuple[int, int | None, int | None]:
    """(instalments, minimum, cap) in force on ``day``."""
    return next((n, low, cap) for since, n, low, cap in reversed(LIMITS) if since <= day)


def months_to_first(day: date, birth_month: int) -> int:
    """Months from the conversation's month to the next birth month (this month's is already paid: 12)."""
    months = birth_month - day.month
    return months if months > 0 else months + 12


def offer(s: Scenario) -> tuple[list[str], list[str]]:
    """What the customer must read at the offer, and the arithmetic behind it (one line per instalment)."""
    count, low, cap = rules_on(s.day)
    first = months_to_first(s.day, s.birth_month)
    remaining, total, capped, rows, work = s.balance, 0, False, 0, []
    for year in range(count):
        w = yearly(remaining)
        if w <= 0 or (low is not None and w < low):
            break
        advanced = min(w, cap) if cap is not None else w
        capped = capped or advanced < w
        months = first + 12 * year
        present = half_up(Fraction(advanced) / (1 + MONTHLY_RATE) ** months)
        work.append(f"{reais(w)} → {reais(advanced)} in {months} months → {reais(present)}")
        total += present
        rows += 1
        remaining -= w
    unit = "saque anual" if rows == 1 else "saques anuais"
    cap_text = f" (até {reais(cap, short=True)} por parcela)" if capped and cap is not None else ""
    must = [f"Saldo considerado do FGTS: {reais(s.balance)}",
            f"(em {MONTHS[s.birth_month - 1]}): {reais(yearly(s.balance))}",
            f"Antecipação estimada de {rows} {unit}{cap_text}: {reais(total)}"]
    return must, work


def golden(s: Scenario) -> str:
    """The golden file's text for one scenario."""
    must, work = offer(s)
    count, low, cap = rules_on(s.day)
    rules = (f"at most {count} instalments of {reais(low)}–{reais(cap)}" if cap is not None
             else f"at most {count} yearly withdrawals, no minimum, no cap")
    description = (f"Money to the cent, {s.note}: balance {reais(s.balance)}, born in {MONTHS[s.birth_month - 1]}, "
                   f"conversation on {s.day:%d/%m/%Y} ({rules}). Yearly withdrawal {reais(yearly(s.balance))}. "
                   f"Each instalment, discounted at 1,79 % a.m.: {'; '.join(work)}. "
                   "Computed by scripts/money_goldens.py (integer cents, exact fractions), not by the agent.")
    data = {
        "id": s.id,
        "description": description,
        "tags": ["money", "rules", "amounts", "eligible"],
        "settings": {"today": s.day.isoformat()},
        "api_responses": {"*": {"code": 200, "description": "Consulta realizada com sucesso",
                                "balance": s.balance / 100, "birth_month": s.birth_month,
                                "adhesion_date": "2021-05-10"}},
        "turns": [{"customer": "oi"}, {"customer": "aceito"}, {"customer": s.data_line},
                  {"customer": s.confirm,
                   "expect": {"step": "offer", "message_code": 20, "contains": must, "no_guard_violation": True}}],
    }
    header = "# Written by scripts/money_goldens.py: edit the script, not this file.\n"
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for s in SCENARIOS:
        path = GOLDEN_DIR / f"{s.id}.yaml"
        text = golden(s)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python scripts/money_goldens.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
