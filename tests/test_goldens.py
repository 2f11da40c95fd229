"""Every golden conversation in evals/golden/ (and its pack subfolders, evals/golden/<pack>/) is a
pytest item, replayed on local/rules.

The goldens are the regression net of the journey logic: a failing one prints each failing
expectation as the runner's reason sentence, with the golden's file and line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evals import snapshots
from evals.cases import GOLDEN_DIR, Case, golden_files, load_case
from evals.runner import RunConfig, _Resources, run_case

GOLDENS = golden_files(recursive=True)
RULES = RunConfig(label="local/rules")


@pytest.fixture(scope="module")
def golden_env(tmp_path_factory: pytest.TempPathFactory):
    """One data folder and one set of engines for every golden (they are independent conversations)."""
    from agent.config import load_settings
    from agent.adapters.store import Store

    data = tmp_path_factory.mktemp("goldens")
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    settings = load_settings(env={**keep, "CONVERSA_DATA_DIR": str(data)}, dotenv_path=None)
    store = Store.open(settings.database_url)
    return settings, _Resources(settings, store, None)


def missing_engine(case: Case) -> str | None:
    """Why this golden cannot run on this machine (a local engine it needs is not installed), or None.
    Only system packages count: everything pip installs is always there."""
    from agent.adapters import media

    kinds = {m.kind for turn in case.turns for m in turn.messages}
    if "image" in kinds:
        try:
            media.tesseract_status("por")
        except media.TesseractMissingError as exc:
            return (f"needs Tesseract OCR with Portuguese, not installed here ({exc.install_command}; "
                    "`make test` installs it when run as root)")
    return None


def test_there_are_enough_goldens() -> None:
    assert len(GOLDENS) >= 30


@pytest.mark.parametrize("path", GOLDENS, ids=[p.relative_to(GOLDEN_DIR).with_suffix("").as_posix() for p in GOLDENS])
def test_golden(path: Path, golden_env, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, resources = golden_env
    case = load_case(path)
    reason = missing_engine(case)
    if reason:
        pytest.skip(reason)
    # Every text golden's transcript is compared with its committed snapshot (replies, steps, message codes),
    # never recorded here: a missing one fails (tests/test_identical_transcripts.py).
    monkeypatch.setenv(snapshots.STRICT_ENV, "1")
    monkeypatch.delenv(snapshots.UPDATE_ENV, raising=False)
    result = run_case(case, RULES, settings, resources=resources)
    assert result.error is None, f"{path}: {result.error}"
    if case.text_only:
        assert [s["name"] for s in result.conversation_scores].count("snapshot") == 1, \
            f"{path}: its transcript was not compared with its snapshot"
    if not result.passed:
        lines = []
        for f in result.failures:
            turn = case.turns[f["turn"]] if f["turn"] is not None else None
            where = f"{path}:{turn.line}" if turn is not None and turn.line else str(path)
            lines.append(f"{where} turn {f['turn'] + 1 if f['turn'] is not None else '-'} {f['name']}: {f['reason']}")
        pytest.fail("\n".join(lines), pytrace=False)
