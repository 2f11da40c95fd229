"""The interface in Brazilian Portuguese (default) and English: every page rendered in both, the
catalog consistent, numbers, money and dates through Babel, the choice kept in the URL."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from agent import i18n
from agent.adapters.store import CostRow, Store
from agent.config import load_settings
from agent.i18n_pt import PT
from tests.page_helpers import run_evals

PAGES = ["app_pages/chat.py", "app_pages/compare.py", "app_pages/prompts.py", "app_pages/costs.py",
         "app_pages/evals.py", "app_pages/audit.py"]
# Words a Portuguese screen never shows outside data (model names, file names and codes are skipped).
ENGLISH_WORDS = {"the", "and", "with", "your", "from", "this", "that", "turn", "turns", "run", "runs", "cost",
                 "costs", "passed", "rate", "yet", "will", "here", "save", "write", "load", "show", "per",
                 "conversation", "conversations", "configuration", "calls", "spent", "when",
                 "pending", "ready", "agent", "message", "messages", "customer", "reply", "replies", "judge"}
ENGLISH_WORD = re.compile(r"\b(" + "|".join(sorted(ENGLISH_WORDS)) + r")\b", re.I)
# `code`, file/model names, snake_case, role=model assignments, #12
CODE = re.compile(r"`[^`]*`|\b[\w./-]*[_/.][\w./-]*\b|[\w-]+=[^\s,·)]+|#\d+")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def shown_texts(at: AppTest) -> list[str]:
    """Every piece of interface text AppTest sees: headings, prose, alerts, labels, help, tabs, metrics."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success",
                 "toast"):
        texts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("button", "text_input", "text_area", "selectbox", "multiselect", "radio", "slider", "checkbox",
                 "toggle", "number_input", "expander", "tabs", "metric", "segmented_control", "chat_input",
                 "date_input"):
        for e in getattr(at, kind, []):
            for attr in ("label", "help", "placeholder"):
                value = getattr(e, attr, None)
                if isinstance(value, str):
                    texts.append(value)
    for frame in at.dataframe:  # column headers: a column_config label, else the column's name
        config = json.loads(frame.proto.columns or "{}")
        texts += [str((config.get(str(c)) or config.get(f"name:{c}") or {}).get("label") or c)
                  for c in frame.value.columns]
    for chart in at.get("vega_lite_chart"):  # Altair: chart and axis titles
        proto = getattr(chart.proto, "vega_lite_chart", chart.proto)
        texts += list(chart_titles(json.loads(proto.spec or "{}")))
    return [x for x in texts if x]


