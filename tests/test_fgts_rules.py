"""The FGTS advance rules in force on a date (prompts/fgts/advance_rules.yaml, rules.py, pack.py, sandbox).

The estimate is recomputed here *independently*: the Lei 13.932/2019 table, the Conselho Curador rules
and the timing are written again below from their text, with exact fractions, and never call the pack's
arithmetic. If the table or rules.py drift from the rules as published, these tests say so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.adapters.tools import ToolResult
from agent.br.cpf import complete
from agent.config import PROJECT_ROOT
from agent.core.journey import JourneyState
from agent.core.pack import ReplyContext, get_pack, import_pack_module

FGTS_DIR = PROJECT_ROOT / "prompts" / "fgts"
rules = import_pack_module(FGTS_DIR, "rules")
D = Decimal

# ---------------------------------------------------------------------- the rules, written again from their text

# Lei 13.932/2019, annex: (balance up to, percentage, additional portion in reais).
LEI_13932 = [(500, Fraction(50, 100), 0), (1000, Fraction(40, 100), 50), (5000, Fraction(30, 100), 150),
             (10000, Fraction(20, 100), 650), (15000, Fraction(15, 100), 1150), (20000, Fraction(10, 100), 1900),
             (None, Fraction(5, 100), 2900)]


def expected_rules(day: date) -> dict[str, Any]:
    """Conselho Curador do FGTS, 07/10/2025, in force 01/11/2025: R$ 100–500 per instalment, 5 instalments
    in the first 12 months (to 31/10/2026), then 3; before: no cap, no minimum, up to 10 yearly withdrawals."""
    if day < date(2025, 11, 1):
        return {"count": 10, "min": None, "max": None, "wait": 0, "per_year": None}
    if day < date(2026, 11, 1):
        return {"count": 5, "min": Fraction(100), "max": Fraction(500), "wait": 90, "per_year": 1}
    return {"count": 3, "min": Fraction(100), "max": Fraction(500), "wait": 90, "per_year": 1}


def cents(value: Fraction) -> Fraction:
    """Half-up to the cent, on exact fractions."""
    hundredths = value * 100
    whole = hundredths.numerator // hundredths.denominator
    if hundredths - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 100)


def withdrawal_of(balance: Fraction) -> Fraction:
    if balance <= 0:
        return Fraction(0)
    for upper, rate, extra in LEI_13932:
        if upper is None or balance <= upper:
            return cents(balance * rate + extra)
    raise AssertionError


def expected_estimate(balance: str, day: date, birth_month: int, rate: str = "0.0179") -> tuple[int, Fraction, bool]:
    """(instalments, net amount, capped) of an advance contracted on ``day``.

    Each instalment is the next yearly withdrawal, paid in the birth month: the first in the next birth
    month strictly after the current month (this month's is already the worker's), then every 12 months;
    each discounted at the monthly rate for its whole months; the balance shrinks by the whole withdrawal.
    """
    r = expected_rules(day)
    first = birth_month - day.month if birth_month > day.month else birth_month - day.month + 12
    left, net, count, capped = Fraction(balance), Fraction(0), 0, False
    monthly = 1 + Fraction(rate)
    for k in range(r["count"]):
        w = withdrawal_of(left)
        if w == 0 or (r["min"] is not None and w < r["min"]):
            break
        advanced = w if r["max"] is None else min(w, r["max"])
        capped = capped or advanced < w
        net += cents(advanced / monthly ** (first + 12 * k))
        left -= w
        count += 1
    return count, net, capped


def brl(value: Fraction) -> str:
    whole, frac = divmod(round(value * 100), 100)
    return f"R$ {whole:,}".replace(",", ".") + f",{frac:02d}"


# ---------------------------------------------------------------------- the independent recomputation

BALANCES = ["180.00", "450.00", "750.00", "4000.00", "8500.00", "12000.00", "18000.00", "60000.00"]
DAYS = [date(2025, 6, 15), date(2025, 11, 15), date(2026, 11, 29)]
MONTHS = [1, 6, 7, 11, 12]


@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("balance", BALANCES)
@pytest.mark.parametrize("birth_month", MONTHS)
def test_estimate_matches_an_independent_recomputation(balance: str, day: date, birth_month: int) -> None:
    count, net, capped = expected_estimate(balance, day, birth_month)
    estimate = rules.advance_estimate(D(balance), day, D("0.0179"), birth_month=birth_month)
    assert (estimate.instalments, estimate.total_net, estimate.capped) == (count, D(str(float(net))).quantize(
        D("0.01"), rounding=ROUND_HALF_UP), capped), (balance, day, birth_month)
    assert rules.brl(estimate.total_net) == brl(net)


def test_some_numbers_by_hand() -> None:
    # R$ 4.000,00 (30 % + 150 → R$ 1.350,00 a year), born in July, on 2026-11-29: 3 instalments capped at
    # R$ 500, paid in 8, 20 and 32 months: 500/1.0179^8 = 433.84; ^20 = 350.65; ^32 = 283.40.
    assert expected_estimate("4000", date(2026, 11, 29), 7) == (3, Fraction(106789, 100), True)
    # The same customer in the first 12 months (2025-12-10): 5 instalments; the 4th and 5th (463.05 and
    # 282.18) are under the cap.
    count, net, _ = expected_estimate("4000", date(2025, 12, 10), 7)
    assert count == 5 and brl(net) == "R$ 1.409,29"
    # R$ 180,00 → R$ 90,00 a year: under the R$ 100 minimum, nothing is advanced under the new rules…
    assert expected_estimate("180", date(2026, 11, 29), 6)[0] == 0
    # …while before 01/11/2025 all 10 yearly withdrawals were advanced, whatever their size.
    assert expected_estimate("180", date(2025, 6, 15), 6)[0] == 10


def test_rules_for_each_date() -> None:
    for day, (count, cap, wait) in {date(2020, 4, 1): (10, None, 0), date(2025, 10, 31): (10, None, 0),
                                    date(2025, 11, 1): (5, D("500.00"), 90), date(2026, 10, 31): (5, D("500.00"), 90),
                                    date(2026, 11, 1): (3, D("500.00"), 90), date(2030, 1, 1): (3, D("500.00"), 90)
                                    }.items():
        period = rules.rules_for(day)
        assert (period.max_instalments, period.max_instalment, period.waiting_days) == (count, cap, wait), day
        assert period.source
    assert rules.rules_for(date(2026, 11, 29)).in_force_since == date(2025, 11, 1)
    with pytest.raises(rules.RulesError, match="no FGTS advance rules for 2019-05-01"):
        rules.rules_for(date(2019, 5, 1))


def test_months_until_birthday() -> None:
    assert rules.months_until_birthday(date(2026, 11, 29), 12) == 1
    assert rules.months_until_birthday(date(2026, 11, 29), 11) == 12  # this month's is already paid out
    assert rules.months_until_birthday(date(2026, 11, 29), 1) == 2
    assert rules.months_until_birthday(date(2026, 1, 5), 12) == 11


def test_next_operation_and_first_advance_days() -> None:
    period = rules.rules_for(date(2026, 11, 29))
    assert rules.first_advance_day(date(2026, 10, 20), period) == date(2027, 1, 18)
    assert rules.next_operation_day(date(2026, 3, 10)) == date(2027, 3, 10)
    assert rules.next_operation_day(date(2024, 2, 29)) == date(2025, 3, 1)


# ---------------------------------------------------------------------- the table's validation


def _table() -> dict[str, Any]:
    return yaml.safe_load((FGTS_DIR / "advance_rules.yaml").read_text(encoding="utf-8"))


def _broken(change: Any) -> dict[str, Any]:
    data = _table()
    change(data["periods"])
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.reverse(), r"periods\[1\] starts 2025-11-01, not after periods\[0\] \(2026-11-01\)"),
    (lambda p: p[1].update(effective_from=p[0]["effective_from"]), "ascending effective_from order"),
    (lambda p: p[1].pop("max_instalment"), r"periods\[1\]: missing max_instalment"),
    (lambda p: p[0].update(cap=500), r"unknown key\(s\) cap"),
    (lambda p: p[2].update(effective_from="01/11/2026"), "must be a date AAAA-MM-DD"),
    (lambda p: p[1].update(min_instalment=600), "min_instalment 600.00 is above max_instalment 500.00"),
    (lambda p: p[1].update(max_instalments=0), r"max_instalments must be a whole number ≥ 1"),
    (lambda p: p[1].update(max_instalment="quinhentos"), "must be an amount in reais"),
    (lambda p: p[1].update(waiting_days=-1), "waiting_days must be a whole number ≥ 0"),
    (lambda p: p[1].update(source=""), "source must say where the rule comes from"),
    (lambda p: p.clear(), "non-empty 'periods' list"),
])
def test_table_validation_errors(change: Any, message: str) -> None:
    with pytest.raises(rules.RulesError, match=message):
        rules.parse_rules(_broken(change))


def test_the_shipped_table_loads_and_a_missing_file_says_so(tmp_path: Path) -> None:
    periods = rules.load_rules()
    assert [p.effective_from for p in periods] == sorted(p.effective_from for p in periods)
    with pytest.raises(rules.RulesError, match="not found"):
        rules.load_rules(tmp_path / "advance_rules.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("periods: [", encoding="utf-8")
    with pytest.raises(rules.RulesError, match="not valid YAML"):
        rules.load_rules(bad)


def test_no_rule_constant_in_the_code() -> None:
    """The advance rules live in advance_rules.yaml only (the Lei 13.932 brackets are the law's table)."""
    code = (FGTS_DIR / "rules.py").read_text(encoding="utf-8")
    code = code[code.index('__all__'):code.index("# (upper bound")] + code[code.index("DEFAULT_MONTHLY_RATE = "):]
    pack_code = (FGTS_DIR / "pack.py").read_text(encoding="utf-8")
    for constant in ('"500', '"100', "(500", "(100", "MAX_INSTALMENT", "90)", "= 90", "= 5\n", "= 3\n"):
        assert constant not in code
        assert f"Decimal({constant}" not in pack_code


# ---------------------------------------------------------------------- the pack: dates, variables, review


def _ctx(body: dict[str, Any], *, today: str | None = None, now: datetime | None = None, month: int = 7,
         outcome: str = "eligible", **settings: Any) -> tuple[ToolResult, ReplyContext]:
    result = ToolResult("consultar_fgts", {}, "ok", 200, 1.0, outcome, body)
    state = JourneyState("eligibility", attributes={"name": "Maria Souza", "birth_month": month}, consent=True)
    values = {"advance_monthly_rate": 0.0179, "advance_years": None, "today": today, **settings}
    return result, ReplyContext(state, (result,), None, values, now)


def _body(cpf: str) -> dict[str, Any]:
    from sandbox import consulta_body

    return consulta_body(cpf)[1]


def test_the_turn_time_or_the_setting_picks_the_rules() -> None:
    pack = get_pack(FGTS_DIR)
    body = _body(complete("200000002"))
    # 23:30 in Brasília on 31/10/2025 is already 01/11 in UTC: the customer's day is what counts.
    _, late = _ctx(body, now=datetime(2025, 11, 1, 2, 30, tzinfo=UTC))
    assert pack.module.conversation_day(late) == date(2025, 10, 31)
    assert pack.reply_variables(late)["advance_years"] == "10"
    _, pinned = _ctx(body, today="2025-12-10", now=datetime(2026, 11, 29, 12, tzinfo=UTC))
    values = pack.reply_variables(pinned)
    assert (values["advance_years"], values["advance_amount"]) == ("5", "R$ 1.409,29")
    assert values["advance_cap"] == " (até R$ 500 por parcela)" and values["rules_since"] == "01/11/2025"
    _, bank = _ctx(body, today=date(2026, 11, 29), advance_years="2")  # the bank's own lower limit
    assert pack.reply_variables(bank)["advance_years"] == "2"
    _, bad = _ctx(body, today="29/11/2026")
    with pytest.raises(ValueError, match="AAAA-MM-DD"):
        pack.module.conversation_day(bad)


def test_an_api_quote_wins_over_the_estimate() -> None:
    pack = get_pack(FGTS_DIR)
    body = {**_body(complete("200000003")), "available_advance": 6057.05, "advance": {"years": 5}}
    _, ctx = _ctx(body, today="2026-11-29", month=11)
    values = pack.reply_variables(ctx)
    assert (values["advance_amount"], values["advance_years"], values["advance_cap"]) == ("R$ 6.057,05", "5", "")


@pytest.mark.parametrize(("base", "today", "event"), [
    ("200000005", "2026-11-29", "api_waiting_period"),  # joined 20/10/2026: waits until 18/01/2027
    ("200000005", "2027-01-17", "api_waiting_period"),
    ("200000005", "2027-01-18", None),
    ("200000006", "2026-11-29", "api_below_minimum"),  # R$ 90,00 a year < R$ 100
    ("200000006", "2025-06-15", None),  # no minimum before the new rules
    ("200000007", "2026-11-29", None),
    ("704000002", "2026-11-29", "api_operation_this_year"),  # advance on 10/03/2026
    ("704000002", "2027-03-10", None),
    ("704000001", "2026-11-29", None),  # 15/08/2024: more than a year ago → the usual 704 reply
])
def test_review_result(base: str, today: str, event: str | None) -> None:
    pack = get_pack(FGTS_DIR)
    body = _body(complete(base))
    outcome = "active_operation" if body["code"] == 704 else "eligible"
    result, ctx = _ctx(body, today=today, outcome=outcome)
    assert pack.review_result(result, ctx) == event


def test_dates_in_the_messages_variables() -> None:
    pack = get_pack(FGTS_DIR)
    _, waiting = _ctx(_body(complete("200000005")), today="2026-11-29", month=2)
    values = pack.reply_variables(waiting)
    assert (values["adhesion_date"], values["waiting_ends"], values["waiting_days"]) == ("20/10/2026", "18/01/2027",
                                                                                         "90")
    _, operation = _ctx(_body(complete("704000002")), today="2026-11-29", outcome="active_operation")
    values = pack.reply_variables(operation)
    assert (values["operation_date"], values["next_operation_date"]) == ("10/03/2026", "10/03/2027")


# ---------------------------------------------------------------------- the sandbox's bodies


def test_sandbox_bodies_carry_the_dates() -> None:
    from sandbox import FIXTURES, consulta_body, profile_for

    for cpf, profile in FIXTURES.items():
        if profile.fault:
            continue
        body = consulta_body(cpf)[1]
        if profile.code == 200:
            assert body["existing_operation"] is False and body["adhesion_date"] == profile.adhesion_date.isoformat()
            assert "available_advance" not in body and "advance" not in body  # the pack estimates by date
        elif profile.code == 704:
            assert body["existing_operation"] is True
            assert body["operation_date"] == profile.operation_date.isoformat()
            assert "balance" not in body
        else:
            assert "adhesion_date" not in body and "existing_operation" not in body
    for i in range(300):  # the hash rule: dates in the fixed past range, never in a 90-day window today
        cpf = complete(f"{271828000 + i:09d}")
        p = profile_for(cpf)
        if p.code in (200, 704):
            assert date(2020, 4, 1) <= p.adhesion_date <= date(2025, 6, 30)
        if p.code == 704:
            assert p.adhesion_date <= p.operation_date <= date(2025, 6, 30)


def test_sandbox_quote_on_a_date() -> None:
    from sandbox import consulta_body
    from sandbox.server import SandboxConfig

    body = consulta_body(complete("200000002"), SandboxConfig(quote_on=date(2026, 11, 29)))[1]
    count, net, _ = expected_estimate("4000", date(2026, 11, 29), 7)
    assert body["available_advance"] == float(net) and body["advance"]["years"] == count == 3
    assert [i["advanced"] for i in body["advance"]["instalments"]] == [500.0, 500.0, 500.0]


# ---------------------------------------------------------------------- the core passes the turn's time


def test_the_message_time_reaches_the_rules_through_the_core(settings: Any) -> None:
    """No ``today`` setting: the date of the customer's messages (``created_at`` → ``ReplyContext.now``)
    picks the rules, and the engine's ``review_result`` hook moves the journey."""
    from agent.core.session import AgentSession

    def offer(day: datetime, cpf: str = "200.000.002-99", month: str = "julho") -> Any:
        session = AgentSession.new(settings.with_changes(burst_mode=False))
        stamp = day.timestamp()
        for i, text in enumerate(("oi", "aceito", "Maria Souza", cpf, month)):
            session.send(text, now=stamp + i)
        return session.send("sim", now=stamp + 10)

    old = offer(datetime(2025, 6, 15, 15, tzinfo=UTC))
    assert old.step_after == "offer" and "10 saques anuais: R$ 2.943,49" in old.text
    new = offer(datetime(2025, 12, 10, 15, tzinfo=UTC))
    assert "5 saques anuais (até R$ 500 por parcela): R$ 1.409,29" in new.text
    waiting = offer(datetime(2026, 11, 29, 15, tzinfo=UTC), "200.000.005-31", "fevereiro")
    assert waiting.step_after == "waiting_period" and "18/01/2027" in waiting.text
    assert any("api_waiting_period" in note for note in waiting.trace.notes)


def test_the_simulator_pins_the_date_and_the_saved_golden_keeps_it(settings: Any) -> None:
    from evals.cases import parse_case
    from evals.simulate import simulate

    sim = simulate(settings, "eligible_whatsapp", today="2025-06-15")
    offers = [m["text"] for m in sim.transcript if m["role"] == "agent" and "Antecipação estimada" in m["text"]]
    assert offers and "10 saques anuais: R$ 2.943,49" in offers[0]  # Maria, R$ 4.000,00, July: the old rules
    golden = sim.as_golden("simulated_dated")
    assert golden["settings"] == {"today": "2025-06-15"}
    assert parse_case(golden).settings == {"today": "2025-06-15"}
