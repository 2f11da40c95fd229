"""The FGTS saque-aniversário pack's code: attributes, the consultation tool, events and reply rules.

Everything here is domain knowledge the core asks for through ``agent.core.pack.Pack``:
validators and maskers of what the agent captures, the ``consultar_fgts`` tool (its schema comes
from the typed function), how a reading of the customer's message becomes a journey event, and
the variables of the replies (the advance estimate, by ``rules.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from agent.adapters.tools import ToolArgumentError, ToolResult, ToolSet, tool
from agent.br import cpf as cpf_rules
from agent.br import names as name_rules
from agent.br import owner as owner_rules
from agent.br.calendar import month_name
from agent.br.spoken import strip_accents
from agent.core.guardrails import amounts_in, claims_money
from agent.core.journey import Event, JourneyState
from agent.core.pack import Attribute, Invalid, Reading, ReplyContext

from . import rules

# ---------------------------------------------------------------------- attributes




def _name(value: Any) -> str:
    """A person's name: quotes, emojis and stray punctuation stripped; digits, pronouns, insults
    and sentences refused ("Vocês!", "vocês são uns ladrões") — the same rule for the offline NLU
    and for any model's extraction."""
    text = name_rules.clean(str(value))
    problem = name_rules.problem(text)
    if problem is not None:
        raise Invalid("not_a_name" if problem == "not_a_name" else f"not_a_name:{problem}")
    return name_rules.titled(text)


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
# Intents that win over data found in the same message (a question is answered, a refusal honoured).
# Politeness and goodbyes are not here: "valeu, meu cpf é …" keeps the CPF and the journey goes on.
_KEEP_INTENT = {"faq", "ask_human", "complaint", "optin_refuse", "injection", "security_question", "out_of_scope",
                "quit", "forgot_cpf"}
_DATA = {"name", "cpf", "birth_month"}
# Intents a message naming an amount or an approval is read as something the customer claims (amount_claim).
_CLAIM_INTENTS = {"unknown", "smalltalk", "out_of_scope", "provide_data", "greeting", "done_in_app"}
# Steps after a result that end with a yes/no question (offer, retry, anything else?).
_YES_NO_RESULT_STEPS = {"offer", "not_authorized", "not_opted_in", "no_balance", "active_operation",
                        "api_unavailable", "finalized"}
# A doubt about whose CPF it is, or a correction at the confirmation, wins over a question intent read
# with less than this confidence ("errei, é 08" is not a security question); these always win.
_SURE = 0.8
# Below this confidence a guess that would change the journey is asked about, not acted on.
_CLARIFY_BELOW = 0.42
_CLARIFY = {"want_withdraw": "simular a antecipação do seu saque-aniversário",
            "faq": "tirar uma dúvida sobre o saque-aniversário", "quit": "parar a consulta por aqui",
            "ask_human": "falar com um atendente", "optin_refuse": "não autorizar o uso dos seus dados",
            "done_in_app": "que eu consulte o seu FGTS de novo", "ask_amount": "saber quanto cai na sua conta",
            "ask_reason": "entender o motivo do resultado"}
# Words that end a conversation; thanks alone never does.
_CLEAR_ENDING = re.compile(r"\b(tchau|xau|adeus|ate mais|ate logo|ate amanha|ate a proxima|falou|flw|era so isso|fui|"
                           r"abracos?|bjs|beijos?)\b")
# Asking for a promise of an approval or an amount ("me garante", "promete", "jura", "guarantee me").
_PROMISE = re.compile(r"\b(garant[aeiou]\w*|promet\w*|jur[ae]\w*|assegur\w*|guarantee\w*|promise\w*|swear)\b"
                      r"|\bconfirm[ae]\s+(?:pra\s+mim\s+|para\s+mim\s+)?que\b")
_PROMISED = re.compile(r"\b(aprov\w*|liber\w*|approv\w*|recebo|receber|cai|cair|valor|dinheiro|money|loan|taxa|juros"
                       r"|rate)\b")
