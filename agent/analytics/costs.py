"""Cost views over the ledger: every figure is one SQL aggregate, never all rows in memory.

The deck's ledger was past a million rows, so each query here filters and groups in the database
and returns at most a few hundred rows. ``bench/bench_costs.py`` times them on 1M rows.
Prices in ``llm_cost.price`` are USD (see :func:`agent.adapters.pricing.compute_cost`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Float, case, func, insert, literal, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from agent.adapters.pricing import Price, compute_cost, price_for
from agent.adapters.schema import (
    BENCH_SOURCES,
    CHAT_SOURCES,
    PEOPLE_SOURCES,
    chats,
    llm_cost,
    llm_model,
    price_versions,
    utcnow,
)
from agent.adapters.store import Store

# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class CostFilter:
    """What the Costs page filters on. Empty means "all"; ``end`` is inclusive (a day)."""

    chat_id: int | None = None
    features: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    pack: str | None = None  # only conversations of this pack (chats.pack)
    # Only conversations started by these sources (chats.source: PEOPLE_SOURCES, BENCH_SOURCES…);
    # ledger rows without a chat are then left out.
    sources: tuple[str, ...] = ()

    def where(self, model_ids: Sequence[int] | None = None, *,
              scan_sources: bool = False) -> list[ColumnElement[bool]]:
        """SQL conditions; ``model_ids`` are the ids of ``models`` (resolved by :class:`CostReport`).

        ``scan_sources``: the sources hold many of the chats, so read the rows in order and test each
        chat (``fk_id_chat + 0`` keeps SQLite from one index seek and row lookup per chat instead).
        """
        clauses: list[ColumnElement[bool]] = []
        if self.chat_id is not None:
            clauses.append(llm_cost.c.fk_id_chat == self.chat_id)
        if self.features:
            clauses.append(llm_cost.c.feature_name.in_(self.features))
        if self.models:
            # Literal ids (not a subquery) let SQLite pick the per-model covering index.
            clauses.append(llm_cost.c.fk_id_llm_model.in_(tuple(model_ids or (-1,))))
        if self.start is not None:
            clauses.append(llm_cost.c.created_at >= datetime.combine(self.start, time.min, tzinfo=UTC))
        if self.end is not None:
            clauses.append(llm_cost.c.created_at < datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC))
        if self.pack is not None:
            clauses.append(llm_cost.c.fk_id_chat.in_(select(chats.c.id_chat).where(chats.c.pack == self.pack)))
        if self.sources:
            chat = (llm_cost.c.fk_id_chat + 0) if scan_sources else llm_cost.c.fk_id_chat
            clauses.append(chat.in_(select(chats.c.id_chat).where(chats.c.source.in_(tuple(self.sources)))))
        return clauses


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class Totals:
    """Totals of the filtered ledger (cost in USD)."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    errors: int
    avg_latency_ms: float | None


@dataclass(frozen=True)
class Projection:
    """What the current average costs at a given volume."""

    conversations_per_day: int
    avg_cost_per_conversation_usd: float
    per_day_usd: float
    per_month_usd: float
    days_per_month: int = 30


def project(avg_cost_per_conversation_usd: float, conversations_per_day: int, days_per_month: int = 30) -> Projection:
    """"At N conversations/day this costs X/month" from the average cost of one conversation."""
    per_day = avg_cost_per_conversation_usd * conversations_per_day
    return Projection(conversations_per_day, avg_cost_per_conversation_usd, per_day, per_day * days_per_month,
                      days_per_month)


def to_currency(usd: float, currency: str, usd_brl: float) -> float:
    """USD amount in the display currency."""
    return usd * usd_brl if currency.upper() == "BRL" else usd


def format_money(usd: float, currency: str, usd_brl: float, digits: int | None = None) -> str:
    """``R$ 1.234,56`` or ``$1,234.56``; amounts below 1 keep three significant digits (never shown as 0)."""
    value = to_currency(usd, currency, usd_brl)
    if digits is None:
        digits = 2
        if 0 < abs(value) < 1:
            digits = min(8, max(2, 2 - math.floor(math.log10(abs(value)))))
    if currency.upper() == "BRL":
        text = f"{abs(value):,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
        return f"-R$ {text}" if value < 0 else f"R$ {text}"
    return f"-${abs(value):,.{digits}f}" if value < 0 else f"${value:,.{digits}f}"


