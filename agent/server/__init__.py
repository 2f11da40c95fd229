"""``python -m agent.server``: the agent over HTTP — ``POST /chat``, ``GET /health`` and the WhatsApp
Cloud API webhook (README, "Server and WhatsApp"). Same pack, settings, store and ledger as the playground."""

from __future__ import annotations

from agent.server.app import create_app
from agent.server.config import ServerConfig
from agent.server.turns import ChatAnswer, Incoming, Turns

__all__ = ["ChatAnswer", "Incoming", "ServerConfig", "Turns", "create_app"]
