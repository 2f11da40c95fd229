"""Transcript snapshots: what the customer saw in a golden, kept next to the suite and compared on every run.

On the offline models (``local/rules``, ``local/adversary``) the agent is deterministic, so a golden's whole
transcript — every reply, its message codes and the step after each turn — is a fact that can be checked to
the character. A golden's ``expect`` pins what its author thought of; the snapshot pins everything else the
customer sees: a sentence deleted from a template, two replies in the other order, a date one day off, an
amount a cent off. That is approval testing (as syrupy and Jest snapshots do it): a change fails with a diff,
and a person who meant it accepts it with ``python -m evals run --update-snapshots`` and commits the file.

Snapshots live in ``evals/snapshots/<golden's folder under evals/golden>/<id>.txt``. They are checked only
when every model call of the conversation ran on an offline model (a real model words things its own way)
and the golden has no audio or image turn (speech and OCR engines differ between machines); ``snapshot:
false`` in a golden opts out; goldens outside ``evals/golden`` (a test's temporary suite) have none. A golden's
first run records its snapshot (commit it); under ``EVALS_SNAPSHOTS_STRICT=1`` (suite strength, where the
pack is a mutant) a missing snapshot fails instead.
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
OFFLINE_MODELS = frozenset({"local/rules", "local/adversary"})
UPDATE_ENV = "EVALS_UPDATE_SNAPSHOTS"
STRICT_ENV = "EVALS_SNAPSHOTS_STRICT"  # a missing snapshot fails instead of being recorded (suite strength)
_HEADER = ("# What the customer sees in golden {id} on the offline models (evals/snapshots.py).\n"
           "# A change here is a change the customer sees: accept it with "
           "`python -m evals run --update-snapshots` after reading the diff.\n")


def updating() -> bool:
    """True when this run writes snapshots instead of comparing them (``--update-snapshots``)."""
    return os.environ.get(UPDATE_ENV, "") not in {"", "0", "false"}


def applies(case: Any, models: Iterable[str]) -> bool:
    """A golden's transcript is snapshotted: offline models only, no media turns, not opted out."""
    if not getattr(case, "snapshot", True) or not _in_golden_dir(case):
        return False
    if not case.text_only:
        return False
    return all(_offline(m) for m in models)


def _in_golden_dir(case: Any) -> bool:
    from evals.cases import GOLDEN_DIR

    # A golden's id is its file's name; a case renamed from one (a benchmark's copies) is not that golden.
    return case.path is not None and Path(case.path).resolve().is_relative_to(GOLDEN_DIR) and \
        Path(case.path).stem == case.id


def _offline(model: str) -> bool:
    return model in OFFLINE_MODELS or model.startswith("local/adversary")


def path_for(case: Any) -> Path:
    """Where a golden's snapshot lives (its folder under evals/golden mirrored under evals/snapshots)."""
    from evals.cases import GOLDEN_DIR

    folder = Path(case.path).resolve().parent.relative_to(GOLDEN_DIR) if _in_golden_dir(case) else Path("_other")
    return SNAPSHOT_DIR / folder / f"{case.id}.txt"


def transcript(case: Any, observations: Sequence[Any]) -> str:
    """The conversation as the customer saw it: each turn's input, replies, message codes and step."""
    lines = [_HEADER.format(id=case.id)]
    for turn, obs in zip(case.turns, observations, strict=False):
        lines.append(f"> {turn.label}")
        for reply in obs.replies:
            body = reply.rstrip().split("\n")
            lines.append("< " + body[0])
            lines.extend("  " + line if line else "" for line in body[1:])
        codes = ", ".join(str(c) for c in obs.message_codes) or "-"
        lines.append(f"= step {obs.step_after or '-'} · codes [{codes}]")
        lines.append("")
    text = "\n".join(lines).rstrip() + "\n"
    # A golden may send bad text on purpose (lone surrogates, NUL, \r, U+2028): kept visible as escapes, so the
    # file is plain lines that read back exactly as written.
    text = "".join(_escape(ch) for ch in text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _escape(ch: str) -> str:
    if ch == "\n" or unicodedata.category(ch) not in {"Cc", "Zl", "Zp"}:
        return ch
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def check(case: Any, observations: Sequence[Any], *, record: bool = True) -> dict[str, Any] | None:
    """Compare (or, when updating, write) the golden's snapshot; a score dict like the scorers' ones.

    ``record=False`` (the golden's own expectations failed): a missing snapshot is not recorded from a
    transcript nobody would accept, and there is no verdict (None)."""
    from evals.scorers import Score

    text = transcript(case, observations)
    path = path_for(case)
    shown = _display(path)

    def verdict(passed: bool, reason: str) -> dict[str, Any]:
        return Score("snapshot", passed, 1.0 if passed else 0.0, reason, value=shown, level="conversation").to_dict()

    if updating():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return verdict(True, f"snapshot written to {shown}")
    if not path.is_file():
        if not record and not os.environ.get(STRICT_ENV):
            return None
        if os.environ.get(STRICT_ENV):
            return verdict(False, f"no snapshot at {shown}: run `python -m evals run --id {case.id} "
                                  "--update-snapshots`, read it and commit it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return verdict(True, f"first run: snapshot recorded at {shown} (read it and commit it)")
    expected = path.read_text(encoding="utf-8")
    if expected == text:
        return verdict(True, "the transcript matches its snapshot")
    diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), "snapshot", "this run", n=1, lineterm="")
    changed = [line for line in diff if not line.startswith(("---", "+++"))][:12]
    return verdict(False, "the customer sees something else than its snapshot (accept with --update-snapshots):\n"
                          + "\n".join(changed))


def _display(path: Path) -> str:
    from evals.cases import PROJECT_ROOT

    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
