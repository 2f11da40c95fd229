"""Prices: the deck's table (data file) merged with LiteLLM's bundled price map.

``compute_cost`` is pure and exact (Decimal), so the deck's ledger rows reproduce to the digit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from agent import yamlfile

PRICE_FILE = Path(__file__).resolve().parent / "data" / "prices.yaml"
MILLION = Decimal(1_000_000)

# ``local/adversary:<model>``: the goldens' fake model (scripted replies, fixed usage) priced as <model>.
PRICED_FAKE_PREFIX = "local/adversary:"

PriceSource = Literal["deck", "custom", "litellm", "local", "unknown"]


@dataclass(frozen=True)
class Price:
    """Price of one model per 1M tokens in its own currency (and per audio minute)."""

    model: str
    label: str
    provider: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    currency: str = "USD"
    per_minute: Decimal = Decimal(0)
    source: PriceSource = "deck"
    id: int | None = None

    def to_usd(self, amount: Decimal, usd_brl: Decimal | float) -> Decimal:
        return amount / Decimal(str(usd_brl)) if self.currency == "BRL" else amount


def compute_cost(
    input_tokens: int,
    output_tokens: int,
    price: Price,
    *,
    usd_brl: Decimal | float = Decimal("5.52"),
    audio_seconds: float = 0.0,
) -> Decimal:
    """Cost in USD of one call: tokens × price per token (+ audio minutes × per-minute price)."""
    amount = (Decimal(input_tokens) * price.input_per_mtok + Decimal(output_tokens) * price.output_per_mtok) / MILLION
    if audio_seconds:
        amount += Decimal(str(audio_seconds)) / Decimal(60) * price.per_minute
    return price.to_usd(amount, usd_brl)


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


@lru_cache(maxsize=4)
def deck_prices(path: Path = PRICE_FILE) -> dict[str, Price]:
    """The data-file table, keyed by every name and alias."""
    table: dict[str, Price] = {}
    for row in yamlfile.safe_load(path.read_text(encoding="utf-8"))["models"]:
        price = Price(
            model=row["name"],
            label=row.get("label", row["name"]),
            provider=row.get("provider", ""),
            input_per_mtok=_dec(row.get("input", 0)),
            output_per_mtok=_dec(row.get("output", 0)),
            currency=row.get("currency", "USD"),
            per_minute=_dec(row.get("per_minute", 0)),
            source=row.get("source") or ("local" if row.get("provider") == "local" else "deck"),
            id=row.get("id"),
        )
        for name in [row["name"], *row.get("aliases", [])]:
            table[name] = price
    return table


def canonical_prices() -> list[Price]:
    """One entry per model of the data file (no aliases), in id order."""
    unique = {p.model: p for p in deck_prices().values()}
    return sorted(unique.values(), key=lambda p: p.id or 0)


def litellm_price(model: str) -> Price | None:
    """Price from LiteLLM's bundled map (offline copy; see agent.adapters.offline)."""
    import agent.adapters.offline  # noqa: F401  (must precede litellm)
    import litellm

    info = litellm.model_cost.get(model) or litellm.model_cost.get(model.split("/", 1)[-1])
    if not info or "input_cost_per_token" not in info:
        return None
    return Price(
        model=model,
        label=model,
        provider=str(info.get("litellm_provider", "")),
        input_per_mtok=_dec(info.get("input_cost_per_token", 0)) * MILLION,
        output_per_mtok=_dec(info.get("output_cost_per_token", 0)) * MILLION,
        per_minute=_dec(info.get("input_cost_per_second", 0)) * 60,
        source="litellm",
    )


def priced_as(model: str) -> str | None:
    """The real model a fake ``local/adversary:<model>`` is priced as, or None for any other model."""
    if model.startswith(PRICED_FAKE_PREFIX):
        return model.removeprefix(PRICED_FAKE_PREFIX) or None
    return None


def price_for(model: str, overrides: dict[str, Price] | None = None) -> Price:
    """Price of ``model``: user overrides (edited in the UI) > deck table > LiteLLM map > unknown (0).

    ``local/adversary:<model>`` (a golden's priced fake model) costs what ``<model>`` costs in the data
    file (not the UI's edits, so a golden's hand arithmetic holds), under its own name and a label that
    says it is a fake priced as ``<model>``.
    """
    if overrides and model in overrides:
        return overrides[model]
    table = deck_prices()
    if model in table:
        return table[model]
    real = priced_as(model)
    if real is not None:
        price = price_for(real)
        return replace(price, model=model, label=f"local/adversary priced as {price.label} (fake)",
                       provider="local", id=None)
    if model.startswith(("local/", "ollama/", "ollama_chat/")):
        return Price(model, model, "local", Decimal(0), Decimal(0), source="local")
    found = litellm_price(model)
    if found is not None:
        return found
    return Price(model, model, "", Decimal(0), Decimal(0), source="unknown")


@dataclass(frozen=True)
class TrainingPrice:
    """A fine-tuning training price (per 1M training tokens), dated, with where it came from."""

    model: str
    label: str
    per_mtok: Decimal
    currency: str
    epochs: int
    as_of: str
    source: str

    def cost(self, tokens: int, epochs: int | None = None) -> Decimal:
        """The training cost of a dataset of ``tokens`` run for ``epochs`` (default: the price's)."""
        return Decimal(tokens) * (epochs or self.epochs) * self.per_mtok / MILLION


def training_prices(path: Path = PRICE_FILE) -> dict[str, TrainingPrice]:
    """The data file's ``finetuning:`` table, keyed by every name and alias."""
    table: dict[str, TrainingPrice] = {}
    for row in yamlfile.safe_load(path.read_text(encoding="utf-8")).get("finetuning") or []:
        price = TrainingPrice(model=row["model"], label=row.get("label", row["model"]),
                              per_mtok=_dec(row["training_per_mtok"]), currency=row.get("currency", "USD"),
                              epochs=int(row.get("epochs", 3)), as_of=str(row["as_of"]), source=str(row["source"]))
        for name in [row["model"], *row.get("aliases", [])]:
            table[name] = price
    return table
