"""conversa-lab's evaluation bench: golden conversations replayed against model configurations.

Public API (what the CLI, the evals page and the tests use; lazy, so importing ``evals`` is cheap)::

    from evals import load_suite, RunConfig, run_suite, EvalStore, matrix, html_report
    cases = load_suite(tags=["api"])
    run = run_suite(cases, [RunConfig.parse("decision=local/rules")], settings, concurrency=8)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "BackgroundRun": "evals.background",
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
    "budget_comparison": "evals.report",
    "budget_pair": "evals.results",
    # history
    "EvalStore": "evals.store",
    "load_run": "evals.history",
    "open_store": "evals.history",
    # record as golden, simulated customers
    "golden_from_session": "evals.record",
    "golden_from_chat": "evals.record",
    "save_golden": "evals.record",
    "golden_dir": "evals.record",
    "suite_for_pack": "evals.cases",
    "golden_path": "evals.record",
    "Persona": "evals.simulate",
    "simulate_customer": "evals.simulate",
    "PERSONAS": "evals.simulate",
    # suite strength: seeded defects (mutants) of a pack against its goldens
    "run_strength": "evals.strength",
    "strength_mutants": "evals.strength",
    "MutantResult": "evals.strength",
    "StrengthReport": "evals.strength",
}

# Exported names that differ from the module attribute (a function may not share its module's name:
# once ``evals.simulate`` is imported, ``from evals import simulate`` would return the module).
_ALIASES = {"describe_scorers": "describe", "simulate_customer": "simulate", "strength_mutants": "mutants"}

if TYPE_CHECKING:
    # The real types for type checkers and editors (``X as X`` re-exports); at run time each name is
    # imported on first use by ``__getattr__``. tests/test_api.py keeps this block and _EXPORTS equal.
    from evals.cases import (
        Case as Case, CaseError as CaseError, Expectation as Expectation, GOLDEN_DIR as GOLDEN_DIR, Turn as Turn,
        dump_case as dump_case, golden_files as golden_files, load_case as load_case, load_suite as load_suite,
        parse_case as parse_case, parse_yaml as parse_yaml, suite_for_pack as suite_for_pack,
        validate_suite as validate_suite,
    )
    from evals.history import load_run as load_run, open_store as open_store
    from evals.record import (
        golden_dir as golden_dir, golden_from_chat as golden_from_chat, golden_from_session as golden_from_session,
        golden_path as golden_path, save_golden as save_golden,
    )
    from evals.background import BackgroundRun as BackgroundRun
    from evals.report import (
        budget_comparison as budget_comparison, cheapest_passing as cheapest_passing, diff as diff, html_report as html_report, json_report as json_report,
        junit_xml as junit_xml, matrix as matrix, pareto_front as pareto_front, pareto_svg as pareto_svg,
        percentile as percentile, role_sweeps as role_sweeps, summary as summary, text_diff as text_diff,
        text_matrix as text_matrix,
    )
    from evals.results import (
        CaseResult as CaseResult, RunConfig as RunConfig, RunResult as RunResult, budget_pair as budget_pair,
    )
    from evals.runner import (
        AdaptiveLimiter as AdaptiveLimiter, JUDGE_FEATURE as JUDGE_FEATURE, load_configs as load_configs,
        run_case as run_case, run_suite as run_suite, run_suite_async as run_suite_async,
        sweep_configs as sweep_configs,
    )
    from evals.scorers import (
        ConversationObservation as ConversationObservation, SCORERS as SCORERS, Score as Score,
        ScoreContext as ScoreContext, TurnObservation as TurnObservation, evaluate as evaluate,
        lexical_similarity as lexical_similarity,
    )
    from evals.scorers import describe as describe_scorers  # noqa: F401  (_ALIASES: exported under this name)
    from evals.simulate import PERSONAS as PERSONAS, Persona as Persona
    from evals.simulate import simulate as simulate_customer  # noqa: F401  (_ALIASES: exported under this name)
    from evals.store import EvalStore as EvalStore
    from evals.strength import MutantResult as MutantResult, StrengthReport as StrengthReport
    from evals.strength import mutants as strength_mutants  # noqa: F401  (_ALIASES: exported under this name)
    from evals.strength import run_strength as run_strength

__all__ = sorted(_EXPORTS)


if not TYPE_CHECKING:  # hidden from type checkers: a name missing from the block above is an error there, not Any

    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'evals' has no attribute {name!r}")
        return getattr(importlib.import_module(module), _ALIASES.get(name, name))
