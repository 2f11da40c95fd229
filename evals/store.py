"""Eval runs in the database: one ``eval_run`` row per run, one ``eval_result`` per case × config.

The tables are in :mod:`agent.adapters.schema` (created by migration 20), so runs live next
to the chats they replayed (``eval_result.fk_id_chat``) and the ledger rows of those chats.
Pages reach this through ``evals.EvalStore`` (never SQLAlchemy directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, insert, select, update

from agent.adapters.schema import eval_result, eval_run, utcnow
from agent.adapters.store import Store, inserted_id


class EvalStore:
    """Runs and results over the agent's :class:`agent.Store` (same database, same URL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, url: str) -> EvalStore:
        return cls(Store.open(url))

    # -- writes
    def create_run(self, *, name: str, suite: str, configs: list[dict[str, Any]], git_commit: str | None,
                   prompt_versions: Mapping[str, Any], concurrency: int) -> int:
        with self.store.begin() as conn:
            return inserted_id(conn.execute(insert(eval_run).values(
                name=name, suite=suite, status="running", configs=configs, git_commit=git_commit,
                prompt_versions=dict(prompt_versions), concurrency=concurrency, started_at=utcnow(),
            )))

    def add_result(self, run_id: int, result: Mapping[str, Any]) -> int:
        with self.store.begin() as conn:
            return inserted_id(conn.execute(insert(eval_result).values(
                fk_id_eval_run=run_id, case_id=result["case_id"], config_label=result["config"],
                passed=bool(result["passed"]), score=float(result.get("score") or 0.0),
                cost_usd=float(result.get("cost_usd") or 0.0), eval_cost_usd=float(result.get("eval_cost_usd") or 0.0),
                tokens=int(result.get("tokens") or 0), latency_ms=float(result.get("latency_ms") or 0.0),
                fk_id_chat=result.get("chat_id"), attempts=int(result.get("attempts") or 1),
                error=result.get("error"), detail=dict(result), created_at=utcnow(),
            )))

    def finish_run(self, run_id: int, *, status: str, cases: int, passed: int, summary: Mapping[str, Any]) -> None:
        with self.store.begin() as conn:
            conn.execute(update(eval_run).where(eval_run.c.id_eval_run == run_id).values(
                status=status, cases=cases, passed=passed, summary=dict(summary), finished_at=utcnow()))

    # -- reads
    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first: id, name, status, counts, when, configs' labels."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(eval_run).order_by(eval_run.c.id_eval_run.desc()).limit(limit)).mappings()
            return [self._run_dict(r) for r in rows]

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(eval_run).where(eval_run.c.id_eval_run == run_id)).mappings().first()
            return self._run_dict(row) if row else None

    def latest_run_id(self, *, before: int | None = None, status: str | None = "done") -> int | None:
        query = select(eval_run.c.id_eval_run).order_by(eval_run.c.id_eval_run.desc()).limit(1)
        if before is not None:
            query = query.where(eval_run.c.id_eval_run < before)
        if status:
            query = query.where(eval_run.c.status == status)
        with self.store.engine.connect() as conn:
            value = conn.execute(query).scalar()
            return int(value) if value is not None else None

    def results(self, run_id: int) -> list[dict[str, Any]]:
        """The stored result dicts of a run (as ``CaseResult.to_dict`` wrote them)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(eval_result.c.detail).where(eval_result.c.fk_id_eval_run == run_id)
                                .order_by(eval_result.c.id_eval_result)).scalars()
            return [dict(r) for r in rows]

    @staticmethod
    def _run_dict(row: RowMapping) -> dict[str, Any]:
        data = dict(row)
        data["id"] = data.pop("id_eval_run")
        return data
