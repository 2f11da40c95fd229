"""The tables: SQLAlchemy Core definitions the queries use. :mod:`agent.adapters.migrations` creates them.

Every table of the database is here, including those only the analytics and evals read, so that
the one migration list can create them without importing the modules that query them.
The cost ledger keeps the deck's column names (``llm_cost``, ``llm_model``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

from agent.adapters.pricing import Price

metadata = MetaData()

# Integer on SQLite (so it is the rowid alias), BIGINT elsewhere: the deck's ledger was past 1M rows.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(120), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# ---------------------------------------------------------------- ledger, chats (version 1)

llm_model = Table(
    "llm_model",
    metadata,
    Column("id_llm_model", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("label", String(200), nullable=False),
    Column("provider", String(60), nullable=False, default=""),
    Column("input_price_per_mtok", Numeric(18, 8), nullable=False, default=0),
    Column("output_price_per_mtok", Numeric(18, 8), nullable=False, default=0),
    Column("per_minute_price", Numeric(18, 8), nullable=False, default=0),
    Column("currency", String(3), nullable=False, default="USD"),
    Column("price_source", String(20), nullable=False, default="deck"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id_chat", BigId, primary_key=True),
    Column("title", String(200), nullable=False, default=""),
    Column("pack", String(200), nullable=False, default=""),
    Column("status", String(30), nullable=False, default="open"),
    Column("state", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Who started the chat (version 30): a person (playground, cli, server) or the bench (eval, simulation).
    Column("source", String(20), nullable=False, default="playground", server_default="playground"),
    # When the customer's data was erased (version 51, LGPD art. 18: agent/privacy_rights.py); NULL: never.
    Column("forgotten_at", DateTime(timezone=True), nullable=True),
)

# Where a chat came from. People-facing lists (past conversations, most expensive ones) show
# PEOPLE_SOURCES by default; the bench's chats stay one filter away.
CHAT_SOURCES: tuple[str, ...] = ("playground", "cli", "server", "eval", "simulation")
PEOPLE_SOURCES: tuple[str, ...] = ("playground", "cli", "server")
BENCH_SOURCES: tuple[str, ...] = ("eval", "simulation")

llm_cost = Table(
    "llm_cost",
    metadata,
    Column("id_llm_cost", BigId, primary_key=True),
    # Not a hard foreign key: benchmarks and imports write ledger rows for chats kept elsewhere.
    Column("fk_id_chat", BigInteger, nullable=True),
    Column("feature_name", String(120), nullable=False),
    Column("fk_id_llm_model", Integer, ForeignKey("llm_model.id_llm_model"), nullable=False),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("feat_request_id", String(120), nullable=True),
    Column("price", Numeric(20, 12), nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("status", String(30), nullable=False, default="ok"),
    Column("error", Text, nullable=True),
    Column("role", String(30), nullable=True),
    Column("usage_source", String(20), nullable=True),
    Column("audio_seconds", Float, nullable=True),
    # The sampling temperature the call was sent with (with ``role`` and the model: a change is visible).
    Column("temperature", Float, nullable=True),
    Index("ix_llm_cost_created_at", "created_at"),
    Index("ix_llm_cost_feature_created", "feature_name", "created_at"),
    Index("ix_llm_cost_model_created", "fk_id_llm_model", "created_at"),
    Index("ix_llm_cost_chat", "fk_id_chat"),
)

messages = Table(
    "messages",
    metadata,
    Column("id_message", BigId, primary_key=True),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String(20), nullable=False, default="text"),
    Column("meta", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_messages_chat", "fk_id_chat", "id_message"),
)

traces = Table(
    "traces",
    metadata,
    Column("id_trace", BigId, primary_key=True),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("turn_index", Integer, nullable=False),
    Column("trace", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_traces_chat", "fk_id_chat", "turn_index"),
)


def model_values(price: Price) -> dict[str, Any]:
    """An ``llm_model`` row for a price (with its deck id when it has one)."""
    values: dict[str, Any] = {
        "name": price.model,
        "label": price.label,
        "provider": price.provider,
        "input_price_per_mtok": price.input_per_mtok,
        "output_price_per_mtok": price.output_per_mtok,
        "per_minute_price": price.per_minute,
        "currency": price.currency,
        "price_source": price.source,
    }
    if price.id is not None:
        values["id_llm_model"] = price.id
    return values


# ---------------------------------------------------------------- price history (version 10, Costs page)

price_versions = Table(
    "price_versions",
    metadata,
    Column("id_price_version", Integer, primary_key=True),
    Column("model", String(200), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("input_price_per_mtok", Numeric(18, 8), nullable=False),
    Column("output_price_per_mtok", Numeric(18, 8), nullable=False),
    Column("per_minute_price", Numeric(18, 8), nullable=False, default=0),
    Column("currency", String(3), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_price_versions_model", "model", "id_price_version"),
)

# ---------------------------------------------------------------- prompt versions (version 12, Prompts page)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("id_prompt_version", Integer, primary_key=True),
    Column("pack", String(200), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("author", String(120), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_prompt_versions_file", "pack", "file_name", "id_prompt_version"),
    Index("ix_prompt_versions_hash", "pack", "file_name", "content_hash"),
)

# ---------------------------------------------------------------- eval runs (version 20, evals.store)
# Next to the chats they replayed (eval_result.fk_id_chat) and the ledger rows of those chats.

eval_run = Table(
    "eval_run",
    metadata,
    Column("id_eval_run", BigId, primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("suite", String(500), nullable=False, default=""),
    Column("status", String(20), nullable=False, default="running"),
    Column("configs", JSON, nullable=False),
    Column("git_commit", String(60), nullable=True),
    Column("prompt_versions", JSON, nullable=True),
    Column("concurrency", Integer, nullable=False, default=1),
    Column("cases", Integer, nullable=False, default=0),
    Column("passed", Integer, nullable=False, default=0),
    Column("summary", JSON, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_eval_run_started", "started_at"),
)

eval_result = Table(
    "eval_result",
    metadata,
    Column("id_eval_result", BigId, primary_key=True),
    Column("fk_id_eval_run", Integer, nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("config_label", String(200), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("score", Float, nullable=False, default=0.0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("eval_cost_usd", Float, nullable=False, default=0.0),
    Column("tokens", Integer, nullable=False, default=0),
    Column("latency_ms", Float, nullable=False, default=0.0),
    Column("fk_id_chat", Integer, nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("error", Text, nullable=True),
    Column("detail", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_eval_result_run", "fk_id_eval_run", "config_label", "case_id"),
)

# ---------------------------------------------------------------- chat inbox (version 40)

# Customer messages waiting for the chat's background worker (agent/worker.py): a message is written
# here before anything else happens to it, and leaves the queue ("done" / "failed") only once the turn
# that answers it has been written, so a busy page, a reload or a restart never loses one.
chat_inbox = Table(
    "chat_inbox",
    metadata,
    Column("id_inbox", BigId, primary_key=True),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("source", String(20), nullable=True),
    Column("attachments", JSON, nullable=True),
    Column("status", String(20), nullable=False, default="queued"),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_chat_inbox_chat_status", "fk_id_chat", "status", "id_inbox"),
)

# ---------------------------------------------------------------- access log (version 51)

# Who saw a conversation's personal data unmasked, when, and how (the Chat page's operator view, an
# export). No customer data here: the operator's name, the chat id, the action and the time.
access_log = Table(
    "access_log",
    metadata,
    Column("id_access", BigId, primary_key=True),
    Column("operator", String(120), nullable=False),
    Column("fk_id_chat", BigInteger, nullable=True),  # not a foreign key: the log outlives a forgotten chat
    Column("action", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_access_log_chat", "fk_id_chat", "id_access"),
)

# ---------------------------------------------------------------- insights cache (version 53, agent/insights.py)

# A conversation's computed insights (emotion per message, satisfaction, objections, summary, score), keyed by
# the chat, its number of turns and the insights/judge models: the Audit page shows them without paying again.
# ``insights`` is sealed like ``traces.trace`` (it quotes the customer, scrubbed); erased with the chat.
chat_insights = Table(
    "chat_insights",
    metadata,
    Column("id_chat_insights", BigId, primary_key=True),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("turns", Integer, nullable=False),
    Column("models", String(420), nullable=False, default=""),
    Column("insights", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ux_chat_insights_key", "fk_id_chat", "turns", "models", unique=True),
)

# ---------------------------------------------------------------- review queue (version 52, agent/audit.py)

# A reviewer's verdict on one conversation (the Audit page's review queue): approved conversations become
# goldens and fine-tuning examples. One row per chat (a new verdict replaces the old one). ``comment`` and
# ``corrections`` (agent message index → corrected reply) are scrubbed on the way in and sealed like messages.
chat_review = Table(
    "chat_review",
    metadata,
    Column("id_review", BigId, primary_key=True),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("corrections", JSON, nullable=True),
    Column("reviewer", String(120), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ux_chat_review_chat", "fk_id_chat", unique=True),
    Index("ix_chat_review_verdict", "verdict", "updated_at"),
)

# ---------------------------------------------------------------- channels (version 54, agent/server)

# A channel's customer (WhatsApp: the phone, ``wa_id``) → their chat. The phone is personal data: only its
# keyed hash is stored (HMAC-SHA256, agent/adapters/channels.py), never the number, clear or sealed.
channel_contact = Table(
    "channel_contact",
    metadata,
    Column("id_contact", BigId, primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("contact_hash", String(64), nullable=False),
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ux_channel_contact", "channel", "contact_hash", unique=True),
)

# Every message a channel delivered, by the channel's own id (WhatsApp: ``wamid``): written in the transaction
# that queues the message in ``chat_inbox``, so a retried delivery breaks the unique key and changes nothing.
channel_message = Table(
    "channel_message",
    metadata,
    Column("id_channel_message", BigId, primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("fk_id_chat", BigInteger, nullable=False),
    Column("fk_id_inbox", BigInteger, nullable=True),
    Column("kind", String(20), nullable=False, default="text"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ux_channel_message", "channel", "external_id", unique=True),
)

# A chat's burst across requests: each message bumps ``generation`` and moves ``due_at``; the flush scheduled for
# generation g answers only if g is still the newest and not flushed yet (one conditional UPDATE: one flush wins).
chat_flush = Table(
    "chat_flush",
    metadata,
    Column("fk_id_chat", BigInteger, ForeignKey("chats.id_chat"), primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False, default=0),
    Column("flushed", Integer, nullable=False, default=0),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The agent's replies sent through a channel, one row per reply of a flushed burst (unique: never sent twice),
# with the attempts, the outcome and the channel's message id. No text: the reply is in ``messages``.
channel_reply = Table(
    "channel_reply",
    metadata,
    Column("id_channel_reply", BigId, primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("fk_id_chat", BigInteger, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="sending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("external_id", String(200), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ux_channel_reply", "channel", "fk_id_chat", "generation", "position", unique=True),
)
