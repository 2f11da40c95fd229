"""Pack-level prompt contracts (pack.yaml ``contracts:``): the validator, the pack loader refusing a prompt
file that breaks its contract, and the fgts pack's real contracts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agent.config import PROJECT_ROOT
from agent.core.contracts import (
    ContractError,
    check_files,
    check_prompt,
    load_contracts,
    parse_contracts,
)
from agent.core.pack import PackError, get_pack

FGTS = PROJECT_ROOT / "prompts" / "fgts"
SPEC = """\
name: demo
contracts:
  greeting.txt:
    why: the greeting names the bank
    must_contain:
      - "Nunca pedimos senhas."
      - Bem-vindo
    must_not_contain: [taxa antecipada]
    must_use: [bank_name, "$customer"]
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "pack.yaml").write_text(SPEC, encoding="utf-8")
    (folder / "greeting.txt").write_text("Bem-vindo ao $bank_name, $customer!\nNunca pedimos senhas.\n",
                                         encoding="utf-8")
    return folder


def test_a_file_that_keeps_its_contract_passes(demo: Path) -> None:
    contracts = load_contracts(demo)
    assert list(contracts) == ["greeting.txt"]
    contract = contracts["greeting.txt"]
    assert [(r.kind, r.value, r.line) for r in contract.rules] == [
        ("must_contain", "Nunca pedimos senhas.", 6), ("must_contain", "Bem-vindo", 7),
        ("must_not_contain", "taxa antecipada", 8), ("must_use", "bank_name", 9), ("must_use", "customer", 9)]
    assert check_files(contracts, demo) == []


def test_whitespace_and_case_differences_still_pass(demo: Path) -> None:
    contracts = load_contracts(demo)
    text = "BEM-VINDO   ao ${bank_name}, $customer!\n\n  nunca\n    PEDIMOS senhas.\n"
    assert check_prompt(contracts, "greeting", text) == []


def test_a_missing_sentence_names_the_file_and_the_contract_line(demo: Path) -> None:
    contracts = load_contracts(demo)
    (v,) = check_prompt(contracts, "greeting.txt", "Bem-vindo ao $bank_name, $customer!\n", demo / "greeting.txt")
    assert (v.rule.kind, v.rule.value, v.rule.line, v.line) == ("must_contain", "Nunca pedimos senhas.", 6, None)
    assert v.message == (f"{demo / 'greeting.txt'}: must contain 'Nunca pedimos senhas.', which is missing "
                         f"(contract at {demo / 'pack.yaml'}:6) — the greeting names the bank")


def test_a_missing_variable_is_a_violation(demo: Path) -> None:
    contracts = load_contracts(demo)
    (v,) = check_prompt(contracts, "greeting", "Bem-vindo ao Banco, $customer! Nunca pedimos senhas.")
    assert (v.rule.kind, v.rule.value) == ("must_use", "bank_name")
    assert "must use the variable $bank_name" in v.message and f"{demo / 'pack.yaml'}:9" in v.message


def test_a_forbidden_phrase_names_the_prompt_line(demo: Path) -> None:
    contracts = load_contracts(demo)
    text = "Bem-vindo ao $bank_name, $customer!\nNunca pedimos senhas.\nCobramos uma taxa\nantecipada de R$ 10.\n"
    (v,) = check_prompt(contracts, "greeting", text, demo / "greeting.txt")
    assert v.rule.kind == "must_not_contain" and v.line == 4
    assert v.message.startswith(f"{demo / 'greeting.txt'}:4: must not contain 'taxa antecipada'")


def test_a_prompt_without_a_contract_has_no_violations(demo: Path) -> None:
    assert check_prompt(load_contracts(demo), "other", "anything") == []
    assert parse_contracts(None, demo / "pack.yaml") == {}


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  greeting.txt:", "  greting.txt:", r"pack.yaml:3: contract for greting.txt, which is not a prompt file"),
    ("    must_not_contain:", "    must_not_contian:", r"pack.yaml:3: unknown key\(s\) must_not_contian"),
    ('[bank_name, "$customer"]', "[bank name]", r"pack.yaml:9: must_use of greeting.txt lists 'bank name'"),
    ("      - Bem-vindo", "      - ''", r"pack.yaml:7: must_contain of greeting.txt lists ''"),
    ("    must_not_contain: [taxa antecipada]", "    must_not_contain: {a: 1}", r"pack.yaml:8: must_not_contain"),
])
def test_a_malformed_contract_says_file_and_line(demo: Path, old: str, new: str, message: str) -> None:
    spec = demo / "pack.yaml"
    spec.write_text(SPEC.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContractError, match=message):
        load_contracts(demo)


