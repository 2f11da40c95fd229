"""The contract side of the sandbox: FGTS-advance contracts by CPF, settlement quotes, CCB copies.

Deterministic like the consultation: a fixture table plus a rule on sha256 of the CPF, and a fixed
"today" (``CONTRACT_TODAY``, or ``SandboxConfig.contract_today``) so paid/open instalments, the
settlement quote and its validity never change between runs. The arithmetic is the contrato pack's
own (``prompts/contrato/rules.py``): the simulator answers by the same rules the agent explains.

Body codes (documented in sandbox/README.md, "Contract endpoints"):
200 found / quote / sent · 801 no contract · 802 invalid e-mail · 803 contract settled ·
804 found, an instalment in arrears · 805 e-mail is not the one registered · 400 invalid CPF.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from agent.br import email as email_rules
from agent.br.cpf import complete, digits, is_valid, mask
from agent.config import PROJECT_ROOT
from agent.core.pack import import_pack_module

RULES = import_pack_module(PROJECT_ROOT / "prompts" / "contrato", "rules")
# Instalment values follow the saque-aniversário table (Lei 13.932/2019): the fgts pack's arithmetic.
FGTS_RULES = import_pack_module(PROJECT_ROOT / "prompts" / "fgts", "rules")

CONTRACT_TODAY = date(2025, 11, 3)  # the sandbox's fixed "today" for contracts
QUOTE_VALID_BUSINESS_DAYS = 2

CODE_OK = 200
CODE_NO_CONTRACT = 801
CODE_INVALID_EMAIL = 802
CODE_SETTLED = 803
CODE_ARREARS = 804
CODE_EMAIL_MISMATCH = 805
CODE_INVALID_CPF = 400

CONTRACT_DESCRIPTIONS: dict[int, str] = {
    CODE_OK: "Operação realizada com sucesso",
    CODE_NO_CONTRACT: "Nenhum contrato de antecipação encontrado para o CPF",
    CODE_INVALID_EMAIL: "E-mail inválido",
    CODE_SETTLED: "Contrato quitado",
    CODE_ARREARS: "Contrato com parcela em atraso (repasse do FGTS insuficiente)",
    CODE_EMAIL_MISMATCH: "E-mail diferente do cadastrado no contrato",
    CODE_INVALID_CPF: "CPF inválido",
}


@dataclass(frozen=True)
class Contract:
    """One customer's FGTS-advance contract (or the lack of one: ``number`` empty)."""

    number: str = ""
    first_name: str = ""
    email: str = ""
    signed: date = date(2024, 1, 15)
    birth_month: int = 1
    amounts: tuple[Decimal, ...] = ()
    monthly_rate: Decimal = Decimal("0.0179")
    shortfall: Decimal = Decimal("0.00")  # part of the last due instalment the FGTS did not cover
    settled_on: date | None = None  # paid off early on this date
    note: str = ""

    @property
    def exists(self) -> bool:
        return bool(self.number)

    def dues(self) -> tuple[date, ...]:
        return RULES.due_dates(self.signed, self.birth_month, len(self.amounts))

    def instalments(self, today: date) -> list[Any]:
        """The schedule on ``today``: instalments due are paid (but the shortfall of the last one)."""
        dues = self.dues()
        last_due = max((i for i, d in enumerate(dues) if d <= today), default=None)
        rows = []
        for i, (amount, due) in enumerate(zip(self.amounts, dues, strict=True)):
            paid = Decimal("0.00")
            if self.settled_on is not None and self.settled_on <= today:
                paid = amount
            elif due <= today:
                paid = amount - (self.shortfall if i == last_due else Decimal("0.00"))
            rows.append(RULES.Instalment(i + 1, due, amount, RULES.to_cents(paid)))
        return rows

    def status(self, today: date) -> int:
        """The body code of ``/contrato`` on ``today``."""
        if not self.exists:
            return CODE_NO_CONTRACT
        rows = self.instalments(today)
        if all(r.open_amount <= 0 for r in rows):
            return CODE_SETTLED
        if any(r.open_amount > 0 and r.due <= today for r in rows):
            return CODE_ARREARS
        return CODE_OK

    def settled_date(self, today: date) -> date | None:
        if self.settled_on is not None:
            return self.settled_on
        dues = [d for d in self.dues() if d <= today]
        return dues[-1] if dues and self.status(today) == CODE_SETTLED else None

    def released(self) -> Decimal:
        return RULES.released_amount(self.amounts, self.dues(), self.signed, self.monthly_rate)


def _series(balance: str, years: int) -> tuple[Decimal, ...]:
    """Advanced withdrawals of a balance by the Lei 13.932/2019 table (the fgts pack's arithmetic)."""
    remaining = Decimal(balance)
    out = []
    for _ in range(years):
        value = FGTS_RULES.yearly_withdrawal(remaining)
        out.append(value)
        remaining -= value
    return tuple(out)


