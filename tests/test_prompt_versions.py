"""Prompt versions (agent/prompt_versions.py): save, dedupe, diff, write back, current hashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.analytics.prompt_versions import (
    PromptVersions,
    count_tokens_offline,
    current_versions,
    diff_lines,
    render_text,
    sample_values,
    text_hash,
)
from agent.core.prompts import DEFAULT_PACK_DIR, load_pack
from agent.adapters.store import Store


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "packs" / "fgts"
    shutil.copytree(DEFAULT_PACK_DIR, folder)
    return folder


@pytest.fixture
def versions(database_url: str) -> PromptVersions:
    return PromptVersions(Store(database_url))


def test_save_dedupes_and_keeps_history(versions: PromptVersions) -> None:
    first = versions.save("fgts", "conversation_prompt", "Olá $name", note="v1")
    again = versions.save("fgts", "conversation_prompt.txt", "Olá $name", note="same text")
    assert again["id_prompt_version"] == first["id_prompt_version"]
    second = versions.save("fgts", "conversation_prompt", "Oi, $name!", note="v2")
    assert [h["note"] for h in versions.history("fgts", "conversation_prompt")] == ["v2", "v1"]
    assert versions.by_hash("fgts", "conversation_prompt", text_hash("Olá $name"))["note"] == "v1"
    assert versions.get(second["id_prompt_version"])["content"] == "Oi, $name!"
    assert versions.edited_files("fgts") == {"conversation_prompt.txt": 2}


def test_write_back_changes_the_live_file_and_its_hash(versions: PromptVersions, pack_dir: Path) -> None:
    before = current_versions(pack_dir)["conversation_prompt"]
    original = (pack_dir / "conversation_prompt.txt").read_text(encoding="utf-8")
    edited = original + "\nSeja breve.\n"
    versions.write_back("fgts", pack_dir, "conversation_prompt", edited, note="shorter replies")
    assert (pack_dir / "conversation_prompt.txt").read_text(encoding="utf-8") == edited
    after = current_versions(pack_dir)["conversation_prompt"]
    assert after == text_hash(edited) != before
    assert load_pack(pack_dir).get("conversation_prompt").sha == after  # same hash as agent.core.prompts
    notes = [h["note"] for h in versions.history("fgts", "conversation_prompt")]
    assert notes == ["shorter replies", "file on disk"]  # the original is kept and can be restored
    assert versions.by_hash("fgts", "conversation_prompt", before)["content"] == original


def test_editor_helpers() -> None:
    rendered, missing = render_text("Oi $name, $falta", {"name": "Maria"})
    assert (rendered, missing) == ("Oi Maria, $falta", ["falta"])
    patch = diff_lines("a\nb\n", "a\nc\n", "v1", "v2")
    assert "-b" in patch and "+c" in patch and diff_lines("x", "x") == ""
    assert count_tokens_offline("Olá, tudo bem?") > 0
    assert sample_values(["first_name", "whatever"]) == {"first_name": "Maria", "whatever": "<whatever>"}