def test_a_contract_on_an_unknown_file_stops_the_pack(tmp_path: Path) -> None:
    copy = tmp_path / "fgts"
    shutil.copytree(FGTS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    spec = copy / "pack.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  tool_decision.txt:", "  tool_decisions.txt:", 1), encoding="utf-8")
    line = spec.read_text(encoding="utf-8").splitlines().index("  tool_decisions.txt:") + 1
    with pytest.raises(PackError, match=rf"pack.yaml:{line}: contract for tool_decisions.txt"):
        get_pack(copy)


# ---------------------------------------------------------------------- the fgts pack


def test_the_fgts_pack_loads_with_its_contracts_and_keeps_them() -> None:
    pack = get_pack(FGTS)
    assert {"conversation_prompt.txt", "message_code_11.txt", "message_code_45.txt", "message_code_20.txt",
            "tool_decision.txt", "journey_classification.txt"} <= set(pack.contracts)
    assert check_files(pack.contracts, FGTS) == []
    reask = (FGTS / "message_code_11.txt").read_text(encoding="utf-8")
    assert pack.check_prompt("message_code_11", reask) == []
    dropped = pack.check_prompt("message_code_11.txt", reask.split("\n\n", 1)[1])  # the security policy dropped
    assert [v.rule.value for v in dropped] == ["o $bank_name nunca pede senhas, códigos recebidos por SMS ou dados de "
                                               "cartão", "não cobra taxa antecipada"]
    assert all(v.path == FGTS / "message_code_11.txt" for v in dropped)
    get_pack(PROJECT_ROOT / "prompts" / "contrato")  # contracts are optional: a pack without them loads


@pytest.mark.parametrize(("file", "cut", "kind"), [
    ("conversation_prompt.txt",
     "- Use somente os fatos abaixo: o resultado da consulta, os documentos recuperados e o que o cliente disse. "
     "Se algo não estiver aqui, diga que não sabe e ofereça um atendente.\n", "must_contain"),
    ("conversation_prompt.txt",
     "- Lembre, quando fizer sentido: o $bank_name nunca pede senhas, códigos por SMS, dados de cartão ou taxa "
     "antecipada.\n", "must_contain"),
    # the seeded defect: the security policy dropped from the opt-in re-ask
    ("message_code_11.txt", "🔒 Antes de continuar, um lembrete sobre a sua segurança: o $bank_name nunca pede "
     "senhas, códigos recebidos por SMS ou dados de cartão, e não cobra taxa antecipada para liberar dinheiro.\n\n",
     "must_contain"),
    ("message_code_45.txt", " o $bank_name nunca pede essas informações,", "must_contain"),
    ("message_code_20.txt", "$yearly_amount", "must_use"),
    ("tool_decision.txt", 'Se nenhuma ferramenta fizer sentido, responda com JSON {"tool": null}.', "must_contain"),
    ("journey_classification.txt", 'Responda somente com JSON: {"intent": "<intenção>", "confidence": <0 a 1>}',
     "must_contain"),
])
def test_the_fgts_contracts_catch_the_edits_that_matter(tmp_path: Path, file: str, cut: str, kind: str) -> None:
    copy = tmp_path / "fgts"
    shutil.copytree(FGTS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert cut in text
    path.write_text(text.replace(cut, "", 1), encoding="utf-8")
    with pytest.raises(PackError, match="break the pack's contracts") as caught:
        get_pack(copy)
    message = str(caught.value)
    assert str(path) in message and re.search(rf"{kind.replace('_', ' ')}.*contract at .*pack.yaml:\d+", message)


def test_the_contract_validator_names_no_domain() -> None:
    text = (PROJECT_ROOT / "agent" / "core" / "contracts.py").read_text(encoding="utf-8")
    assert not re.search(r"fgts|cpf|saque|aniversar|senha", text, re.IGNORECASE)
