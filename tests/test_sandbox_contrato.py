"""The contract endpoints of the sandbox over real HTTP: fixtures, quotes, the CCB copy, faults, docs."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from agent.br.cpf import complete, format_cpf
from sandbox import SandboxServer
from sandbox.contrato import CONTRACT_FIXTURES, RULES, contract_for, contrato_body, quitacao_body

ROOT = Path(__file__).resolve().parents[1]
MARIA = "200.100.001-43"
ANA = "804.000.001-72"
CARLOS = "803.000.001-46"


def get(sb: SandboxServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{sb.url}{path}", params=params, timeout=5)


def test_active_contract_with_its_instalments(sb: SandboxServer) -> None:
    r = get(sb, "/contrato", cpf=MARIA)
    body = r.json()
    assert r.status_code == 200 and body["code"] == 200 and body["cpf"] == "•••.100.001-••"
    assert (body["numero"], body["primeiro_nome"], body["parcelas_pagas"], body["parcelas_total"]) == \
        ("AF-2024-031207", "Maria", 2, 5)
    assert body["proxima_parcela"] == {"numero": 3, "vencimento": "2026-07-01", "valor": 661.5}
    assert [p["situacao"] for p in body["parcelas"]] == ["paga", "paga", "a_vencer", "a_vencer", "a_vencer"]
    assert body["valor_restante"] == 1406.73 and body["email_cadastrado"] == "ma•••@gmail.com"
    # The yearly withdrawals of a R$ 4.000,00 balance, by the Lei 13.932/2019 table.
    assert [p["valor"] for p in body["parcelas"]] == [1350.0, 945.0, 661.5, 463.05, 282.18]
    # 1 Jul 2028 is a Saturday: the repayment is on the first business day.
    assert body["parcelas"][-1]["vencimento"] == "2028-07-03"


def test_released_amount_is_the_instalments_discounted_to_the_signing_date() -> None:
    contract = contract_for(MARIA)
    expected = sum(RULES.present_value(a, contract.signed, d, contract.monthly_rate)
                   for a, d in zip(contract.amounts, contract.dues(), strict=True))
    assert Decimal(str(contrato_body(MARIA)[1]["valor_liberado"])) == expected


def test_quote_discounts_future_instalments_at_the_contract_rate_with_no_fee(sb: SandboxServer) -> None:
    body = get(sb, "/contrato/quitacao", cpf=MARIA).json()
    assert body["code"] == 200 and body["tarifa"] == 0
    assert (body["valor_quitacao"], body["desconto"], body["valor_nominal"]) == (1056.46, 350.27, 1406.73)
    assert body["valido_ate"] == "2025-11-05"  # 2 business days after the sandbox date (Mon 3 Nov 2025)
    today = date(2025, 11, 3)
    by_hand = sum(RULES.present_value(v, today, date.fromisoformat(d), Decimal("0.0179"))
                  for v, d in [(661.5, "2026-07-01"), (463.05, "2027-07-01"), (282.18, "2028-07-03")])
    assert Decimal(str(body["valor_presente"])) == by_hand
    assert Decimal(str(body["valor_nominal"])) - by_hand == Decimal(str(body["desconto"]))


def test_arrears_contract_and_its_quote_include_the_shortfall_in_full(sb: SandboxServer) -> None:
    body = get(sb, "/contrato", cpf=ANA).json()
    assert body["code"] == 804 and body["valor_em_atraso"] == 120.0
    assert body["parcela_em_atraso"] == {"numero": 2, "vencimento": "2025-09-01"}
    quote = get(sb, "/contrato/quitacao", cpf=ANA).json()
    assert quote["code"] == 200 and quote["valor_em_atraso"] == 120.0
    assert (quote["parcelas_a_vencer"], quote["parcelas_em_atraso"]) == (2, 1)
    assert Decimal(str(quote["valor_quitacao"])) == Decimal(str(quote["valor_presente"])) + Decimal("120.00")


def test_settled_and_no_contract(sb: SandboxServer) -> None:
    settled = get(sb, "/contrato", cpf=CARLOS).json()
    assert settled["code"] == 803 and settled["data_quitacao"] == "2025-02-14" and "parcelas" not in settled
    assert get(sb, "/contrato/quitacao", cpf=CARLOS).json()["code"] == 803
    for path in ("/contrato", "/contrato/quitacao"):
        body = get(sb, path, cpf="801.000.001-93").json()
        assert body == {"code": 801, "description": "Nenhum contrato de antecipação encontrado para o CPF",
                        "cpf": "•••.000.001-••"}


def test_ccb_goes_only_to_the_registered_email(sb: SandboxServer) -> None:
    sent = get(sb, "/contrato/ccb", cpf=MARIA, email="Maria.Souza@Gmail.com").json()
    assert sent["code"] == 200 and sent["enviado_para"] == "ma•••@gmail.com" and sent["protocolo"]
    other = get(sb, "/contrato/ccb", cpf=MARIA, email="maria@hotmail.com").json()
    assert other["code"] == 805 and other["email_cadastrado"] == "ma•••@gmail.com" and "protocolo" not in other
    bad = get(sb, "/contrato/ccb", cpf=MARIA, email="maria@gmail")
    assert bad.status_code == 400 and bad.json()["code"] == 802 and bad.json()["motivo"] == "domain"
    assert get(sb, "/contrato/ccb", cpf="801.000.001-93", email="x@gmail.com").json()["code"] == 801
    assert get(sb, "/contrato/ccb", cpf=CARLOS, email="carlos.santos@yahoo.com.br").json()["code"] == 200


def test_ccb_by_post_json_or_form(sb: SandboxServer) -> None:
    by_json = httpx.post(f"{sb.url}/contrato/ccb", json={"cpf": MARIA, "email": "maria.souza@gmail.com"}, timeout=5)
    by_form = httpx.post(f"{sb.url}/contrato/ccb", data={"cpf": MARIA, "email": "maria.souza@gmail.com"}, timeout=5)
    assert by_json.json() == by_form.json() == get(sb, "/contrato/ccb", cpf=MARIA, email="maria.souza@gmail.com").json()
    assert sb.requests[0].method == "POST"
    assert httpx.post(f"{sb.url}/contrato", json={"cpf": MARIA}, timeout=5).status_code == 405


def test_invalid_cpf_is_400_everywhere(sb: SandboxServer) -> None:
    for path in ("/contrato", "/contrato/quitacao", "/contrato/ccb"):
        r = get(sb, path, cpf="200.100.001-44", email="maria.souza@gmail.com")
        assert r.status_code == 400 and r.json()["code"] == 400


def test_faults_apply_to_the_contract_endpoints(sb: SandboxServer) -> None:
    assert get(sb, "/contrato", cpf="500.000.001-32").status_code == 500  # the fault fixture CPF
    assert get(sb, "/contrato/quitacao", cpf=MARIA, fail="503").status_code == 503
    sb.config.fail, sb.config.fail_times = "500", 1
    assert get(sb, "/contrato", cpf=MARIA).status_code == 500
    assert get(sb, "/contrato", cpf=MARIA).status_code == 200
    assert [r.path for r in sb.contratos()] == ["/contrato", "/contrato/quitacao", "/contrato", "/contrato"]
    assert all(r.cpf and "•" in r.cpf for r in sb.contratos())


def test_the_sandbox_date_is_configurable() -> None:
    with SandboxServer(contract_today=date(2026, 7, 2)) as sb:
        body = httpx.get(f"{sb.url}/contrato", params={"cpf": MARIA}, timeout=5).json()
    assert body["parcelas_pagas"] == 3 and body["data_referencia"] == "2026-07-02"


def test_hash_rule_is_deterministic_and_covers_every_outcome() -> None:
    codes = {}
    for n in range(300):
        cpf = complete(f"{555000000 + n:09d}")
        first, second = contrato_body(cpf), contrato_body(cpf)
        assert first == second
        codes.setdefault(first[1]["code"], cpf)
        if first[1]["code"] in (200, 804):
            quote = quitacao_body(cpf)[1]
            assert quote["code"] == 200 and quote["valor_quitacao"] <= first[1]["valor_restante"]
    assert set(codes) == {200, 801, 803, 804}


def test_openapi_and_docs_describe_the_contract_endpoints(sb: SandboxServer) -> None:
    spec = httpx.get(f"{sb.url}/openapi.json", timeout=5).json()
    assert {"/contrato", "/contrato/quitacao", "/contrato/ccb"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/contrato/ccb"] and "805" in spec["info"]["description"]
    assert MARIA in httpx.get(f"{sb.url}/docs", timeout=5).text


def test_readme_contract_table_matches_the_fixtures() -> None:
    readme = (ROOT / "sandbox" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d{3}) \| `(\d{3}\.\d{3}\.\d{3}-\d{2})` \| .*? \| `?([^|`]*?)`? \|", readme, flags=re.M)
    documented = {cpf: (code, mail) for code, cpf, mail in rows}
    assert set(documented) == {format_cpf(c) for c in CONTRACT_FIXTURES}
    for cpf, contract in CONTRACT_FIXTURES.items():
        code, mail = documented[format_cpf(cpf)]
        assert int(code) == contrato_body(cpf)[1]["code"]
        assert mail.strip() == (contract.email or "—")
    for cpf in CONTRACT_FIXTURES:
        status, body = quitacao_body(cpf)
        if body["code"] == 200:
            assert f"| {body['valor_quitacao']:.2f} | {body['desconto']:.2f} |" in readme


@pytest.mark.parametrize(("year", "month", "expected"), [
    (2028, 7, date(2028, 7, 3)),   # Saturday 1st
    (2026, 1, date(2026, 1, 2)),   # New Year's Day
    (2025, 3, date(2025, 3, 5)),   # weekend, then Carnival Monday and Tuesday
    (2026, 4, date(2026, 4, 1)),
    (2026, 6, date(2026, 6, 1)),   # Corpus Christi is 4 Jun 2026
    (2025, 11, date(2025, 11, 3)),  # Sunday 2 Nov (Finados) falls on a weekend anyway
])
def test_first_business_day(year: int, month: int, expected: date) -> None:
    """The CAIXA repays in the first business day of the birth month (holidays from Easter included)."""
    assert RULES.first_business_day(year, month) == expected
    assert RULES.easter(2025) == date(2025, 4, 20) and RULES.easter(2026) == date(2026, 4, 5)
