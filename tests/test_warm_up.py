"""The warm-up a browser tab waits for: one engine key whatever the process environment picked up
since, and a warm-up that starts again when its engine is gone (issue 12: a second tab or a reload
stayed on "Warming up the agent…" forever)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.config import PROCESS_ENV, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

# In a fresh interpreter: this test process imported agent.adapters.offline long ago (conftest).
BEFORE_AND_AFTER = textwrap.dedent(
    """
    import os, sys
    from agent.config import load_settings
    assert "agent.adapters.offline" not in sys.modules and "TIKTOKEN_CACHE_DIR" not in os.environ
    before = load_settings(dotenv_path=None)
    import agent.adapters.offline  # what the warm-up imports first: sets LITELLM_* and TIKTOKEN_CACHE_DIR
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True" and os.environ.get("TIKTOKEN_CACHE_DIR")
    after = load_settings(dotenv_path=None)
    print(before.engine_key() == after.engine_key(), dict(before.env) == dict(after.env), before == after)
    """
)


def test_engine_key_is_the_same_before_and_after_importing_agent_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROCESS_ENV and not k.endswith("_API_KEY")}
    env.update(PYTHONPATH=str(ROOT), CONVERSA_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", BEFORE_AND_AFTER], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", "True"]


def test_the_process_own_variables_are_never_settings(base_env: dict[str, str]) -> None:
    noisy = {**base_env, "LITELLM_TELEMETRY": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
             "TIKTOKEN_CACHE_DIR": "/somewhere/tokenizers"}
    quiet = {k: v for k, v in base_env.items() if k not in PROCESS_ENV}
    a, b = load_settings(env=noisy, dotenv_path=None), load_settings(env=quiet, dotenv_path=None)
    assert not PROCESS_ENV & set(a.env)
    assert a.engine_key() == b.engine_key() and a == b


def test_offline_sets_only_the_variables_settings_ignore(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.adapters import offline

    for name in PROCESS_ENV:
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    offline.configure()
    changed = {k for k, v in os.environ.items() if before.get(k) != v}
    assert changed and changed <= PROCESS_ENV


def test_credentials_and_endpoints_still_change_the_engine_key(base_env: dict[str, str]) -> None:
    plain = load_settings(env=base_env, dotenv_path=None)
    other = load_settings(env={**base_env, "FGTS_API_URL": "http://127.0.0.1:9/api"}, dotenv_path=None)
    keyed = load_settings(env={**base_env, "GROQ_API_KEY": "x"}, dotenv_path=None)
    assert len({plain.engine_key(), other.engine_key(), keyed.engine_key()}) == 3
    # Models and temperatures are per call: the same engine serves them.
    assert plain.with_role("conversation", temperature=1.1).engine_key() == plain.engine_key()


@pytest.fixture
def fresh_engines(settings: Settings):
    from agent.core import session

    session.ENGINES.clear()
    session._WARM_FAILED.clear()
    yield settings
    session.ENGINES.clear()
    session._WARM_FAILED.clear()


def test_warm_up_is_idempotent_and_starts_again_when_the_engine_is_dropped(fresh_engines: Settings) -> None:
    from agent.core import session

    settings = fresh_engines
    first = session.warm_up(settings, delay_s=0.3)
    assert session.warm_up(settings) is first  # a second tab during the warm-up waits for the same one
    first.join(timeout=60)
    assert session.is_warm(settings)
    # Another session whose environment picked up the process's own variables finds the same engine.
    twin = load_settings(env={**dict(settings.env), "TIKTOKEN_CACHE_DIR": "/x", "LITELLM_TELEMETRY": "False"},
                         dotenv_path=None)
    assert session.is_warm(twin)
    done = session.warm_up(twin)
    done.join(timeout=1)
    assert not done.is_alive() and done is not first
    session.ENGINES.clear()  # dropped (LRU eviction, a pack reload…): the next call builds it again
    assert not session.is_warm(settings)
    session.warm_up(settings).join(timeout=60)
    assert session.is_warm(settings)


def test_a_failed_warm_up_says_why_and_is_retried_later(fresh_engines: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.core import session

    settings = fresh_engines
    calls: list[int] = []

    def broken(settings: Settings, store: object) -> object:
        calls.append(1)
        raise RuntimeError("index file is corrupt")

    monkeypatch.setattr(session.ENGINES, "get", broken)
    monkeypatch.setattr("threading.excepthook", lambda args: None)  # the failure is expected here
    session.warm_up(settings).join(timeout=10)
    assert session.warm_up_error(settings) == "RuntimeError: index file is corrupt"
    session.warm_up(settings).join(timeout=10)
    assert len(calls) == 1  # not retried at once (every script run asks)
    monkeypatch.undo()  # the cause is fixed…
    monkeypatch.setattr(session, "WARM_RETRY_AFTER_S", 0.0)  # …and the retry delay has passed
    session.warm_up(settings).join(timeout=60)
    assert session.is_warm(settings) and session.warm_up_error(settings) is None


def test_warm_up_loads_what_a_first_turn_would(fresh_engines: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.adapters.providers import local
    from agent.brain import nlu
    from agent.core import session

    order: list[str] = []
    real_get = session.ENGINES.get
    monkeypatch.setattr(local, "preload", lambda: order.append("tokenizer"))
    monkeypatch.setattr(nlu, "load_classifier", lambda pack_dir=None: order.append("classifier"))
    monkeypatch.setattr(nlu, "load_intents", lambda pack_dir=None: order.append("intents") or {})
    monkeypatch.setattr(session.ENGINES, "get", lambda s, store: order.append("engine") or real_get(s, store))
    session.warm_up(fresh_engines).join(timeout=60)
    # All before the engine: once it is in the cache the page says "ready".
    assert order == ["intents", "tokenizer", "classifier", "engine"]


def test_intents_are_parsed_once_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent import yamlfile
    from agent.brain import nlu

    (tmp_path / "intents.yaml").write_text("intents:\n  oi: {description: saudação, examples: [oi, olá]}\n")
    parses: list[int] = []
    real = yamlfile.safe_load
    monkeypatch.setattr(yamlfile, "safe_load", lambda text: parses.append(1) or real(text))
    first = nlu.load_intents(tmp_path)
    first["oi"]["examples"].append("mutated by a caller")
    assert nlu.load_intents(tmp_path) == {"oi": {"description": "saudação", "examples": ["oi", "olá"]}}
    assert len(parses) == 1
    (tmp_path / "intents.yaml").write_text("intents:\n  tchau: {description: despedida, examples: [tchau]}\n")
    assert list(nlu.load_intents(tmp_path)) == ["tchau"] and len(parses) == 2


@pytest.mark.parametrize(("conversation", "loads_litellm"), [("local/rules", False), ("openai/gpt-4o-mini", True)])
def test_litellm_loads_only_for_a_providers_model(tmp_path: Path, conversation: str, loads_litellm: bool) -> None:
    """local/* models are answered in process: an offline warm-up and its turns never import LiteLLM (≈ 3 s of
    CPU per process: the app's "Agent ready", each eval worker's start-up); a provider's model loads it during
    the warm-up, not during the first answer."""
    script = textwrap.dedent(f"""
        import sys
        import agent
        from agent.config import load_settings
        settings = load_settings(env={{"CONVERSA_DATA_DIR": {str(tmp_path)!r}, "BURST_MODE": "false",
                                      "CONVERSATION_MODEL": {conversation!r}}}, dotenv_path=None)
        assert [r for r, c in settings.roles.items() if not c.is_local] == ([] if {not loads_litellm} else
                                                                             ["conversation"]), settings.roles
        agent.warm_up(settings).join()
        warm = "litellm" in sys.modules
        if not warm:
            from agent.core.session import AgentSession
            session = AgentSession.new(settings.with_changes(burst_mode=False))
            reply = session.send("oi").replies[0].text
            assert "Clara" in reply, reply
        print(warm, "litellm" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(loads_litellm)] * 2
