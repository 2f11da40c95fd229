"""The FGTS saque-aniversário pack's code: attributes, the consultation tool, events and reply rules.

Everything here is domain knowledge the core asks for through ``agent.core.pack.Pack``:
validators and maskers of what the agent captures, the ``consultar_fgts`` tool (its schema comes
from the typed function), how a reading of the customer's message becomes a journey event, and
the variables of the replies (the advance estimate, by ``rules.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from agent.adapters.tools import ToolArgumentError, ToolSet, tool
from agent.br import cpf as cpf_rules
from agent.br.calendar import month_name
from agent.core.journey import Event, JourneyState
from agent.core.pack import Attribute, Invalid, Reading, ReplyContext

from . import rules

# ---------------------------------------------------------------------- attributes




def _name(value: Any) -> str:
    text = str(value).strip()
    if not 2 <= len(text) <= 120 or any(c.isdigit() for c in text):
        raise Invalid("not_a_name")
    return text


def _month(value: Any) -> int:
    month = int(value)
    if not 1 <= month <= 12:
        raise Invalid("month_range")
    return month


ATTRIBUTES = (
    Attribute("name", validate=_name, pii=True),
    Attribute("cpf", validate=cpf_rules.parse, mask=cpf_rules.mask_any, pii=True),
    Attribute("birth_month", validate=_month),
    Attribute("birth_date", validate=str, pii=True),
    Attribute("balance", validate=float),
)

# ---------------------------------------------------------------------- the consultation API

# Body ``code`` → outcome. 0 is accepted as "eligible" too: real bank APIs often use it for
# success, and accepting it costs nothing (the sandbox answers 200).
CODE_OUTCOMES: dict[int, str] = {0: "eligible", 200: "eligible", 701: "not_authorized", 702: "not_opted_in",
                                 703: "no_balance", 704: "active_operation", 400: "invalid_cpf"}
# Outcome → journey event (journey.yaml's system events).
OUTCOME_EVENTS: dict[str, str] = {
    "eligible": "api_eligible", "not_authorized": "api_not_authorized", "not_opted_in": "api_not_opted_in",
    "no_balance": "api_no_balance", "active_operation": "api_active_operation", "invalid_cpf": "cpf_invalid",
    "api_error": "api_error",
}
OUTCOMES: tuple[str, ...] = tuple(OUTCOME_EVENTS)


def _mask_args(args: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(args)
    if "cpf" in masked:
        masked["cpf"] = cpf_rules.mask(str(masked["cpf"]))
    if "raw" in masked:
        masked["raw"] = cpf_rules.mask_in_text(str(masked["raw"]))
    return masked


def _mask_data(body: Mapping[str, Any]) -> dict[str, Any]:
    # A real API may echo the CPF in clear: the trace must not.
    data = dict(body)
    for key in ("cpf", "documento", "document"):
        value = data.get(key)
        if isinstance(value, str | int) and not cpf_rules.is_masked(value):  # already masked upstream
            data[key] = cpf_rules.mask(str(value))
    return data


@tool(endpoint="/consulta", codes=CODE_OUTCOMES, events=OUTCOME_EVENTS, service="FGTS API",
      url_setting="FGTS_API_URL", invalid_outcome="invalid_cpf", mask_args=_mask_args, mask_data=_mask_data)
def consultar_fgts(
    cpf: Annotated[str, "CPF do cliente, 11 dígitos, com ou sem pontuação (ex.: 073.602.846-35)"],
) -> dict[str, Any]:
    """Consulta a situação do cliente no FGTS saque-aniversário (autorização do banco, adesão, saldo,
    operação ativa) e, se elegível, o saque anual e o valor disponível para antecipação. Chame somente
    com um CPF informado e confirmado pelo cliente."""
    number, problem = cpf_rules.checked_digits(cpf)
    if problem:
        raise ToolArgumentError(problem, field="cpf", outcome="invalid_cpf")
    return {"cpf": number}


TOOLS = ToolSet([consultar_fgts])


def event_for(outcome: str) -> str:
    """Journey event name for an outcome (``api_error`` for anything unknown)."""
    return consultar_fgts.event_for(outcome)


def outcome_for_code(code: Any) -> str:
    """Map an API body ``code`` to an outcome; anything unknown is an ``api_error``."""
    return consultar_fgts.outcome_for_code(code)


def default_tool_args(name: str, state: JourneyState) -> dict[str, Any]:
    """The captured CPF, when the decision model's tool call is unusable."""
    return {"cpf": str(state.attributes.get("cpf") or "")}