# ---------------------------------------------------------------- price this traffic as…


@dataclass(frozen=True)
class Pricer:
    """Prices summed usage with one model's table price (tokens) and one per-minute price (audio).

    Prices are linear, so pricing the sums of a group equals summing the priced rows: the database
    only sums, however many rows the filter holds.
    """

    text: Price
    audio: Price | None = None
    usd_brl: float = 5.52

    def usd(self, input_tokens: int, output_tokens: int, audio_seconds: float = 0.0) -> float:
        """Cost in USD of this usage (BRL-priced models such as Sabiá-3 converted at ``usd_brl``)."""
        tokens = compute_cost(input_tokens, output_tokens, self.text, usd_brl=self.usd_brl)
        audio = Decimal(0)
        if audio_seconds:
            audio = compute_cost(0, 0, self.audio or self.text, usd_brl=self.usd_brl, audio_seconds=audio_seconds)
        return float(tokens + audio)

    def sql(self, columns: Any) -> ColumnElement[Any]:
        """The tokens' price as a SQL expression over summed ``llm_cost`` columns (to rank groups)."""
        per_input = float(self.usd(1_000_000, 0)) / 1_000_000
        per_output = float(self.usd(0, 1_000_000)) / 1_000_000
        return (func.coalesce(func.sum(columns.input_tokens), 0) * literal(per_input, Float)
                + func.coalesce(func.sum(columns.output_tokens), 0) * literal(per_output, Float))

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A grouped usage row with clean numbers and ``priced_usd`` added."""
        out = dict(row)
        out["calls"] = _int(out.get("calls"))
        out["input_tokens"] = _int(out.get("input_tokens"))
        out["output_tokens"] = _int(out.get("output_tokens"))
        out["audio_seconds"] = _num(out.get("audio_seconds"))
        out["cost_usd"] = _num(out.get("cost_usd"))
        out["priced_usd"] = self.usd(out["input_tokens"], out["output_tokens"], out["audio_seconds"])
        return out


@dataclass(frozen=True)
class TrafficPrice:
    """A filter's recorded traffic priced with one model, next to what it actually cost (USD)."""

    model: str
    label: str
    audio_model: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    audio_seconds: float
    actual_usd: float
    priced_usd: float
    conversations: int = 0
    conversation_actual_usd: float = 0.0  # the rows that belong to a conversation
    conversation_priced_usd: float = 0.0
    journeys: int = 0  # completed journeys (conversations that reached an outcome step)
    journey_actual_usd: float = 0.0
    journey_priced_usd: float = 0.0

    def per(self, basis: Basis, priced: bool = True) -> float:
        """Average cost (USD) of one conversation, completed journey or call: the projection's input."""
        if basis == "conversation":
            count, amount = self.conversations, (self.conversation_priced_usd if priced
                                                  else self.conversation_actual_usd)
        elif basis == "journey":
            count, amount = self.journeys, self.journey_priced_usd if priced else self.journey_actual_usd
        else:
            count, amount = self.calls, self.priced_usd if priced else self.actual_usd
        return amount / count if count else 0.0

    def bases(self) -> list[Basis]:
        """The projection bases this filter can answer (any non-empty filter has at least "call")."""
        found: list[Basis] = []
        if self.conversations:
            found.append("conversation")
        if self.journeys:
            found.append("journey")
        if self.calls:
            found.append("call")
        return found


Basis = Literal["conversation", "journey", "call"]


def chart_measure(rows: Iterable[Mapping[Any, Any]], money_key: str = "cost_usd") -> Literal["cost", "tokens"]:
    """Chart money when any row cost something, else tokens (``local/rules`` and other free models)."""
    return "cost" if any(_num(r.get(money_key)) for r in rows) else "tokens"


# ---------------------------------------------------------------- the report


