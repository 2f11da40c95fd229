"""With no network at all, the gateway, token counting and local/rules still work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import os, socket, tempfile
    # Prove the namespace really has no network before testing anything.
    try:
        socket.create_connection(("1.1.1.1", 443), timeout=2)
        raise SystemExit("network is reachable: the test would prove nothing")
    except OSError:
        pass
    from agent.config import load_settings
    from agent.adapters.gateway import Gateway, encoding_tokens
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert "litellm" in os.environ["TIKTOKEN_CACHE_DIR"]
    print("o200k", encoding_tokens("Quero antecipar o saque-aniversário", "o200k_base"))
    print("cl100k", encoding_tokens("Quero antecipar o saque-aniversário", "cl100k_base"))
    env = {"CONVERSA_DATA_DIR": tempfile.mkdtemp(), "PATH": os.environ.get("PATH", "")}
    gw = Gateway(load_settings(env=env, dotenv_path=None))
    c = gw.complete("conversation", "Conversa", [{"role": "user", "content": "oi"}], chat_id=1)
    print("reply", c.text[:40], c.usage.input_tokens, gw.store.cost_count())
    import litellm
    print("gpt-4o-price", litellm.model_cost["gpt-4o"]["input_cost_per_token"])
    """
)


def _can_unshare() -> str | None:
    if not shutil.which("unshare"):
        return "unshare is not installed"
    if os.geteuid() != 0:
        return "unshare -n needs root"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.decode().strip()}"
    return None


@pytest.mark.skipif(_can_unshare() is not None, reason=str(_can_unshare()))
def test_everything_works_without_network() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"TIKTOKEN_CACHE_DIR", "LITELLM_LOCAL_MODEL_COST_MAP"}}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert int(out["o200k"]) > 3 and int(out["cl100k"]) > 3
    assert out["reply"].endswith(" 1")  # one ledger row written
