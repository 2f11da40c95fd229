"""Offline-safe start-up. Import this before litellm, anywhere.

Two things make LiteLLM reach the network on import or first use: it fetches a remote price map
(and hangs up to 5 s on a dead network), and tiktoken downloads its BPE files. LiteLLM ships both
the price map and the BPE files, so we point at those copies. A value the user set wins.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def litellm_tokenizer_dir() -> Path | None:
    """Folder of the tiktoken BPE files bundled inside the installed litellm package."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return folder if folder.is_dir() else None


def configure() -> None:
    """Set the environment so litellm and tiktoken never fetch anything at run time."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # LiteLLM otherwise phones home for telemetry-like features on some paths.
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        folder = litellm_tokenizer_dir()
        if folder is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


configure()
