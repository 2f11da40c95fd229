"""Evals page through AppTest from app.py: run a few goldens, read the matrix and verdicts, diff, record."""

from __future__ import annotations


from streamlit.testing.v1 import AppTest
from tests.page_helpers import run_evals



def open_evals() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/evals.py")
    return at.run()


def test_evals_page_runs_goldens_and_shows_verdicts(app_env) -> None:
    at = open_evals()
    assert not at.exception, at.exception
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot", "prompt_injection"]).run()
    assert "2 of" in at.caption[1].value
    run_evals(at)
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
    run_evals(at)
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


def test_a_run_plays_in_the_background_and_cancel_keeps_what_finished(app_env) -> None:
    at = open_evals()
    at.button(key="evals_run").click().run()  # every golden: far more than finishes before the click below
    assert not at.exception, at.exception
    job = at.session_state["evals_job"]
    assert job.running and at.button(key="evals_run").disabled  # one run at a time
    assert at.get("progress")  # drawn by the page while the run plays
    at.button(key="evals_cancel").click().run()
    assert job.wait(60)
    at.run()
    assert not at.exception, at.exception
    assert job.cancelled and 0 < job.total and len(job.run.results) < job.total
    (warning,) = [w.value for w in at.warning if "cancelled" in w.value]
    assert f"Run #{job.run.run_id} cancelled" in warning
    stored = at.session_state["evals_run_id"]
    assert stored == job.run.run_id and not at.button(key="evals_run").disabled
    # The finished cases were kept with the run, and it is listed as cancelled in Results.
    from evals import EvalStore, load_run

    store = EvalStore.open(at.session_state["settings"].database_url)
    assert len(load_run(store, stored).results) == len(job.run.results)
    assert next(r for r in store.list_runs(5) if r["id"] == stored)["status"] == "cancelled"
