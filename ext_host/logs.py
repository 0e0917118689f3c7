"""Logging set-up with a filter that keeps secrets out of every log line.

HTTP libraries log request URLs at debug level, and WeCom puts the app secret,
the access token and OAuth codes in the query string; the filter masks those
parameters in every record, whoever logged it, and the formatter masks them
again in the finished line, traceback included (an exception's message may
carry a URL).
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)((?:corpsecret|access_token|code|secret|user_ticket|password)=)[^&\s\"']+"
)


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(debug: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
