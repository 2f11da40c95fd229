"""Small frozen records shared across the agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

UsageSource = Literal["provider", "estimate", "none", "scripted"]  # scripted: a golden's fake usage


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one or more model calls. Supports ``+``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    # Where the token counts came from: the provider's own usage, or our tiktoken estimate.
    source: UsageSource = "none"
    audio_seconds: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        source: UsageSource = self.source if self.source == other.source else (
            "estimate" if "estimate" in (self.source, other.source) else other.source
        )
        if self.calls == 0:
            source = other.source
        elif other.calls == 0:
            source = self.source
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
            source=source,
            audio_seconds=self.audio_seconds + other.audio_seconds,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ToolCall:
    """A tool call requested by a model (name + parsed JSON arguments)."""

    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Completion:
    """What the gateway returns for one model call."""

    text: str
    model: str
    role: str
    feature: str
    usage: Usage
    latency_ms: float
    request_id: str
    json: dict[str, Any] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    ledger_id: int | None = None
    fallback_used: bool = False
    raw_messages: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    temperature: float | None = None  # what the call was sent with (None: the endpoint takes none)


@dataclass(frozen=True)
class Attachment:
    """A file the customer sent: a voice note or an image."""

    kind: Literal["audio", "image"]
    filename: str
    data: bytes = field(repr=False)
    mime: str = ""


MessageSource = Literal["text", "audio", "image", "template", "model", "operator"]


@dataclass(frozen=True)
class Message:
    """One message in a conversation."""

    role: Literal["customer", "agent", "operator", "system"]
    text: str
    created_at: float = 0.0
    source: MessageSource = "text"
    attachments: tuple[Attachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
