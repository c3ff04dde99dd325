"""Real Daphne processes for the multi-process tests: start, wait until they answer, kill.

Each process runs `daphne config.asgi:application` from the repo root with an environment
built from scratch (not inherited from pytest, whose test settings leak defaults such as
CHAT_RECOVER_ON_START=0 into os.environ), so the processes behave as a deployment would.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "e2e-secret-key-not-for-production-0123456789"
PASSWORD = "e2e-password-Quartz-77"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(**overrides: str | None) -> dict[str, str]:
    """The environment of a server process; a None override removes the variable."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # ChatDeepSeek is the OpenAI-compatible client that also streams `reasoning_content`.
        LLM_PROVIDER="deepseek",
        LLM_API_KEY="x",
        LLM_MODEL="fake-model",
        LLM_MAX_RETRIES="0",
        CHAT_STALE_AFTER="3",
        CHAT_RATE_LIMIT="1000/m",
        # A title request after each new chat's first answer would take the next scenario
        # queued on the shared fake upstream (titles have their tests in chat/tests).
        CHAT_TITLES_BY_MODEL="0",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run `manage.py <args>` with a server environment; return its stdout."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class OnLoopback:
    """Something listening on 127.0.0.1:`port` (a Daphne process, nginx)."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class Server(OnLoopback):
    """One Daphne process on a port of its own; its output goes to a log file."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    app: str = "config.asgi:application"  # the ASGI application Daphne serves

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"daphne-{self.name}-{self.port}.log"

    def start(self) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), self.app],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 30, want_ok: bool = True) -> httpx.Response:
        """Poll /healthz until it answers (200 when `want_ok`, any status otherwise)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne {self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=8)
                if response.status_code == 200 or not want_ok:
                    return response
                last = response
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise TimeoutError(f"daphne {self.name} not ready after {timeout} s ({last!r}):\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up runs, as when a machine or container dies."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def sigterm(self) -> None:
        """SIGTERM, as `docker stop` sends it: the process drains, then exits (serving.drain)."""
        os.kill(self.process.pid, signal.SIGTERM)

    def readiness(self) -> dict | None:
        """/readyz's body (whatever its status), or None while nothing answers on the port."""
        try:
            return httpx.get(f"{self.url}/readyz", timeout=8).json()
        except httpx.HTTPError:
            return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def login(server: Server, username: str, password: str = PASSWORD) -> str:
    """Log in over HTTP like a browser; return the `sessionid` cookie value."""
    with httpx.Client(base_url=server.url, timeout=10, follow_redirects=False) as client:
        page = client.get("/accounts/login/")
        page.raise_for_status()
        token = page.cookies["csrftoken"]
        answer = client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{server.url}/accounts/login/"},
        )
        assert answer.status_code == 302, f"login failed: {answer.status_code} {answer.text[:300]}"
        return answer.cookies["sessionid"]
