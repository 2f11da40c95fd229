"""The journey state machine: table-driven over every step × event, plus its invariants."""

from __future__ import annotations

from types import MappingProxyType

import pytest
import yaml

from agent.core import journey as jm
from agent.core.engine import deterministic_reading
from agent.core.pack import get_pack
from agent.core.journey import Event, JourneyError, JourneyState

FULL = {"name": "Ana Souza", "cpf": "07360284635", "birth_month": 5}
FIN = "finalizer_message_template"
REENGAGE = "reengagement_message_template"
PACK = get_pack()
J = PACK.journey  # with the pack's validators


def to_event(text: str, step: str, expecting: str | None = None) -> Event:
    """The event the fgts pack reads in ``text`` at ``step`` (offline NLU, as the engine's fallback)."""
    return PACK.to_event(deterministic_reading(text, PACK, expecting), step)


def state(step: str, consent: bool = True, attributes: dict | None = None, **kw) -> JourneyState:
    attrs = FULL if attributes is None else attributes
    return JourneyState(step=step, consent=consent, attributes=MappingProxyType(dict(attrs)), **kw)


# The state each step is tested from: realistic attributes and consent for that point of the journey.
BASE = {
    "greeting": state("greeting", consent=False, attributes={}),
    "optin": state("optin", consent=False, attributes={}),
    "collect_data": state("collect_data", attributes={"name": "Ana Souza"}),
    "confirm_data": state("confirm_data"),
    "cpf_owner": state("cpf_owner", attributes={"name": "Ana Souza"}),
    "eligibility": state("eligibility"),
    "offer": state("offer"),
    "not_authorized": state("not_authorized"),
    "not_opted_in": state("not_opted_in"),
    "no_balance": state("no_balance"),
    "active_operation": state("active_operation"),
    "waiting_period": state("waiting_period"),
    "api_unavailable": state("api_unavailable"),
    "finalized": state("finalized"),
    "optout": state("optout", consent=False, attributes={}),
    "withdrawn": state("withdrawn"),
    "handoff": state("handoff", previous_step="confirm_data", handoff=True),
}
# The step's pending question once resolved ("resume"): None means the step asks nothing.
PENDING = {
    "greeting": 10, "optin": 11, "collect_data": 14, "confirm_data": 17, "cpf_owner": 64, "eligibility": None,
    "offer": 28, "not_authorized": 29, "not_opted_in": 29, "no_balance": 61,
    "active_operation": 61, "waiting_period": 61, "api_unavailable": 29, "finalized": 61, "optout": 51, "handoff": None,
    "withdrawn": 85,
}
SAME = "="


def default_row(step: str) -> dict[str, tuple[str, list]]:
    """What every event does at ``step`` unless the step overrides it."""
    r = [PENDING[step]] if PENDING[step] is not None else []
    return {
        "greeting": (SAME, [6, *r]),
        "want_withdraw": (SAME, r),
        "optin_accept": (SAME, r),
        "optin_refuse": ("optout", [50]),
        "faq": (SAME, [30, *r]),
        "provide_data": (SAME, r),
        "confirm_yes": (SAME, r),
        "confirm_no": (SAME, r),
        "ask_human": ("handoff", [40]),
        "complaint": (SAME, [5, *r]),
        "goodbye": ("finalized", [FIN]),
        "smalltalk": (SAME, [4, *r]),
        "unknown": (SAME, [1, *r]),
        "injection": (SAME, [3, *r]),
        "data_complete": (SAME, []),
        "cpf_invalid": (SAME, r),
        "cpf_unclear": (SAME, [65, *r]),
        "cpf_not_own": (SAME, [65, *r]),
        "cpf_wrong": (SAME, r),
        "api_eligible": (SAME, []),
        "api_not_authorized": (SAME, []),
        "api_not_opted_in": (SAME, []),
        "api_no_balance": (SAME, []),
        "api_active_operation": (SAME, []),
        "api_error": (SAME, []),
        "api_waiting_period": (SAME, []),
        "api_operation_this_year": (SAME, []),
        "api_below_minimum": (SAME, []),
        "idle_timeout": (SAME, [REENGAGE, *r]),
        "operator_handback": (SAME, []),
        "repeated_failure": ("handoff", [40]),
        "strong_negative": ("handoff", [40]),
        "thanks": (SAME, [70, *r]),
        "quit": ("withdrawn", [71, 85]),
        "ask_reason": (SAME, [30, *r]),
        "done_in_app": (SAME, r),
        "ask_amount": (SAME, [30, *r]),
        "security_question": (SAME, [80, *r]),
        "forgot_cpf": (SAME, [81, *r]),
        "out_of_scope": (SAME, [82, *r]),
        "unclear": (SAME, [83]),
        "amount_claim": (SAME, [46, *r]),
        "secret": (SAME, [45, *r]),
        "date_invalid": (SAME, [93, *r]),
    }


