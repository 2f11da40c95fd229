"""The prompt diet on screen: tokens per prompt section and what the pack's budget trimmed (Chat, Prompts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app_pages.i18n import number, t

# The budget's trims, in the order they are tried (agent/core/turn.py ``TurnState.fit_budget``).
TRIMS = {"history_window": "history window", "top_k_docs": "top-k docs", "summary": "summary of earlier turns",
         "compressor": "compressor"}


# Section labels as shown (a bare "history" would read like the prompt variable of the same name).
SHOWN = {"history": "chat history", "examples": "few-shot examples"}


def section_name(label: str) -> str:
    """A section label (``instructions``, ``history``, ``retrieved docs``…) in the session's language."""
    return t(SHOWN.get(label, label))


def sections_text(sections: Mapping[str, int]) -> str:
    """``instructions 352 · history 39 · …`` (empty for a call recorded before sections were)."""
    return " · ".join(f"{section_name(label)} {number(n)}" for label, n in sections.items())


def budget_text(budget: Mapping[str, Any] | None) -> str:
    """What the budget did to one call, in a line; empty when no budget applied."""
    if not budget:
        return ""
    line = t("budget {max} tokens: {before} → {after}", max=number(budget.get("max_tokens", 0)),
             before=number(budget.get("before", 0)), after=number(budget.get("after", 0)))
    trims = [f"{t(TRIMS.get(x['trim'], x['trim']))} {number(x['before'])} → {number(x['after'])}"
             for x in budget.get("trims") or ()]
    line += " · " + (", ".join(trims) if trims else t("nothing trimmed"))
    return " · ".join([line, *(str(n) for n in budget.get("notes") or ())])


def sections_rows(calls: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per model call: its prompt and the tokens of each section (for a table)."""
    labels = list(dict.fromkeys(label for c in calls for label in c.sections or {}))
    rows = []
    for c in calls:
        row: dict[str, Any] = {t("prompt"): c.prompt_name or "—"}
        row.update({section_name(label): (c.sections or {}).get(label, 0) for label in labels})
        row[t("budget")] = budget_text(c.budget) or "—"
        rows.append(row)
    return rows


def pack_budget_text(budgets: Mapping[str, Any]) -> str:
    """The pack's ``prompt_budget`` in a line: role ≤ max tokens and the trims it allows."""
    parts = []
    for role, b in budgets.items():
        trims = []
        if b.history_turns is not None:
            trims.append(t("history {n} turns", n=b.history_turns))
        if b.top_k_docs is not None:
            trims.append(t("top {n} docs", n=b.top_k_docs))
        if b.summarize_earlier_turns:
            trims.append(t("summary of earlier turns"))
        if b.compressor is not None:
            trims.append(t("compressor"))
        parts.append(f"{t(role.capitalize())} ≤ {number(b.max_tokens)} " + (f"({', '.join(trims)})" if trims else ""))
    return " · ".join(parts)
