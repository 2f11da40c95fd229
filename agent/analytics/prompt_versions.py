"""Prompt versions: every saved edit of a pack's prompt file is a row (content hash, note, time).

The files in ``prompts/<pack>/`` stay the source the agent reads; a version becomes live only when
it is written back. ``current_versions(pack)`` gives ``{file: hash}`` of what is live now, so a
trace or an eval run can record exactly which prompt text produced it.
"""

from __future__ import annotations

import difflib
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from agent.core.prompts import _Template, load_pack, placeholders
from agent.adapters.schema import prompt_versions, utcnow
from agent.adapters.store import Store, inserted_id


def text_hash(text: str) -> str:
    """Short sha256 of a prompt's text — the same hash :mod:`agent.core.prompts` gives a file."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def current_versions(pack: str | Path | None = None) -> dict[str, str]:
    """``{prompt name: hash}`` of the files live on disk now (record it with traces and eval runs)."""
    return load_pack(pack).versions()


def file_name(name: str) -> str:
    """``conversation_prompt`` → ``conversation_prompt.txt``."""
    return name if name.endswith(".txt") else f"{name}.txt"


class PromptVersions:
    """Saved versions of one store's prompt files."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def save(self, pack: str, name: str, content: str, note: str = "", author: str = "") -> dict[str, Any]:
        """Store ``content`` as a new version; returns it. Saving the newest text again adds nothing."""
        fname = file_name(name)
        digest = text_hash(content)
        latest = self.latest(pack, fname)
        if latest is not None and latest["content_hash"] == digest:
            return latest
        with self.store.begin() as conn:
            new_id = inserted_id(conn.execute(insert(prompt_versions).values(
                pack=pack, file_name=fname, content_hash=digest, content=content, note=note,
                author=author, created_at=utcnow(),
            )))
        found = self.get(new_id)
        assert found is not None
        return found

    def ensure_file_version(self, pack: str, pack_dir: str | Path, name: str) -> dict[str, Any]:
        """The file on disk as a version (added once, so every edit can be diffed against it)."""
        fname = file_name(name)
        content = (Path(pack_dir) / fname).read_text(encoding="utf-8")
        found = self.by_hash(pack, fname, text_hash(content))
        return found or self.save(pack, fname, content, note="file on disk")

    def history(self, pack: str, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Versions of one file, newest first."""
        query = (select(prompt_versions)
                 .where(prompt_versions.c.pack == pack, prompt_versions.c.file_name == file_name(name))
                 .order_by(prompt_versions.c.id_prompt_version.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def latest(self, pack: str, name: str) -> dict[str, Any] | None:
        rows = self.history(pack, name, limit=1)
        return rows[0] if rows else None

    def get(self, version_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(prompt_versions).where(prompt_versions.c.id_prompt_version == version_id)).first()
        return dict(row._mapping) if row else None

    def by_hash(self, pack: str, name: str, digest: str) -> dict[str, Any] | None:
        """The first version of a file with this content hash (what a trace's hash points to)."""
        query = (select(prompt_versions)
                 .where(prompt_versions.c.pack == pack, prompt_versions.c.file_name == file_name(name),
                        prompt_versions.c.content_hash == digest)
                 .order_by(prompt_versions.c.id_prompt_version).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def edited_files(self, pack: str) -> dict[str, int]:
        """``{file name: number of versions}`` for the files of a pack that have versions."""
        from sqlalchemy import func

        query = (select(prompt_versions.c.file_name, func.count())
                 .where(prompt_versions.c.pack == pack).group_by(prompt_versions.c.file_name))
        with self.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query)}

    def write_back(self, pack: str, pack_dir: str | Path, name: str, content: str, note: str = "") -> Path:
        """Write ``content`` to the pack file (the agent uses it from the next turn), keeping both versions."""
        path = Path(pack_dir) / file_name(name)
        if path.exists():
            self.ensure_file_version(pack, pack_dir, name)
        self.save(pack, name, content, note=note or "written to file")
        # Write then rename, so the agent never reads a half-written prompt.
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        return path


def pack_variant(pack_dir: str | Path, overrides: dict[str, str], root: str | Path | None = None) -> Path:
    """A copy of the pack with some files replaced (e.g. a saved version), to run side by side.

    Returns ``pack_dir`` itself when there is nothing to override. Copies are keyed by content,
    so running the same variant twice reuses its folder.
    """
    source = Path(pack_dir)
    if not overrides:
        return source
    digest = text_hash("\n".join(f"{file_name(k)}:{text_hash(v)}" for k, v in sorted(overrides.items())))
    base = Path(root) if root else Path(tempfile.gettempdir()) / "conversa-packs"
    target = base / f"{source.name}-{digest}"
    if not target.exists():
        staging = base / f".{target.name}-{uuid.uuid4().hex[:6]}"
        shutil.copytree(source, staging)
        for name, content in overrides.items():
            (staging / file_name(name)).write_text(content, encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another run made it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


# ---------------------------------------------------------------- helpers for the editor


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    import agent.adapters.offline  # noqa: F401  (points tiktoken at the BPE files bundled with litellm)
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens_offline(text: str, encoding: str = "o200k_base") -> int:
    """Tokens of ``text`` with a tiktoken encoding (o200k_base: GPT-4o family), without litellm."""
    return len(_encoding(encoding).encode(text))


def render_text(text: str, values: dict[str, Any]) -> tuple[str, list[str]]:
    """Render unsaved prompt text; missing variables stay as ``$var`` and are listed."""
    missing = [v for v in placeholders(text) if v not in values]
    return _Template(text).safe_substitute({k: "" if v is None else str(v) for k, v in values.items()}), missing


def diff_lines(old: str, new: str, old_name: str = "before", new_name: str = "after") -> str:
    """Unified diff of two prompt texts (empty when equal)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_name, tofile=new_name))




def sample_values(variables: tuple[str, ...] | list[str], samples: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A value for each variable: the pack's plausible sample (pack.yaml ``samples:``; default: the default
    pack's), or ``<name>``."""
    if samples is None:
        from agent.core.pack import get_pack

        samples = get_pack().samples
    return {v: str(samples[v]) if v in samples else f"<{v}>" for v in variables}


__all__ = [
    "PromptVersions", "text_hash", "count_tokens_offline", "current_versions", "diff_lines", "file_name",
    "pack_variant", "prompt_versions", "render_text", "sample_values",
]