RETRY = {"confirm_yes": ("eligibility", []), "want_withdraw": ("eligibility", []),
         "confirm_no": ("finalized", [FIN]), "done_in_app": ("eligibility", [])}
OVERRIDES: dict[str, dict[str, tuple[str, list]]] = {
    "greeting": {
        "greeting": ("optin", [10]), "want_withdraw": ("optin", [10]), "smalltalk": ("optin", [10]),
        "unknown": ("optin", [10]), "provide_data": ("optin", [19]), "cpf_invalid": ("optin", [19]),
        # no notice shown yet: a "sim" is not consent, the notice is shown
        "optin_accept": ("optin", [10]), "confirm_yes": ("optin", [10]),
        "confirm_no": ("optout", [50]), "thanks": ("optin", [10]), "unclear": ("optin", [10]),
        "quit": ("optout", [50]), "security_question": ("optin", [80, 84]),
        "forgot_cpf": ("optin", [81, 84]), "out_of_scope": ("optin", [82, 84]),
        "secret": ("optin", [45, 10]),
        # a question as the first message: the answer, then the notice (a later "aceito" is consent)
        "faq": ("optin", [30, 10]),
        "injection": ("optin", [3, 10]),
        # so is a complaint or a question about amounts/results as the first message
        "complaint": ("optin", [5, 10]), "ask_amount": ("optin", [30, 10]), "ask_reason": ("optin", [30, 10]),
        "done_in_app": ("optin", [10]),
    },
    "optin": {
        "greeting": (SAME, [11]), "want_withdraw": (SAME, [11]), "provide_data": (SAME, [19]),
        "cpf_invalid": (SAME, [19]), "optin_accept": ("collect_data", [12, 13]),
        "confirm_yes": ("collect_data", [12, 13]), "confirm_no": ("optout", [50]),
        "thanks": (SAME, [70, 84]), "quit": ("optout", [50]), "security_question": (SAME, [80, 84]),
        "forgot_cpf": (SAME, [81, 84]), "out_of_scope": (SAME, [82, 84]),
    },
    "collect_data": {
        "provide_data": (SAME, [14]), "cpf_invalid": (SAME, [16]), "data_complete": ("confirm_data", [17]),
        "cpf_unclear": ("cpf_owner", [64]), "cpf_not_own": (SAME, [65]),
    },
    "confirm_data": {
        "confirm_yes": ("eligibility", []), "want_withdraw": (SAME, [17]),
        "confirm_no": (SAME, [67]), "cpf_wrong": ("collect_data", [18, 14]), "provide_data": (SAME, [17]),
        "cpf_invalid": ("collect_data", [16]), "cpf_unclear": ("cpf_owner", [64]),
        "cpf_not_own": ("collect_data", [65]),
    },
    "cpf_owner": {
        "provide_data": ("collect_data", [14]), "confirm_yes": ("collect_data", [66]),
        "want_withdraw": (SAME, [64]), "confirm_no": ("collect_data", [65]),
        "cpf_not_own": ("collect_data", [65]), "cpf_unclear": (SAME, [64]), "cpf_invalid": ("collect_data", [16]),
    },
    "eligibility": {
        "api_eligible": ("offer", [20]), "api_not_authorized": ("not_authorized", [21]),
        "api_not_opted_in": ("not_opted_in", [22]), "api_no_balance": ("no_balance", [23]),
        "api_active_operation": ("active_operation", [24]), "api_error": ("api_unavailable", [25]),
        "api_waiting_period": ("waiting_period", [90]), "api_operation_this_year": ("active_operation", [91]),
        "api_below_minimum": ("no_balance", [92]),
        "confirm_yes": (SAME, []), "want_withdraw": (SAME, []),
    },
    "offer": {"confirm_yes": ("finalized", [26]), "want_withdraw": ("finalized", [26]),
              "confirm_no": ("finalized", [27]), "ask_amount": (SAME, [79]), "thanks": (SAME, [70, 28])},
    "not_authorized": RETRY | {"ask_reason": (SAME, [74])},
    "not_opted_in": RETRY | {"ask_reason": (SAME, [75])},
    "api_unavailable": RETRY | {"ask_reason": (SAME, [78])},
    "no_balance": {"confirm_yes": (SAME, [7]), "want_withdraw": (SAME, [23]),
                   "confirm_no": ("finalized", [FIN]), "ask_reason": (SAME, [76])},
    "active_operation": {"confirm_yes": (SAME, [7]), "want_withdraw": (SAME, [24]),
                         "confirm_no": ("finalized", [FIN]), "ask_reason": (SAME, [77])},
    "waiting_period": {"confirm_yes": (SAME, [7]), "want_withdraw": (SAME, [90]),
                       "confirm_no": ("finalized", [FIN])},
    "finalized": {
        "greeting": (SAME, [6, 61]),
        # consent and data are still there: straight back to confirming them
        "want_withdraw": ("confirm_data", [17]),
        "confirm_yes": (SAME, [7]), "confirm_no": (SAME, [60]), "goodbye": (SAME, [60]),
        "idle_timeout": (SAME, []), "thanks": (SAME, [70, 61]), "quit": (SAME, [60]),
    },
    "optout": {
        "greeting": ("optin", [10]), "want_withdraw": ("optin", [11]),
        "optin_accept": ("collect_data", [12, 13]), "confirm_yes": ("collect_data", [12, 13]),
        "confirm_no": (SAME, [60]), "optin_refuse": (SAME, [60]), "provide_data": (SAME, [19]),
        "cpf_invalid": (SAME, [19]), "goodbye": (SAME, [60]), "idle_timeout": (SAME, []),
        "thanks": (SAME, [70, 51]), "quit": (SAME, [60]),
    },
    "withdrawn": {
        "confirm_yes": ("optout", [72]), "optin_refuse": ("optout", [72]), "confirm_no": ("finalized", [73]),
        "quit": ("finalized", [73]), "goodbye": ("finalized", [73]), "thanks": (SAME, [70, 85]),
        # the data are still there (the customer kept them): straight back to confirming them
        "want_withdraw": ("confirm_data", [17]), "provide_data": ("confirm_data", [17]),
    },
    "handoff": {e: (SAME, []) for e in default_row("handoff")}
    | {"operator_handback": ("confirm_data", [41, 17])},
}


