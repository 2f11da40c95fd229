"""Interface language: one catalog (English source text → Brazilian Portuguese) and locale formatting.

The key of a message is its English text, so code reads naturally and English needs no catalog:
``translate("Run evals", "pt")`` → ``"Rodar avaliações"``; placeholders are ``str.format`` fields
(``translate("{n} tokens", lang, n=12)``). Numbers, money and dates go through Babel (CLDR data), never
hand-written separators: ``format_money(1234.56, "BRL", 1.0, "pt")`` → ``R$ 1.234,56``.

The catalog lives in :mod:`agent.i18n_pt`. A key missing there is shown in English and remembered in
:data:`MISSING` (tests/test_i18n.py renders every page in pt-BR and fails on any). Streamlit-free: the
pages (app_pages/i18n.py keeps the chosen language in the session) and the HTML eval report share it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_currency as _babel_currency
from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import format_percent as _babel_percent

from agent.i18n_pt import PT

__all__ = ["LANGUAGES", "PT", "MISSING", "FEATURE_NAMES", "feature_name", "normalize", "translate", "format_number", "format_percent",
           "format_amount", "format_money", "format_date", "format_datetime"]

LANGUAGES = ("pt", "en")
DEFAULT_LANGUAGE = "pt"
LANGUAGE_NAMES = {"pt": "Português (Brasil)", "en": "English"}
LOCALES = {"pt": "pt_BR", "en": "en_US"}
# Keys asked for in Portuguese that the catalog lacks (shown in English meanwhile).
MISSING: set[str] = set()


# Ledger feature names stay the deck's (``llm_cost.feature_name``); screens show these display names.
FEATURE_NAMES: dict[str, dict[str, str]] = {
    "Analise de Emoção": {"pt": "Análise de emoção", "en": "Emotion analysis"},
    "Classificação de jornada": {"pt": "Classificação da jornada", "en": "Journey classification"},
    "Extração de atributos": {"pt": "Extração de atributos", "en": "Attribute extraction"},
    "API": {"pt": "API", "en": "API"},
    "Conversa": {"pt": "Conversa", "en": "Conversation"},
    "Transcrição de áudio": {"pt": "Transcrição de áudio", "en": "Audio transcription"},
    "Leitura de imagem": {"pt": "Leitura de imagem", "en": "Image reading"},
    "Embeddings": {"pt": "Embeddings", "en": "Embeddings"},
    "Embeddings RAG": {"pt": "Embeddings (RAG)", "en": "Embeddings (RAG)"},
    "Avaliação (juiz)": {"pt": "Avaliação (juiz)", "en": "Evaluation (judge)"},
    "Avaliação (similaridade)": {"pt": "Avaliação (similaridade)", "en": "Evaluation (similarity)"},
    "Avaliação (cliente simulado)": {"pt": "Avaliação (cliente simulado)", "en": "Evaluation (simulated customer)"},
}


def feature_name(name: str, lang: str) -> str:
    """The display name of a ledger feature (``Analise de Emoção`` → ``Análise de emoção``)."""
    return FEATURE_NAMES.get(name, {}).get(normalize(lang), name)


def normalize(lang: str | None) -> str:
    """``"en"``, ``"en-US"``, ``"EN"`` → ``"en"``; anything else → the default, Portuguese."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def translate(text: str, lang: str, /, **fields: Any) -> str:
    """``text`` (English source) in ``lang``, with ``{fields}`` filled in."""
    if lang == "pt":
        target = PT.get(text)
        if target is None:
            MISSING.add(text)
            target = text
        text = target
    return text.format(**fields) if fields else text


def format_number(value: float, lang: str, digits: int | None = None) -> str:
    """``1.234,5`` (pt) / ``1,234.5`` (en); ``digits`` fixes the decimals."""
    if digits is None:
        return _babel_decimal(value, locale=LOCALES[normalize(lang)])
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _babel_decimal(value, format=pattern, locale=LOCALES[normalize(lang)])


def format_percent(value: float, lang: str, digits: int = 0) -> str:
    """``85,7%`` (pt) / ``85.7%`` (en) for 0.857 with one digit."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return _babel_percent(value, format=pattern, locale=LOCALES[normalize(lang)])


def format_amount(value: float, currency: str, lang: str, digits: int | None = None) -> str:
    """An amount already in ``currency``: ``R$ 1.234,56`` (pt), ``R$1,234.56`` (en). Below 1, three
    significant digits are kept so a small cost never reads as zero (``R$ 0,000123``)."""
    locale = Locale.parse(LOCALES[normalize(lang)])
    if digits is None:
        digits = 2
        if 0 < abs(value) < 1:
            digits = min(8, max(2, 2 - math.floor(math.log10(abs(value)))))
    pattern = str(locale.currency_formats["standard"].pattern).split(";")[0]
    pattern = pattern.replace("0.00", "0" + ("." + "0" * digits if digits else ""))
    return _babel_currency(value, currency.upper(), format=pattern, locale=locale, currency_digits=False)


def format_money(usd: float, currency: str, usd_brl: float, lang: str, digits: int | None = None) -> str:
    """A cost recorded in USD shown in ``currency`` (BRL at ``usd_brl`` per USD)."""
    value = usd * usd_brl if currency.upper() == "BRL" else usd
    return format_amount(value, currency, lang, digits)


def format_date(value: dt.date | dt.datetime, lang: str) -> str:
    """``29/11/2026`` (pt) / ``11/29/2026`` (en)."""
    pattern = "dd/MM/yyyy" if normalize(lang) == "pt" else "MM/dd/yyyy"
    return _babel_date(value, pattern, locale=LOCALES[normalize(lang)])


def format_datetime(value: dt.datetime, lang: str) -> str:
    """``29/11/2026 14:05`` (pt) / ``11/29/2026 2:05 PM`` (en)."""
    pattern = "dd/MM/yyyy HH:mm" if normalize(lang) == "pt" else "MM/dd/yyyy h:mm a"
    return _babel_datetime(value, pattern, locale=LOCALES[normalize(lang)])
