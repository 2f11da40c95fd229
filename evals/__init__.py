"""conversa-lab's evaluation bench: golden conversations replayed against model configurations.

Public API (what the CLI, the evals page and the tests use; lazy, so importing ``evals`` is cheap)::

    from evals import load_suite, RunConfig, run_suite, EvalStore, matrix, html_report
    cases = load_suite(tags=["api"])
    run = run_suite(cases, [RunConfig.parse("decision=local/rules")], settings, concurrency=8)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # golden files
    "Case": "evals.cases",
    "CaseError": "evals.cases",
    "Turn": "evals.cases",
    "Expectation": "evals.cases",
    "GOLDEN_DIR": "evals.cases",
    "load_case": "evals.cases",
    "load_suite": "evals.cases",
    "validate_suite": "evals.cases",
    "golden_files": "evals.cases",
    "parse_case": "evals.cases",
    "parse_yaml": "evals.cases",
    "dump_case": "evals.cases",
    # scorers
    "SCORERS": "evals.scorers",
    "Score": "evals.scorers",
    "ScoreContext": "evals.scorers",
    "TurnObservation": "evals.scorers",
    "ConversationObservation": "evals.scorers",
    "evaluate": "evals.scorers",
    "describe_scorers": "evals.scorers",
    "lexical_similarity": "evals.scorers",
    # a run's configurations and results
    "RunConfig": "evals.results",
    "RunResult": "evals.results",
    "CaseResult": "evals.results",
    # runner
    "AdaptiveLimiter": "evals.runner",
    "JUDGE_FEATURE": "evals.runner",
    "load_configs": "evals.runner",
    "sweep_configs": "evals.runner",
    "run_case": "evals.runner",
    "run_suite": "evals.runner",
    "run_suite_async": "evals.runner",
    # reports
    "matrix": "evals.report",
    "summary": "evals.report",
    "pareto_front": "evals.report",
    "cheapest_passing": "evals.report",
    "role_sweeps": "evals.report",
    "diff": "evals.report",
    "percentile": "evals.report",
    "html_report": "evals.report",
    "junit_xml": "evals.report",
    "json_report": "evals.report",
    "pareto_svg": "evals.report",
    "text_matrix": "evals.report",
    "text_diff": "evals.report",
    # history
    "EvalStore": "evals.store",
    "load_run": "evals.history",
    "open_store": "evals.history",
    # record as golden, simulated customers
    "golden_from_session": "evals.record",
    "golden_from_chat": "evals.record",
    "save_golden": "evals.record",
    "golden_dir": "evals.record",
    "golden_path": "evals.record",
    "Persona": "evals.simulate",
    "simulate_customer": "evals.simulate",
    "PERSONAS": "evals.simulate",
}

# Exported names that differ from the module attribute (a function may not share its module's name:
# once ``evals.simulate`` is imported, ``from evals import simulate`` would return the module).
_ALIASES = {"describe_scorers": "describe", "simulate_customer": "simulate"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), _ALIASES.get(name, name))
