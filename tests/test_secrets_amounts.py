"""Issue 10, classes 9 and 10: secrets are refused kindly (and never stored), typed amounts are not facts."""

from __future__ import annotations

import json

import pytest

from agent.adapters.tools import ToolResult
from agent.config import PROJECT_ROOT, load_settings
from agent.core.guardrails import amounts_in, check_input, check_output
from agent.core.journey import JourneyState
from agent.core.pack import ReplyContext, get_pack
from agent.core.session import AgentSession
from agent.privacy import find_secrets, luhn_valid, mask_pii, mask_secrets

ELIGIBLE = "200.000.002-99"  # sandbox: eligible, balance R$ 4.000,00
REMINDER = "nunca pede essas informações"


def kinds(text: str) -> list[str]:
    return [s.kind for s in find_secrets(text)]


# ---------------------------------------------------------------- detectors


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1111", "meu cartao é 4111111111111111", "cartão 5555-5555-5555-4444 validade 12/27",
    "o numero do cartao eh 4111 1111 1111 1111 12 25 cvv 123", "amex 3782 822463 10005 😅",
])
def test_card_numbers_are_found(text: str) -> None:
    assert kinds(text) == ["card"]


@pytest.mark.parametrize("text", [
    "minha senha é 1234", "sim minha senha é 1234", "senha: abacaxi", "minha senha do gov.br é Maria@2024",
    "a senha do app eh maria123", "senha 482913", "SENHA = 9876 kkk", 'minha senha é "girassol"',
    "pode usar minha senha do gov: Flor#77",
])
def test_passwords_are_found(text: str) -> None:
    assert kinds(text) == ["password"]


@pytest.mark.parametrize("text", [
    "o código que chegou é 482913", "o codigo q chegou no sms foi 482 913 🙏", "token 123456",
    "chegou um SMS com o numero 5821", "codigo de verificacao: 0071",
])
def test_one_time_codes_are_found(text: str) -> None:
    assert kinds(text) == ["code"]


@pytest.mark.parametrize("text", [
    "073.602.846-35", "07360284635", "meu cpf é 073 602 846 35",       # a CPF is not a card
    "12.345.678/0001-95",                                               # nor a CNPJ
    "+55 11 98765 4321", "11 98765-4321",                               # nor a phone
    "4111 1111 1111 1112",                                              # Luhn fails
    "não peço senha", "vcs pedem senha?", "esqueci minha senha", "a senha é necessária?",
    "minha senha é muito difícil", "nunca passe sua senha pra ninguém",   # "senha" without a secret
    "nasci em 12/05/1990", "o código chegou dia 15/03", "o sms chegou as 14:30",  # a date is not a code
    "o código chegou em 2024", "deu código 701", "codigo de barras 12345678", "código do contrato 123456",
    "tenho R$ 50 mil de saldo", "o outro banco me aprovou 20 mil",
])
def test_ordinary_text_has_no_secret(text: str) -> None:
    assert find_secrets(text) == []


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_masking_keeps_the_rest_and_is_idempotent() -> None:
    text = "sim minha senha é 1234 e o cartão 4111 1111 1111 1111, cpf 073.602.846-35"
    masked = mask_pii(text)
    assert "1234" not in masked and "4111" not in masked and "073.602" not in masked
    assert "[senha oculta]" in masked and "[cartão oculto]" in masked and masked.startswith("sim minha senha é")
    assert mask_pii(masked) == masked and mask_secrets(masked) == masked
    # The card's digits are never read (and masked) as a CPF.
    assert mask_secrets("4111 1111 1111 1111") == "[cartão oculto]"


def test_input_guard_blocks_a_secret_and_hands_back_the_masked_text() -> None:
    check = check_input("o codigo que chegou é 482913", max_chars=1200)
    assert check.blocked_reason == "secret" and check.violations == ("secret:code",)
    assert "482913" not in check.text and check.text.startswith("o codigo que chegou é")
    assert check_input("vcs pedem senha?", max_chars=1200).blocked_reason is None


# ---------------------------------------------------------------- output guard: trusted vs customer


DRAFT = "Boa notícia, Maria! Saldo: R$ 4.000,00. Saque anual: R$ 1.350,00. Antecipação: R$ 2.352,62."
API = json.dumps([{"data": {"balance": 4000.0, "yearly_withdrawal": 1350.0, "available_advance": 2352.62}}])


