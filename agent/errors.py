"""Typed errors. Each message says what the user can do next."""

from __future__ import annotations


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


class MalformedResponse(GatewayError):
    kind = "malformed"


class StoreError(ConversaError):
    """The database cannot be written or read (read-only file, locked, unreachable)."""
