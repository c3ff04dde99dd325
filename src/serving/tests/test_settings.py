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
    ({"DJANGO_LOG_FORMAT": "xml"}, "DJANGO_LOG_FORMAT must be plain or json"),
])
def test_bad_values_refuse_to_start(env, message):
    done = settings_with(**env)
    assert done.returncode != 0 and message in done.stderr


def test_the_process_name_defaults_to_host_and_pid_and_can_be_set():
    import socket

    assert settings_with().stdout.strip().startswith(f"{socket.gethostname()}:")
    assert settings_with(CHAT_PROCESS_NAME="web-2").stdout.strip() == "web-2"


def test_json_log_lines():
    import json
    import logging
    import sys

    from serving.logs import JsonFormatter

    formatter = JsonFormatter(process_name="web-1:7")
    record = logging.LogRecord("chat", logging.WARNING, __file__, 1, "answer %s failed", ("a1",), None)
    line = json.loads(formatter.format(record))
    assert line["level"] == "WARNING" and line["logger"] == "chat" and line["process"] == "web-1:7"
    assert line["message"] == "answer a1 failed" and line["time"].endswith("Z") and "exception" not in line
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("chat", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(formatter.format(record))
    assert "ValueError: boom" in line["exception"]
