"""The Evals page's *Suite strength* tab through AppTest: three real mutants of the fgts pack (one a golden
kills, one the pack's contracts refuse at load, one no golden sees) replayed against two goldens, the
progress bar, the kill table, the rates and the survivor — in English, then the same report in Portuguese."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import evals.cases
import evals.strength
from agent import i18n
from agent.config import DEFAULT_PACK_DIR
from evals.strength import Mutant

GOLDEN = Path(evals.cases.GOLDEN_DIR)
GOLDENS = [GOLDEN / "happy_path_eligible.yaml", GOLDEN / "goodbye_mid_journey.yaml"]


def three_mutants(pack_dir: Path | str | None = None, *, per_operator: int = 6, **_: object) -> list[Mutant]:
    """Real defects, applied to a copy of the pack and replayed (a handful instead of the whole set)."""
    pack = Path(pack_dir or DEFAULT_PACK_DIR)
    optin = (pack / "message_code_10.txt").read_text(encoding="utf-8")
    lgpd = next(line for line in optin.splitlines() if "LGPD" in line)
    grounding = "Use somente os fatos abaixo: o resultado da consulta, os documentos recuperados e o que o cliente disse."
    return [
        Mutant("delete_sentence:message_code_10", "delete_sentence", "message_code_10.txt",
               "the consent request loses its LGPD question", lgpd, ""),
        Mutant("delete_sentence:conversation_prompt", "delete_sentence", "conversation_prompt.txt",
               "the grounding rule deleted", grounding, ""),
        Mutant("loosen_journey:comment", "loosen_journey", "journey.yaml", "a comment line reworded",
               "# Jornada", "# A jornada"),
    ][:max(1, per_operator)]


@pytest.fixture
def few_mutants(app_env, monkeypatch) -> None:  # noqa: ANN001
    import app_pages.strength_tab as tab

    monkeypatch.setattr(evals.strength, "mutants", three_mutants)
    monkeypatch.setattr(evals.cases, "golden_files", lambda *a, **k: list(GOLDENS))
    # The tab bound its names when first imported — by an earlier test in this process, under xdist.
    monkeypatch.setattr(tab, "strength_mutants", three_mutants)
    monkeypatch.setattr(tab, "golden_files", lambda *a, **k: list(GOLDENS))


def test_suite_strength_tab_runs_mutants_and_shows_the_kill_table(few_mutants) -> None:  # noqa: ANN001
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.switch_page("app_pages/evals.py")
    at.run()
    assert not at.exception, at.exception
    assert any(e.label == "Mutants to run (3)" for e in at.expander)
    assert any(c.value.startswith("3 mutants from 2 operators against 2 goldens of fgts") for c in at.caption)
    at.number_input(key="strength_workers").set_value(2)
    at.button(key="strength_run").click().run()
    assert not at.exception, at.exception

    assert any(w.value.startswith("2/3 mutants killed (67%)") for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Kill rate"] == "67%" and metrics["Killed"] == "2/3" and metrics["Survivors"] == "1"
    frames = {tuple(f.value.columns): f.value for f in at.dataframe}
    per_operator = frames[("operator", "killed", "mutants", "kill rate")]
    assert dict(zip(per_operator["operator"], per_operator["kill rate"], strict=True)) == {
        "delete_sentence": 100, "loosen_journey": 0}
    table = frames[("mutant", "operator", "file", "result", "seconds", "goldens run", "reason")]
    results = dict(zip(table["mutant"], table["result"], strict=True))
    assert results == {"delete_sentence:message_code_10": "killed by happy_path_eligible",
                       "delete_sentence:conversation_prompt": "killed at pack load",
                       "loosen_journey:comment": "survived"}
    reasons = dict(zip(table["mutant"], table["reason"], strict=True))
    assert "break the pack's contracts" in reasons["delete_sentence:conversation_prompt"]
    assert reasons["loosen_journey:comment"] == "a comment line reworded"
    assert dict(zip(table["mutant"], table["goldens run"], strict=True))["loosen_journey:comment"] == 2
    (survivors,) = [w.value for w in at.warning if "loosen_journey:comment" in w.value]
    assert "a comment line reworded" in survivors

    # The same report in Portuguese.
    i18n.MISSING.clear()
    at.session_state["lang"] = "pt"
    at.run()
    assert not at.exception, at.exception
    assert not i18n.MISSING, sorted(i18n.MISSING)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Taxa de mortos"] == "67%" and metrics["Sobreviventes"] == "1"
    frames = {tuple(f.value.columns): f.value for f in at.dataframe}
    table = frames[("mutante", "operador", "arquivo", "resultado", "segundos", "goldens rodados", "motivo")]
    assert set(table["resultado"]) == {"morto por happy_path_eligible", "morto ao carregar o pacote", "sobreviveu"}


def test_the_operators_descriptions_read_in_portuguese() -> None:
    import app_pages.strength_tab as tab
    from evals.strength import mutants

    described = {m.description for m in mutants(DEFAULT_PACK_DIR, per_operator=2)}
    assert described
    missing = [d for d in sorted(described)
               if not any(p.fullmatch(d) for p, _ in tab.DESCRIPTIONS) and d not in i18n.PT]
    assert not missing, ("a mutant description the Suite strength tab cannot show in Portuguese: add its pattern to "
                         "app_pages/strength_tab.py DESCRIPTIONS (and the template to agent/i18n_pt.py), or the fixed "
                         "text to agent/i18n_pt.py:\n" + "\n".join(missing))