def _fixture(base9: str, contract: Contract) -> tuple[str, Contract]:
    return complete(base9), contract


# The documented fixture table (sandbox/README.md repeats it; a test keeps them in sync).
# Bases start with the code /contrato returns.
CONTRACT_FIXTURES: dict[str, Contract] = dict([
    _fixture("200100001", Contract("AF-2024-031207", "Maria", "maria.souza@gmail.com", date(2024, 3, 12), 7,
                                   _series("4000.00", 5), Decimal("0.0179"), note="active, 2 of 5 paid")),
    _fixture("200100002", Contract("AF-2023-052044", "João", "joao.pereira@hotmail.com", date(2023, 5, 20), 12,
                                   _series("12000.00", 10), Decimal("0.0149"), note="active, 2 of 10 paid")),
    _fixture("200100003", Contract("AF-2025-090118", "Beatriz", "bia.costa@outlook.com", date(2025, 9, 1), 2,
                                   _series("2500.00", 3), Decimal("0.0189"), note="active, none paid yet")),
    _fixture("801000001", Contract(note="no contract")),
    _fixture("803000001", Contract("AF-2022-110530", "Carlos", "carlos.santos@yahoo.com.br", date(2022, 11, 5), 4,
                                   _series("6000.00", 4), Decimal("0.0169"), settled_on=date(2025, 2, 14),
                                   note="settled early on 14/02/2025")),
    _fixture("804000001", Contract("AF-2024-060309", "Ana", "ana.lima@uol.com.br", date(2024, 6, 3), 9,
                                   _series("3000.00", 4), Decimal("0.0179"), shortfall=Decimal("120.00"),
                                   note="R$ 120,00 of the 09/2025 instalment not covered")),
])

_NAMES = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Felipe", "Gabriela", "Heitor", "Isabela", "Jorge",
          "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael")


