"""Preloaded by the forkserver of tests/test_data_safety.py: imports and warms what every child needs."""

from data_safety_child import warm
from agent.adapters import gateway  # noqa: F401  (LiteLLM, seconds to import)
from agent.core import session  # noqa: F401

warm()
