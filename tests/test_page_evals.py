"""Evals page through AppTest from app.py: run a few goldens, read the matrix and verdicts, diff, record."""

from __future__ import annotations


from streamlit.testing.v1 import AppTest



def open_evals() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/evals.py")
    return at.run()


def test_evals_page_runs_goldens_and_shows_verdicts(app_env) -> None:
    at = open_evals()
    assert not at.exception, at.exception
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot", "prompt_injection"]).run()
    assert "2 of" in at.caption[1].value
    at.button(key="evals_run").click().run()
    assert not at.exception, at.exception
    assert any("2/2 passed" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Passed"] == "2/2" and metrics["Cheapest passing"].startswith("decision=local/rules")
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["decision=local/rules · conversation=local/rules"]
    at.toggle(key="evals_failing").set_value(False).run()
    verdicts = " ".join(m.value for m in at.markdown)
    assert "✅ **step**" in verdicts and "Expected the step after the turn to be" in verdicts

    # A second run, then the comparison tab.
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot"]).run()
    at.button(key="evals_run").click().run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Newly failing"] == "0"


def test_record_a_golden_from_a_simulated_customer(app_env) -> None:
    at = open_evals()
    at.radio(key="evals_source").set_value("simulated").run()
    at.selectbox(key="evals_persona").set_value("privacy_refuser").run()
    at.button(key="evals_simulate").click().run()
    assert not at.exception, at.exception
    text = at.text_area(key="evals_golden_text").value
    assert "id: simulated_bia_privacy_minded" in text and "step: optout" in text
    at.text_area(key="evals_golden_text").set_value(text.replace("turns:", "turnz:")).run()
    at.button(key="evals_save").click().run()
    assert "unknown field 'turnz'" in at.error[0].value