def contract_for(cpf: str) -> Contract:
    """The contract of a valid CPF: the fixture if listed, else the hash rule (README, "Any other CPF").

    ``h = sha256(11 digits)``: ``h % 100`` → 0–49 active, 50–69 no contract, 70–84 settled early,
    85–99 an instalment in arrears; the other fields come from further digits of ``h``.
    """
    number = digits(cpf)
    if number in CONTRACT_FIXTURES:
        return CONTRACT_FIXTURES[number]
    h = int.from_bytes(hashlib.sha256(number.encode()).digest(), "big")
    bucket = h % 100
    if 50 <= bucket < 70:
        return Contract(note="hash rule: no contract")
    signed = date(2021, 6, 1) + timedelta(days=(h // 100) % 1500)  # 2021-06-01 … 2025-07-10
    years = (h // 10**5) % 8 + 3  # 3 … 10 instalments
    balance = Decimal(800 + (h // 10**7) % 24_000)  # R$ 800 … R$ 24.799
    rate = Decimal("0.0129") + Decimal((h // 10**12) % 71) / 10_000  # 1,29 % … 1,99 % a.m.
    first = _NAMES[(h // 10**15) % len(_NAMES)]
    contract = Contract(
        number=f"AF-{signed.year}-{(h // 10**17) % 1_000_000:06d}", first_name=first,
        email=f"{_ascii_name(first)}{number[:4]}@example.com", signed=signed,
        birth_month=(h // 10**9) % 12 + 1, amounts=_series(str(balance), years), monthly_rate=rate,
        note="hash rule")
    if 70 <= bucket < 85:
        return replace(contract, settled_on=signed + timedelta(days=200 + (h // 10**20) % 300))
    if bucket >= 85:
        return replace(contract, shortfall=Decimal(50 + (h // 10**22) % 200))
    return contract


def _ascii_name(name: str) -> str:
    """``"Natália"`` → ``"natalia"`` (for an e-mail local part)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.lower()) if c.isascii() and c.isalpha())


# ---------------------------------------------------------------------- bodies


def _money(value: Decimal) -> float:
    return float(value)


def _invalid_cpf() -> tuple[int, dict[str, Any]]:
    return HTTPStatus.BAD_REQUEST, {"code": CODE_INVALID_CPF, "description": CONTRACT_DESCRIPTIONS[CODE_INVALID_CPF],
                                    "detail": "Informe os 11 dígitos do CPF com dígitos verificadores corretos."}


def _head(code: int, cpf: str) -> dict[str, Any]:
    return {"code": code, "description": CONTRACT_DESCRIPTIONS[code], "cpf": mask(cpf)}


def contrato_body(cpf: str, today: date = CONTRACT_TODAY) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``GET /contrato`` for a CPF (pure)."""
    if not is_valid(cpf):
        return _invalid_cpf()
    contract = contract_for(cpf)
    code = contract.status(today)
    body = _head(code, cpf)
    if code == CODE_NO_CONTRACT:
        return HTTPStatus.OK, body
    rows = contract.instalments(today)
    body.update(
        numero=contract.number,
        primeiro_nome=contract.first_name,
        data_referencia=today.isoformat(),
        data_contratacao=contract.signed.isoformat(),
        valor_liberado=_money(contract.released()),
        taxa_mensal=float(contract.monthly_rate),
        taxa_anual=float(RULES.yearly_rate(contract.monthly_rate)),
        parcelas_total=len(rows),
        email_cadastrado=email_rules.mask(contract.email),
    )
    if code == CODE_SETTLED:
        settled = contract.settled_date(today)
        body.update(data_quitacao=settled.isoformat() if settled else None)
        return HTTPStatus.OK, body
    paid = [r for r in rows if r.open_amount <= 0]
    open_rows = [r for r in rows if r.open_amount > 0]
    upcoming = [r for r in open_rows if r.due > today]
    overdue = [r for r in open_rows if r.due <= today]
    body.update(
        parcelas_pagas=len(paid),
        parcelas_restantes=len(open_rows),
        valor_pago=_money(sum((r.paid for r in rows), Decimal("0.00"))),
        valor_restante=_money(sum((r.open_amount for r in open_rows), Decimal("0.00"))),
        proxima_parcela=({"numero": upcoming[0].number, "vencimento": upcoming[0].due.isoformat(),
                          "valor": _money(upcoming[0].amount)} if upcoming else None),
        parcelas=[{"numero": r.number, "vencimento": r.due.isoformat(), "valor": _money(r.amount),
                   "valor_pago": _money(r.paid),
                   "situacao": "paga" if r.open_amount <= 0 else ("em_atraso" if r.due <= today else "a_vencer")}
                  for r in rows],
    )
    if overdue:
        body.update(valor_em_atraso=_money(sum((r.open_amount for r in overdue), Decimal("0.00"))),
                    parcela_em_atraso={"numero": overdue[-1].number, "vencimento": overdue[-1].due.isoformat()})
    return HTTPStatus.OK, body


def quitacao_body(cpf: str, today: date = CONTRACT_TODAY) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``GET /contrato/quitacao``: the early-settlement quote (pure)."""
    if not is_valid(cpf):
        return _invalid_cpf()
    contract = contract_for(cpf)
    code = contract.status(today)
    if code in (CODE_NO_CONTRACT, CODE_SETTLED):
        body = _head(code, cpf)
        if code == CODE_SETTLED:
            settled = contract.settled_date(today)
            body.update(numero=contract.number, data_quitacao=settled.isoformat() if settled else None)
        return HTTPStatus.OK, body
    quote = RULES.settlement(contract.instalments(today), today, contract.monthly_rate)
    body = _head(CODE_OK, cpf)
    body.update(
        numero=contract.number,
        primeiro_nome=contract.first_name,
        data_referencia=today.isoformat(),
        valido_ate=RULES.add_business_days(today, QUOTE_VALID_BUSINESS_DAYS).isoformat(),
        parcelas_quitadas=quote.instalments,
        parcelas_a_vencer=quote.upcoming,
        parcelas_em_atraso=quote.overdue_count,
        valor_nominal=_money(quote.nominal),
        valor_presente=_money(quote.present),
        valor_em_atraso=_money(quote.overdue),
        desconto=_money(quote.discount),
        valor_quitacao=_money(quote.total),
        taxa_mensal=float(contract.monthly_rate),
        tarifa=0.0,
    )
    return HTTPStatus.OK, body


def ccb_body(cpf: str, email: str, today: date = CONTRACT_TODAY) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``/contrato/ccb``: send the CCB's second copy to the registered e-mail."""
    if not is_valid(cpf):
        return _invalid_cpf()
    address = email_rules.normalize(email)
    problem = email_rules.problem(address)
    if problem is not None:
        body = _head(CODE_INVALID_EMAIL, cpf)
        body.update(motivo=problem)
        return HTTPStatus.BAD_REQUEST, body
    contract = contract_for(cpf)
    if not contract.exists:
        return HTTPStatus.OK, _head(CODE_NO_CONTRACT, cpf)
    if address != email_rules.normalize(contract.email):
        body = _head(CODE_EMAIL_MISMATCH, cpf)
        body.update(email_cadastrado=email_rules.mask(contract.email))
        return HTTPStatus.OK, body
    protocol = int.from_bytes(hashlib.sha256(f"{digits(cpf)}|{address}|{today}".encode()).digest()[:4], "big")
    body = _head(CODE_OK, cpf)
    body.update(numero=contract.number, primeiro_nome=contract.first_name, enviado_para=email_rules.mask(address),
                protocolo=f"{today:%Y%m%d}-{protocol % 1_000_000:06d}", documento="CCB (2ª via, PDF)")
    return HTTPStatus.OK, body
