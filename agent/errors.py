"""Typed errors. Each message says what the user can do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.types import Completion


class ConversaError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(ConversaError):
    """A setting is missing or invalid."""


class GatewayError(ConversaError):
    """A model call failed. ``user_message`` is safe to show in the UI."""

    kind = "error"

    def __init__(self, user_message: str, *, model: str = "", detail: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.model = model
        self.detail = detail


class MissingKeyError(GatewayError):
    kind = "missing_key"


class AuthenticationFailed(GatewayError):
    kind = "bad_key"


class UnknownModelError(GatewayError):
    kind = "unknown_model"


class ProviderUnreachable(GatewayError):
    kind = "unreachable"


class ProviderTimeout(GatewayError):
    kind = "timeout"


class RateLimited(GatewayError):
    kind = "rate_limited"


class ProviderServerError(GatewayError):
    kind = "server_error"


class UnreadableReply(ProviderServerError):
    """HTTP 200 whose body is not a completion (cut short by a proxy, an HTML page): retried and handed
    to the role's fallback like a server error, but named for what it is."""

    kind = "unreadable_reply"


class MalformedResponse(GatewayError):
    """The reply could not be read. ``completion`` is the call when it did answer (invalid JSON):
    its tokens were billed and its ledger row written."""

    kind = "malformed"

    def __init__(self, user_message: str, *, model: str = "", detail: str = "",
                 completion: Completion | None = None) -> None:
        super().__init__(user_message, model=model, detail=detail)
        self.completion = completion


class StoreError(ConversaError):
    """The database cannot be written or read (read-only file, locked, unreachable)."""
