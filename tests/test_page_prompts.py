"""Prompts page through AppTest from app.py: edit, token count, save a version, diff, write back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.core.prompts import DEFAULT_PACK_DIR


@pytest.fixture
def pack_dir(base_env, monkeypatch, tmp_path: Path) -> Path:
    folder = tmp_path / "packs" / "fgts"
    shutil.copytree(DEFAULT_PACK_DIR, folder)  # write-back must never touch the real pack
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    # English labels below (tests/test_i18n.py covers the Portuguese default).
    for key, value in {**base_env, "PACK_DIR": str(folder), "CONVERSA_UI_LANG": "en"}.items():
        monkeypatch.setenv(key, value)
    return folder


def open_prompts() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/prompts.py")
    return at.run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def tokens(at: AppTest) -> int:
    return int(next(m for m in at.metric if m.label == "Tokens").value.replace(",", ""))


def test_prompt_is_shown_with_variables_highlighted_and_a_preview(pack_dir) -> None:
    at = open_prompts()
    assert not at.exception
    assert at.radio(key="prompts_file_Prompts").value == "conversation_prompt"
    html = " ".join(h.proto.body for h in at.get("html"))
    assert '<span class="var-global">$agent_name</span>' in html
    assert '<span class="var">$customer_message</span>' in html
    preview = at.code[0].value
    assert preview.startswith("Você é Clara, assistente virtual do Banco Conversa")
    assert "$customer_message" not in preview
    assert tokens(at) > 100


def test_edit_save_diff_and_write_back(pack_dir) -> None:
    at = open_prompts()
    path = pack_dir / "conversation_prompt.txt"
    original = path.read_text(encoding="utf-8")
    before = tokens(at)
    at.text_area[0].set_value(original + "\nResponda em no máximo $max_words palavras.\n").run()
    assert not at.exception
    assert tokens(at) > before
    assert any("differs from the file on disk" in w.value for w in at.warning)
    assert '<span class="var-missing">$max_words</span>' in " ".join(h.proto.body for h in at.get("html"))

    at.text_input(key="note::editor::fgts::conversation_prompt").set_value("word limit")
    button(at, "Save version").click().run()
    assert not at.exception
    assert path.read_text(encoding="utf-8") == original  # saving does not touch the file
    history = at.dataframe[0].value
    assert list(history["note"]) == ["word limit", "file on disk"]
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "+Responda em no máximo $max_words palavras." in diff

    button(at, "Write to file").click().run()
    assert not at.exception
    assert "$max_words" in path.read_text(encoding="utf-8")
    assert button(at, "Write to file").disabled  # editor == file now


def test_message_codes_and_revert(pack_dir) -> None:
    at = open_prompts()
    at.segmented_control(key="prompts_kind").set_value("Message codes").run()
    assert at.radio(key="prompts_file_Message codes").value == "message_code_0"
    at.text_area[0].set_value("outro texto").run()
    button(at, "Revert editor to file").click().run()
    assert at.text_area[0].value == (pack_dir / "message_code_0.txt").read_text(encoding="utf-8")
