"""Structured logs: one JSON object per line (DJANGO_LOG_FORMAT=json), for log shippers."""
import json
import logging
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, process (CHAT_PROCESS_NAME), message, and
    exception (the formatted traceback) when there is one."""

    def __init__(self, process_name: str = ""):
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process_name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
