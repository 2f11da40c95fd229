"""Who each CPF is, for the sandbox: a fixture table plus a deterministic rule for any other CPF.

Goldens and tests must get the same answer for the same CPF on every run and machine, so the
situation is a pure function of the CPF digits (no randomness, no clock). Fixture CPFs are
built as ``complete(base9)`` where the base starts with the response code, so they are easy to
remember: ``701…`` is not authorised, ``503…`` is unavailable, and so on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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


def _fixture(base9: str, profile: Profile) -> tuple[str, Profile]:
    return complete(base9), profile


# The documented fixture table (sandbox/README.md repeats it; a test keeps them in sync).
FIXTURES: dict[str, Profile] = dict(
    [
        _fixture(
            "200000001",
            Profile(200, Decimal("450.00"), 3, note="eligible, 50 % bracket"),
        ),
        _fixture(
            "200000002",
            Profile(200, Decimal("4000.00"), 7, note="eligible, 30 % bracket"),
        ),
        _fixture(
            "200000003",
            Profile(200, Decimal("12000.00"), 11, note="eligible, 15 % bracket"),
        ),
        _fixture(
            "200000004",
            Profile(200, Decimal("25000.00"), 5, note="eligible, 5 % bracket"),
        ),
        _fixture(
            "111444777",
            Profile(200, Decimal("8500.00"), 9, note="eligible, common test CPF"),
        ),
        _fixture("073602846", Profile(701, note="the deck's example")),
        _fixture("701000001", Profile(701, note="not authorised")),
        _fixture("702000001", Profile(702, note="not opted in")),
        _fixture("703000001", Profile(703, note="no balance")),
        _fixture("704000001", Profile(704, note="active operation")),
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
    R$ 30.049,99; 703 has balance 0); ``(h // 10**9) % 12 + 1`` is the birth month.
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
    return Profile(code, balance.quantize(Decimal("0.01")), (h // 10**9) % 12 + 1, note="hash rule")
