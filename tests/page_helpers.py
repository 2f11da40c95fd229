"""Helpers shared by the page tests (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def run_evals(at: AppTest, timeout: float = 300.0) -> AppTest:
    """Click the Evals page's "Run evals", wait for the background run to end, and draw the page again (an
    AppTest does not fire the progress fragment's timer)."""
    at.button(key="evals_run").click().run()
    assert not at.exception, at.exception
    job = at.session_state["evals_job"]
    assert job.wait(timeout), "the eval run did not end"
    return at.run()
