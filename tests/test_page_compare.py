"""Compare page through AppTest from app.py: one script, several configurations, aligned turns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.analytics.prompt_versions import PromptVersions
from agent.core.prompts import DEFAULT_PACK_DIR
from agent.adapters.store import Store


@pytest.fixture
def compare_env(app_env, monkeypatch, tmp_path: Path):
    """The app's environment with a private copy of the pack (the page writes prompt versions)."""
    folder = tmp_path / "packs" / "fgts"
    shutil.copytree(DEFAULT_PACK_DIR, folder)
    monkeypatch.setenv("PACK_DIR", str(folder))
    return {**app_env, "PACK_DIR": str(folder)}


def open_compare() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("app_pages/compare.py")
    return at.run()


def run_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Run the script"))


def test_script_runs_on_each_configuration_turn_by_turn(compare_env) -> None:
    at = open_compare()
    assert not at.exception
    at.text_area(key="compare_script").set_value("oi || tudo bem?\nsim, aceito")
    at.segmented_control(key="compare_count").set_value(3).run()
    run_button(at).click().run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert list(summary["configuration"]) == ["Config A", "Config B", "Config C"]
    assert list(summary["final step"]) == ["collect_data"] * 3
    assert summary["chat"].str.startswith("#").all()  # each run is a real, reloadable conversation
    turn_boxes = [m for m in at.markdown if m.value.startswith("**Turn ")]
    assert [m.value.split("**")[1] for m in turn_boxes] == ["Turn 1", "Turn 2"]
    assert "“oi” · “tudo bem?”" in turn_boxes[0].value  # the burst is one turn
    per_turn = [c.value for c in at.caption if " ms · " in c.value]
    assert len(per_turn) == 6 and all("greeting → **optin**" in c for c in per_turn[:3])


def test_a_saved_prompt_version_changes_only_its_configuration(compare_env) -> None:
    pack = Path(compare_env["PACK_DIR"])
    settings_url = f"sqlite:///{Path(compare_env['CONVERSA_DATA_DIR']) / 'conversa.db'}"
    original = (pack / "message_code_10.txt").read_text(encoding="utf-8")
    PromptVersions(Store.open(settings_url)).save("fgts", "message_code_10", "Oi! Versão B da boas-vindas. $agent_name",
                                                  note="shorter welcome")
    at = open_compare()
    label = next(o for o in at.selectbox(key="compare_prompt_1").options if "message_code_10" in o)
    at.selectbox(key="compare_prompt_1").set_value(label)
    at.text_area(key="compare_script").set_value("oi").run()
    run_button(at).click().run()
    assert not at.exception
    replies = [m.markdown[0].value for m in at.chat_message if m.markdown]
    assert "Versão B" not in replies[0] and "Versão B da boas-vindas" in replies[1]
    assert (pack / "message_code_10.txt").read_text(encoding="utf-8") == original  # the live file is untouched