class CostReport:
    """SQL aggregates over ``llm_cost`` joined with ``llm_model`` for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def _where(self, flt: CostFilter) -> list[ColumnElement[bool]]:
        ids: list[int] = []
        if flt.models:
            wanted = set(flt.models)
            ids = [m["id_llm_model"] for m in self.store.models() if m["name"] in wanted]
        scan = False
        if flt.sources and self.engine.dialect.name == "sqlite":
            counts = self.source_counts()
            scan = sum(counts.get(s, 0) for s in flt.sources) > 0.2 * max(1, sum(counts.values()))
        return flt.where(ids, scan_sources=scan)

    def _rows_raw(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- filter options
    def features(self) -> list[str]:
        """Distinct feature names (an index-only scan)."""
        query = select(llm_cost.c.feature_name).distinct().order_by(llm_cost.c.feature_name)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def models(self) -> list[dict[str, Any]]:
        """All models of the price table (``llm_model`` is small)."""
        return self.store.models()

    def recent_chats(self, limit: int = 200, sources: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Newest chats with their title, journey step and source (for the chat filter); ``sources`` narrows."""
        step = chats.c.state["step"].as_string().label("step")
        query = (select(chats.c.id_chat, chats.c.title, step, chats.c.source, chats.c.updated_at)
                 .order_by(chats.c.id_chat.desc()).limit(limit))
        if sources:
            query = query.where(chats.c.source.in_(tuple(sources)))
        return self._rows(query)

    def source_counts(self) -> dict[str, int]:
        """How many chats each source started (``chats.source``; a small index scan)."""
        query = select(chats.c.source, func.count()).group_by(chats.c.source)
        with self.engine.connect() as conn:
            return {str(r[0]): int(r[1]) for r in conn.execute(query)}

    def day_range(self) -> tuple[date | None, date | None]:
        """First and last day with ledger rows (two index lookups)."""
        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(llm_cost.c.created_at))).scalar()
            last = conn.execute(select(func.max(llm_cost.c.created_at))).scalar()
        return _as_date(first), _as_date(last)

    # -- the ledger itself
    def ledger(self, flt: CostFilter = CostFilter(), limit: int = 200) -> list[dict[str, Any]]:
        """Newest ledger rows in the deck's layout, with the model name."""
        query = (
            select(
                llm_cost.c.id_llm_cost, llm_cost.c.fk_id_chat, llm_cost.c.feature_name,
                llm_cost.c.fk_id_llm_model, llm_model.c.name.label("model"), llm_cost.c.input_tokens,
                llm_cost.c.output_tokens, llm_cost.c.feat_request_id, llm_cost.c.price,
                llm_cost.c.created_at, llm_cost.c.updated_at, llm_cost.c.latency_ms, llm_cost.c.status,
            )
            .join(llm_model, llm_model.c.id_llm_model == llm_cost.c.fk_id_llm_model)
            .where(*self._where(flt))
            .order_by(llm_cost.c.id_llm_cost.desc())
            .limit(limit)
        )
        return self._rows(query)

    def last_id(self) -> int:
        """Highest ledger id (tells the live table whether anything new arrived)."""
        with self.engine.connect() as conn:
            return _int(conn.execute(select(func.max(llm_cost.c.id_llm_cost))).scalar())

    # -- aggregates
    def totals(self, flt: CostFilter = CostFilter()) -> Totals:
        errors = func.sum(case((llm_cost.c.status != "ok", 1), else_=0))
        query = select(
            func.count(), func.sum(llm_cost.c.input_tokens), func.sum(llm_cost.c.output_tokens),
            func.sum(llm_cost.c.price), errors, func.avg(llm_cost.c.latency_ms),
        ).where(*self._where(flt))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return Totals(_int(row[0]), _int(row[1]), _int(row[2]), _num(row[3]), _int(row[4]),
                      None if row[5] is None else float(row[5]))

    def _grouped(self, key: Any, flt: CostFilter, *, join_model: bool = False,
                 order_by_cost: bool = True, limit: int | None = None) -> list[dict[str, Any]]:
        cost = func.sum(llm_cost.c.price).label("cost_usd")
        query = select(
            key, func.count().label("calls"), func.sum(llm_cost.c.input_tokens).label("input_tokens"),
            func.sum(llm_cost.c.output_tokens).label("output_tokens"), cost,
        ).where(*self._where(flt)).group_by(key)
        if order_by_cost:
            query = query.order_by(cost.desc())
        if limit:
            query = query.limit(limit)
        rows = self._rows(query)
        for row in rows:
            row["cost_usd"] = _num(row["cost_usd"])
            row["input_tokens"] = _int(row["input_tokens"])
            row["output_tokens"] = _int(row["output_tokens"])
        return rows

    def by_feature(self, flt: CostFilter = CostFilter()) -> list[dict[str, Any]]:
        """Calls, tokens and cost per feature_name, most expensive first."""
        return self._grouped(llm_cost.c.feature_name, flt)

    def by_model(self, flt: CostFilter = CostFilter()) -> list[dict[str, Any]]:
        """Calls, tokens and cost per model (grouped by id, then named from the small model table)."""
        rows = self._grouped(llm_cost.c.fk_id_llm_model, flt)
        names = {m["id_llm_model"]: (m["name"], m["label"]) for m in self.store.models()}
        for row in rows:
            name, label = names.get(row["fk_id_llm_model"], (str(row["fk_id_llm_model"]), ""))
            row["model"], row["label"] = name, label or name
        return rows

    def per_conversation(self, flt: CostFilter = CostFilter(), limit: int = 20) -> list[dict[str, Any]]:
        """The most expensive conversations (ledger rows without a chat are left out)."""
        flt_chat = [*self._where(flt), llm_cost.c.fk_id_chat.is_not(None)]
        cost = func.sum(llm_cost.c.price).label("cost_usd")
        query = (
            select(llm_cost.c.fk_id_chat, func.count().label("calls"),
                   func.sum(llm_cost.c.input_tokens + llm_cost.c.output_tokens).label("tokens"), cost)
            .where(*flt_chat).group_by(llm_cost.c.fk_id_chat).order_by(cost.desc()).limit(limit)
        )
        rows = self._rows(query)
        for row in rows:
            row["cost_usd"] = _num(row["cost_usd"])
            row["tokens"] = _int(row["tokens"])
        return rows

    def conversation_stats(self, flt: CostFilter = CostFilter()) -> dict[str, float]:
        """Number of conversations and their average cost (the projection's input)."""
        per_chat = (
            select(llm_cost.c.fk_id_chat, func.sum(llm_cost.c.price).label("cost"))
            .where(*self._where(flt), llm_cost.c.fk_id_chat.is_not(None))
            .group_by(llm_cost.c.fk_id_chat)
            .subquery()
        )
        query = select(func.count(), func.avg(per_chat.c.cost), func.max(per_chat.c.cost))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return {"conversations": _int(row[0]), "avg_cost_usd": _num(row[1]), "max_cost_usd": _num(row[2])}

    def per_completed_journey(self, flt: CostFilter = CostFilter(),
                              steps: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Cost of chats whose journey reached an outcome step (the pack's ``completed_steps``), per step."""
        if steps is None:
            from agent.core.pack import get_pack

            steps = get_pack().completed_steps
        step = chats.c.state["step"].as_string()
        done = select(chats.c.id_chat, step.label("step")).where(step.in_(tuple(steps))).subquery()
        per_chat = (
            select(done.c.step, func.sum(llm_cost.c.price).label("cost"),
                   func.count().label("calls"))
            .select_from(done.join(llm_cost, llm_cost.c.fk_id_chat == done.c.id_chat))
            .where(*self._where(flt))
            .group_by(done.c.id_chat, done.c.step)
            .subquery()
        )
        query = (
            select(per_chat.c.step, func.count().label("journeys"),
                   func.sum(per_chat.c.cost).label("cost_usd"), func.avg(per_chat.c.cost).label("avg_cost_usd"),
                   func.avg(per_chat.c.calls).label("avg_calls"))
            .group_by(per_chat.c.step).order_by(per_chat.c.step)
        )
        rows = self._rows(query)
        for row in rows:
            for key in ("cost_usd", "avg_cost_usd", "avg_calls"):
                row[key] = _num(row[key])
        return rows

    def over_time(self, flt: CostFilter = CostFilter(),
                  bucket: Literal["day", "hour"] = "day") -> list[dict[str, Any]]:
        """Tokens and cost per day or hour (``period`` as ``YYYY-MM-DD`` / ``YYYY-MM-DD HH``)."""
        period = _bucket(self.engine.dialect.name, bucket).label("period")
        query = (
            select(period, func.count().label("calls"),
                   func.sum(llm_cost.c.input_tokens).label("input_tokens"),
                   func.sum(llm_cost.c.output_tokens).label("output_tokens"),
                   func.sum(llm_cost.c.price).label("cost_usd"))
            .where(*self._where(flt)).group_by(period).order_by(period)
        )
        rows = self._rows(query)
        for row in rows:
            row["period"] = str(row["period"])
            row["cost_usd"] = _num(row["cost_usd"])
            row["input_tokens"] = _int(row["input_tokens"])
            row["output_tokens"] = _int(row["output_tokens"])
        return rows

    # -- price this traffic as…
    def price_of(self, model: str) -> Price:
        """Price of ``model`` as the Prices table shows it (UI edits included), else the offline map."""
        for m in self.store.models():
            if m["name"] == model:
                return Price(model=m["name"], label=m["label"], provider=m["provider"],
                             input_per_mtok=Decimal(str(m["input_price_per_mtok"])),
                             output_per_mtok=Decimal(str(m["output_price_per_mtok"])),
                             currency=m["currency"], per_minute=Decimal(str(m["per_minute_price"] or 0)),
                             source=m["price_source"], id=m["id_llm_model"])
        return price_for(model)

    def _pricer(self, model: str, audio_model: str | None, usd_brl: float) -> Pricer:
        return Pricer(self.price_of(model), self.price_of(audio_model) if audio_model else None, usd_brl)

    @staticmethod
    def _usage_columns() -> list[Any]:
        # No audio here: audio_seconds is in no covering index, and summing it over every row would
        # read the whole table. _audio() sums it over the few rows that have it (a partial index).
        return [
            func.count().label("calls"),
            func.sum(llm_cost.c.input_tokens).label("input_tokens"),
            func.sum(llm_cost.c.output_tokens).label("output_tokens"),
            func.sum(llm_cost.c.price).label("cost_usd"),
        ]

    def _audio_rows(self, where: Sequence[ColumnElement[bool]], key: Any = None) -> Any:
        """The rows with audio seconds (``k``, ``a``) as a subquery read through the partial index."""
        # A literal 0 (not a bound parameter) so the planner can prove the partial index applies.
        inner = select(*([key.label("k")] if key is not None else []), llm_cost.c.audio_seconds.label("a"))
        inner = inner.where(*where, llm_cost.c.audio_seconds > literal_column("0"))
        if self.engine.dialect.name == "sqlite":
            # LIMIT -1 keeps SQLite from flattening the subquery, which would walk a covering index in
            # group order and read every row's audio; alone, the subquery reads the partial index.
            inner = inner.limit(literal_column("-1"))
        return inner.subquery()

    def _audio(self, where: Sequence[ColumnElement[bool]], key: Any = None) -> dict[Any, float]:
        """Audio seconds per ``key`` (one ``None`` group without a key) over the rows that have any."""
        rows = self._audio_rows(where, key)
        query = select(*([rows.c.k] if key is not None else []), func.sum(rows.c.a))
        if key is not None:
            query = query.group_by(rows.c.k)
        with self.engine.connect() as conn:
            if key is None:
                return {None: _num(conn.execute(query).scalar())}
            return {r[0]: _num(r[1]) for r in conn.execute(query)}

    def reprice(self, flt: CostFilter, model: str, *, by: Literal["feature", "model", "conversation"] = "feature",
                audio_model: str | None = None, usd_brl: float = 5.52, limit: int | None = None,
                ) -> list[dict[str, Any]]:
        """The filter's recorded tokens (and audio seconds) priced with ``model``, per feature, model or
        conversation, next to what they actually cost: ``cost_usd`` (spent) and ``priced_usd`` (on ``model``).

        Audio seconds are priced with ``audio_model``'s per-minute price (``model``'s when None).
        Most expensive on ``model`` first (then most tokens). Conversations leave out rows without a chat;
        with ``limit`` they are ranked in SQL by their tokens' price (audio added to the ones kept).
        """
        pricer = self._pricer(model, audio_model, usd_brl)
        key: Any = {"feature": llm_cost.c.feature_name, "model": llm_cost.c.fk_id_llm_model,
                    "conversation": llm_cost.c.fk_id_chat}[by]
        where = self._where(flt)
        if by == "conversation":
            where.append(llm_cost.c.fk_id_chat.is_not(None))
        query = select(key, *self._usage_columns()).where(*where).group_by(key)
        if limit:
            # Rank in SQL (many conversations): the priced cost is linear in the summed tokens.
            query = query.order_by(pricer.sql(llm_cost.c).desc(),
                                   func.sum(llm_cost.c.input_tokens + llm_cost.c.output_tokens).desc()).limit(limit)
        found = self._rows(query)
        audio = self._audio(where, key)
        rows = [pricer.row({**r, "audio_seconds": audio.get(r[key.name], 0.0)}) for r in found]
        if by == "model":
            names = {m["id_llm_model"]: (m["name"], m["label"]) for m in self.store.models()}
            for row in rows:
                name, label = names.get(row["fk_id_llm_model"], (str(row["fk_id_llm_model"]), ""))
                row["model"], row["label"] = name, label or name
        rows.sort(key=lambda r: (-r["priced_usd"], -(r["input_tokens"] + r["output_tokens"])))
        return rows

    def reprice_journeys(self, flt: CostFilter, model: str, steps: Sequence[str] | None = None, *,
                         audio_model: str | None = None, usd_brl: float = 5.52) -> list[dict[str, Any]]:
        """Per outcome step: completed journeys, their average cost as spent and priced with ``model``."""
        if steps is None:
            from agent.core.pack import get_pack

            steps = get_pack().completed_steps
        pricer = self._pricer(model, audio_model, usd_brl)
        step = chats.c.state["step"].as_string()
        done = select(chats.c.id_chat, step.label("step")).where(step.in_(tuple(steps))).subquery()
        joined = done.join(llm_cost, llm_cost.c.fk_id_chat == done.c.id_chat)
        # Per chat first, then per step (like per_completed_journey): no COUNT(DISTINCT) over every row.
        per_chat = (
            select(done.c.step, *self._usage_columns())
            .select_from(joined)
            .where(*self._where(flt))
            .group_by(done.c.id_chat, done.c.step)
            .subquery()
        )
        query = (
            select(per_chat.c.step, func.count().label("journeys"), func.sum(per_chat.c.calls).label("calls"),
                   func.sum(per_chat.c.input_tokens).label("input_tokens"),
                   func.sum(per_chat.c.output_tokens).label("output_tokens"),
                   func.sum(per_chat.c.cost_usd).label("cost_usd"))
            .group_by(per_chat.c.step).order_by(per_chat.c.step)
        )
        found = self._rows(query)
        # Audio per step: from the few rows with audio (partial index) to their chats, not the other way.
        rows_with_audio = self._audio_rows(self._where(flt), llm_cost.c.fk_id_chat)
        audio_query = (select(done.c.step, func.sum(rows_with_audio.c.a))
                       .select_from(rows_with_audio.join(done, done.c.id_chat == rows_with_audio.c.k))
                       .group_by(done.c.step))
        audio = {r[0]: _num(r[1]) for r in self._rows_raw(audio_query)}
        rows = [pricer.row({**r, "audio_seconds": audio.get(r["step"], 0.0)}) for r in found]
        for row in rows:
            n = max(1, _int(row["journeys"]))
            row["avg_cost_usd"], row["avg_priced_usd"] = row["cost_usd"] / n, row["priced_usd"] / n
            row["avg_calls"] = row["calls"] / n
        return rows

    def price_traffic(self, flt: CostFilter, model: str, *, audio_model: str | None = None,
                      usd_brl: float = 5.52, steps: Sequence[str] | None = None) -> TrafficPrice:
        """Everything the filter recorded, priced with ``model`` next to what was spent (the projection's input)."""
        pricer = self._pricer(model, audio_model, usd_brl)
        where = self._where(flt)
        no_chat = [*where, llm_cost.c.fk_id_chat.is_(None)]
        with self.engine.connect() as conn:
            # Every row once (covering index), the rows without a chat (an index seek), and how many chats.
            total = dict(conn.execute(select(*self._usage_columns()).where(*where)).one()._mapping)
            loose = dict(conn.execute(select(*self._usage_columns()).where(*no_chat)).one()._mapping)
            conversations = _int(conn.execute(
                select(func.count(func.distinct(llm_cost.c.fk_id_chat)))
                .where(*where, llm_cost.c.fk_id_chat.is_not(None))).scalar())
        total["audio_seconds"] = self._audio(where)[None]
        loose["audio_seconds"] = self._audio(no_chat)[None] if total["audio_seconds"] else 0.0
        total, loose = pricer.row(total), pricer.row(loose)
        journeys = self.reprice_journeys(flt, model, steps, audio_model=audio_model, usd_brl=usd_brl)
        return TrafficPrice(
            model=pricer.text.model, label=pricer.text.label,
            audio_model=pricer.audio.model if pricer.audio else None,
            calls=total["calls"], input_tokens=total["input_tokens"], output_tokens=total["output_tokens"],
            audio_seconds=total["audio_seconds"], actual_usd=total["cost_usd"], priced_usd=total["priced_usd"],
            conversations=conversations, conversation_actual_usd=total["cost_usd"] - loose["cost_usd"],
            conversation_priced_usd=total["priced_usd"] - loose["priced_usd"],
            journeys=sum(_int(j["journeys"]) for j in journeys),
            journey_actual_usd=sum(j["cost_usd"] for j in journeys),
            journey_priced_usd=sum(j["priced_usd"] for j in journeys),
        )

    # -- prices
    def price_table(self) -> list[dict[str, Any]]:
        """The model table with prices (per 1M tokens, in each model's own currency)."""
        rows = []
        for m in self.store.models():
            rows.append({
                "model": m["name"], "label": m["label"], "provider": m["provider"],
                "input_per_mtok": float(m["input_price_per_mtok"]),
                "output_per_mtok": float(m["output_price_per_mtok"]),
                "currency": m["currency"], "source": m["price_source"],
            })
        return rows

    def save_prices(self, changes: Iterable[Mapping[str, Any]], note: str = "") -> int:
        """Apply edited prices (``model, input_per_mtok, output_per_mtok, currency``); each is a version.

        Returns how many models changed. Unchanged rows are skipped so a save never adds noise.
        """
        current = {m["name"]: m for m in self.store.models()}
        changed = 0
        for row in changes:
            model = str(row["model"])
            new_in = Decimal(str(row["input_per_mtok"]))
            new_out = Decimal(str(row["output_per_mtok"]))
            currency = str(row.get("currency") or "USD").upper()
            if new_in < 0 or new_out < 0:
                raise ValueError(f"prices cannot be negative ({model})")
            if currency not in ("USD", "BRL"):
                raise ValueError(f"currency must be USD or BRL ({model}: {currency})")
            old = current.get(model)
            if old is not None and (Decimal(str(old["input_price_per_mtok"])) == new_in
                                    and Decimal(str(old["output_price_per_mtok"])) == new_out
                                    and old["currency"] == currency):
                continue
            if old is not None and not self.versions(model):
                # Keep the price we are replacing, so the first edit can be compared and undone.
                self._add_version(model, old["label"], Decimal(str(old["input_price_per_mtok"])),
                                  Decimal(str(old["output_price_per_mtok"])), old["currency"],
                                  f"original ({old['price_source']})")
            self.store.update_model_price(model, new_in, new_out, currency)
            label = old["label"] if old is not None else model
            self._add_version(model, label, new_in, new_out, currency, note)
            changed += 1
        return changed

    def _add_version(self, model: str, label: str, input_per_mtok: Decimal, output_per_mtok: Decimal,
                     currency: str, note: str) -> None:
        with self.store.begin() as conn:
            conn.execute(insert(price_versions).values(
                model=model, label=label, input_price_per_mtok=input_per_mtok,
                output_price_per_mtok=output_per_mtok, currency=currency, note=note, created_at=utcnow(),
            ))

    def versions(self, model: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Saved price versions, newest first."""
        query = select(price_versions).order_by(price_versions.c.id_price_version.desc()).limit(limit)
        if model is not None:
            query = query.where(price_versions.c.model == model)
        rows = self._rows(query)
        for row in rows:
            row["input_price_per_mtok"] = float(row["input_price_per_mtok"])
            row["output_price_per_mtok"] = float(row["output_price_per_mtok"])
            row["per_minute_price"] = float(row["per_minute_price"])
        return rows


def _bucket(dialect: str, bucket: str) -> ColumnElement[Any]:
    created = llm_cost.c.created_at
    if dialect == "sqlite":
        # SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff": a prefix is the bucket.
        # Literal arguments (not bound parameters) so the day expression index matches.
        return func.substr(created, literal_column("1"), literal_column("10" if bucket == "day" else "13"))
    if dialect == "postgresql":
        # Buckets in UTC, like the SQLite strings and the day filter.
        utc = func.timezone("UTC", created)
        return func.to_char(func.date_trunc(bucket, utc), "YYYY-MM-DD" if bucket == "day" else "YYYY-MM-DD HH24")
    fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H"
    return func.date_format(created, fmt)


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)[:19]).date()


__all__ = [
    "BENCH_SOURCES", "CHAT_SOURCES", "PEOPLE_SOURCES", "Basis", "CostFilter", "CostReport", "Pricer", "Projection",
    "Totals", "TrafficPrice", "chart_measure", "format_money", "price_versions", "project", "to_currency",
]
