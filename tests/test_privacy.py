"""agent.privacy: each detector, its mask and its pseudonym; scrub's contract (idempotent, no false alarms on
the journey's ordinary numbers); pseudonymise → restore; the context a model receives."""

from __future__ import annotations

import pytest

from agent.br import cnpj, cpf
from agent.privacy import conversation_salt, find_pii, pseudonymise, restore, scrub, scrub_deep

# (text, kind, the raw value, its mask)
CASES = [
    ("4111 1111 1111 1111", "card", "4111 1111 1111 1111", "[cartão oculto]"),
    ("minha senha é flor1234", "password", "flor1234", "minha senha é [senha oculta]"),
    ("o código do sms é 482913", "code", "482913", "o código do sms é [código oculto]"),
    ("meu cpf é 200.000.002-99", "cpf", "200.000.002-99", "meu cpf é •••.000.002-••"),
    ("20000000299", "cpf", "20000000299", "•••.000.002-••"),
    ("cpf 123.456.789-00 (digitei errado)", "cpf", "123.456.789-00", "cpf •••.456.789-•• (digitei errado)"),
    ("o cnpj é 11.222.333/0001-81", "cnpj", "11.222.333/0001-81", "o cnpj é ••.•••.333/0001-••"),
    ("cnpj 11222333000181", "cnpj", "11222333000181", "cnpj ••.•••.333/0001-••"),
    ("meu email é maria.souza@gmail.com", "email", "maria.souza@gmail.com", "meu email é ma•••@gmail.com"),
    ("meu telefone é (11) 98765-4321", "phone", "(11) 98765-4321", "meu telefone é (••) •••••-4321"),
    ("+55 11 98765 4321", "phone", "+55 11 98765 4321", "+•• •• ••••• 4321"),
    ("+5511987654321", "phone", "+5511987654321", "+•••••••••4321"),
    ("me liga no 98765-4321", "phone", "98765-4321", "me liga no •••••-4321"),
    ("meu cel é 987654321", "phone", "987654321", "meu cel é •••••4321"),
    ("tel fixo 3456-7890", "phone", "3456-7890", "tel fixo ••••-7890"),
    ("ag 3417 cc 56789-0", "bank", "56789-0", "ag •••• cc •••••-0"),
    ("agência: 0001-9", "bank", "0001-9", "agência: ••••-9"),
    ("conta corrente 123456-7", "bank", "123456-7", "conta corrente ••••••-7"),
    ("minha chave pix é 7d444840-9dc0-11d1-b245-5ffdce74fad2", "pix", "7d444840-9dc0-11d1-b245-5ffdce74fad2",
     "minha chave pix é ••••••••-••••-••••-••••-••••••••fad2"),
]
# Numbers the journey lives on: none of them is personal.
ORDINARY = [
    "quero sacar R$ 1.234,56 em 3 parcelas de 500",
    "nasci em julho de 1985, dia 12/07/1985",
    "o saque-aniversário de 2024-2025",
    "protocolo 123456",
    "a conta deu 250 reais",
    "o código chegou em 2024",
    "são 14:30, CEP 01310-100",
    "recebo 2 salários mínimos, 10% de juros",
    "10@6b96b93f10d4",  # a consent notice's code@version, in every trace
]


@pytest.mark.parametrize(("text", "kind", "raw", "masked"), CASES)
def test_each_detector_finds_and_masks(text: str, kind: str, raw: str, masked: str) -> None:
    kinds = [f.kind for f in find_pii(text)]
    assert kind in kinds
    out = scrub(text)
    assert out == masked and raw not in out
    assert scrub(out) == out  # idempotent: a masked text scrubs to itself


@pytest.mark.parametrize(("text", "kind", "raw", "masked"), CASES)
def test_each_pseudonym_is_stable_per_conversation_and_hides_the_value(text: str, kind: str, raw: str,
                                                                         masked: str) -> None:
    one, two = conversation_salt(1), conversation_salt(2)
    first = scrub(text, "pseudonym", one)
    assert raw not in first
    assert scrub(text, "pseudonym", one) == first  # stable in one conversation
    if kind not in ("card", "password", "code"):  # secrets have no pseudonym: their mask
        assert scrub(text, "pseudonym", two) != first  # unrelated across conversations
        assert len(first) >= len(text) - 2 or kind == "email"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert find_pii(text) == [] and scrub(text) == text


