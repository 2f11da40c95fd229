"""The server's own settings, read from the same sources as the agent's (``Settings.env``: env, ``.env``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.config import Settings

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v23.0"
DEFAULT_MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class ServerConfig:
    """Request limits and the WhatsApp Cloud API credentials (empty: that part is off)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_graph_url: str = DEFAULT_GRAPH_URL
    # Graph API sends: attempts per reply and the first back-off (doubled each time).
    send_attempts: int = 4
    send_backoff_s: float = 0.5
    # ``POST /chat``'s eval hooks (pinned clock, per-chat settings, events, unmasked attributes of eval chats):
    # for a bench deployment only (``python -m evals run --target``), never one that serves customers.
    eval_hooks: bool = False

    @classmethod
    def from_env(cls, values: Mapping[str, str]) -> ServerConfig:
        return cls(
            max_body_bytes=int(values.get("SERVER_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            whatsapp_app_secret=values.get("WHATSAPP_APP_SECRET", ""),
            whatsapp_verify_token=values.get("WHATSAPP_VERIFY_TOKEN", ""),
            whatsapp_access_token=values.get("WHATSAPP_ACCESS_TOKEN", ""),
            whatsapp_phone_number_id=values.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            whatsapp_graph_url=(values.get("WHATSAPP_GRAPH_URL") or DEFAULT_GRAPH_URL).rstrip("/"),
            send_attempts=max(1, int(values.get("WHATSAPP_SEND_ATTEMPTS") or 4)),
            send_backoff_s=float(values.get("WHATSAPP_SEND_BACKOFF_SECONDS") or 0.5),
            eval_hooks=(values.get("SERVER_EVAL_HOOKS") or "").strip().lower() in {"1", "true", "yes", "on"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerConfig:
        return cls.from_env(settings.env)
