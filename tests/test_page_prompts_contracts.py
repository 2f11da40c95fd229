"""Prompts page × pack contracts (pack.yaml ``contracts:``): an edit that deletes a contracted sentence is
refused on save and on write-back, with the file and the missing sentence; nothing is written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.core.prompts import DEFAULT_PACK_DIR

GROUNDING = ("- Use somente os fatos abaixo: o resultado da consulta, os documentos recuperados e o que o cliente "
             "disse. Se algo não estiver aqui, diga que não sabe e ofereça um atendente.\n")


@pytest.fixture
def pack_dir(base_env, monkeypatch, tmp_path: Path) -> Path:
    folder = tmp_path / "packs" / "fgts"
    shutil.copytree(DEFAULT_PACK_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    for key, value in {**base_env, "PACK_DIR": str(folder), "CONVERSA_UI_LANG": "en"}.items():
        monkeypatch.setenv(key, value)
    return folder


def button(at: AppTest, label: str):  # noqa: ANN201
    return next(b for b in at.button if b.label == label)


def test_deleting_the_grounding_sentence_is_refused_and_nothing_is_written(pack_dir: Path) -> None:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/prompts.py")
    at.run()
    assert not at.exception
    assert any(e.label.startswith("Contract of this file: 14 rules") for e in at.expander)
    path = pack_dir / "conversation_prompt.txt"
    original = path.read_text(encoding="utf-8")
    assert GROUNDING in original
    at.text_area[0].set_value(original.replace(GROUNDING, "")).run()
    assert not at.exception
    # Said before any save: the edit breaks the contract.
    assert any("This edit breaks the pack's contract" in w.value for w in at.warning)

    button(at, "Save version").click().run()
    assert not at.exception
    (refusal,) = [e.value for e in at.error if e.value.startswith("Not saved")]
    assert "`conversation_prompt.txt` must contain “Use somente os fatos abaixo" in refusal
    assert "(contract at `pack.yaml:" in refusal
    assert not any("Saved version" in t.value for t in at.toast)
    assert path.read_text(encoding="utf-8") == original
    assert "No saved versions yet" in " ".join(i.value for i in at.info)  # no version stored either

    button(at, "Write to file").click().run()
    assert not at.exception
    assert any(e.value.startswith("Not saved") for e in at.error)
    assert path.read_text(encoding="utf-8") == original  # the existing content stays

    # An edit that keeps the contract saves as before.
    at.text_area[0].set_value(original + "Seja breve.\n").run()
    assert not any("breaks the pack's contract" in w.value for w in at.warning)
    button(at, "Write to file").click().run()
    assert not at.exception
    assert path.read_text(encoding="utf-8").endswith("Seja breve.\n")


def test_a_pack_broken_on_disk_says_why_and_can_be_fixed_from_the_page(pack_dir: Path) -> None:
    from agent.core.pack import get_pack

    path = pack_dir / "conversation_prompt.txt"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace(GROUNDING, ""), encoding="utf-8")  # edited by hand, outside the app
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/prompts.py")
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error if e.value.startswith("The agent cannot load this pack")]
    assert "break the pack's contracts" in error and "conversation_prompt.txt" in error
    assert any(w.value.startswith("The file on disk breaks the pack's contract") for w in at.warning)
    at.text_area[0].set_value(original).run()
    button(at, "Write to file").click().run()
    assert not at.exception
    assert path.read_text(encoding="utf-8") == original
    assert not any(e.value.startswith("The agent cannot load") for e in at.error)
    assert get_pack(pack_dir).contracts


def test_the_chat_page_says_why_a_pack_does_not_load(pack_dir: Path) -> None:
    path = pack_dir / "conversation_prompt.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(GROUNDING, ""), encoding="utf-8")
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error if e.value.startswith("The pack fgts does not load")]
    assert "conversation_prompt.txt: must contain 'Use somente os fatos abaixo" in error
    assert "pack.yaml:" in error
