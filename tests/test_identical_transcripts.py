"""What the customer sees on ``local/rules`` stays identical to the committed snapshots (evals/snapshots/).

A faster turn must not change a word: ``tests/test_goldens.py`` replays every golden and requires the
snapshot verdict of each text golden (never recorded there: a missing snapshot fails). These tests pin the
harness itself: every text golden is snapshotted, and a reply, a step or a message code that differs from its
snapshot fails the golden through the runner.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evals import snapshots
from evals.cases import GOLDEN_DIR, golden_files, load_case
from evals.runner import RunConfig, _Resources, run_case

RULES = RunConfig(label="local/rules")
GOLDEN = GOLDEN_DIR / "happy_path_eligible.yaml"


def test_every_text_golden_has_a_snapshot_the_runner_compares() -> None:
    cases = [load_case(path) for path in golden_files(recursive=True)]
    text = [c for c in cases if c.text_only]
    assert len(text) >= 200
    assert [c.id for c in text if not snapshots.applies(c, ["local/rules"])] == []
    assert [c.id for c in text if not snapshots.path_for(c).is_file()] == []


@pytest.fixture
def replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Replays the golden on local/rules against a copy of its snapshot (in tmp, strict: never recorded)."""
    from agent.adapters.store import Store
    from agent.config import load_settings

    case = load_case(GOLDEN)
    committed = snapshots.path_for(case)
    monkeypatch.setattr(snapshots, "SNAPSHOT_DIR", tmp_path / "snapshots")
    monkeypatch.setenv(snapshots.STRICT_ENV, "1")
    monkeypatch.delenv(snapshots.UPDATE_ENV, raising=False)
    copy = snapshots.path_for(case)
    copy.parent.mkdir(parents=True)
    shutil.copyfile(committed, copy)
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    settings = load_settings(env={**keep, "CONVERSA_DATA_DIR": str(tmp_path / "data")}, dotenv_path=None)
    resources = _Resources(settings, Store.open(settings.database_url), None)

    def run() -> dict:
        result = run_case(case, RULES, settings, resources=resources)
        assert result.error is None
        verdicts = [s for s in result.conversation_scores if s["name"] == "snapshot"]
        assert len(verdicts) == 1
        assert result.passed == verdicts[0]["passed"]  # the golden's own expectations hold either way
        return verdicts[0]

    return copy, run


def _edit(path: Path, prefix: str, change) -> str:
    """Change the first line of the snapshot starting with ``prefix``; the original line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    original, lines[i] = lines[i], change(lines[i])
    path.write_text("\n".join(lines), encoding="utf-8")
    return original


def test_the_replay_matches_its_snapshot(replay) -> None:
    _, run = replay
    verdict = run()
    assert verdict["passed"], verdict["reason"]
    assert verdict["reason"] == "the transcript matches its snapshot"


@pytest.mark.parametrize("prefix, change", [
    ("< ", lambda line: line + " (uma palavra a mais)"),  # a reply
    ("= step ", lambda line: line.replace("= step ", "= step outro_")),  # the step after a turn
    ("= step ", lambda line: line.replace("codes [", "codes [99, ")),  # its message codes
], ids=["reply", "step", "message_codes"])
def test_a_transcript_that_differs_from_its_snapshot_fails_the_golden(replay, prefix, change) -> None:
    path, run = replay
    original = _edit(path, prefix, change)
    verdict = run()
    assert not verdict["passed"]
    assert f"-{change(original)}" in verdict["reason"] and f"+{original}" in verdict["reason"]


def test_a_missing_snapshot_fails_and_is_not_recorded(replay) -> None:
    path, run = replay
    path.unlink()
    verdict = run()
    assert not verdict["passed"] and "--update-snapshots" in verdict["reason"]
    assert not path.exists()