_FIRM_INTENT = {"quit", "optin_refuse", "injection", "ask_human"}
# Consent must be explicit: a format string or the same word over and over is not a "sim".
_GARBAGE = re.compile(r"%[sdr]|\{\d*\}|\$\{|\{\{|\b(\w+)\b(?:\W+\1\b){3,}", re.IGNORECASE)


def explicit_consent(text: str) -> bool:
    """False for text that only looks like a "sim": format strings, repeated words, very long rambles."""
    # An emoji alone (👍) is not an unequivocal consent (LGPD art. 5, XII): it takes a word.
    return not _GARBAGE.search(text) and len(text.split()) <= 25 and bool(re.search(r"[^\W\d_]", text))


# Why a CPF in the message may not be the customer's own (agent.brain.nlu marks them; see cpf_concern).
CPF_CONCERNS = ("third_party", "in_url", "several")
_CPF_WRONG = re.compile(r"\bcpf\b\W+(?:\w+\W+){0,2}?(?:errad|incorret|trocad|nao\s+e\s+(?:esse|este|o\s+meu))"
                        r"|(?:errad[oa]|incorret[oa]|errei)\W+(?:\w+\W+){0,2}?cpf\b")
_DOCUMENT = re.compile(r"\b(?:cpf|fgts|documento|saldo|dados|conta|consulta\w*|sacar|saque|antecipa\w*)\b")


# The first sentence of message 64, by why the CPF was not kept.
CPF_DOUBTS = {
    "third_party": "Entendi que esse CPF pode ser de outra pessoa.",
    "in_url": "Recebi um CPF dentro de um link.",
    "several": "Recebi mais de um CPF na mesma mensagem.",
    "": "Antes de seguir, preciso confirmar uma coisa.",
}


def cpf_concern(reading: Reading) -> str | None:
    """Why the CPF in this message may not be the customer's own, or None.

    The extraction marks third-party CPFs ("esse é o cpf da minha mãe"), CPFs inside a link and
    messages with several CPFs; a CPF that only a model read is checked here against the same markers.
    """
    for rejected in reading.rejected:
        if rejected.attribute == "cpf" and rejected.reason in CPF_CONCERNS:
            return rejected.reason
    cpf = reading.attributes.get("cpf")
    if cpf:
        if owner_rules.third_party(reading.text) and not owner_rules.self_claim(reading.text):
            return "third_party"
        if owner_rules.url_spans(reading.text) and str(cpf) in cpf_rules.digits(
                " ".join(reading.text[a:b] for a, b in owner_rules.url_spans(reading.text))):
            return "in_url"
    return None


def _owner_event(reading: Reading, step: str, attributes: Mapping[str, Any]) -> Event | None:
    """Whose CPF, when no CPF came in this message: "é da minha mãe" → ``cpf_not_own``; at the
    ``cpf_owner`` question "é meu"/"sim" → ``confirm_yes``; "o cpf está errado" at the
    confirmation → ``cpf_wrong`` (only the CPF is dropped)."""
    text = strip_accents(reading.text.lower())
    if "cpf" in attributes or any(r.attribute == "cpf" for r in reading.rejected):
        return None
    someone_else = bool(owner_rules.third_party(text)) or owner_rules.not_mine(text)
    if step == "cpf_owner":
        if someone_else or (reading.confirmation == "no" and not owner_rules.self_claim(text)):
            return Event("cpf_not_own", attributes)
        if owner_rules.self_claim(text) or reading.confirmation == "yes":
            return Event("confirm_yes", attributes)
        return None
    if step in {"collect_data", "confirm_data"} and owner_rules.third_party(text) and _DOCUMENT.search(text) \
            and reading.intent != "forgot_cpf":  # "não sei meu cpf, minha filha guarda os papéis" needs help
        return Event("cpf_not_own", attributes)
    if step == "confirm_data" and _CPF_WRONG.search(text):
        return Event("cpf_wrong", attributes)
    return None


_WHY = re.compile(r"\b(por que|porque|pq|como assim|o que significa|oq significa|qual o motivo|qual foi o motivo)\b")
_HOW_MUCH = re.compile(r"\b(quanto|qto|qnto|qnt)\b(?!\s+tempo)")
_RESULT_STEPS = {"not_authorized", "not_opted_in", "no_balance", "active_operation", "api_unavailable"}


