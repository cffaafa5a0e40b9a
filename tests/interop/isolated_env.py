"""Run third-party code that cannot share our environment in a virtualenv of its own.

Ant's official Antom Python SDK (``global-open-sdk-python`` 1.7.1) pins ``cryptography==44.0.3``
and declares a dependency on ``enum34``, a Python 2 backport that shadows the standard library's
``enum`` and breaks ``re`` (and with it almost everything) on Python 3. It therefore gets its own
venv under ``<repo>/.cache/isolated-envs/``: its plain dependencies are installed normally and the
SDK itself with ``--no-deps``, so ``enum34`` never arrives. Our tests and benchmarks talk to it
through :class:`SdkWorker`, a subprocess speaking JSON lines (``antom_sdk_worker.py``).

An env is built once and reused: its directory name carries a hash of the interpreter and the
requirement lists, a ``.complete`` marker written last tells a finished env from a half-built
one, and an exclusive ``flock`` on a lock file next to it keeps concurrent builders (pytest-xdist
workers, two test runs) from building the same env at once. POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Iterator, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVS_DIR = REPO_ROOT / ".cache" / "isolated-envs"

ANTOM_SDK_REQUIREMENTS = ("pytz", "pycryptodome", "rsa", "cryptography==44.0.3")
ANTOM_SDK_NO_DEPS = ("global-open-sdk-python==1.7.1",)
# global-open-sdk-python 1.7.1 declares Requires-Python >=3.9.2.
ANTOM_SDK_MIN_PYTHON = (3, 9, 2)

WORKER_SCRIPT = Path(__file__).resolve().with_name("antom_sdk_worker.py")

_COMPLETE = ".complete"
_STDERR_TAIL = 4000
_STEP_TIMEOUT = 900.0  # seconds for one `venv` or `pip install` step


def sdk_python() -> str | None:
    """The interpreter for the Antom SDK env: this one if it is new enough, else None.

    A None means "skip the SDK tests" (the Python 3.8 run): the SDK requires Python >= 3.9.2.
    """
    if sys.version_info >= ANTOM_SDK_MIN_PYTHON:
        return sys.executable
    return None


def sdk_skip_reason() -> str:
    """Why SDK tests are skipped when :func:`sdk_python` is None."""
    have = ".".join(str(part) for part in sys.version_info[:3])
    need = ".".join(str(part) for part in ANTOM_SDK_MIN_PYTHON)
    return (
        f"global-open-sdk-python 1.7.1 requires Python >= {need}; this run is Python {have} "
        "(the SDK interop tests run on the newer interpreters only)"
    )


@functools.lru_cache(maxsize=None)
def _interpreter_identity(python: str) -> str:
    """The exact version of ``python`` and where it really lives (a venv is tied to both)."""
    completed = _run([python, "-c", "import sys; print(sys.version); print(sys.base_prefix)"])
    return completed.stdout.strip()


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        completed = subprocess.run(  # noqa: S603 - our own fixed commands, no shell
            list(argv),
            capture_output=True,
            text=True,
            timeout=_STEP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"isolated env: {' '.join(argv)} failed: {exc}") from exc
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout)[-_STDERR_TAIL:]
        raise RuntimeError(
            f"isolated env: {' '.join(argv)} exited with {completed.returncode}:\n{tail}"
        )
    return completed


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    import fcntl  # POSIX only; imported here so that merely importing this module works anywhere

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _venv_python(env_dir: Path) -> Path:
    if sys.platform == "win32":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def isolated_env(
    name: str,
    *,
    requirements: Sequence[str],
    no_deps: Sequence[str] = (),
    python: str | None = None,
) -> Path:
    """Build (once) a venv with ``requirements`` plus ``no_deps`` installed without dependencies.

    Returns the path of the venv's python. Raises RuntimeError (with the tail of the failing
    step's stderr) when the venv or an install cannot be made; the half-built env is removed.
    """
    base_python = python if python is not None else sys.executable
    key = json.dumps(
        {
            "python": _interpreter_identity(base_python),
            "requirements": list(requirements),
            "no_deps": list(no_deps),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    env_dir = ENVS_DIR / f"{name}-{digest}"
    marker = env_dir / _COMPLETE
    env_python = _venv_python(env_dir)
    if marker.is_file():
        return env_python

    with _exclusive(ENVS_DIR / f"{name}-{digest}.lock"):
        if marker.is_file():  # another builder finished while we waited for the lock
            return env_python
        if env_dir.exists():  # a half-built env from a build that died
            shutil.rmtree(env_dir)
        try:
            _run([base_python, "-m", "venv", str(env_dir)])
            pip = [str(env_python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            if requirements:
                _run([*pip, *requirements])
            if no_deps:
                _run([*pip, "--no-deps", *no_deps])
            marker.write_text(key + "\n", encoding="utf-8")
        except BaseException:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise
    return env_python


def antom_sdk_python() -> Path:
    """The python of the Antom SDK env (built on first use). RuntimeError if too old a Python."""
    python = sdk_python()
    if python is None:
        raise RuntimeError(sdk_skip_reason())
    return isolated_env(
        "antom-sdk",
        requirements=ANTOM_SDK_REQUIREMENTS,
        no_deps=ANTOM_SDK_NO_DEPS,
        python=python,
    )


class SdkWorker:
    """``antom_sdk_worker.py`` running in the SDK env, driven by JSON lines over stdin/stdout.

    One request at a time (a lock serialises callers from several threads). ``extra_env`` is
    added to this process's environment, e.g. ``{"SSL_CERT_FILE": ...}`` so the SDK, which checks
    certificates, trusts a local simulator's certificate.
    """

    def __init__(
        self,
        python: Path | str | None = None,
        *,
        extra_env: Mapping[str, str] | None = None,
        script: Path = WORKER_SCRIPT,
    ) -> None:
        interpreter = str(python) if python is not None else str(antom_sdk_python())
        env = dict(os.environ)
        if extra_env:
            env.update(extra_env)
        self._lock = threading.Lock()
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self._proc: subprocess.Popen[str] = subprocess.Popen(  # noqa: S603 - our own script
                [interpreter, "-u", str(script)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
                env=env,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._closed = False

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return the worker's answer.

        RuntimeError (with the worker's stderr) if the worker is closed or has died.
        """
        request = json.dumps({"op": op, **fields})
        with self._lock:
            if self._closed:
                raise RuntimeError("SdkWorker is closed")
            stdin, stdout = self._proc.stdin, self._proc.stdout
            assert stdin is not None
            assert stdout is not None
            try:
                stdin.write(request + "\n")
                stdin.flush()
                line = stdout.readline()
            except (BrokenPipeError, OSError, ValueError):
                line = ""
            if not line:
                raise RuntimeError(self._death_report(op))
            answer = json.loads(line)
        if not isinstance(answer, dict):
            raise RuntimeError(f"SDK worker answered {op!r} with a non-object: {line!r}")
        return answer

    def _death_report(self, op: str) -> str:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace")[-_STDERR_TAIL:]
        return f"SDK worker died (exit code {code}) during {op!r}; its stderr:\n{tail}"

    def close(self) -> None:
        """Stop the worker (closing its stdin ends it; kill after 5 s). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError, ValueError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._stderr.close()

    def __enter__(self) -> SdkWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