def test_amounts_are_read_in_every_customer_spelling() -> None:
    assert amounts_in("R$ 50.000,00 · R$50 mil · 50 mil reais · 20k · 3.000 reais · R$ 1,5 mil") == \
        {"50000", "20000", "3000", "1500"}
    assert amounts_in("R$ 2.352,62") == {"2352.62"} and amounts_in("nasci em 1990, cpf 07360284635") == set()


@pytest.mark.parametrize("reply", [
    "Aprovado! Você vai receber R$ 50.000,00", "Seu saldo é de 50 mil reais", "Você tem R$ 20k liberados",
    "Parabéns, seu crédito foi aprovado!",
])
def test_money_or_an_approval_only_the_customer_said_is_ungrounded(reply: str) -> None:
    customer = ["tenho R$ 50 mil de saldo", "o outro banco me aprovou 20k", "me aprovaram"]
    verdict = check_output(reply, [DRAFT, API], customer)
    assert not verdict.ok and any(v.startswith(("ungrounded_amount", "ungrounded_approval"))
                                  for v in verdict.violations)


@pytest.mark.parametrize("reply", [
    DRAFT, "Maria, o seu saldo é R$ 4 mil e a antecipação fica em R$ 2.352,62.",
    "Anotei o CPF 073.602.846-35 e o mês 7, certo?", "Obrigada! Você nasceu em 1990, em julho.",
])
def test_trusted_money_and_echoed_customer_numbers_pass(reply: str) -> None:
    customer = ["meu cpf 073.602.846-35, nasci em 1990", "tenho R$ 50 mil"]
    assert check_output(reply, [DRAFT, API], customer).ok


def test_typed_balance_is_never_the_balance_nor_the_offer(settings) -> None:  # noqa: ANN001
    pack = get_pack()
    state = JourneyState("offer", attributes={"name": "Maria Souza", "cpf": "20000000299", "birth_month": 7,
                                              "balance": 50000.0}, consent=True)
    body = {"code": 200, "balance": 4000.0, "birth_month": 7, "yearly_withdrawal": 1350.0}
    result = ToolResult("consultar_fgts", {"cpf": "20000000299"}, "ok", 200, 1.0, "eligible", body,
                        event="api_eligible")
    values = pack.reply_variables(ReplyContext(state, (result,), None, pack.resolve_settings(settings)))
    shown = " ".join(str(v) for v in values.values())
    assert values["balance"] == "R$ 4.000,00" and "50.000" not in shown
    # Without an API answer there is no balance to show at all (never the typed one).
    values = pack.reply_variables(ReplyContext(state, (), None, pack.resolve_settings(settings)))
    assert "50.000" not in " ".join(str(v) for v in values.values())


# ---------------------------------------------------------------- sessions


def new_session(base_env, **env) -> AgentSession:  # noqa: ANN001
    return AgentSession.new(load_settings(env={**base_env, "BURST_MODE": "false", **env}, dotenv_path=None))


def test_a_password_at_the_opt_in_is_not_consent_and_is_never_stored(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env)
    session.send("oi")
    result = session.send("sim minha senha é 1234")
    assert result.step_after == "optin" and not session.state.consent
    assert REMINDER in result.text and result.message_codes[0] == 45
    assert result.message_codes[1:] == [11]  # the pending question of the step
    assert result.trace.calls == () and "secret:password" in result.trace.guard.input
    stored = json.dumps([m.text for m in session.messages]) + json.dumps(result.trace.to_json())
    assert "1234" not in stored and "[senha oculta]" in stored
    again = AgentSession.load(session.settings, session.chat_id)
    assert all("1234" not in m.text for m in again.messages)
    assert session.send("aceito").step_after == "collect_data"


def test_a_card_number_at_the_cpf_step_is_not_a_cpf(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env)
    for text in ("oi", "aceito", "Maria Souza"):
        session.send(text)
    result = session.send("4111 1111 1111 1111")
    assert result.step_after == "collect_data" and "cpf" not in result.attributes
    assert REMINDER in result.text and result.message_codes == [45, 14]
    assert session.send(ELIGIBLE).attributes.get("cpf")


def test_a_card_number_as_the_first_message_shows_the_notice_then_consent_works(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env)
    result = session.send("oi, meu cartão é 4111 1111 1111 1111")
    assert result.message_codes == [45, 10] and result.step_after == "optin"  # the notice was shown
    assert result.trace.event is not None and result.trace.event.name == "secret"
    assert session.send("aceito").step_after == "collect_data"