def _read_by_step(reading: Reading, step: str, intent: str) -> str:
    """What a message means at a step where one question is pending (after a result, at the offer)."""
    plain = strip_accents(reading.text.lower())
    if step in _RESULT_STEPS and _WHY.search(plain) and intent not in {"ask_human", "complaint", "quit"} \
            and not (_DATA & set(reading.attributes)):
        return "ask_reason"  # "mas por que? eu tenho saldo", "como assim operação ativa?"
    if step == "offer" and intent in {"faq", "unknown"} and _HOW_MUCH.search(plain):
        return "ask_amount"  # "quanto eu recebo?" at the offer is about this offer's amount
    if step in _RESULT_STEPS and intent == "optin_refuse" and not re.search(r"dado|cpf|apag|lgpd", plain):
        return "confirm_no"  # "não vou autorizar" the bank in the app: a "no", not a withdrawal of consent
    if step == "api_unavailable" and intent == "done_in_app":
        return "confirm_yes"  # "sim, tenta de novo": nothing was done in an app, it is a yes
    if intent == "forgot_cpf" and not re.search(r"cpf|documento|numero", plain):
        # "não, achei pouco" is not about a CPF: read the yes/no
        return {"yes": "confirm_yes", "no": "confirm_no"}.get(reading.confirmation or "", "unknown")
    return intent


def to_event(reading: Reading, step: str) -> Event:
    """Turn a reading into the journey event, using the step to read "sim"/"não" right.

    "sim" at the opt-in is consent (``optin_accept``); elsewhere it confirms (``confirm_yes``).
    Data in the message wins over chit-chat intents, and an invalid CPF becomes ``cpf_invalid``.
    """
    attributes = MappingProxyType(dict(reading.attributes))
    if reading.intent == "injection":
        return Event("injection")
    concern = cpf_concern(reading)
    if concern is not None:  # never kept silently: someone else's, in a link, or one of several
        attributes = MappingProxyType({k: v for k, v in attributes.items() if k != "cpf"})
    intent = reading.intent_at(consent_step=step in _CONSENT_STEPS)
    if intent == "quit" and step in _YES_NO_RESULT_STEPS and reading.confirmation == "no":
        # "não quero não" to a pending yes/no question after a result is a plain "no".
        intent = "confirm_no"
    if intent == "done_in_app" and reading.confirmation == "no":
        intent = "confirm_no"  # "não precisa tentar de novo"
    stepped = _read_by_step(reading, step, intent)
    read_by_step, intent = stepped != intent, stepped
    if intent == "thanks" and _CLEAR_ENDING.search(strip_accents(reading.text.lower())):
        intent = "goodbye"  # "valeu, tchau": politeness with a clear ending ends the conversation
    if intent in _CLAIM_INTENTS and concern is None and not _DATA & set(attributes) and claims_money(reading.text) \
            and (intent != "done_in_app" or amounts_in(reading.text)):
        # "tenho R$ 50 mil", "o outro banco me aprovou 20 mil": what the customer says is not a fact; the
        # amounts we show come from the API and the rules table only (the typed balance is never shown).
        return Event("amount_claim", attributes)
    if concern is None and not _DATA & set(attributes) and _PROMISE.search(strip_accents(reading.text.lower())) \
            and (amounts_in(reading.text) or _PROMISED.search(strip_accents(reading.text.lower()))):
        # "me garante que vai aprovar 10 mil", "promise I'll get the loan": nobody here can promise an amount or an
        # approval; the values come from the consultation only (the same answer as a claimed amount).
        return Event("amount_claim", attributes)
    # "é da minha mãe" to "whose CPF is it?" is an answer, not a guess to clarify.
    owned = _owner_event(reading, step, attributes) if step not in _CONSENT_STEPS else None
    if intent in _CLARIFY and reading.confidence < _CLARIFY_BELOW and not reading.has_data and owned is None \
            and not read_by_step:
        return Event("unclear", attributes)  # a short clarifying question instead of a guess
    if intent == "optin_accept" and not explicit_consent(reading.text):
        return Event("unknown", attributes)
    if owned is not None and intent == "optin_refuse":
        return owned  # "não é meu cpf, vou passar o da minha mãe": the "não" is whose CPF, not a refusal
    correction = step == "confirm_data" and bool(_DATA & set(attributes))
    gives_data = bool(_DATA & set(attributes))
    if intent in _KEEP_INTENT and not (
            (concern or owned or correction or gives_data) and intent not in _FIRM_INTENT
            and reading.confidence < _SURE):
        return Event(intent, attributes)
    if concern is not None and step not in _CONSENT_STEPS:
        return Event("cpf_unclear", attributes)
    if owned is not None:
        return owned
    if "cpf" not in attributes and any(r.attribute == "cpf" for r in reading.rejected):
        return Event("cpf_invalid", attributes)
    if "birth_month" not in attributes and step not in _CONSENT_STEPS and any(
            r.attribute == "birth_month" and r.reason == "impossible_date" for r in reading.rejected):
        return Event("date_invalid", attributes)  # "31/02/1990": say so and ask the month again
    if _DATA & set(attributes):
        # At the confirmation, data is a correction: "não, o mês é agosto" changes the month only.
        if intent in {"optin_accept", "confirm_no"} and step != "confirm_data":
            return Event(intent, attributes)
        return Event("provide_data", attributes)
    return Event(intent, attributes)


