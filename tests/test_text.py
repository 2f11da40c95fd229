"""agent.text.clean_text: every entry's text cleaning (bad bytes, surrogates, NUL, control characters,
odd digits) without touching accents, emojis or line breaks."""

from __future__ import annotations

import io

import pytest

from agent.text import clean_text, json_storable, storable


@pytest.mark.parametrize(("raw", "clean"), [
    ("oi\x00 tudo bem", "oi tudo bem"),
    ("\udcff\udcfe sim", "sim"),                                   # bytes a lenient decoder escaped
    (b"oi\xff\xfe sim", "oi sim"),                                 # invalid UTF-8 as bytes
    ("\udcc3\udca7\udcc3\udca3o", "ção"),                          # valid UTF-8 escaped byte by byte comes back
    ("sim\udc80", "sim"),                                          # a lone surrogate
    ("\ud83d\ude00 sim", "😀 sim"),                                 # a surrogate pair becomes its emoji
    ("a\x1b[31mvermelho\x1b[0m b\x07\x08", "avermelho b"),         # terminal escape sequences go whole
    ("a\u200bb\u202ec\ufeff", "abc"),                              # zero-width space, bidi override, BOM
    ("ＣＰＦ ０７３.６０２.８４６-３５", "CPF 073.602.846-35"),       # full-width
    ("٠٧٣.٦٠٢.٨٤٦-٣٥", "073.602.846-35"),                          # Arabic-Indic
    ("۰۷۳٫۶۰۲", "073٫602"),                                        # Extended Arabic-Indic digits
    ("linha 1\r\nlinha 2\rlinha 3", "linha 1\nlinha 2\nlinha 3"),
    ("a\n\n\n\n\nb", "a\n\nb"),
    ("  muito    espaço\t aqui  ", "muito espaço aqui"),
    ("a\u00a0b\u2028c", "a b\nc"),
    ("", ""),
    (None, ""),
])
def test_clean_text(raw: str | bytes | None, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize("kept", [
    "Olá, João! Ação, coração, você, à vista, pôr",
    "valeu 🙏🙏 👍🏽 ❤️ 🇧🇷 👨\u200d👩\u200d👧 ℹ️ ™",
    "nasci no 1º de março, nº 12",
    "R$ 1.350,00 — *sim* _não_ ~talvez~",
    "primeira linha\nsegunda linha\n\nterceira",
])
def test_clean_text_keeps_what_a_person_wrote(kept: str) -> None:
    assert clean_text(kept) == kept


def test_clean_text_composes_accents() -> None:
    assert clean_text("marc\u0327o") == "março"  # a decomposed "ç" (macOS, some keyboards) is one letter


def test_storable_only_fixes_what_a_database_refuses() -> None:
    assert storable("a\x00b\udcffc") == "abc"
    assert storable("Olá 👋\n\n\n*sim*") == "Olá 👋\n\n\n*sim*"
    assert json_storable({"t\x00": ["x\udc80", 1, {"k": "ok"}]}) == {"t": ["x", 1, {"k": "ok"}]}


def test_cli_lines_survive_invalid_utf8() -> None:
    from agent.__main__ import _lines

    class Stdin(io.TextIOWrapper):
        pass

    stream = Stdin(io.BytesIO(b"oi\n\xff\xfe sim\nsim\n"), encoding="utf-8", errors="strict")
    assert [clean_text(line) for line in _lines(stream)] == ["oi", "sim", "sim"]


@pytest.mark.parametrize(("text", "month"), [("marçooo", 3), ("agostoooo", 8), ("nasci em setembroo 😅", 9),
                                             ("janeirooo", 1), ("MARÇOOO", 3)])
def test_stretched_months_are_understood(text: str, month: int) -> None:
    from agent.brain.nlu import extract

    assert extract(clean_text(text), "birth_month").birth_month == month


@pytest.mark.parametrize("text", ["31/02/1990", "nasci em 30/02/85", "29/02/1991", "31/04/1988"])
def test_impossible_dates_are_reported_not_kept(text: str) -> None:
    from agent.brain.nlu import extract

    found = extract(text, "birth_month")
    assert found.birth_month is None and found.birth_date is None
    assert [r[2] for r in found.rejected()] == ["impossible_date"]


def test_a_real_leap_day_is_a_date() -> None:
    from agent.brain.nlu import extract

    assert extract("29/02/1992", "birth_month").birth_date == "1992-02-29"


def test_full_width_and_arabic_indic_cpfs_after_cleaning() -> None:
    from agent.brain.nlu import extract

    assert extract(clean_text("cpf ２００.０００.００２-９９"), "cpf").cpf == "20000000299"
    assert extract(clean_text("٢٠٠٠٠٠٠٠٢٩٩"), "cpf").cpf == "20000000299"