def expected(step: str, event: str) -> tuple[str, list]:
    target, replies = {**default_row(step), **OVERRIDES.get(step, {})}[event]
    return (step if target == SAME else target), replies


CASES = [(s, e) for s in BASE for e in default_row(s)]


def test_table_covers_every_step_and_event_of_the_yaml() -> None:
    assert set(BASE) == set(J.steps)
    assert set(default_row("greeting")) == set(J.events)
    assert len(CASES) == len(J.steps) * len(J.events)


@pytest.mark.parametrize(("step", "event"), CASES)
def test_transition_table(step: str, event: str) -> None:
    before = BASE[step]
    after = J.transition(before, event)
    assert (after.step, list(after.replies)) == expected(step, event)
    assert after.last_event == event
    assert before.step == step  # the input state is never mutated
    assert after.handoff == (after.step == "handoff")


# -- invariants ------------------------------------------------------------------------------------


def test_faq_never_changes_the_step() -> None:
    # …except the first message: like any first message, it shows the notice and waits for consent.
    for step, base in BASE.items():
        assert J.transition(base, "faq").step == ("optin" if step == "greeting" else step)


def test_no_personal_data_is_kept_before_opt_in() -> None:
    s = J.transition(BASE["optin"], Event("provide_data", {"cpf": "07360284635", "name": "Ana"}))
    assert dict(s.attributes) == {} and s.step == "optin"


