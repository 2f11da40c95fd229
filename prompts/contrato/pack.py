"""The contrato pack's code: attributes, the contract API tools, events and reply rules.

A customer who already took an FGTS advance asks about the contract. Everything here is what the
core asks through ``agent.core.pack.Pack``: validators and maskers of the CPF and the e-mail, three
typed tools (``consultar_contrato``, ``simular_quitacao``, ``enviar_ccb``), how a reading of the
customer's message becomes a journey event (menu numbers included), and the variables of the
replies (amounts as ``R$ 1.234,56``, dates as ``01/07/2026``; the arithmetic is in ``rules.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from agent.adapters.tools import ToolArgumentError, ToolSet, tool
from agent.br import cpf as cpf_rules
from agent.br import email as email_rules
from agent.br.money import brl
from agent.brain.nlu import extract
from agent.core.journey import Event, JourneyState
from agent.core.pack import Attribute, Invalid, Reading, ReplyContext

from . import rules

# ---------------------------------------------------------------------- attributes




def _email(value: Any) -> str | None:
    """A usable address, normalised (lowercase, trimmed; a dictated one written out), or ``Invalid``."""
    text = email_rules.spoken_to_symbols(str(value or "").strip())
    address = email_rules.normalize(text.replace(" @", "@").replace("@ ", "@"))
    if not address:
        return None
    if "@" not in address and not re.search(r"\.[a-z]{2,}$", address):
        return None  # nothing e-mail-like ("não sei", "depois eu mando")
    problem = email_rules.problem(address)
    if problem is not None:
        raise Invalid(problem)
    return address


def _mask_email(value: Any) -> str:
    return email_rules.mask(str(value))


ATTRIBUTES = (
    Attribute("cpf", validate=cpf_rules.parse, mask=cpf_rules.mask_any, pii=True),
    Attribute("email", validate=_email, mask=_mask_email, pii=True),
)

# ---------------------------------------------------------------------- the contract API

# Body ``code`` → outcome, per endpoint (sandbox/README.md, "Contract endpoints"). 0 is accepted as
# success too: real bank APIs often use it, and accepting it costs nothing.
CONTRACT_CODES = {0: "active", 200: "active", 804: "arrears", 801: "no_contract", 803: "settled", 400: "invalid_cpf"}
QUOTE_CODES = {0: "quote", 200: "quote", 801: "no_contract", 803: "settled", 400: "invalid_cpf"}
CCB_CODES = {0: "sent", 200: "sent", 801: "no_contract", 802: "invalid_email", 805: "email_mismatch",
             400: "invalid_cpf"}
# Outcome → journey event (journey.yaml's system events).
OUTCOME_EVENTS: dict[str, str] = {
    "active": "api_contract_active", "arrears": "api_contract_arrears", "no_contract": "api_no_contract",
    "settled": "api_contract_settled", "quote": "api_quote", "sent": "api_ccb_sent",
    "invalid_email": "api_email_invalid", "email_mismatch": "api_email_mismatch", "invalid_cpf": "cpf_invalid",
    "api_error": "api_error",
}

_EMAIL_FIELDS = ("email", "enviado_para", "email_cadastrado")


def _mask_args(args: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(args)
    if "cpf" in masked:
        masked["cpf"] = cpf_rules.mask(str(masked["cpf"]))
    if "email" in masked:
        masked["email"] = email_rules.mask(str(masked["email"]))
    if "raw" in masked:
        masked["raw"] = email_rules.mask_in_text(cpf_rules.mask_in_text(str(masked["raw"])))
    return masked


def _mask_data(body: Mapping[str, Any]) -> dict[str, Any]:
    # A real API may echo the CPF or the e-mail in clear: the trace must not.
    data = dict(body)
    for key in ("cpf", "documento_cliente"):
        value = data.get(key)
        if isinstance(value, str | int) and not cpf_rules.is_masked(value):
            data[key] = cpf_rules.mask(str(value))
    for key in _EMAIL_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and not cpf_rules.is_masked(value):
            data[key] = email_rules.mask(value)
    return data


def _checked_cpf(cpf: str) -> str:
    number, problem = cpf_rules.checked_digits(cpf)
    if problem:
        raise ToolArgumentError(problem, field="cpf", outcome="invalid_cpf")
    return number


_COMMON = {"service": "Contract API", "url_setting": "CONTRATO_API_URL", "events": OUTCOME_EVENTS,
           "mask_args": _mask_args, "mask_data": _mask_data}


@tool(endpoint="/contrato", codes=CONTRACT_CODES, invalid_outcome="invalid_cpf", **_COMMON)
def consultar_contrato(
    cpf: Annotated[str, "CPF do titular, 11 dígitos, com ou sem pontuação (ex.: 200.100.001-43)"],
) -> dict[str, Any]:
    """Consulta o contrato de antecipação do saque-aniversário do cliente no banco: situação (em dia,
    com parcela em atraso, quitado ou inexistente), parcelas pagas e a pagar, valores e datas.
    Chame somente com o CPF informado pelo cliente."""
    return {"cpf": _checked_cpf(cpf)}


@tool(endpoint="/contrato/quitacao", codes=QUOTE_CODES, invalid_outcome="invalid_cpf", **_COMMON)
def simular_quitacao(
    cpf: Annotated[str, "CPF do titular, 11 dígitos, com ou sem pontuação"],
) -> dict[str, Any]:
    """Calcula o valor para quitar hoje o contrato de antecipação (quitação antecipada), com o desconto
    proporcional dos juros das parcelas futuras, e a data até quando o valor vale."""
    return {"cpf": _checked_cpf(cpf)}


@tool(endpoint="/contrato/ccb", codes=CCB_CODES, invalid_outcome="invalid_email", **_COMMON)
def enviar_ccb(
    cpf: Annotated[str, "CPF do titular, 11 dígitos, com ou sem pontuação"],
    email: Annotated[str, "e-mail informado e confirmado pelo cliente; precisa ser o cadastrado no contrato"],
) -> dict[str, Any]:
    """Envia a 2ª via da CCB (Cédula de Crédito Bancário) do contrato, em PDF, para o e-mail cadastrado.
    Chame somente depois que o cliente confirmou o e-mail."""
    number = _checked_cpf(cpf)
    address = email_rules.normalize(str(email))
    problem = email_rules.problem(address)
    if problem is not None:
        raise ToolArgumentError(f"e-mail is not usable ({problem}): ask the customer to type it again",
                                field="email", outcome="invalid_email")
    return {"cpf": number, "email": address}


TOOLS = ToolSet([consultar_contrato, simular_quitacao, enviar_ccb])


def default_tool_args(name: str, state: JourneyState) -> dict[str, Any]:
    """The captured CPF (and e-mail, for the CCB), when the decision model's tool call is unusable."""
    args = {"cpf": str(state.attributes.get("cpf") or "")}
    if name == "enviar_ccb":
        args["email"] = str(state.attributes.get("email") or "")
    return args


