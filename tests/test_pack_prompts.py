"""The FGTS prompt pack: every prompt renders, variables are declared, errors are clear."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agent.br.money import brl
from agent.core import prompts
from agent.core.journey import load_journey

PACK = prompts.DEFAULT_PACK_DIR

# Variables of the model-role prompts (message codes declare theirs in journey.yaml).
ROLE_PROMPTS = {
    "conversation_prompt": {"step", "step_description", "captured_attributes", "missing_attributes",
                            "api_result", "retrieved_docs", "suggested_reply", "history",
                            "customer_message"},
    "journey_classification": {"intents", "step", "pending_question", "history", "customer_message"},
    "get_attribute_template": {"attributes_schema", "step", "captured_attributes", "customer_message"},
    "doc_search_context": {"question", "passages"},
}
DECK_FILES = ["conversation_prompt.txt", "doc_search_context.txt", "finalizer_message_template.txt",
              "get_attribute_template.txt", "journey_classification.txt", "message_code_0.txt",
              "message_code_10.txt", "message_code_11.txt"]


def declared_variables() -> dict[str, set[str]]:
    journey = load_journey()
    declared = {spec.file[:-4]: set(spec.variables) for spec in journey.messages.values()}
    declared.update({spec.file[:-4]: set(spec.variables) for spec in journey.templates.values()})
    declared.update(ROLE_PROMPTS)
    return declared


def test_deck_files_exist() -> None:
    for name in DECK_FILES:
        assert (PACK / name).is_file(), name


def test_every_message_file_is_declared_and_every_declared_file_exists() -> None:
    names = set(prompts.list_prompts())
    declared = set(declared_variables())
    assert declared <= names
    assert {n for n in names if n.startswith("message_code_")} <= declared


@pytest.mark.parametrize("name", prompts.list_prompts())
def test_prompt_renders_with_its_variables(name: str) -> None:
    pack = prompts.load_pack()
    # Prompts other features add to the pack (insights, vision…) are checked by their own tests;
    # here they must at least render with the variables they declare.
    expected = declared_variables().get(name, set(pack.required_variables(name)))
    assert set(pack.required_variables(name)) == expected
    values = {var: f"<{var}>" for var in expected}
    text = pack.render(name, **values)
    assert text.strip()
    for var in expected:
        assert f"<{var}>" in text
    # Nothing that looks like an unfilled placeholder survives rendering.
    assert not re.search(r"\$\{?[a-z_]+", text), text


def test_missing_variable_names_file_and_variable() -> None:
    with pytest.raises(prompts.MissingVariable) as info:
        prompts.render("message_code_17", name="Ana", cpf_formatted="073.602.846-35")
    err = info.value
    assert (err.prompt, err.variable) == ("message_code_17.txt", "birth_month_name")
    assert "message_code_17.txt" in str(err) and "birth_month_name" in str(err)
    assert isinstance(err, KeyError)


def test_unknown_prompt_lists_the_available_ones() -> None:
    with pytest.raises(prompts.PromptNotFound, match="message_code_10"):
        prompts.render("message_code_999")


def test_globals_can_be_overridden_and_extra_variables_ignored() -> None:
    text = prompts.render("message_code_4", agent_name="Bia", unused="x")
    assert "Bia" in text and "Banco Conversa" in text


def test_dollar_signs_in_money_stay_literal() -> None:
    pack = prompts.load_pack()
    assert prompts.placeholders("R$ 500 e R$500 e $$ e $nome e ${outro}") == ("nome", "outro")
    valor = pack.render("message_code_20", first_name="Ana", balance="R$ 3.000,00",
                        yearly_amount="R$ 1.050,00", advance_amount="R$ 7.000,00",
                        advance_years="3", advance_unit="saques anuais", advance_cap=" (até R$ 500 por parcela)",
                        birth_month_name="maio", rules_since="01/11/2025",
                        rules_limits="cada parcela antecipada vai de R$ 100 a R$ 500")
    assert "até R$ 500 por parcela" in valor
    assert "R$ 1.050,00" in valor and "maio" in valor


def test_format_brl() -> None:
    assert brl(1234.5) == "R$ 1.234,50"
    assert brl(0) == "R$ 0,00"
    assert brl(1_000_000) == "R$ 1.000.000,00"


def test_content_hash_versions_and_reload(tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    first = prompts.load_pack(copy)
    assert prompts.load_pack(copy) is first  # cached
    before = first.content_hash("message_code_1")
    assert len(before) == 12 and before == first.versions()["message_code_1"]
    (copy / "message_code_1.txt").write_text("Não entendi, $agent_name aqui. Pode repetir?\n", encoding="utf-8")
    second = prompts.load_pack(copy)
    assert second is not first
    assert second.content_hash("message_code_1") != before
    assert second.content_hash() != first.content_hash()
    assert "Clara aqui" in second.render("message_code_1")


def test_readme_documents_every_message_code() -> None:
    readme = (PACK / "README.md").read_text(encoding="utf-8")
    journey = load_journey()
    for code, spec in journey.messages.items():
        assert re.search(rf"^\| {code} \| `{spec.file}` \|", readme, re.M), code
    for spec in journey.templates.values():
        assert f"`{spec.file}`" in readme


def test_customer_facing_texts_never_show_raw_api_codes_or_ask_for_secrets() -> None:
    pack = prompts.load_pack()
    journey = load_journey()
    customer_facing = [s.file for s in [*journey.messages.values(), *journey.templates.values()]]
    for name in customer_facing:
        text = pack.get(name).text.lower()
        assert "701" not in text and "code" not in text, name
        assert not re.search(r"(informe|envie|digite|mande) (a |sua )?senha", text), name


def test_701_message_explains_how_to_authorise_the_bank() -> None:
    text = prompts.render("message_code_21")
    assert "app *FGTS*" in text
    assert "Autorizar bancos a consultarem seu FGTS" in text
    assert "Banco Conversa" in text


def test_welcome_states_security_policy_and_asks_consent() -> None:
    text = prompts.render("message_code_10").lower()
    assert "nunca pedimos senhas" in text and "lgpd" in text and "aceito" in text


def test_missing_pack_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(prompts.PromptError, match="does not exist"):
        prompts.load_pack(tmp_path / "nope")
