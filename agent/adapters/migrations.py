"""Every schema change, in order. ``Store.migrate`` applies the ones not yet in ``schema_migrations``.

Append new migrations at the end with a higher version; never edit or renumber one that has been
applied somewhere (its version and name are what existing databases recorded). The gaps in the
numbering are the old per-module ranges (10s costs, 12 prompts, 20s evals), kept for those databases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Connection

from agent.adapters.pricing import canonical_prices
from agent.adapters.schema import (
    access_log,
    channel_contact,
    channel_message,
    channel_reply,
    chat_flush,
    chat_inbox,
    chat_insights,
    chat_review,
    chats,
    eval_result,
    eval_run,
    llm_cost,
    llm_model,
    messages,
    model_values,
    price_versions,
    prompt_versions,
    traces,
    utcnow,
)


class Migration(NamedTuple):
    version: int
    name: str
    apply: Callable[[Connection], None]


def m001_initial(conn: Connection) -> None:
    for table in (llm_model, chats, llm_cost, messages, traces):
        table.create(conn, checkfirst=True)
    now = utcnow()
    for price in canonical_prices():
        conn.execute(insert(llm_model).values(**model_values(price), created_at=now, updated_at=now))
    if conn.dialect.name == "postgresql":
        # Explicit ids do not advance the serial: move it past the seeded rows.
        conn.execute(text("SELECT setval(pg_get_serial_sequence('llm_model', 'id_llm_model'), "
                          "(SELECT MAX(id_llm_model) FROM llm_model))"))


def m010_price_versions(conn: Connection) -> None:
    price_versions.create(conn, checkfirst=True)


# Covering indexes: each cost-page aggregate reads one index instead of the whole table
# (measured on 1M rows in bench/bench_costs.py).
COST_COVERING_INDEXES = (
    ("ix_llm_cost_chat_cover", ("fk_id_chat", "price", "input_tokens", "output_tokens")),
    ("ix_llm_cost_feature_cover", ("feature_name", "price", "input_tokens", "output_tokens", "created_at")),
    ("ix_llm_cost_model_cover",
     ("fk_id_llm_model", "feature_name", "price", "input_tokens", "output_tokens", "created_at")),
    ("ix_llm_cost_time_cover", ("created_at", "input_tokens", "output_tokens", "price")),
)


def m011_cost_indexes(conn: Connection) -> None:
    # Plain DDL: an Index object would attach itself to the shared llm_cost Table for good.
    for name, columns in COST_COVERING_INDEXES:
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON llm_cost ({', '.join(columns)})"))
    if conn.dialect.name == "sqlite":
        # "Tokens per day" groups by the day prefix of created_at; indexing that very expression
        # lets SQLite read the groups in order instead of sorting a million rows.
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_llm_cost_day_cover ON llm_cost "
                          "(substr(created_at, 1, 10), input_tokens, output_tokens, price)"))


def m012_prompt_versions(conn: Connection) -> None:
    prompt_versions.create(conn, checkfirst=True)


def m020_eval_runs(conn: Connection) -> None:
    eval_run.create(conn, checkfirst=True)
    eval_result.create(conn, checkfirst=True)


def m030_chat_source(conn: Connection) -> None:
    """``chats.source``: who started each chat. Older chats are people's (``playground``), except the
    ones the bench wrote, recognisable by their titles ("eval <case> [<config>]", "simulated: <persona>")."""
    if "source" not in {c["name"] for c in inspect(conn).get_columns("chats")}:
        # Fresh databases already have the column (version 1 creates chats from the current schema).
        conn.execute(text("ALTER TABLE chats ADD COLUMN source VARCHAR(20) NOT NULL DEFAULT 'playground'"))
    conn.execute(text("UPDATE chats SET source = 'eval' WHERE title LIKE 'eval %'"))
    conn.execute(text("UPDATE chats SET source = 'simulation' WHERE title LIKE 'simulated: %'"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_chats_source ON chats (source, id_chat)"))


def m040_chat_inbox(conn: Connection) -> None:
    chat_inbox.create(conn, checkfirst=True)


def m041_audio_index(conn: Connection) -> None:
    # "Price this traffic as…" sums audio seconds: only transcriptions have any, so a partial index
    # with the filter columns keeps that sum off the million token rows.
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_llm_cost_audio ON llm_cost "
                      "(fk_id_chat, feature_name, fk_id_llm_model, created_at, audio_seconds) "
                      "WHERE audio_seconds > 0"))


def m050_cost_temperature(conn: Connection) -> None:
    """``llm_cost.temperature``: each call's sampling temperature (older rows: NULL, unknown)."""
    if "temperature" not in {c["name"] for c in inspect(conn).get_columns("llm_cost")}:
        # Fresh databases already have the column (version 1 creates llm_cost from the current schema).
        conn.execute(text("ALTER TABLE llm_cost ADD COLUMN temperature FLOAT"))


def m051_privacy_rights(conn: Connection) -> None:
    """LGPD art. 18: ``chats.forgotten_at`` (when a conversation's data was erased) and ``access_log``
    (who saw personal data unmasked, when, for which chat)."""
    if "forgotten_at" not in {c["name"] for c in inspect(conn).get_columns("chats")}:
        kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
        conn.execute(text(f"ALTER TABLE chats ADD COLUMN forgotten_at {kind}"))
    access_log.create(conn, checkfirst=True)
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_chats_updated ON chats (updated_at)"))


def m052_chat_review(conn: Connection) -> None:
    """``chat_review``: a reviewer's verdict, comment and corrected replies per conversation (agent/audit.py)."""
    chat_review.create(conn, checkfirst=True)


def m053_chat_insights(conn: Connection) -> None:
    """``chat_insights``: computed conversation insights, cached per chat and number of turns (agent/insights.py)."""
    chat_insights.create(conn, checkfirst=True)


def m054_channels(conn: Connection) -> None:
    """The server's channels (agent/server): contact → chat (hashed), delivered message ids (unique: a retried
    delivery is a no-op), the per-chat burst schedule across requests, and the replies sent."""
    for table in (channel_contact, channel_message, chat_flush, channel_reply):
        table.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial ledger, chats, messages, traces", m001_initial),
    Migration(10, "price_versions", m010_price_versions),
    Migration(11, "covering indexes for the cost page", m011_cost_indexes),
    Migration(12, "prompt_versions", m012_prompt_versions),
    Migration(20, "eval runs and results", m020_eval_runs),
    Migration(30, "chats.source: playground, cli, server, eval, simulation", m030_chat_source),
    Migration(40, "chat_inbox: messages queued for the chat worker", m040_chat_inbox),
    Migration(41, "partial index on llm_cost audio seconds (price this traffic as…)", m041_audio_index),
    Migration(50, "llm_cost.temperature: each call's sampling temperature", m050_cost_temperature),
    Migration(51, "chats.forgotten_at and access_log (LGPD: erasure, operator access)", m051_privacy_rights),
    Migration(52, "chat_review: the audit's review queue (verdict, comment, corrected replies)", m052_chat_review),
    Migration(53, "chat_insights: cached conversation insights (emotion, satisfaction, score)", m053_chat_insights),
    Migration(54, "channels: contacts (hashed), delivered message ids, burst schedule, replies sent", m054_channels),
)