def test_consent_guard_redirects_even_if_the_yaml_says_otherwise() -> None:
    data = yaml.safe_load((jm.DEFAULT_PACK_DIR / "journey.yaml").read_text(encoding="utf-8"))
    data["steps"]["greeting"]["transitions"]["want_withdraw"] = {"to": "collect_data", "reply": [13]}
    bad = jm.parse_journey(data)
    s = bad.transition(bad.initial_state(), "want_withdraw")
    assert (s.step, s.replies) == ("optin", (11,))


def test_data_in_any_order_then_confirmation() -> None:
    s = J.transition(J.transition(J.initial_state(), "greeting"), "optin_accept")
    s = J.transition(s, Event("provide_data", {"birth_month": 5}))
    assert (s.step, s.replies) == ("collect_data", (13,))  # still asks the name first
    s = J.transition(s, Event("provide_data", {"cpf": "073.602.846-35"}))
    assert s.replies == (13,) and s.attributes["cpf"] == "07360284635"
    s = J.transition(s, Event("provide_data", {"name": "Ana Souza"}))
    assert (s.step, s.replies) == ("confirm_data", (17,))


def test_everything_at_once_with_the_consent() -> None:
    s = J.transition(BASE["optin"], Event("optin_accept", FULL))
    assert (s.step, s.replies, s.consent) == ("confirm_data", (12, 17), True)


def test_invalid_cpf_never_enters_the_state() -> None:
    s = J.transition(BASE["collect_data"], Event("provide_data", {"cpf": "07360284636"}))
    assert "cpf" not in s.attributes


def test_three_failures_hand_off_and_replace_the_reply() -> None:
    s = BASE["collect_data"]
    s = J.transition(s, "unknown")
    s = J.transition(s, Event("cpf_invalid"))
    assert (s.step, s.failures) == ("collect_data", 2)
    s = J.transition(s, "unknown")
    assert (s.step, s.replies, s.handoff, s.previous_step) == ("handoff", (40,), True, "collect_data")
    back = J.transition(s, "operator_handback")
    assert (back.step, back.replies, back.failures) == ("collect_data", (41, 14), 0)


def test_progress_resets_the_failure_count() -> None:
    s = J.transition(BASE["confirm_data"], "unknown")
    assert s.failures == 1
    assert J.transition(s, "confirm_yes").failures == 0


def test_refusing_consent_later_erases_the_data() -> None:
    s = J.transition(BASE["offer"], "optin_refuse")
    assert (s.step, dict(s.attributes), s.consent) == ("optout", {}, False)


def test_a_bare_no_at_the_confirmation_keeps_the_data() -> None:
    s = J.transition(BASE["confirm_data"], "confirm_no")
    assert (s.step, dict(s.attributes)) == ("confirm_data", FULL)


def test_cpf_wrong_drops_only_the_cpf() -> None:
    s = J.transition(BASE["confirm_data"], "cpf_wrong")
    assert dict(s.attributes) == {"name": "Ana Souza", "birth_month": 5}


def test_a_correction_at_the_confirmation_changes_one_attribute() -> None:
    s = J.transition(BASE["confirm_data"], Event("provide_data", MappingProxyType({"birth_month": 8})))
    assert (s.step, dict(s.attributes), list(s.replies)) == ("confirm_data", {**FULL, "birth_month": 8}, [17])


def test_a_third_party_cpf_is_never_kept() -> None:
    s = J.transition(BASE["confirm_data"], "cpf_unclear")
    assert (s.step, "cpf" in s.attributes) == ("cpf_owner", False)
    s = J.transition(s, "cpf_not_own")
    assert (s.step, dict(s.attributes), list(s.replies)) == ("collect_data", {"name": "Ana Souza", "birth_month": 5},
                                                             [65])


