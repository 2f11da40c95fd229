"""``local/adversary``: scripted replies per chat/turn/role, local/rules otherwise, failures as gateway errors."""

from __future__ import annotations

import threading

import pytest

from agent import errors
from agent.adapters.gateway import Gateway
from agent.adapters import adversary
from agent.adapters.store import Store
from agent.config import load_settings

MSG = [{"role": "user", "content": "quero sacar meu FGTS"}]
CONVERSE = {"task": "conversation", "suggested_reply": "Olá! Quer simular o saque-aniversário?"}
CLASSIFY = {"task": "journey_classification", "customer_message": "quero sacar meu fgts"}


def _gateway(base_env, **env):
    values = {**base_env, "DECISION_MODEL": "local/adversary", "CONVERSATION_MODEL": "local/adversary",
              "RETRY_BACKOFF_SECONDS": "7", **env}
    settings = load_settings(env=values, dotenv_path=None)
    slept: list[float] = []
    return Gateway(settings, Store(settings.database_url), sleep=slept.append), slept


@pytest.fixture(params=[True, False], ids=["fast_path", "litellm"])
def gw(request, base_env):
    gateway, slept = _gateway(base_env)
    gateway.local_fast_path = request.param
    gateway.slept = slept
    return gateway


def test_scripted_text_for_the_role_and_chat_only(gw) -> None:
    with adversary.scripted(11, {"conversation": "Seu saque de R$ 9.999,00 foi aprovado!"}):
        c = gw.complete("conversation", "Conversa", MSG, chat_id=11, context=CONVERSE)
        assert c.text == "Seu saque de R$ 9.999,00 foi aprovado!" and c.model == "local/adversary"
        other = gw.complete("conversation", "Conversa", MSG, chat_id=12, context=CONVERSE)
        assert "9.999" not in other.text and "saque-aniversário" in other.text  # another chat: local/rules
    after = gw.complete("conversation", "Conversa", MSG, chat_id=11, context=CONVERSE)
    assert "9.999" not in after.text and "saque-aniversário" in after.text  # the script ended with the block


def test_unscripted_role_answers_like_local_rules(gw, base_env) -> None:
    rules = Gateway(load_settings(env=base_env, dotenv_path=None), gw.store)
    expected = rules.complete("decision", "Classificação", MSG, expect_json=True, context=CLASSIFY)
    with adversary.scripted(5, {"conversation": "texto"}):
        c = gw.complete("decision", "Classificação", MSG, chat_id=5, expect_json=True, context=CLASSIFY)
    assert c.json == expected.json and c.text == expected.text and c.model == "local/adversary"
    assert c.usage.cost_usd == 0.0


def test_role_task_key_wins_over_role(gw) -> None:
    script = {"decision": "prosa", "decision/get_attribute": '{"attributes": {"cpf": "111.444.777-35"}}'}
    with adversary.scripted(3, script):
        extract = gw.complete("decision", "Extração", MSG, chat_id=3, expect_json=True,
                              context={"task": "get_attribute", "customer_message": "oi"})
        assert extract.json == {"attributes": {"cpf": "111.444.777-35"}}
        with pytest.raises(errors.MalformedResponse) as caught:
            gw.complete("decision", "Classificação", MSG, chat_id=3, expect_json=True, context=CLASSIFY)
    assert caught.value.completion is not None and caught.value.completion.text == "prosa"


@pytest.mark.parametrize(("reply", "error", "kind"), [
    ({"timeout": True}, errors.ProviderTimeout, "timeout"),
    ({"error": 429}, errors.RateLimited, "rate_limited"),
    ({"error": 401}, errors.AuthenticationFailed, "bad_key"),
    ({"error": 500}, errors.ProviderServerError, "server_error"),
])
def test_scripted_failures_are_the_gateways_typed_errors(gw, reply, error, kind) -> None:
    with adversary.scripted(21, {"conversation": reply}), pytest.raises(error) as caught:
        gw.complete("conversation", "Conversa", MSG, chat_id=21, context=CONVERSE)
    assert caught.value.model == "local/adversary"
    rows = [r for r in gw.store.cost_rows() if r["fk_id_chat"] == 21]
    assert [r["status"] for r in rows] == [kind]  # one ledger row for the failed call
    retried = kind != "bad_key"
    # Retried like a real provider (max_retries=2), but "retry-after: 0" means no waiting.
    assert gw.slept == ([0.0, 0.0] if retried else [])


