"""Keep credentials out of every log line and error message this process prints."""

from __future__ import annotations

import logging
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def register(*values: str | None) -> None:
    """Remember credential values so that :func:`mask` and every log record hide them."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 3)


def mask(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def install_log_masking() -> None:
    """Mask registered secrets in every log record created from now on, whatever the logger."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string is the caller's bug; leave it alone
                return record
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, ()
        return record

    logging.setLogRecordFactory(masked_record)
