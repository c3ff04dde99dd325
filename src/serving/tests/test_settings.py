"""The serving settings refuse to start on values that cannot work, saying why."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def settings_with(**env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DJANGO_SECRET_KEY": "x", **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-c", "import config.settings as s; print(s.CHAT_PROCESS_NAME)"],
                          env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, message", [
    ({"CHAT_DRAIN_SECONDS": "-1"}, "CHAT_DRAIN_SECONDS must be 0 or more"),
    ({"DJANGO_TRUSTED_PROXIES": "127.0.0.1,nginx"}, "DJANGO_TRUSTED_PROXIES must list IP addresses or networks"),
])
def test_bad_values_refuse_to_start(env, message):
    done = settings_with(**env)
    assert done.returncode != 0 and message in done.stderr


def test_the_process_name_defaults_to_host_and_pid_and_can_be_set():
    import socket

    assert settings_with().stdout.strip().startswith(f"{socket.gethostname()}:")
    assert settings_with(CHAT_PROCESS_NAME="web-2").stdout.strip() == "web-2"
