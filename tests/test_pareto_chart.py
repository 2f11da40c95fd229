"""The Evals page's Pareto plot (issue 12: it was blank — an SVG through st.html): an Altair chart
Streamlit renders itself; the HTML report keeps its SVG."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from app_pages.charts import BAR, BEST, FRONT, OTHER, pareto_chart
from evals import pareto_svg
from tests.page_helpers import run_evals

ROWS = [
    {"config": "free", "cost_per_conversation": 0.0, "pass_rate": 0.8, "p95_turn_ms": 10.0},
    {"config": "cheap", "cost_per_conversation": 0.0004, "pass_rate": 0.95, "p95_turn_ms": 900.0},
    {"config": "best", "cost_per_conversation": 0.0021, "pass_rate": 1.0, "p95_turn_ms": 1500.0},
    {"config": "worse", "cost_per_conversation": 0.003, "pass_rate": 0.9, "p95_turn_ms": 2000.0},
]


def spec_and_rows(chart: object) -> tuple[dict, list[dict]]:
    spec = chart.to_dict()  # type: ignore[attr-defined]
    rows = next(v for v in spec["datasets"].values() if v and "kind" in v[0])
    return spec, rows


def test_points_front_and_bar() -> None:
    spec, rows = spec_and_rows(pareto_chart(ROWS, bar=0.95, lang="en"))
    kinds = {r["configuration"]: r["kind"] for r in rows}
    # "cheap" reaches the 95 % bar at the lowest cost; "worse" is dominated by "best".
    assert kinds == {"free": "front", "cheap": "best", "best": "front", "worse": "other"}
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "rule", "text", "circle", "text"]
    colour = spec["layer"][3]["encoding"]["color"]["scale"]
    assert colour == {"domain": ["best", "front", "other"], "range": [BEST, FRONT, OTHER]}
    assert spec["layer"][1]["mark"]["color"] == BAR
    assert spec["layer"][0]["transform"] == [{"filter": "datum.front"}]  # the line joins the front only
    threshold = next(v for v in spec["datasets"].values() if v and "bar" in v[0])
    assert threshold == [{"bar": 0.95, "text": "bar 95%"}]
    assert spec["layer"][3]["encoding"]["y"]["axis"]["values"][-1] == 1.0  # 100 % at most (room above for labels)


def test_axes_and_numbers_in_the_interface_language() -> None:
    spec, rows = spec_and_rows(pareto_chart(ROWS, bar=1.0, lang="pt"))
    assert "taxa de aprovação" in rows[0] and "custo por conversa (USD)" in rows[0]
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec_and_rows(pareto_chart(ROWS, lang="en"))[0]["config"]["locale"]["number"]["decimal"] == "."


def test_no_rows_is_an_empty_chart_not_an_error() -> None:
    spec = pareto_chart([], lang="pt").to_dict()
    assert len(spec["layer"]) == 5


def test_the_html_report_keeps_its_svg() -> None:
    assert pareto_svg(ROWS, bar=0.95).startswith("<svg")


def test_evals_page_draws_the_pareto_plot_as_a_chart(app_env) -> None:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/evals.py")
    at.run()
    at.multiselect(key="evals_ids").set_value(["smalltalk_robot"]).run()
    run_evals(at)
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert [layer["mark"]["type"] for layer in spec["layer"]][3] == "circle"
    assert b"decision=local/rules" in charts[0].proto.datasets[0].data.data  # the run's configuration
    assert not any("<svg" in (h.proto.body or "") for h in at.get("html"))
