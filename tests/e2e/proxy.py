"""nginx in front of real Daphne processes, with the repo's configuration
(deploy/nginx/chat.conf.template, filled in by deploy/nginx/render.py).

Debian's `nginx` package is installed by bin/test when missing (as root on Debian, as it
installs Chromium); without it the tests that need nginx are skipped, saying why.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.nginx.render import render_standalone

from .servers import ROOT, OnLoopback, free_port

DIST = ROOT / "frontend" / "dist"


def nginx_binary() -> str | None:
    """The nginx executable (Debian puts it in /usr/sbin, not always on a user's PATH)."""
    return shutil.which("nginx") or next(
        (str(path) for path in (Path("/usr/sbin/nginx"), Path("/usr/local/sbin/nginx")) if path.exists()), None)


def static_root(workdir: Path) -> Path:
    """A directory holding static/ -> the built client, as STATIC_ROOT is laid out in the image."""
    root = workdir / "root"
    root.mkdir(exist_ok=True)
    link = root / "static"
    if not link.exists():
        link.symlink_to(DIST, target_is_directory=True)
    return root


@dataclass
class Nginx(OnLoopback):
    """One nginx master process (and its worker) in `workdir`, in front of `upstreams`."""

    workdir: Path
    upstreams: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def start(self, timeout: float = 15) -> Nginx:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nginx.conf"
        config.write_text(render_standalone(
            workdir=self.workdir, upstreams=self.upstreams, listen=f"127.0.0.1:{self.port}",
            static_root=static_root(self.workdir)))
        log = (self.workdir / "master.log").open("ab")
        self.process = subprocess.Popen([binary, "-p", str(self.workdir), "-c", str(config)],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nginx not listening after {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: nginx's fast shutdown, open connections closed."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def upstreams_of(self, path: str) -> set[str]:
        """Where nginx sent the requests for `path` so far ("-": it answered itself), from its
        access log (render.py's `upstream` format; a socket's line comes when it closes)."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return {line.split("upstream=")[1].split(" ")[0] for line in lines if f" {path}" in line}

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("master.log", "error.log"):
            try:
                parts += (self.workdir / name).read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(parts)