def sandbox_url() -> str:
    """The built-in consultation API simulator (started on first use)."""
    from sandbox import shared_sandbox_url

    return shared_sandbox_url()


# ---------------------------------------------------------------------- reading → event

_CONSENT_STEPS = {"greeting", "optin", "optout"}
_KEEP_INTENT = {"faq", "ask_human", "complaint", "goodbye", "optin_refuse", "injection"}
_DATA = {"name", "cpf", "birth_month"}


def to_event(reading: Reading, step: str) -> Event:
    """Turn a reading into the journey event, using the step to read "sim"/"não" right.

    "sim" at the opt-in is consent (``optin_accept``); elsewhere it confirms (``confirm_yes``).
    Data in the message wins over chit-chat intents, and an invalid CPF becomes ``cpf_invalid``.
    """
    attributes = MappingProxyType(dict(reading.attributes))
    if reading.intent == "injection":
        return Event("injection")
    intent = reading.intent_at(consent_step=step in _CONSENT_STEPS)
    if intent in _KEEP_INTENT:
        return Event(intent, attributes)
    if "cpf" not in attributes and any(r.attribute == "cpf" for r in reading.rejected):
        return Event("cpf_invalid", attributes)
    if _DATA & set(attributes):
        if intent in {"optin_accept", "confirm_no"}:
            return Event(intent, attributes)
        return Event("provide_data", attributes)
    return Event(intent, attributes)


# ---------------------------------------------------------------------- replies


def reply_variables(ctx: ReplyContext) -> dict[str, Any]:
    """Variables of the message templates: the customer's data and, when eligible, the amounts."""
    attrs = ctx.state.attributes
    name = str(attrs.get("name") or "")
    month = attrs.get("birth_month")
    values: dict[str, Any] = {
        "name": name,
        "first_name": name.split()[0] if name else "",
        "cpf_formatted": cpf_rules.format_cpf(str(attrs.get("cpf") or "")),
        "cpf_masked": cpf_rules.mask(str(attrs.get("cpf") or "")),
        "birth_month_name": month_name(month),
    }
    rejected = [r for r in (ctx.reading.rejected if ctx.reading else ()) if r.attribute == "cpf"]
    if rejected:
        values["cpf_masked"] = rejected[0].masked
    result = next((r for r in reversed(ctx.tool_results) if r.ok), None)
    if result is not None and result.outcome == "eligible":
        values.update(eligibility_variables(result.data, month, ctx.settings))
    return values


def eligibility_variables(data: Mapping[str, Any], month: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Amounts come from the API; the estimate is recomputed with the law's table only if missing."""
    balance = Decimal(str(data.get("balance", 0)))
    yearly = Decimal(str(data.get("yearly_withdrawal"))) if data.get("yearly_withdrawal") is not None \
        else rules.yearly_withdrawal(balance)
    advance = data.get("available_advance")
    years = (data.get("advance") or {}).get("years") or settings["advance_years"]
    if advance is None:
        estimate = rules.advance_estimate(balance, years=int(years),
                                          monthly_rate=Decimal(str(settings["advance_monthly_rate"])))
        advance = estimate.total_net
    return {
        "balance": rules.brl(balance),
        "yearly_amount": rules.brl(yearly),
        "advance_amount": rules.brl(Decimal(str(advance))),
        "advance_years": str(years),
        "birth_month_name": month_name(data.get("birth_month") or month),
    }