def sandbox_url() -> str:
    """The built-in simulator (the same server as the FGTS consultation; started on first use)."""
    from sandbox import shared_sandbox_url

    return shared_sandbox_url()


# ---------------------------------------------------------------------- reading → event

_CONSENT_STEPS = {"greeting", "optin", "optout"}
_MENU_STEPS = {"menu", "settled", "finalized"}
_ASKS = ("ask_status", "ask_instalments", "ask_settlement", "ask_ccb")
_KEEP_INTENT = {"faq", "ask_human", "complaint", "goodbye", "optin_refuse", "injection"}
# "2", "2️⃣", "opção 2", "a 2." → the second option of the menu.
_MENU_CHOICE = re.compile(r"\s*(?:(?:op[cç][aã]o|opc|a|o|n[uú]mero)\s*)?([1-4])\s*(?:\ufe0f?\u20e3)?\s*[.)!]?\s*",
                          re.IGNORECASE)


def menu_choice(text: str) -> str | None:
    """The intent of a bare menu number ("1" … "4", keycap emojis too), else None."""
    match = _MENU_CHOICE.fullmatch(text or "")
    return _ASKS[int(match.group(1)) - 1] if match else None


def to_event(reading: Reading, step: str) -> Event:
    """Turn a reading into the journey event, using the step to read numbers and "sim"/"não" right.

    In the menu a bare "1"–"4" picks an option; "sim" at the opt-in is consent, elsewhere it confirms.
    Data in the message wins over chit-chat intents (but not over a menu request made in the menu:
    "quero a 2ª via no maria@gmail.com" asks for the copy *and* gives the e-mail); an invalid CPF or
    e-mail becomes ``cpf_invalid`` / ``email_invalid``.
    """
    attributes = MappingProxyType(dict(reading.attributes))
    if reading.intent == "injection":
        return Event("injection")
    choice = menu_choice(reading.text)
    if choice and step in _MENU_STEPS:
        return Event(choice)
    intent = reading.intent_at(consent_step=step in _CONSENT_STEPS)
    if intent in _KEEP_INTENT:
        return Event(intent, attributes)
    if intent in _ASKS and (step in _MENU_STEPS or not reading.has_data):
        return Event(intent, attributes)
    rejected = {r.attribute for r in reading.rejected}
    if "cpf" not in attributes and "cpf" in rejected:
        return Event("cpf_invalid", attributes)
    if "email" not in attributes and "email" in rejected:
        return Event("email_invalid", attributes)
    if attributes:
        if intent in {"optin_accept", "confirm_no"}:
            return Event(intent, attributes)
        return Event("provide_data", attributes)
    return Event(intent, attributes)


