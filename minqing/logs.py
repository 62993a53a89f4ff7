"""One JSON object per log line, carrying the correlation id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from minqing import context


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = context.current()
        if cid:
            entry["correlation_id"] = cid
        for key in ("case_id", "event_id", "event_type", "service"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "nameko", "jieba"):
        logging.getLogger(noisy).setLevel("WARNING")
