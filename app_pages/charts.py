"""Charts the pages draw with Altair (Vega-Lite, rendered by Streamlit itself; not a page).

Streamlit renders ``st.html`` in a sanitised element where an inline SVG chart comes out blank, so
the pages draw with ``st.altair_chart``; the downloadable HTML report keeps its own SVG
(``evals.report.pareto_svg``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from agent.i18n import format_percent, translate
from evals import cheapest_passing, pareto_front

# Vega's number formats in the interface language (1.234,56 in pt-BR): the axes and tooltips.
VEGA_LOCALES: dict[str, dict[str, Any]] = {
    "pt": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["R$ ", ""], "percent": "%"},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""], "percent": "%"},
}
BEST, FRONT, OTHER = "#27ae60", "#2e86de", "#95a5a6"
BAR = "#c0392b"


def pareto_chart(rows: Sequence[Mapping[str, Any]], *, bar: float = 1.0, lang: str = "pt") -> alt.LayerChart:
    """Cost per conversation (x) vs pass rate (y), one point per configuration: the Pareto front in blue
    and joined by a line, the cheapest configuration reaching ``bar`` in green, the bar dashed in red."""

    def tr(text: str, **fields: Any) -> str:
        return translate(text, lang, **fields)

    front = set(pareto_front(rows))
    best = cheapest_passing(rows, bar)
    cost, rate = tr("cost per conversation (USD)"), tr("pass rate")
    config = tr("configuration")
    data = pd.DataFrame([{
        config: str(r["config"]),
        "label": str(r["config"])[:60],
        cost: float(r["cost_per_conversation"]),
        rate: float(r["pass_rate"]),
        "kind": ("best" if best is not None and r["config"] == best["config"]
                 else "front" if r["config"] in front else "other"),
        "front": r["config"] in front,
    } for r in rows], columns=[config, "label", cost, rate, "kind", "front"])
    # Room on the right and above the points for their labels; free runs (all at 0) sit on the left edge.
    top = max((float(r["cost_per_conversation"]) for r in rows), default=0.0) * 1.25 or 0.001
    x = alt.X(f"{cost}:Q", title=cost, scale=alt.Scale(domain=[0, top], nice=False),
              axis=alt.Axis(format=",.5~f", tickCount=5))
    y = alt.Y(f"{rate}:Q", title=rate, scale=alt.Scale(domain=[0, 1.1], nice=False),
              axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    # The colours are explained by the caption above the chart (no legend: no more words to translate).
    color = alt.Color("kind:N", legend=None, scale=alt.Scale(domain=["best", "front", "other"],
                                                             range=[BEST, FRONT, OTHER]))
    base = alt.Chart(data)
    line = base.transform_filter(alt.datum.front).mark_line(color=FRONT, strokeWidth=2).encode(
        x=x, y=y, order=alt.Order(f"{cost}:Q"))
    points = base.mark_circle(opacity=1).encode(
        x=x, y=y, color=color,
        size=alt.condition(alt.datum.kind == "best", alt.value(160), alt.value(80)),
        tooltip=[alt.Tooltip(f"{config}:N"), alt.Tooltip(f"{rate}:Q", format=".0%"),
                 alt.Tooltip(f"{cost}:Q", format=",.6f")])
    labels = base.mark_text(align="left", dx=8, dy=-8, fontSize=11).encode(x=x, y=y, text="label:N")
    threshold = pd.DataFrame([{"bar": bar, "text": tr("bar {value}", value=format_percent(bar, lang))}])
    rule = alt.Chart(threshold).mark_rule(color=BAR, strokeDash=[4, 4]).encode(y=alt.Y("bar:Q"))
    rule_text = alt.Chart(threshold).mark_text(color=BAR, align="right", x="width", dx=-2, dy=-7,
                                               fontSize=10).encode(y=alt.Y("bar:Q"), text="text:N")
    return (alt.layer(line, rule, rule_text, points, labels)
            .properties(height=360)
            .configure(locale={"number": VEGA_LOCALES.get(lang, VEGA_LOCALES["en"])}))