def test_pseudonyms_keep_shape_and_validity() -> None:
    salt = conversation_salt("shape")
    valid = scrub("200.000.002-99", "pseudonym", salt)
    assert cpf.is_valid(valid) and valid[3] == "." and valid != "200.000.002-99"
    assert not cpf.is_valid(scrub("123.456.789-00", "pseudonym", salt))  # a typo stays a typo
    company = scrub("11.222.333/0001-81", "pseudonym", salt)
    assert cnpj.is_valid(company) and company[-3] == "-"
    phone = scrub("(11) 98765-4321", "pseudonym", salt)
    assert phone.startswith("(11) 9") and len(phone) == len("(11) 98765-4321")
    assert scrub("maria@gmail.com", "pseudonym", salt).endswith("@gmail.com")


def test_pseudonymise_and_restore_round_trip() -> None:
    back: dict[str, str] = {}
    context = {"customer_message": "meu cpf é 200.000.002-99, email maria@gmail.com",
               "arguments": {"cpf": "20000000299"}, "history": ["ag 3417 cc 56789-0"]}
    hidden = pseudonymise(context, conversation_salt(7), back)
    flat = repr(hidden)
    assert "200.000.002-99" not in flat and "20000000299" not in flat and "maria@gmail.com" not in flat
    assert "56789-0" not in flat
    # What a model answers with the pseudonyms comes back raw (with or without the punctuation).
    pseudo_cpf = hidden["arguments"]["cpf"]
    assert restore({"cpf": pseudo_cpf, "text": hidden["customer_message"]}, back) == {
        "cpf": "20000000299", "text": context["customer_message"]}


def test_scrub_deep_keeps_keys_and_numbers() -> None:
    value = {"cpf 200.000.002-99": "200.000.002-99", "n": 3, "list": ("maria@gmail.com", None)}
    assert scrub_deep(value) == {"cpf 200.000.002-99": "•••.000.002-••", "n": 3, "list": ["ma•••@gmail.com", None]}


def test_bad_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="mask"):
        scrub("x", "hash")  # type: ignore[arg-type]


def test_cnpj_rules() -> None:
    assert cnpj.is_valid("11.222.333/0001-81") and not cnpj.is_valid("11.222.333/0001-82")
    assert not cnpj.is_valid("00000000000000")
    assert cnpj.format_cnpj("11222333000181") == "11.222.333/0001-81"
    assert cnpj.complete("112223330001") == "11222333000181"


def test_the_model_context_carries_pseudonyms_and_the_tool_the_raw_cpf(settings) -> None:
    """Issue 13: the context (LiteLLM metadata, what local/rules reads) never holds the raw CPF; the tool
    call (HTTP to the consultation API) does, and the journey captures it."""
    from agent.adapters.gateway import Gateway
    from agent.core.session import AgentSession

    contexts: list[str] = []
    complete = Gateway.complete

    def recording(self, *args, **opts):  # type: ignore[no-untyped-def]
        contexts.append(repr(opts.get("context")))
        return complete(self, *args, **opts)

    session = AgentSession.new(settings)
    Gateway.complete = recording  # type: ignore[method-assign]
    try:
        results = [session.send(t) for t in ("oi", "aceito", "Maria Souza", "200.000.002-99", "julho", "sim")]
    finally:
        Gateway.complete = complete  # type: ignore[method-assign]
    assert contexts and not any("200.000.002-99" in c or "20000000299" in c for c in contexts)
    assert session.state.attributes["cpf"] in ("20000000299", "200.000.002-99")
    calls = [c for r in results if r for c in r.tool_calls]
    assert calls and calls[0]["name"] == "consultar_fgts"
    assert results[-1] is not None and results[-1].step_after == "offer"


def test_logs_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    from agent.privacy import scrubbed_logger

    log = scrubbed_logger("agent.test_privacy")
    try:
        raise ValueError("turn failed on 'meu cpf é 200.000.002-99, senha: flor1234'")
    except ValueError:
        log.exception("chat %s: %s", 7, "email maria.souza@gmail.com")
    text = caplog.text
    assert "chat 7" in text and "ma•••@gmail.com" in text and "•••.000.002-••" in text
    assert "200.000.002-99" not in text and "flor1234" not in text and "maria.souza@gmail.com" not in text


def test_whatsapp_markup_around_an_email_is_not_part_of_it() -> None:
    from agent.privacy import find_pii, scrub

    text = "Vou enviar para *maria.souza@gmail.com*. Está certo?"
    (found,) = find_pii(text)
    assert text[found.start:found.end] == "maria.souza@gmail.com"
    assert scrub(text) == "Vou enviar para *ma•••@gmail.com*. Está certo?"


def test_an_email_address_is_not_a_link() -> None:
    from agent.core.guardrails import instructs, links_in

    assert links_in("escreva para ma•••@gmail.com") == set() and not instructs("ma•••@gmail.com")
    assert links_in("acesse fgts-libera.xyz ou www.banco.com.br") == {"fgts-libera.xyz", "banco.com.br"}