def test_helpers() -> None:
    assert J.allowed_tools("eligibility") == ("consultar_fgts",)
    assert all(not J.allowed_tools(s) for s in J.steps if s != "eligibility")
    assert J.missing_attributes(BASE["collect_data"]) == ("cpf", "birth_month")
    assert J.message_code_for("eligibility", "api_not_authorized") == 21
    assert J.message_code_for("optin", "faq") == 30
    assert J.message_code_for("greeting", "goodbye") is None  # finalizer template
    assert J.message_code_for("handoff", "unknown") is None  # silent
    assert J.transition(BASE["eligibility"], "api_eligible").message_code == 20


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(JourneyError, match="unknown event 'dance'"):
        J.transition(BASE["optin"], "dance")
    with pytest.raises(JourneyError, match="unknown step 'limbo'"):
        J.transition(JourneyState(step="limbo"), "greeting")


def _raw() -> dict:
    return yaml.safe_load((jm.DEFAULT_PACK_DIR / "journey.yaml").read_text(encoding="utf-8"))


def test_yaml_with_unknown_target_step_is_rejected() -> None:
    data = _raw()
    data["steps"]["offer"]["transitions"]["confirm_yes"] = {"to": "finalised", "reply": [26]}
    with pytest.raises(JourneyError, match=r"steps.offer.transitions.confirm_yes: unknown step 'finalised'"):
        jm.parse_journey(data)


def test_yaml_with_unknown_message_code_or_event_is_rejected() -> None:
    data = _raw()
    data["steps"]["offer"]["transitions"]["confirm_no"] = {"to": "finalized", "reply": [999]}
    data["steps"]["offer"]["transitions"]["shrug"] = {"to": "finalized"}
    with pytest.raises(JourneyError) as info:
        jm.parse_journey(data)
    assert "message code 999" in str(info.value) and "shrug: unknown event" in str(info.value)


def test_bare_on_key_is_caught() -> None:
    data = yaml.safe_load("""
initial_step: a
events: {intents: [x], system: []}
defaults: {x: {to: $same}}
steps:
  a:
    on:
      x: {to: a}
""")
    with pytest.raises(JourneyError, match="use 'transitions:'"):
        jm.parse_journey(data)


def test_state_round_trips_through_json() -> None:
    s = J.transition(BASE["eligibility"], "api_eligible")
    assert JourneyState.from_dict(s.to_dict()) == s


def test_journey_is_cached_per_pack() -> None:
    assert jm.load_journey() is jm.load_journey()


def test_walk_with_the_offline_nlu() -> None:
    """greeting → opt-in → FAQ → wrong CPF → right CPF → confirm → 701 → retry → offer → accept."""
    s = J.initial_state()
    script = [
        ("oii", None, "optin", 10),
        ("aceito", None, "collect_data", 12),
        ("quanto tempo demora pra cair o dinheiro?", None, "collect_data", 30),
        ("Ana Souza", "name", "collect_data", 14),
        ("meu cpf é 073.602.846-36", "cpf", "collect_data", 16),
        ("073.602.846-35, nasci em maio", "cpf", "confirm_data", 17),
        ("sim", None, "eligibility", None),
    ]
    for text, expecting, step, code in script:
        s = J.transition(s, to_event(text, s.step, expecting))
        assert (s.step, s.message_code) == (step, code), text
    s = J.transition(s, "api_not_authorized")
    assert (s.step, s.message_code) == ("not_authorized", 21)
    s = J.transition(s, to_event("pronto, autorizei", s.step))
    assert s.step == "eligibility"
    s = J.transition(s, "api_eligible")
    s = J.transition(s, to_event("quero sim", s.step))
    assert (s.step, s.message_code) == ("finalized", 26)
    assert dict(s.attributes) == {"name": "Ana Souza", "cpf": "07360284635", "birth_month": 5}


def test_a_step_that_captures_data_without_requiring_consent_is_rejected() -> None:
    data = _raw()
    data["steps"]["collect_data"]["requires_consent"] = False
    with pytest.raises(JourneyError, match=r"step 'collect_data' captures name, cpf.*requires_consent: true"):
        jm.parse_journey(data)