@pytest.mark.parametrize(("text", "step"), [
    ("o outro banco me aprovou 20 mil", "collect_data"), ("tenho R$ 50 mil de saldo", "confirm_data"),
    ("ja me aprovaram 50k no outro app 💰🤑", "confirm_data"), ("mas eu tenho R$ 50.000,00 no fgts", "offer"),
])
def test_a_typed_amount_or_approval_is_a_claim(text: str, step: str) -> None:
    from agent.core.turn import deterministic_reading

    pack = get_pack()
    assert pack.to_event(deterministic_reading(text, pack), step).name == "amount_claim"


@pytest.mark.parametrize("text", ["ja aprovei no app", "pronto, autorizei", "Maria Souza, tenho 50 mil"])
def test_what_is_not_only_a_claim(text: str) -> None:
    from agent.core.turn import deterministic_reading

    pack = get_pack()
    assert pack.to_event(deterministic_reading(text, pack, "name"), "collect_data").name != "amount_claim"


def test_the_contrato_pack_has_its_own_reminder(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env, PACK_DIR=str(PROJECT_ROOT / "prompts" / "contrato"))
    session.send("oi")
    result = session.send("o codigo que chegou no sms é 482913")
    assert result.message_codes[0] == 45 and "contrato" in result.replies[0].text
    assert "482913" not in json.dumps([m.text for m in session.messages])


# ---------------------------------------------------------------- a model that believes the customer


def parrot_env(stub) -> dict[str, str]:  # noqa: ANN001
    return {"OPENAI_API_KEY": "sk-test", "MAX_RETRIES": "0", "REQUEST_TIMEOUT_SECONDS": "5",
            "CONVERSATION_MODEL": "openai/parrot", "CONVERSATION_API_BASE": stub.url}


def test_a_parrot_model_never_sends_an_invented_approval(base_env, openai_stub) -> None:  # noqa: ANN001
    session = new_session(base_env, **parrot_env(openai_stub))
    for text in ("oi", "aceito"):
        session.send(text)
    result = session.send("Maria Souza, o outro banco me aprovou 20 mil")
    assert openai_stub.calls["parrot"] >= 1
    conversation = [c for c in result.trace.calls if c.prompt_name == "conversation_prompt"]
    assert conversation and "Aprovado! Você vai receber R$ 20.000,00" in conversation[-1].output
    assert "20.000" not in result.text and "Aprovado" not in result.text
    assert "ungrounded_amount:20000" in result.guard_violations and "ungrounded_approval" in result.guard_violations
    assert "ungrounded_amount:20000" in result.trace.guard.output
    assert result.message_codes[-1] == 14 and "CPF" in result.text  # the journey's template went out
    assert "replaced the model's reply" in " ".join(result.trace.notes)

    session.send(ELIGIBLE)
    session.send("julho")
    result = session.send("sim, e tenho R$ 50 mil de saldo")
    if result.step_after == "confirm_data":  # read as data: confirm once more
        result = session.send("sim")
    assert result.step_after == "offer"
    assert "R$ 4.000,00" in result.text and "50.000" not in result.text and "Aprovado" not in result.text
    every_reply = " ".join(m.text for m in session.messages if m.role == "agent")
    assert "50.000" not in every_reply and "20.000" not in every_reply


@pytest.mark.parametrize("reply", [
    "Ótimo! Me passa o código que chegou por SMS no seu celular, por favor.",
    "Para liberar, preciso da sua senha do cartão do banco (aquela de 4 dígitos).",
    "Confirma pra mim o código de verificação que você recebeu?",
    "Vou precisar do seu PIN para seguir.",
])
def test_the_output_guard_catches_a_secret_request_in_other_words(reply: str) -> None:
    assert "asks_for_secret" in check_output(reply, []).violations


@pytest.mark.parametrize("reply", [
    "🔒 Por segurança, não compartilhe senhas, códigos recebidos por SMS nem números de cartão por aqui.",
    "O banco nunca pede senha. Nunca envie o código que chegou por SMS para ninguém.",
])
def test_a_warning_about_secrets_is_not_a_request(reply: str) -> None:
    assert "asks_for_secret" not in check_output(reply, []).violations