# ---------------------------------------------------------------------- replies

# Every variable a message of this pack may use, so a reply rendered off its usual path (a FAQ in
# the menu, a re-engagement…) never fails on a missing one.
_BLANK = dict.fromkeys((
    "first_name", "contract_number", "signed_date", "released_amount", "monthly_rate", "paid_count", "total_count",
    "paid_amount", "open_count", "remaining_amount", "next_amount", "next_due_date", "next_month_year",
    "overdue_amount", "overdue_due_date", "instalment_lines", "settled_date", "settlement_amount", "valid_until",
    "nominal_amount", "discount_amount", "overdue_line", "protocol", "registered_email_masked", "email_attempt",
    "email_problem"), "")

EMAIL_PROBLEMS = {
    "missing_at": "está faltando o @ (exemplo: nome@gmail.com)",
    "format": "tem algum caractere que não pode estar num e-mail (espaço, vírgula ou um @ a mais)",
    "accent": "e-mail não pode ter acento nem ç",
    "domain": "a parte depois do @ parece incompleta (exemplo: @gmail.com)",
    "tld_typo": "o final parece ter um erro de digitação",
    "domain_typo": "o nome do provedor parece ter um erro de digitação",
}
_STATUS_LINE = {"paga": ("✅", "paga"), "a_vencer": ("⏳", "a pagar"), "em_atraso": ("⚠️", "em aberto")}


def _money(value: Any) -> str:
    return brl(Decimal(str(value))) if value is not None else ""


