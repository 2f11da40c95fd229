"""Goldens that carry bad text on purpose (lone surrogates, NUL) still give reports a browser can download."""

from __future__ import annotations

from evals.cases import load_suite
from evals.report import html_report, json_report, junit_xml
from evals.results import RunConfig
from evals.runner import run_suite


def test_reports_of_bad_text_goldens_encode_as_utf8(settings) -> None:
    cases = [c for c in load_suite() if c.id in {"text_bad_bytes_mid_journey", "text_only_garbage_is_answered"}]
    assert len(cases) == 2
    run = run_suite(cases, [RunConfig(label="local")], settings)
    assert all(r.passed for r in run.results), [r.error for r in run.results]
    for report in (html_report(run), html_report(run, lang="en"), junit_xml(run), json_report(run)):
        report.encode("utf-8")  # Streamlit's download button and the files do exactly this
