"""E-mail addresses as customers type them: validation, typo suggestions, masking (agent.br.email)."""

from __future__ import annotations

import pytest

from agent.br import email
from agent.privacy import mask_pii


@pytest.mark.parametrize("address", ["maria.souza@gmail.com", "joao_p+ccb@hotmail.com", "ana@uol.com.br",
                                     "x@sub.example.com", "carlos.santos@yahoo.com.br", "a1@b-c.io"])
def test_valid(address: str) -> None:
    assert email.is_valid(address) and email.problem(address) is None


@pytest.mark.parametrize(("address", "reason"), [
    ("maria.gmail.com", "missing_at"), ("", "missing_at"), ("a@@b.com", "format"), ("@gmail.com", "format"),
    ("maria..souza@gmail.com", "format"), (".maria@gmail.com", "format"), ("ma ria@gmail.com", "format"),
    ("joão@gmail.com", "accent"), ("maria@gmail", "domain"), ("maria@.com", "domain"),
    ("maria@gmail..com", "domain"), ("maria@gmail.c", "domain"), ("maria@-gmail.com", "domain"),
    ("maria@gmail.con", "tld_typo"), ("maria@uol.com.bt", "tld_typo"), ("maria@gmial.com", "domain_typo"),
    ("maria@hotmal.com", "domain_typo"), ("x" * 65 + "@gmail.com", "format"),
])
def test_problem_names_the_failed_check(address: str, reason: str) -> None:
    assert email.problem(address) == reason and not email.is_valid(address)


def test_normalise_trims_punctuation_quotes_case_and_mailto() -> None:
    assert email.normalize(' "<Maria.Souza@Gmail.COM>". ') == "maria.souza@gmail.com"
    assert email.normalize("mailto:Ana@uol.com.br") == "ana@uol.com.br"


@pytest.mark.parametrize(("address", "fixed"), [
    ("maria@gmial.com", "maria@gmail.com"), ("maria@gmail.con", "maria@gmail.com"),
    ("maria@gmial.con", "maria@gmail.com"), ("ana@uol.com.bt", "ana@uol.com.br"),
    ("maria@gmail.com", None), ("maria@gmail", None),
])
def test_suggestion_fixes_known_typos_only(address: str, fixed: str | None) -> None:
    assert email.suggestion(address) == fixed


def test_mask_keeps_the_domain_and_a_hint_of_the_name() -> None:
    assert email.mask("maria.souza@gmail.com") == "ma•••@gmail.com"
    assert email.mask("ana@uol.com.br") == "a•••@uol.com.br"
    assert email.mask("not an address") == "•••"


def test_mask_pii_masks_addresses_and_cpfs_in_free_text() -> None:
    text = mask_pii("cpf 073.602.846-35, e-mail maria.souza@gmail.com. Me siga no @banco")
    assert text == "cpf •••.602.846-••, e-mail ma•••@gmail.com. Me siga no @banco"


def test_dictated_address_is_written_out_only_around_arroba() -> None:
    assert email.spoken_to_symbols("maria ponto souza arroba gmail ponto com") == "maria.souza@gmail.com"
    assert email.spoken_to_symbols("fico no ponto de onibus") == "fico no ponto de onibus"
    assert email.spoken_to_symbols("arroba") == "arroba"


def test_find_returns_spans_for_blanking() -> None:
    text = "email: maria@gmail.com, obrigado"
    [(raw, (start, end))] = email.find(text)
    assert raw == "maria@gmail.com" and text[start:end] == raw
