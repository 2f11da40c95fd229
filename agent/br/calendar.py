"""Months and dates the way Brazilians write them (shared by packs, the offline brain and evals)."""

from __future__ import annotations

import unicodedata

MONTH_NAMES: tuple[str, ...] = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
                                "setembro", "outubro", "novembro", "dezembro")
# Accent-free forms, for matching text that was folded ("marco").
MONTH_KEYS: tuple[str, ...] = tuple(
    "".join(c for c in unicodedata.normalize("NFKD", m) if not unicodedata.combining(c)) for m in MONTH_NAMES
)


def month_name(month: int | str | None) -> str:
    """``7`` → ``"julho"``; empty for a missing or out-of-range month."""
    try:
        number = int(month)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return MONTH_NAMES[number - 1] if 1 <= number <= 12 else ""


def month_number(word: str) -> int | None:
    """``"Março"``/``"marco"`` → ``3``; None when ``word`` is not a month."""
    key = "".join(c for c in unicodedata.normalize("NFKD", word.strip().lower()) if not unicodedata.combining(c))
    return MONTH_KEYS.index(key) + 1 if key in MONTH_KEYS else None