def test_concurrent_chats_never_see_each_others_script(base_env) -> None:
    gateway, _ = _gateway(base_env)
    seen: dict[int, set[str]] = {}
    barrier = threading.Barrier(4)

    def chat(chat_id: int) -> None:
        with adversary.scripted(chat_id, {"conversation": f"resposta do chat {chat_id}"}):
            barrier.wait()
            seen[chat_id] = {gateway.complete("conversation", "Conversa", MSG, chat_id=chat_id,
                                              context=CONVERSE).text for _ in range(20)}

    threads = [threading.Thread(target=chat, args=(100 + i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {100 + i: {f"resposta do chat {100 + i}"} for i in range(4)}


@pytest.mark.parametrize(("script", "message"), [
    ({"conversaton": "x"}, "unknown role"),
    ({"decision/classify": "x"}, "unknown task"),
    ({"conversation": {"error": 418}}, "error must be one of"),
    ({"conversation": {"timeout": "sim"}}, "timeout: true"),
    ({"conversation": {"error": 429, "timeout": True}}, "a reply is a text"),
    ({"conversation": 42}, "a reply is a text"),
    ([], "maps a role"),
])
def test_malformed_scripts_are_rejected(script, message) -> None:
    with pytest.raises(ValueError, match=message):
        adversary.validate_script(script)


# ---------------------------------------------------------------- goldens that script it


def _env(base_env):
    return load_settings(env=base_env, dotenv_path=None)


def test_adversary_goldens_pass_concurrently_without_replays(base_env) -> None:
    from evals.cases import load_suite
    from evals.runner import RunConfig, run_suite

    cases = load_suite(tags=["adversary"])
    assert len(cases) >= 14
    run = run_suite(cases, [RunConfig(label="rules")], _env(base_env), save=False, concurrency=4)
    failures = {r.case_id: r.error or [f["reason"] for f in r.failures] for r in run.results if not r.passed}
    assert failures == {}
    for r in run.results:
        assert "local/adversary" in r.models, r.case_id  # the scripted roles were routed to it
        assert r.attempts == 1 and not r.rate_limited, r.case_id  # a scripted 429 is no provider quota
    assert run.stats["rate_limits"] == 0 and run.stats["final_concurrency"] == 4


def test_case_settings_route_only_scripted_roles(base_env) -> None:
    from evals.cases import load_case
    from evals.runner import RunConfig, case_settings

    case = load_case("evals/golden/adversary_decision_down_whatsapp.yaml")
    settings = case_settings(case, RunConfig(label="mini", roles={"conversation": {"model": "gpt-4o-mini"}}),
                             _env(base_env))
    assert settings.role("decision").model == settings.role("insights").model == "local/adversary"
    assert settings.role("conversation").model == "gpt-4o-mini"  # not scripted: the configuration's model


def test_malformed_model_in_a_golden_is_a_file_line_error(tmp_path) -> None:
    from evals.cases import CaseError, dump_case, load_case

    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nturns:\n  - customer: oi\n    model:\n      conversation: ok\n"
                    "      conversaton: {error: 429}\n", encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        load_case(path)
    assert str(caught.value).startswith(f"{path}:6: unknown role 'conversaton'")
    path.write_text("id: ok\nturns:\n  - customer: oi\n    model: {decision/get_attribute: '{}', "
                    "conversation: {timeout: true}}\n", encoding="utf-8")
    case = load_case(path)
    assert case.turns[0].model == {"decision/get_attribute": "{}", "conversation": {"timeout": True}}
    assert "conversation: {timeout: true}" in dump_case(case).replace("\n      ", " ")  # round trip keeps it


# ---------------------------------------------------------------- the prompt-leak guard


def test_prompt_leak_guard() -> None:
    from pathlib import Path

    from agent.core.guardrails import check_output, leaks_prompt

    prompt = Path("prompts/fgts/conversation_prompt.txt").read_text(encoding="utf-8")
    two_rules = ("Use somente os fatos abaixo: o resultado da consulta, os documentos recuperados e o que o "
                 "cliente disse. Todo número, valor ou data da sua resposta precisa aparecer nos dados abaixo.")
    assert leaks_prompt(two_rules, prompt)
    assert leaks_prompt("Minhas instruções são: seguir a jornada.", prompt)
    # One line (the security reminder the prompt asks for) is not a leak; nor is the draft rendered into it.
    reminder = "Lembrando: o Banco Conversa nunca pede senhas, códigos por SMS, dados de cartão ou taxa antecipada."
    assert not leaks_prompt(reminder, prompt)
    assert not leaks_prompt(two_rules, prompt, allowed=[two_rules])
    assert check_output(two_rules, ["rascunho"], prompt=prompt).violations == ("prompt_leak",)
    assert check_output(two_rules, ["rascunho"]).ok  # without the prompt, nothing to compare with


@pytest.mark.parametrize("reply", [
    "Me manda aí a senha do app pra eu agilizar",
    "passa pra mim o token que chegou",
    "Qual a sua senha do FGTS?",
    "Por favor, informe sua senha.",
])
def test_secret_requests_in_whatsapp_style_are_caught(reply) -> None:
    from agent.core.guardrails import check_output

    assert "asks_for_secret" in check_output(reply, []).violations


def test_a_model_identifier_must_be_written_by_the_customer() -> None:
    from agent.core.turn import digits_written

    assert not digits_written("111.444.777-35", "é o mesmo cpf da outra vez")
    assert digits_written("200.000.002-99", "meu cpf eh 20000000299 blz")
    assert digits_written("20000000299", "dois zero zero ponto zero zero zero ponto zero zero dois traço 99")
    assert digits_written(7, "nasci em julho")  # not an identifier: a model may read a month from a name


def test_links_must_come_from_a_trusted_source() -> None:
    from agent.core.guardrails import check_output, links_in

    assert links_in("Veja https://www.Caixa.gov.br/fgts ou o app gov.br.") == {"caixa.gov.br", "gov.br"}
    assert links_in("Saldo de R$ 1.350,00 em 3 parcelas.") == set()
    assert check_output("Cadastre-se em fgts-libera.xyz", ["rascunho"]).violations == ("ungrounded_link:fgts-libera.xyz",)
    assert check_output("Baixe o app gov.br", ["Confira no app gov.br"]).ok
