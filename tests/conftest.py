"""Shared fixtures: every test gets its own data folder and settings; no test touches ./data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import agent.adapters.offline  # noqa: F401  (before litellm anywhere)
from agent.config import Settings, load_settings

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")

# Whisper (CTranslate2, GNU OpenMP) threads that wait for work sleep instead of spinning: two pytest-xdist
# workers, each with os.cpu_count() decoder threads, share the cores with each other and with the processes the
# tests start (which inherit this). Same transcripts; saque.ogg twice at load 6-8: 10.6-11.8 → 4.4 CPU s.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _scan_components_once() -> None:
    """Each AppTest's first run scans every installed distribution's metadata for Streamlit v2 components
    (``streamlit.components.v2.manifest_scanner``: ~0.3–2 s, ~60 page tests); the installed packages do not
    change during a test session, so the scan runs once per process."""
    import functools

    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    if getattr(scan, "cache_info", None) is None:
        manifest_scanner.scan_component_manifests = functools.cache(scan)  # type: ignore[assignment]


_scan_components_once()

# The tests of the speech engine itself transcribe for real every time (tests/test_media_audio.py memoises per
# fixture on its own terms).
ENGINE_TEST_MODULES = {"test_media_audio"}
_transcripts: dict[tuple[object, ...], object] = {}
_shared_transcripts: list[Path] = []  # under pytest-xdist: a folder of this run that every worker reads and writes


def _transcribe_each_voice_note_once() -> Callable[..., object]:
    """``media.transcribe_local`` remembered: the same audio with the same arguments and model is decoded once
    per test run (once per process, shared between pytest-xdist workers through a pickle in the run's temporary
    folder), then handed out again — Whisper base on CPU takes 5–40 s per fixture clip, the slowest step of the
    suite, and its transcript is deterministic (agent/adapters/media.py). Errors are never remembered, and a test
    that swaps a piece of the engine (model, decoder, probe) gets the real call."""
    import hashlib
    import inspect
    import pickle

    from agent.adapters import media, whisper_model

    real = media.transcribe_local
    signature = inspect.signature(real)
    pieces = [(whisper_model, "resolve_model_dir"), (whisper_model, "load_model"), (media, "_decode"),
              (media, "_decode_speech"), (media, "probe_audio_seconds")]
    originals = [getattr(module, name) for module, name in pieces]

    def transcribe_local(*args: object, **kwargs: object) -> object:
        if [getattr(module, name) for module, name in pieces] != originals:
            return real(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        data = arguments.pop("data")
        if not isinstance(data, bytes | bytearray):
            return real(*args, **kwargs)
        key = (hashlib.sha256(data).hexdigest(), tuple(sorted(arguments.items())),
               tuple(os.environ.get(k) for k in ("WHISPER_MODEL_DIR", "WHISPER_COMPUTE_TYPE", "WHISPER_CACHE_DIR")))
        if key not in _transcripts:
            shared = _shared_transcripts[0] / f"{hashlib.sha256(repr(key).encode()).hexdigest()}.pickle" \
                if _shared_transcripts else None
            if shared is not None and shared.is_file():
                _transcripts[key] = pickle.loads(shared.read_bytes())
            else:
                _transcripts[key] = real(*args, **kwargs)
                if shared is not None:  # written whole, then renamed: a worker reads it complete or not at all
                    partial = shared.with_suffix(f".{os.getpid()}")
                    partial.write_bytes(pickle.dumps(_transcripts[key]))
                    partial.replace(shared)
        return _transcripts[key]

    return transcribe_local


_remembered_transcribe = _transcribe_each_voice_note_once()


@pytest.fixture(scope="session", autouse=True)
def _transcripts_shared(tmp_path_factory: pytest.TempPathFactory) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") and not _shared_transcripts:
        folder = tmp_path_factory.getbasetemp().parent / "transcripts"  # the run's folder, above popen-gw<n>
        folder.mkdir(exist_ok=True)
        _shared_transcripts.append(folder)


@pytest.fixture(autouse=True)
def _transcripts_once(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.module.__name__.rpartition(".")[2] not in ENGINE_TEST_MODULES:
        from agent.adapters import media

        monkeypatch.setattr(media, "transcribe_local", _remembered_transcribe)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def base_env(data_dir: Path) -> dict[str, str]:
    """An environment with no provider keys: everything runs on the embedded defaults."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    return {**keep, "CONVERSA_DATA_DIR": str(data_dir), "BURST_WINDOW_SECONDS": "0"}


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return load_settings(env=base_env, dotenv_path=None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[str]:
    """Both engines the store supports: a SQLite file and the real PostgreSQL from .ci/run."""
    if request.param == "sqlite":
        yield f"sqlite:///{data_dir / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL not set: run scripts/start_postgres.sh (CI does) to test PostgreSQL")
    from sqlalchemy import create_engine, text

    # A fresh schema per test keeps PostgreSQL tests independent.
    schema = f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def openai_stub() -> Iterator[object]:
    from sandbox.openai_stub import start_stub

    server = start_stub()
    yield server
    server.shutdown()


@pytest.fixture
def app_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The app's process environment for AppTest: no provider keys, a private data folder, and the
    English interface (the page tests read English labels; tests/test_i18n.py covers Portuguese)."""
    monkeypatch.setenv("CONVERSA_UI_LANG", "en")
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    return base_env


@pytest.fixture(scope="module")
def sandbox() -> Iterator[object]:
    """One FGTS consultation API simulator per test module, on a free loopback port."""
    from sandbox import SandboxServer

    with SandboxServer(hang_s=5) as server:
        yield server


@pytest.fixture
def sb(sandbox):  # noqa: ANN001, ANN201
    """The module's simulator with a clean request log and no faults, for each test."""
    sandbox.reset()
    yield sandbox
    sandbox.config.delay_ms = 0
    sandbox.config.fail = None
    sandbox.config.fail_times = None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests live in tests/test_e2e*.py: `make test` collects only those files for its e2e run (the
    other 90 modules take ~9 CPU s to import), so an e2e test anywhere else would never run there."""
    misplaced = [item.nodeid for item in items
                 if item.get_closest_marker("e2e") and not item.path.name.startswith("test_e2e")]
    if misplaced:
        raise pytest.UsageError(f"e2e tests outside tests/test_e2e*.py (make test would skip them): {misplaced}")



@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201 (playwright is imported by the browser tests only)
    """One headless Chromium for every browser test of the process, launched on first use (~3 s each time,
    and as long again to close); each test opens its own context — cookies, storage and pages apart."""
    import shutil

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
            "--no-first-run", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()
