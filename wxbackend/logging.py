"""Log formatters: one JSON object per line with debug off, a readable line in debug.

Callers pass structured fields through `extra={"event": {...}}`; nothing here adds request
bodies, so secrets stay out unless a caller puts them in (and callers must not).
"""

import json
import logging
import re
from datetime import UTC, datetime

REDACTED = "***"
SENSITIVE_KEYS = frozenset(
    {"access_token", "secret", "session_key", "token", "js_code", "code", "password",
     "sign", "paySign", "signature", "msg_signature", "authorization", "api_key"}
)
MAX_FIELD_CHARS = 2048
# Query parameters that carry credentials (request lines logged by runserver, libraries).
_SECRET_QUERY = re.compile(
    r"\b(access_token|secret|js_code|code|signature|msg_signature|echostr|session_key|sign)=[^&\s\"']+"
)


def redact(value):
    """Return `value` with sensitive keys masked and long strings cut, recursively."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in SENSITIVE_KEYS or k in SENSITIVE_KEYS else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value[:50]]
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        return value[:MAX_FIELD_CHARS] + "…"
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            data.update(redact(event))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            line += " " + " ".join(f"{k}={v}" for k, v in redact(event).items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RedactQueryFilter(logging.Filter):
    """Mask credentials in query strings that other loggers put in a message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message:
            redacted = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True
