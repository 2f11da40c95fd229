"""Stored runs back into :class:`evals.results.RunResult` (for ``report``, ``diff`` and the page)."""

from __future__ import annotations

from typing import Any

from evals.results import CaseResult, RunConfig, RunResult
from evals.store import EvalStore


def open_store(settings: Any) -> EvalStore:
    """The eval tables of the database ``settings`` point at (migrated on first use)."""
    return EvalStore.open(settings.database_url)


def load_run(store: EvalStore, run_id: int | str) -> RunResult:
    """A stored run by id (``"latest"`` = the newest finished run)."""
    if run_id == "latest":
        latest = store.latest_run_id()
        if latest is None:
            raise KeyError("No finished eval run yet — run `python -m evals run` first.")
        run_id = latest
    try:
        number = int(run_id)
    except (TypeError, ValueError) as exc:
        raise KeyError(f"{run_id!r} is not a run id (a number, or 'latest')") from exc
    row = store.get_run(number)
    if row is None:
        raise KeyError(f"No eval run #{number} in {store.store.url} — `python -m evals list` shows the runs.")
    summary = row.get("summary") or {}
    started = row["started_at"].timestamp() if row.get("started_at") else 0.0
    finished = row["finished_at"].timestamp() if row.get("finished_at") else started
    return RunResult(
        results=[CaseResult.from_dict(r) for r in store.results(number)],
        configs=[RunConfig.from_dict(c) for c in row.get("configs") or []],
        run_id=number, name=row.get("name") or "", suite=row.get("suite") or "", git_commit=row.get("git_commit"),
        prompt_versions=dict(row.get("prompt_versions") or {}), started_at=started, finished_at=finished,
        concurrency=int(row.get("concurrency") or 1), stats=dict(summary.get("stats") or {}),
    )
