"""Suite strength: how many small, realistic defects in a pack do its goldens catch?

``python -m evals strength [--pack prompts/fgts]`` copies the pack to a temporary folder once per
*mutant*, applies one built-in mutation operator (the kind of edit a prompt engineer or a developer
makes by mistake), replays the pack's goldens on the offline models against the mutant and stops at
the first failing golden: the mutant is *killed* by it. A mutant no golden catches *survives*, and
is a hole in the suite. Mutants run in parallel (a process pool, ``--workers``, default CPU count); the
goldens that walk the whole journey (happy paths, dated rules) are tried first, so most mutants die in seconds.

Operators (deterministic: the same pack gives the same mutants):

``delete_sentence``   a sentence deleted from a message or prompt file
``swap_codes``        two message codes swapped in a transition's replies (journey.yaml)
``change_number``     a number of a dated rules table or a setting default changed
``drop_examples``     an intent's labelled examples cut to two (intents.yaml)
``drop_section``      a FAQ section removed from a knowledge doc
``loosen_journey``    a journey safety valve loosened (max_failures, a consent notice code)
``loosen_validator``  a validator setting loosened (a step's required data, the message length limit)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.config import DEFAULT_PACK_DIR

OPERATORS = ("delete_sentence", "swap_codes", "change_number", "drop_examples", "drop_section", "loosen_journey",
             "loosen_validator")
_SENTENCE = re.compile(r"[^.!?\n]*[A-Za-zÀ-ÿ]{3}[^.!?\n]*[.!?]")


@dataclass(frozen=True)
class Mutant:
    """One defect: which operator changed which file, and how."""

    id: str
    operator: str
    file: str
    description: str
    old: str
    new: str

    def apply(self, pack_dir: Path) -> None:
        """Write the defect into a copy of the pack (``old`` must be found exactly once)."""
        if not self.file:  # the baseline: the pack as it is
            return
        path = pack_dir / self.file
        text = path.read_text(encoding="utf-8")
        if text.count(self.old) < 1:
            raise ValueError(f"mutant {self.id}: text to change not found in {self.file}")
        path.write_text(text.replace(self.old, self.new, 1), encoding="utf-8")


@dataclass
class MutantResult:
    """What the suite did with one mutant."""

    mutant: Mutant
    killed_by: str | None = None
    reason: str = ""
    goldens_run: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def killed(self) -> bool:
        return self.killed_by is not None


@dataclass
class StrengthReport:
    """All mutants of a pack and the kill rate."""

    pack: str
    results: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0
    goldens: int = 0
    # Set when the unmutated pack already fails a golden: the kill rate then means nothing.
    baseline_failure: str | None = None

    @property
    def killed(self) -> int:
        return sum(r.killed for r in self.results)

    @property
    def rate(self) -> float:
        return self.killed / len(self.results) if self.results else 0.0

    def table(self) -> str:
        """A plain-text table: mutant → killed by which golden, or survived; then the kill rate."""
        lines = [f"{'mutant':<34} {'operator':<16} result", "-" * 100]
        for r in self.results:
            verdict = f"killed by {r.killed_by}" if r.killed else (f"ERROR {r.error}" if r.error else "SURVIVED")
            lines.append(f"{r.mutant.id:<34} {r.mutant.operator:<16} {verdict}")
            if not r.killed or r.killed_by == "(pack load)":
                lines.append(f"{'':<34} {'':<16}   {r.mutant.description}")
            if r.killed_by == "(pack load)":
                lines.append(f"{'':<34} {'':<16}   {r.reason}")
        lines.append("-" * 100)
        by_op: dict[str, list[MutantResult]] = {}
        for r in self.results:
            by_op.setdefault(r.mutant.operator, []).append(r)
        for op, rs in by_op.items():
            lines.append(f"{op:<34} {sum(x.killed for x in rs)}/{len(rs)} killed")
        lines.append(f"kill rate {self.killed}/{len(self.results)} = {self.rate:.0%} · {self.goldens} goldens · "
                     f"{self.seconds:.0f} s on {os.cpu_count()} core(s)")
        if self.baseline_failure:
            lines.append(f"WARNING: the unmutated pack already fails {self.baseline_failure[:160]} — fix it first: "
                         "the kill rate above means nothing")
        return "\n".join(lines)


# ---------------------------------------------------------------------- operators


def _stable(items: Sequence[Any], key: Callable[[Any], str], n: int) -> list[Any]:
    """``n`` items picked by a stable hash (the same pack always gives the same mutants)."""
    return sorted(items, key=lambda i: hashlib.sha256(key(i).encode()).hexdigest())[:n]


def _delete_sentence(pack: Path, n: int) -> Iterator[Mutant]:
    files = sorted(p for p in pack.glob("*.txt"))
    for path in _stable(files, lambda p: p.name, n):
        text = path.read_text(encoding="utf-8")
        sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text) if len(m.group(0).strip()) > 25]
        if not sentences:
            continue
        longest = max(sentences, key=len)
        yield Mutant(f"delete_sentence:{path.stem}", "delete_sentence", path.name,
                     f"deleted from {path.name}: {longest[:70]!r}", longest, "")


def _swap_codes(pack: Path, n: int) -> Iterator[Mutant]:
    path = pack / "journey.yaml"
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    found = re.findall(r"reply: \[(\d+), (\d+)\]", text)
    pairs = sorted({(a, b) for a, b in found if a != b})
    for a, b in _stable(pairs, lambda p: f"{p[0]}-{p[1]}", n):
        old = f"reply: [{a}, {b}]"
        yield Mutant(f"swap_codes:{a}-{b}", "swap_codes", "journey.yaml", f"replies [{a}, {b}] → [{b}, {a}]",
                     old, f"reply: [{b}, {a}]")
    singles = sorted(set(re.findall(r"reply: \[(\d+)\]", text)))
    codes = sorted({int(c) for c in singles})
    for code in _stable(codes, str, max(1, n // 2)):
        other = next((c for c in codes if c != code and abs(c - code) <= 10), None)
        if other is None:
            continue
        yield Mutant(f"swap_codes:{code}->{other}", "swap_codes", "journey.yaml",
                     f"a transition answers {other} instead of {code}", f"reply: [{code}]", f"reply: [{other}]")


def _change_number(pack: Path, n: int) -> Iterator[Mutant]:
    for path in sorted(pack.glob("*.yaml")):
        if path.name in {"journey.yaml", "intents.yaml"}:
            continue
        text = path.read_text(encoding="utf-8")
        candidates = []
        for m in re.finditer(r"^(\s+(?:- )?([a-z_]+):\s*)(\d+(?:\.\d+)?)\s*$", text, re.M):
            key, value = m.group(2), m.group(3)
            if key in {"version"}:
                continue
            candidates.append((m.group(0), m.group(1), key, value))
        for line, _prefix, key, value in _stable(candidates, lambda c: c[0], n):
            number = float(value)
            changed = str(int(number * 0.8) if "." not in value else round(number * 0.8, 4))
            if changed == value:
                changed = str(int(number) + 1)
            yield Mutant(f"change_number:{path.stem}.{key}={changed}", "change_number", path.name,
                         f"{path.name}: {key} {value} → {changed}", line, line.replace(value, changed, 1))


def _drop_examples(pack: Path, n: int) -> Iterator[Mutant]:
    path = pack / "intents.yaml"
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    intents = sorted((data.get("intents") or {}).keys())
    for intent in _stable(intents, str, n):
        block = re.search(rf"^  {re.escape(intent)}:\n(?:    .*\n|\s*\n)*", text, re.M)
        if not block:
            continue
        lines = block.group(0).splitlines(keepends=True)
        examples = [i for i, line in enumerate(lines) if line.startswith("      - ")]
        if len(examples) <= 2:
            continue
        kept = [line for i, line in enumerate(lines) if i not in examples[2:]]
        yield Mutant(f"drop_examples:{intent}", "drop_examples", "intents.yaml",
                     f"intent {intent} keeps 2 of {len(examples)} examples", block.group(0), "".join(kept))


def _drop_section(pack: Path, n: int) -> Iterator[Mutant]:
    sections = []
    for path in sorted((pack / "knowledge").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^## .*\n(?:(?!## ).*\n?)*", text, re.M):
            sections.append((path, m.group(0)))
    for path, section in _stable(sections, lambda s: s[1][:80], n):
        title = section.splitlines()[0][3:60]
        yield Mutant(f"drop_section:{path.stem}:{hashlib.sha1(title.encode()).hexdigest()[:6]}", "drop_section",
                     f"knowledge/{path.name}", f"knowledge section removed: {title!r}", section, "")


# (file, line pattern, what the line becomes, mutant id, description): the journey's safety valves.
_SAFETY_VALVES = (
    ("journey.yaml", r"^max_failures: (\d+)$", lambda line: "max_failures: 30", "max_failures",
     "max_failures → 30 (repeated failures never hand over)"),
    ("journey.yaml", r"^\s+requires_consent: true$", lambda line: line.replace("true", "false"), "requires_consent",
     "a step no longer requires consent"),
    ("pack.yaml", r"^notice_codes: \[.*\]$", lambda line: "notice_codes: []", "notice_codes",
     "no consent notice declared (a 'sim' before the notice counts)"),
)


def _loosen_journey(pack: Path, n: int) -> Iterator[Mutant]:
    for file, pattern, loosen, name, description in _SAFETY_VALVES:
        path = pack / file
        m = re.search(pattern, path.read_text(encoding="utf-8"), re.M) if path.is_file() else None
        if m:
            yield Mutant(f"loosen_journey:{name}", "loosen_journey", file, description, m.group(0), loosen(m.group(0)))


# (file, line pattern, what the line becomes, mutant id, description): the pack's validator settings.
_VALIDATORS = (
    ("journey.yaml", r"^\s+required: \[[^\]]+, \w+\]$", lambda line: re.sub(r", \w+\]$", "]", line),
     "required", "a step completes without its last required datum"),
    ("pack.yaml", r'^\s+max_message_chars: "?\d+"?$', lambda line: re.sub(r"\d+", "120000", line),
     "max_message_chars", "the message length limit raised a hundredfold (a wall of text is read whole)"),
)


def _loosen_validator(pack: Path, n: int) -> Iterator[Mutant]:
    for file, pattern, loosen, name, description in _VALIDATORS:
        path = pack / file
        m = re.search(pattern, path.read_text(encoding="utf-8"), re.M) if path.is_file() else None
        if m:
            yield Mutant(f"loosen_validator:{name}", "loosen_validator", file, description, m.group(0),
                         loosen(m.group(0)))


_OPERATORS: dict[str, Callable[[Path, int], Iterator[Mutant]]] = {
    "delete_sentence": _delete_sentence, "swap_codes": _swap_codes, "change_number": _change_number,
    "drop_examples": _drop_examples, "drop_section": _drop_section, "loosen_journey": _loosen_journey,
    "loosen_validator": _loosen_validator,
}


def mutants(pack_dir: Path | str | None = None, *, per_operator: int = 6,
            operators: Sequence[str] = OPERATORS) -> list[Mutant]:
    """The built-in mutants of a pack (deterministic), each checked to apply cleanly."""
    pack = Path(pack_dir or DEFAULT_PACK_DIR)
    out: list[Mutant] = []
    seen: set[str] = set()
    for name in operators:
        for mutant in _OPERATORS[name](pack, per_operator):
            if mutant.id not in seen and mutant.old != mutant.new:
                seen.add(mutant.id)
                out.append(mutant)
    return out


# ---------------------------------------------------------------------- running


def _run_mutant(mutant: Mutant, pack_dir: str, golden_paths: Sequence[str], data_dir: str) -> MutantResult:
    """Copy the pack, apply the mutant, replay the goldens until one fails (one process per mutant)."""
    started = time.perf_counter()
    result = MutantResult(mutant)
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        copy = Path(tmp) / Path(pack_dir).name
        shutil.copytree(pack_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
        try:
            mutant.apply(copy)
            result.killed_by, result.reason, result.goldens_run = _first_failure(copy, golden_paths, data_dir, tmp)
        except _PackRejected as exc:  # the pack's own checks caught the defect before any golden ran
            result.killed_by, result.reason = "(pack load)", str(exc)[:200]
        except Exception as exc:  # noqa: BLE001  (a crash of the bench is an error, never a kill)
            result.error = f"{type(exc).__name__}: {exc}"[:200]
    result.seconds = round(time.perf_counter() - started, 2)
    return result


class _PackRejected(Exception):
    """The mutated pack did not load: its own checks killed the mutant."""


def _first_failure(pack: Path, golden_paths: Sequence[str], data_dir: str, tmp: str) -> tuple[str | None, str, int]:
    os.environ["CONVERSA_DATA_DIR"] = tmp
    from agent.adapters.store import Store
    from agent.config import load_settings
    from agent.core.pack import get_pack
    from evals.cases import load_case
    from evals.results import RunConfig
    from evals.runner import _Resources, run_case
    from evals.snapshots import STRICT_ENV, UPDATE_ENV

    os.environ[STRICT_ENV] = "1"  # a mutant's transcript must never become a snapshot
    os.environ.pop(UPDATE_ENV, None)

    try:
        get_pack(pack)  # a mutant that breaks the pack's own checks (schema, contracts) fails here
    except Exception as exc:  # noqa: BLE001
        raise _PackRejected(f"{type(exc).__name__}: {exc}") from exc
    base = load_settings(env={"CONVERSA_DATA_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/strength.db"},
                         dotenv_path=None)
    config = RunConfig(label="mutant", pack=str(pack))
    store = Store.open(base.database_url)
    resources = _Resources(base, store, None)
    for count, path in enumerate(golden_paths, 1):
        case = load_case(path)
        result = run_case(case, config, base, resources=resources, store=store)
        if not result.passed:
            failing = [s for t in result.turns for s in t["scores"]] + list(result.conversation_scores)
            reason = result.error or next((s["reason"] for s in failing if not s["passed"]), "failed")
            return case.id, str(reason)[:200], count
    return None, "", len(golden_paths)


def run_strength(pack_dir: Path | str | None = None, *, workers: int | None = None, per_operator: int = 6,
                 progress: Callable[[int, int, MutantResult], None] | None = None) -> StrengthReport:
    """Every built-in mutant of the pack against the pack's goldens; the goldens that kill most go first."""
    from evals.cases import golden_files, suite_for_pack

    pack = Path(pack_dir or DEFAULT_PACK_DIR).resolve()
    goldens = [str(p) for p in golden_files(suite_for_pack(pack))]
    all_mutants = mutants(pack, per_operator=per_operator)
    report = StrengthReport(pack=str(pack), goldens=len(goldens))
    started = time.perf_counter()
    # Likely killers first: goldens that walk the whole journey, then the rest (stable order).
    prefer = [p for p in goldens if "happy_path" in p or "rules_" in Path(p).name]
    ordered = prefer + [p for p in goldens if p not in prefer]
    workers = workers or os.cpu_count() or 1
    # The unmutated pack runs too, first: a golden that already fails would "kill" every mutant.
    baseline = Mutant("(unmutated pack)", "baseline", "", "the pack as it is", "", "")
    with tempfile.TemporaryDirectory(prefix="strength-") as data_dir, \
            ProcessPoolExecutor(max_workers=workers) as pool:
        base_future = pool.submit(_run_mutant, baseline, str(pack), ordered, data_dir)
        futures = {pool.submit(_run_mutant, m, str(pack), ordered, data_dir): i for i, m in enumerate(all_mutants)}
        done: dict[int, MutantResult] = {}
        for future in as_completed(futures):  # progress as mutants finish, the table in mutant order
            done[futures[future]] = future.result()
            if progress:
                progress(len(done), len(futures), done[futures[future]])
        report.results = [done[i] for i in range(len(all_mutants))]
        base = base_future.result()
    if base.killed or base.error:
        report.baseline_failure = f"{base.killed_by or 'error'}: {base.reason or base.error}"
    report.seconds = time.perf_counter() - started
    return report
