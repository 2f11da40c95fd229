"""Who each CPF is, for the sandbox: a fixture table plus a deterministic rule for any other CPF.

Goldens and tests must get the same answer for the same CPF on every run and machine, so the
situation is a pure function of the CPF digits (no randomness, no clock). Dates (when the customer
joined saque-aniversário, when an existing advance was made) are explicit in the fixtures and, for
any other CPF, fall in a fixed past range (``HASH_DATES_FROM``–``HASH_DATES_TO``), so a random CPF is
never inside the rules' 90-day wait by accident. Fixture CPFs are
built as ``complete(base9)`` where the base starts with the response code, so they are easy to
remember: ``701…`` is not authorised, ``503…`` is unavailable, and so on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from agent.br.cpf import complete, digits

# Body codes. 200 = eligible (same number as HTTP OK, so every code is three digits and
# distinct); 7xx are business refusals returned with HTTP 200 like the deck's example.
CODE_ELIGIBLE = 200
CODE_NOT_AUTHORIZED = 701
CODE_NOT_OPTED_IN = 702
CODE_NO_BALANCE = 703
CODE_ACTIVE_OPERATION = 704
CODE_INVALID_CPF = 400
CODE_INTERNAL_ERROR = 500
CODE_UNAVAILABLE = 503

DESCRIPTIONS: dict[int, str] = {
    CODE_ELIGIBLE: "Consulta realizada com sucesso",
    CODE_NOT_AUTHORIZED: "CPF não autorizado",
    CODE_NOT_OPTED_IN: "Trabalhador não optante pelo saque-aniversário",
    CODE_NO_BALANCE: "Sem saldo disponível para antecipação",
    CODE_ACTIVE_OPERATION: "Já existe operação de antecipação ativa com outra instituição",
    CODE_INVALID_CPF: "CPF inválido",
    CODE_INTERNAL_ERROR: "Erro interno no serviço de consulta",
    CODE_UNAVAILABLE: "Serviço temporariamente indisponível",
}

# Faults a fixture CPF (or a control) can trigger; "flaky" fails once per server, then answers.
FAULTS = ("500", "503", "timeout", "malformed", "flaky")


@dataclass(frozen=True)
class Profile:
    """The simulated FGTS situation of one CPF."""

    code: int
    balance: Decimal = Decimal("0.00")
    birth_month: int = 1
    fault: str | None = None
    note: str = ""
    adhesion_date: date | None = None  # joined saque-aniversário (eligible and 704 bodies)
    operation_date: date | None = None  # the existing advance operation (704 bodies)


# The range the hash rule draws dates from: saque-aniversário exists since April 2020, and every date
# is more than 90 days before the new rules (2025-11-01), so no random CPF is inside the waiting period.
HASH_DATES_FROM = date(2020, 4, 1)
HASH_DATES_TO = date(2025, 6, 30)


def _fixture(base9: str, profile: Profile) -> tuple[str, Profile]:
    return complete(base9), profile


# The documented fixture table (sandbox/README.md repeats it; a test keeps them in sync).
FIXTURES: dict[str, Profile] = dict(
    [
        _fixture(
            "200000001",
            Profile(200, Decimal("450.00"), 3, note="eligible, 50 % bracket", adhesion_date=date(2021, 3, 15)),
        ),
        _fixture(
            "200000002",
            Profile(200, Decimal("4000.00"), 7, note="eligible, 30 % bracket", adhesion_date=date(2020, 7, 1)),
        ),
        _fixture(
            "200000003",
            Profile(200, Decimal("12000.00"), 11, note="eligible, 15 % bracket", adhesion_date=date(2022, 11, 8)),
        ),
        _fixture(
            "200000004",
            Profile(200, Decimal("25000.00"), 5, note="eligible, 5 % bracket", adhesion_date=date(2023, 5, 2)),
        ),
        _fixture(
            "200000005",
            Profile(200, Decimal("3000.00"), 2, note="eligible, joined recently (90-day wait)",
                    adhesion_date=date(2026, 10, 20)),
        ),
        _fixture(
            "200000006",
            Profile(200, Decimal("180.00"), 6, note="eligible, yearly withdrawal under R$ 100",
                    adhesion_date=date(2022, 2, 14)),
        ),
        _fixture(
            "200000007",
            Profile(200, Decimal("60000.00"), 12, note="eligible, large balance (caps bite)",
                    adhesion_date=date(2020, 4, 20)),
        ),
        _fixture(
            "111444777",
            Profile(200, Decimal("8500.00"), 9, note="eligible, common test CPF", adhesion_date=date(2021, 9, 1)),
        ),
        _fixture("073602846", Profile(701, note="the deck's example")),
        _fixture("701000001", Profile(701, note="not authorised")),
        _fixture("702000001", Profile(702, note="not opted in")),
        _fixture("703000001", Profile(703, note="no balance")),
        _fixture("704000001", Profile(704, note="active operation", adhesion_date=date(2021, 6, 10),
                                      operation_date=date(2024, 8, 15))),
        _fixture("704000002", Profile(704, note="advance made in the last year", adhesion_date=date(2022, 1, 10),
                                      operation_date=date(2026, 3, 10))),
        _fixture("500000001", Profile(500, fault="500", note="always HTTP 500")),
        _fixture("503000001", Profile(503, fault="503", note="always HTTP 503")),
        _fixture(
            "503000002",
            Profile(
                200,
                Decimal("4000.00"),
                7,
                fault="flaky",
                note="503 once, then eligible",
                adhesion_date=date(2020, 7, 1),
            ),
        ),
        _fixture("408000001", Profile(500, fault="timeout", note="never answers in time")),
        _fixture("900000001", Profile(500, fault="malformed", note="HTTP 200, body not JSON")),
    ]
)


def profile_for(cpf: str) -> Profile:
    """Situation of a valid CPF: the fixture if listed, else the hash rule (README, "Any other CPF").

    sha256 of the 11 digits, read as a big integer ``h``:
    ``h % 100`` picks the code (0–54 eligible, 55–69 → 701, 70–79 → 702, 80–87 → 703,
    88–99 → 704); ``(h // 100) % 3_000_000`` cents + R$ 50,00 is the balance (R$ 50,00 to
    R$ 30.049,99; 703 has balance 0); ``(h // 10**9) % 12 + 1`` is the birth month. Eligible and 704:
    adhesion date = ``HASH_DATES_FROM`` + ``(h // 10**12) % span`` days (span: the days from
    ``HASH_DATES_FROM`` to ``HASH_DATES_TO``, both included); 704 also: operation date = adhesion +
    ``(h // 10**16) % (days left to HASH_DATES_TO + 1)`` days.
    Random CPFs never produce faults, so any valid CPF is safe in a golden.
    """
    number = digits(cpf)
    if number in FIXTURES:
        return FIXTURES[number]
    h = int.from_bytes(hashlib.sha256(number.encode()).digest(), "big")
    bucket = h % 100
    if bucket < 55:
        code = CODE_ELIGIBLE
    elif bucket < 70:
        code = CODE_NOT_AUTHORIZED
    elif bucket < 80:
        code = CODE_NOT_OPTED_IN
    elif bucket < 88:
        code = CODE_NO_BALANCE
    else:
        code = CODE_ACTIVE_OPERATION
    balance = Decimal(50) + Decimal((h // 100) % 3_000_000) / 100
    if code == CODE_NO_BALANCE:
        balance = Decimal("0.00")
    adhesion = operation = None
    if code in (CODE_ELIGIBLE, CODE_ACTIVE_OPERATION):
        adhesion = HASH_DATES_FROM + timedelta(days=(h // 10**12) % ((HASH_DATES_TO - HASH_DATES_FROM).days + 1))
    if code == CODE_ACTIVE_OPERATION and adhesion is not None:
        operation = adhesion + timedelta(days=(h // 10**16) % ((HASH_DATES_TO - adhesion).days + 1))
    return Profile(code, balance.quantize(Decimal("0.01")), (h // 10**9) % 12 + 1, note="hash rule",
                   adhesion_date=adhesion, operation_date=operation)