# ---------------------------------------------------------------------- the conversation's date

# Brasília time (UTC−3 all year since daylight saving ended in 2019): the day a Brazilian customer writes.
BRASILIA = timezone(timedelta(hours=-3), "BRT")


def conversation_day(ctx: ReplyContext) -> date:
    """The date whose FGTS rules apply: the ``today`` setting when set (goldens, the simulator,
    ``CONVERSATION_DATE``), else the day the customer sent the turn's message, in Brasília time."""
    pinned = ctx.settings.get("today")
    if pinned not in (None, ""):
        if isinstance(pinned, datetime):
            return pinned.date()
        if isinstance(pinned, date):
            return pinned
        try:
            return date.fromisoformat(str(pinned).strip())
        except ValueError:
            raise ValueError(f"setting today (CONVERSATION_DATE) must be a date AAAA-MM-DD, got {pinned!r}") from None
    return (ctx.now or datetime.now(UTC)).astimezone(BRASILIA).date()


def _date_of(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _ddmmyyyy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _reais(amount: Decimal | None) -> str:
    """A rule's limit as people say it: "R$ 500" (cents only when there are any)."""
    if amount is None:
        return ""
    text = rules.brl(amount)
    return text[:-3] if text.endswith(",00") else text


def _bank_limit(settings: Mapping[str, Any]) -> int | None:
    raw = settings.get("advance_years")
    return int(raw) if raw not in (None, "") else None


def _estimate(data: Mapping[str, Any], month: Any, settings: Mapping[str, Any], day: date) -> rules.AdvanceEstimate:
    """The advance under the rules of ``day``, from the API's balance and the birth month."""
    birth = data.get("birth_month") or month
    return rules.advance_estimate(Decimal(str(data.get("balance", 0))), day,
                                  Decimal(str(settings["advance_monthly_rate"])),
                                  birth_month=int(birth) if birth else None, max_instalments=_bank_limit(settings))


def review_result(result: ToolResult, ctx: ReplyContext) -> str | None:
    """The consultation's result read with the rules in force on the conversation's date.

    Joined saque-aniversário less than the waiting period ago → ``api_waiting_period``; an advance
    operation in the last year while the rules allow one a year → ``api_operation_this_year``; an
    eligible balance whose next yearly withdrawal is under the rules' minimum instalment (and no amount
    from the API) → ``api_below_minimum``. Anything else keeps the result's own event.
    """
    if not result.ok or result.outcome not in {"eligible", "active_operation"}:
        return None
    data = result.data
    day = conversation_day(ctx)
    period = rules.rules_for(day)
    operation = _date_of(data.get("operation_date"))
    if (data.get("existing_operation") and operation is not None and period.operations_per_year
            and day < rules.next_operation_day(operation)):
        return "api_operation_this_year"
    if result.outcome != "eligible":
        return None
    adhesion = _date_of(data.get("adhesion_date"))
    if adhesion is not None and day < rules.first_advance_day(adhesion, period):
        return "api_waiting_period"
    if data.get("available_advance") is None:
        estimate = _estimate(data, ctx.state.attributes.get("birth_month"), ctx.settings, day)
        if not estimate.rows and estimate.stopped_by == "below_minimum":
            return "api_below_minimum"
    return None


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
    values["guess"] = _CLARIFY.get(ctx.reading.intent if ctx.reading else "", "seguir com a consulta")
    dates = [r for r in (ctx.reading.rejected if ctx.reading else ()) if r.reason == "impossible_date"]
    values["date_attempt"] = dates[0].masked if dates else ""
    values["cpf_doubt"] = CPF_DOUBTS.get((cpf_concern(ctx.reading) if ctx.reading else None) or "", CPF_DOUBTS[""])
    result = next((r for r in reversed(ctx.tool_results) if r.ok), None)
    # A later turn ("quanto cai na minha conta?") reads the last consultation kept in the state:
    # amounts always come from the API, never from memory or from what the customer typed.
    last: Mapping[str, Any] = {"outcome": result.outcome, "data": result.data} if result is not None else \
        ctx.state.results.get("consultar_fgts") or {}
    if last.get("outcome") in {"eligible", "active_operation"}:
        day = conversation_day(ctx)
        values.update(rules_variables(last["data"], day))
        if last["outcome"] == "eligible":
            values.update(eligibility_variables(last["data"], month, ctx.settings, day))
    return values


def rules_variables(data: Mapping[str, Any], day: date) -> dict[str, Any]:
    """The rules in force on ``day`` in words, and the dates of the API's facts (dd/mm/aaaa)."""
    period = rules.rules_for(day)
    adhesion = _date_of(data.get("adhesion_date"))
    operation = _date_of(data.get("operation_date"))
    if period.max_instalment is not None:
        low = f"de {_reais(period.min_instalment)} a " if period.min_instalment is not None else "até "
        limits = (f"cada parcela antecipada vai {low}{_reais(period.max_instalment)} e são no máximo "
                  f"{period.max_instalments} parcelas por operação")
    else:
        limits = f"são no máximo {period.max_instalments} saques anuais por operação, sem limite de valor por parcela"
    return {
        "rules_since": _ddmmyyyy(period.in_force_since),
        "rules_limits": limits,
        "min_instalment": _reais(period.min_instalment),
        "waiting_days": str(period.waiting_days),
        "adhesion_date": _ddmmyyyy(adhesion),
        "waiting_ends": _ddmmyyyy(rules.first_advance_day(adhesion, period)) if adhesion else "",
        "operation_date": _ddmmyyyy(operation),
        "next_operation_date": _ddmmyyyy(rules.next_operation_day(operation)) if operation else "",
    }


def eligibility_variables(data: Mapping[str, Any], month: Any, settings: Mapping[str, Any],
                          day: date) -> dict[str, Any]:
    """Balance and yearly withdrawal from the API; the advance from the API when it quotes one
    (``available_advance``), else estimated with the rules in force on ``day`` (advance_rules.yaml)."""
    balance = Decimal(str(data.get("balance", 0)))
    yearly = Decimal(str(data.get("yearly_withdrawal"))) if data.get("yearly_withdrawal") is not None \
        else rules.yearly_withdrawal(balance)
    advance = data.get("available_advance")
    cap = ""
    if advance is None:
        estimate = _estimate(data, month, settings, day)
        advance, years = estimate.total_net, estimate.instalments
        if estimate.capped and estimate.period.max_instalment is not None:
            cap = f" (até {_reais(estimate.period.max_instalment)} por parcela)"
    else:
        years = (data.get("advance") or {}).get("years") or _bank_limit(settings) \
            or rules.rules_for(day).max_instalments
    return {
        "balance": rules.brl(balance),
        "yearly_amount": rules.brl(yearly),
        "advance_amount": rules.brl(Decimal(str(advance))),
        "advance_years": str(years),
        "advance_unit": "saque anual" if int(years) == 1 else "saques anuais",
        "advance_cap": cap,
        "birth_month_name": month_name(data.get("birth_month") or month),
    }