def instalment_lines(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per instalment: ``✅ 1ª · 01/07/2024 · R$ 1.350,00 · paga``."""
    lines = []
    for row in rows:
        icon, label = _STATUS_LINE.get(str(row.get("situacao")), ("•", str(row.get("situacao") or "")))
        if row.get("situacao") == "em_atraso":
            owed = Decimal(str(row.get("valor", 0))) - Decimal(str(row.get("valor_pago", 0)))
            label = f"{brl(owed)} {label}"
        lines.append(f"{icon} {rules.ordinal_br(int(row.get('numero', 0)))} · {rules.date_br(row.get('vencimento'))}"
                     f" · {_money(row.get('valor'))} · {label}")
    return "\n".join(lines)


def contract_variables(data: Mapping[str, Any]) -> dict[str, Any]:
    """Variables of a ``/contrato`` body (active, in arrears or settled)."""
    upcoming = data.get("proxima_parcela") or {}
    overdue = data.get("parcela_em_atraso") or {}
    return {
        "first_name": str(data.get("primeiro_nome") or ""),
        "contract_number": str(data.get("numero") or ""),
        "signed_date": rules.date_br(data.get("data_contratacao")),
        "released_amount": _money(data.get("valor_liberado")),
        "monthly_rate": rules.percent_br(data["taxa_mensal"]) if data.get("taxa_mensal") is not None else "",
        "paid_count": str(data.get("parcelas_pagas", "")),
        "total_count": str(data.get("parcelas_total", "")),
        "paid_amount": _money(data.get("valor_pago")),
        "open_count": str(data.get("parcelas_restantes", "")),
        "remaining_amount": _money(data.get("valor_restante")),
        "next_amount": _money(upcoming.get("valor")),
        "next_due_date": rules.date_br(upcoming.get("vencimento")),
        "next_month_year": rules.month_year_br(upcoming.get("vencimento")) or "a próxima data de repasse",
        "overdue_amount": _money(data.get("valor_em_atraso")),
        "overdue_due_date": rules.date_br(overdue.get("vencimento")),
        "instalment_lines": instalment_lines(data.get("parcelas") or ()),
        "settled_date": rules.date_br(data.get("data_quitacao")),
    }


def quote_variables(data: Mapping[str, Any]) -> dict[str, Any]:
    """Variables of a ``/contrato/quitacao`` body; the discount is recomputed only if missing."""
    nominal = Decimal(str(data.get("valor_nominal", 0)))
    present = Decimal(str(data.get("valor_presente", data.get("valor_quitacao", 0))))
    discount = data.get("desconto")
    overdue = Decimal(str(data.get("valor_em_atraso") or 0))
    return {
        "first_name": str(data.get("primeiro_nome") or ""),
        "contract_number": str(data.get("numero") or ""),
        "settlement_amount": _money(data.get("valor_quitacao")),
        "valid_until": rules.date_br(data.get("valido_ate")),
        "open_count": str(data.get("parcelas_a_vencer", data.get("parcelas_quitadas", ""))),
        "nominal_amount": brl(nominal),
        "discount_amount": _money(discount if discount is not None else nominal - present),
        "overdue_line": f"• Parcela em atraso, sem desconto: {brl(overdue)}\n" if overdue > 0 else "",
        "settled_date": rules.date_br(data.get("data_quitacao")),
    }


def ccb_variables(data: Mapping[str, Any]) -> dict[str, Any]:
    """Variables of a ``/contrato/ccb`` body (sent, or not the registered e-mail)."""
    return {
        "first_name": str(data.get("primeiro_nome") or ""),
        "contract_number": str(data.get("numero") or ""),
        "protocol": str(data.get("protocolo") or ""),
        "registered_email_masked": str(data.get("email_cadastrado") or "o e-mail do seu cadastro"),
        **({"email_masked": str(data["enviado_para"])} if data.get("enviado_para") else {}),
    }


_BY_TOOL = {"consultar_contrato": contract_variables, "simular_quitacao": quote_variables,
            "enviar_ccb": ccb_variables}


def reply_variables(ctx: ReplyContext) -> dict[str, Any]:
    """Variables of the message templates: the captured data and this turn's API answers, formatted."""
    attrs = ctx.state.attributes
    email = str(attrs.get("email") or "")
    values: dict[str, Any] = {
        **_BLANK,
        "cpf_masked": cpf_rules.mask(str(attrs.get("cpf") or "")),
        "email": email,
        "email_masked": email_rules.mask(email) if email else "",
        "delivery_minutes": str(ctx.settings.get("ccb_delivery_minutes") or 15),
    }
    reading = ctx.reading
    for rejected in reading.rejected if reading else ():
        if rejected.attribute == "cpf":
            values["cpf_masked"] = rejected.masked
        elif rejected.attribute == "email" and not values["email_problem"]:
            values.update(email_attempt_variables(reading.text if reading else "", rejected.masked, rejected.reason))
    for result in ctx.tool_results:
        if result.ok and result.name in _BY_TOOL:
            values.update(_BY_TOOL[result.name](result.data))
    if not values["email_problem"]:  # e.g. the API refused an address our validator accepted
        values.update(email_attempt=values["email_masked"] or "que você mandou",
                      email_problem="não consegui usar esse endereço")
    return values


def email_attempt_variables(text: str, masked: str, reason: str) -> dict[str, str]:
    """What to tell a customer whose e-mail failed: the address as they typed it, and the problem."""
    typed = next((c.address for c in extract(text, "email").invalid_emails), "") if text else ""
    problem = EMAIL_PROBLEMS.get(reason, "não consegui ler o endereço")
    fixed = email_rules.suggestion(typed) if typed else None
    if fixed:
        problem += f" (você quis dizer {fixed}?)"
    return {"email_attempt": typed or masked, "email_problem": problem}
