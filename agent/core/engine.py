"""One turn of the agent: the pipeline of ``agent/core/steps.py`` over one ``TurnState``.

ingest → guard → decide → act → respond → check → the frozen ``TurnTrace`` (``turn.finish``).

Every model call goes through the gateway (one ledger row each). A failing model never stops the
conversation: decisions fall back to the deterministic NLU, replies to the journey's own template,
and the reason is shown in plain words. Everything domain-specific comes from the ``Pack``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.adapters.knowledge import KnowledgeBase
from agent.adapters.tools import ToolRegistry
from agent.config import Settings
from agent.core import steps
from agent.core.journey import Journey, JourneyState
from agent.core.pack import Pack, get_pack
from agent.core.turn import FEATURES, TurnOutcome, TurnState, deterministic_reading, finish, state_view
from agent.types import Message

if TYPE_CHECKING:  # the gateway imports LiteLLM (seconds): a page that lists chats must not wait for it
    from agent.adapters.gateway import Gateway

__all__ = ["FEATURES", "Engine", "TurnOutcome", "TurnState", "deterministic_reading", "state_view"]


class Engine:
    """Runs turns for one pack and its adapters. Stateless between turns: state comes in and goes out.

    Built from the settings that shape it (``Settings.engine_key``); models and temperatures are per
    call (``run_turn(settings=…)``), so moving a slider reuses the engine.
    """

    def __init__(self, settings: Settings, gateway: Gateway, tools: ToolRegistry | None = None,
                 knowledge: KnowledgeBase | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self.pack_dir = settings.pack_dir
        self.pack.journey  # noqa: B018  (load now: a broken pack fails at start-up, not mid-conversation)
        self.tools = tools or self.pack.tool_registry(settings)
        self._knowledge = knowledge

    @property
    def pack(self) -> Pack:
        """The pack (its prompts and journey are re-read when a file changes)."""
        return get_pack(self.pack_dir)

    @property
    def journey(self) -> Journey:
        return self.pack.journey

    @property
    def knowledge(self) -> KnowledgeBase:
        if self._knowledge is None:
            from agent.adapters.knowledge import load_knowledge

            embed = None
            if self.settings.embedding_model:
                # Hybrid ranking (BM25 ⊕ embeddings) only when an embeddings model is configured.
                embed = lambda texts: self.gateway.embed(texts, feature="Embeddings RAG")  # noqa: E731
            self._knowledge = load_knowledge(self.pack_dir, embed=embed)
        return self._knowledge

    def close(self) -> None:
        """Release pooled connections (the engine cache calls this when it drops an engine)."""
        self.tools.close()

    def run_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                 inputs: Sequence[Message], settings: Settings | None = None) -> TurnOutcome:
        """Answer the customer's (merged) messages."""
        started = time.perf_counter()
        ts = self.new_turn(chat_id, state, history, settings)
        ts.inputs = inputs
        with self.gateway.batch(), self.gateway.using_roles(ts.settings.roles):
            for step in steps.PIPELINE:
                step(ts)
        return finish(ts, started)

    def system_event(self, chat_id: int | None, state: JourneyState, event: str,
                     history: Sequence[Message] = (), settings: Settings | None = None) -> TurnOutcome:
        """A turn with no customer text: re-engagement after idle, operator hand-back."""
        started = time.perf_counter()
        ts = self.new_turn(chat_id, state, history, settings)
        ts.system_event = event
        with self.gateway.using_roles(ts.settings.roles):
            after = ts.journey.transition(state, event)
            ts.settle(after, [r for r in steps.render_replies(ts, after) if r], use_model=False)
            steps.respond(ts)
            steps.check(ts)
        return finish(ts, started)

    def new_turn(self, chat_id: int | None, state: JourneyState, history: Sequence[Message],
                 settings: Settings | None = None) -> TurnState:
        """A fresh turn state; pack files are read once per turn (edits apply to the next one)."""
        settings = settings or self.settings
        pack = self.pack
        return TurnState(chat_id, state, list(history), settings, pack, pack.prompts, pack.journey,
                         pack.resolve_settings(settings), self.gateway, self.tools, lambda: self.knowledge,
                         self.settings.max_message_chars)