def chart_titles(spec: object) -> Iterator[str]:
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "title" and isinstance(value, str):
                yield value
            elif key == "title" and isinstance(value, dict) and isinstance(value.get("text"), str):
                yield value["text"]
            else:
                yield from chart_titles(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from chart_titles(item)


def render(page: str, lang: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CONVERSA_UI_LANG", lang)
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page(page)
    return at.run()


def english_leaks(at: AppTest) -> list[str]:
    english = {k for k, v in PT.items() if k != v and k not in PT.values() and len(k) > 3}
    leaks = []
    for text in shown_texts(at):
        stripped = CODE.sub(" ", text)
        leaks += [f"{text!r} ({key!r})" for key in english
                  if text == key or (len(key) > 14 and not fields(key) and key in text)]
        leaks += [f"{text!r} ({m.group(0)!r})" for m in ENGLISH_WORD.finditer(stripped)]
    return sorted(set(leaks))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_speaks_portuguese_by_default(app_env, monkeypatch, page: str) -> None:
    i18n.MISSING.clear()
    at = render(page, "pt", monkeypatch)
    assert not at.exception, at.exception
    assert not i18n.MISSING, f"not in agent/i18n_pt.py: {sorted(i18n.MISSING)}"
    leaks = english_leaks(at)
    assert not leaks, "English on a Portuguese page:\n" + "\n".join(leaks)


def test_a_conversation_and_its_traces_in_portuguese(app_env, monkeypatch) -> None:
    i18n.MISSING.clear()
    at = render("app_pages/chat.py", "pt", monkeypatch)
    for text in ("oi", "sim, aceito"):
        at.chat_input[0].set_value(text).run()
        deadline = time.monotonic() + 60
        while any("digitando" in c.value for c in at.caption) and time.monotonic() < deadline:
            time.sleep(0.05)
            at.run()
        at.run()
    assert not at.exception, at.exception
    assert any(e.label.startswith("Rastro · turno 1") for e in at.expander)
    assert next(m for m in at.metric if m.label == "Etapa da jornada")
    assert not i18n.MISSING, f"not in agent/i18n_pt.py: {sorted(i18n.MISSING)}"
    leaks = english_leaks(at)
    assert not leaks, "English on a Portuguese page:\n" + "\n".join(leaks)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_english_shows_no_portuguese(app_env, monkeypatch, page: str) -> None:
    at = render(page, "en", monkeypatch)
    assert not at.exception, at.exception
    portuguese = {v for k, v in PT.items() if k != v and v not in PT and len(v) > 3}
    leaks = [f"{text!r} ({value!r})" for text in shown_texts(at) for value in portuguese
             if text == value or (len(value) > 14 and not fields(value) and value in text)]
    assert not leaks, "Portuguese on an English page:\n" + "\n".join(sorted(set(leaks)))


def test_catalog_fields_match_the_english_text() -> None:
    wrong = {k: v for k, v in PT.items() if fields(k) != fields(v)}
    assert not wrong


def test_language_switch_is_kept_in_the_url(app_env, monkeypatch) -> None:
    monkeypatch.delenv("CONVERSA_UI_LANG")
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/prompts.py")
    at.run()
    assert at.sidebar.radio(key="lang").value == "pt" and at.title[0].value.endswith("Prompts")
    assert "lang" not in at.query_params
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"
    assert any(s.label == "Temperature" for s in at.sidebar.slider)
    # A reload is a new session with the same URL: English again.
    again = AppTest.from_file("../app.py", default_timeout=120)
    again.query_params["lang"] = "en"
    again.switch_page("app_pages/prompts.py")
    again.run()
    assert again.sidebar.radio(key="lang").value == "en"
    assert any(s.label == "Temperature" for s in again.sidebar.slider)


def test_numbers_money_and_dates_use_brazilian_formats() -> None:
    nbsp = "\xa0"
    assert i18n.format_money(1234.56, "BRL", 1.0, "pt") == f"R${nbsp}1.234,56"
    assert i18n.format_money(100, "BRL", 5.5, "pt") == f"R${nbsp}550,00"
    assert i18n.format_money(0.0001234, "BRL", 1.0, "pt") == f"R${nbsp}0,000123"  # never shown as zero
    assert i18n.format_money(1234.56, "USD", 5.5, "en") == "$1,234.56"
    assert i18n.format_number(1234567.5, "pt", 1) == "1.234.567,5"
    assert i18n.format_percent(0.857, "pt", 1) == "85,7%"
    assert i18n.format_date(dt.date(2026, 11, 29), "pt") == "29/11/2026"
    assert i18n.format_datetime(dt.datetime(2026, 11, 29, 14, 5), "pt") == "29/11/2026 14:05"
    assert i18n.format_date(dt.date(2026, 11, 29), "en") == "11/29/2026"
    assert i18n.translate("Sampling temperature of the {role} model.", "pt", role="Decisão") == \
        "Temperatura de amostragem do modelo de Decisão."
    assert i18n.normalize("EN-us") == "en" and i18n.normalize(None) == "pt" and i18n.normalize("fr") == "pt"


def test_an_eval_run_and_its_report_in_portuguese(app_env, monkeypatch) -> None:
    # Verdict reasons (stored with the run, in the scorers' English) and the goldens' own descriptions are
    # data: only the page around them is checked.
    i18n.MISSING.clear()
    at = render("app_pages/evals.py", "pt", monkeypatch)
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot"]).run()
    run_evals(at)
    run_evals(at)  # two runs: the comparison tab too
    assert not at.exception, at.exception
    assert any("1/1 aprovadas" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Aprovadas"] == "1/1" and metrics["Passaram a falhar"] == "0"
    assert metrics["Custo do agente (USD)"].startswith("US$")
    assert "taxa de aprovação" in list(at.dataframe[0].value.columns)
    assert not i18n.MISSING, f"not in agent/i18n_pt.py: {sorted(i18n.MISSING)}"
    verdicts = re.compile(r"^(✅|❌) \*\*")
    at_texts = [x for x in shown_texts(at) if not verdicts.match(x) and ".yaml" not in x]
    leaks = [x for x in at_texts if ENGLISH_WORD.search(CODE.sub(" ", x))]
    assert not leaks, leaks


def test_costs_with_a_ledger_in_portuguese(app_env, monkeypatch) -> None:
    store = Store.open(load_settings(env=app_env, dotenv_path=None).database_url)
    chat = store.create_chat("demo", state={"step": "finalized"})
    when = datetime(2026, 11, 29, 10, 5, tzinfo=UTC)
    for _ in range(4):
        store.record_cost(CostRow("Analise de Emoção", "claude-3-haiku-20240307", 345, 15, Decimal("0.000105"),
                                  chat, latency_ms=120, created_at=when))
    store.record_cost(CostRow("API", "gpt-3.5-turbo-0125", 126, 16, Decimal("0.000087"), chat, created_at=when))
    i18n.MISSING.clear()
    at = render("app_pages/costs.py", "pt", monkeypatch)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Custo total (BRL)"] == "R$\xa00,00280" and metrics["Chamadas"] == "5"
    titles = [x for x in shown_texts(at) if x.startswith(("Custo por", "Tokens por"))]
    assert "Custo por funcionalidade" in titles
    # Display names; the ledger keeps the deck's "Analise de Emoção".
    assert "Análise de emoção" in at.multiselect(key="costs_features").options
    assert not i18n.MISSING, f"not in agent/i18n_pt.py: {sorted(i18n.MISSING)}"
    leaks = english_leaks(at)
    assert not leaks, "English on a Portuguese page:\n" + "\n".join(leaks)
