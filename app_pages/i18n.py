"""The interface language of this browser session, and ``t()`` / formatters the pages call.

Portuguese (Brazil) by default; the sidebar switch sets English. The choice lives in
``st.session_state["lang"]`` and in the URL (``?lang=en``), so a reload, a bookmark or a shared link
keeps it (a per-browser choice: a file in data/ would switch every phone at a meetup at once).
``CONVERSA_UI_LANG=en`` in ``.env`` changes the default. The catalog itself is :mod:`agent.i18n`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import streamlit as st

from agent import i18n

KEY = "lang"


def default_lang() -> str:
    """``CONVERSA_UI_LANG`` from the environment / ``.env``, else Portuguese."""
    settings = st.session_state.get("base_settings")
    return i18n.normalize(settings.env.get("CONVERSA_UI_LANG") if settings is not None else None)


def lang() -> str:
    """``"pt"`` or ``"en"``: the session's choice, else the URL's ``?lang=``, else the configured default."""
    if KEY not in st.session_state:
        st.session_state[KEY] = i18n.normalize(st.query_params.get(KEY) or default_lang())
    return i18n.normalize(st.session_state[KEY])


def t(text: str, /, **fields: Any) -> str:
    """``text`` (English source) in the session's language, ``{fields}`` filled in."""
    return i18n.translate(text, lang(), **fields)


def known(text: str) -> str:
    """``text`` translated when the catalog has it, else as is (model labels, data that may be English)."""
    return i18n.PT.get(text, text) if lang() == "pt" else text


def hint(text: str) -> str:
    """A model's "how to enable" hint: ``add OPENAI_API_KEY to .env`` and the fixed ones."""
    match = re.fullmatch(r"add (.+) to \.env", text)
    if match:
        return t("add {keys} to .env", keys=match.group(1).replace(" and ", t(" and ")))
    return known(text)


def sync_url() -> None:
    """Keep ``?lang=en`` in the address bar while the choice differs from the default (none otherwise)."""
    chosen = lang()
    if chosen != default_lang():
        if st.query_params.get(KEY) != chosen:
            st.query_params[KEY] = chosen
    elif KEY in st.query_params:
        del st.query_params[KEY]


def language_switch() -> None:
    """The sidebar's language control (both names always in their own language)."""
    lang()
    st.radio(
        "Idioma · Language", list(i18n.LANGUAGES), key=KEY, horizontal=True,
        format_func=lambda code: {"pt": "Português", "en": "English"}[code],
        help=t("Interface language. Numbers, money and dates follow it; the agent always speaks Portuguese."),
    )
    sync_url()


def feature(name: str) -> str:
    """A ledger feature's display name (the ledger itself keeps the deck's name)."""
    return i18n.feature_name(name, lang())


def number(value: float, digits: int | None = None) -> str:
    return i18n.format_number(value, lang(), digits)


def percent(value: float, digits: int = 0) -> str:
    return i18n.format_percent(value, lang(), digits)


def money(usd: float, currency: str | None = None, digits: int | None = None) -> str:
    """A USD cost in the sidebar's currency (BRL at the configured rate), in the session's locale."""
    settings = st.session_state.settings
    return i18n.format_money(usd, currency or settings.currency, settings.usd_brl, lang(), digits)


def usd(value: float, digits: int | None = None) -> str:
    """An amount in US dollars as it is (eval costs are compared in USD)."""
    return i18n.format_amount(value, "USD", lang(), digits)


def date(value: dt.date | dt.datetime) -> str:
    return i18n.format_date(value, lang())


def when(value: dt.datetime | str | None) -> str:
    """A timestamp in the session's locale (text that is not one is shown as it is)."""
    return i18n.format_datetime(value, lang()) if isinstance(value, dt.datetime) else str(value or "")
