"""YAML for the files the agent reads at start-up (journey, intents, prompt metadata, prices).

libyaml's C loader when PyYAML has it (the PyPI wheels do): the pack's journey and intents parse in
~0.1 s instead of ~1 s with the pure-Python loader — time a person waits for the first paint.
Same safe subset, same exceptions (``yaml.YAMLError``).
"""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, on the C loader when available."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 — a safe loader (CSafeLoader or SafeLoader)
