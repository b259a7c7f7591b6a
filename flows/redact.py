"""Keep credentials out of every log line and error message this process prints.

Every occurrence of a registered secret is replaced by ``***``, except where it is only a part
of one of the project's own public names as the text spells it (``flows.public_names``): with the
password ``umami``, ``stg_umami__events`` stays readable while ``postgresql://u:umami@h/db`` and
``password=umami`` are masked. A name equal to the secret never protects it, so the credential
standing alone is always masked. A weak secret (short, a word, or part of those names) is named
in one warning per setting: masking it may hide parts of log lines.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Set

from flows.public_names import public_names

MASK = "***"
MIN_MASKED = 3  # shorter values are not masked: that would hide most of every line
MIN_STRONG = 8
WORD_LENGTH = 12  # a longer run of letters is a passphrase, not a word a log line would hold

log = logging.getLogger(__name__)
_lock = threading.Lock()
_secrets: dict[str, tuple[str, ...]] = {}  # secret -> the longer public names holding it
_warned: set[str] = set()
_installed = False


def weakness(secret: str, names: Set[str]) -> str | None:
    """Why ``secret`` is a poor one to mask (and what that does to log lines), or None."""
    hides = f"masking it as {MASK} may hide parts of log lines"
    if len(secret) < MIN_MASKED:
        return f"shorter than {MIN_MASKED} characters: it is not masked in log lines at all"
    if len(secret) < MIN_STRONG:
        return f"shorter than {MIN_STRONG} characters: {hides}"
    if any(secret in name for name in names):
        return f"part of the project's own names (its models, files, schemas or tables): {hides}"
    if secret.isascii() and secret.isalpha() and secret[1:].islower() and len(secret) <= WORD_LENGTH:
        return f"a common word: {hides}"
    return None


def register(**credentials: str | None) -> None:
    """Remember credential values by the setting they come from (``UMAMI_PASSWORD=...``), so that
    :func:`mask` and every log record hide them; warns once per setting whose value is weak."""
    names = public_names()
    for setting, value in credentials.items():
        if not value:
            continue
        reason = weakness(value, names)
        with _lock:
            if len(value) >= MIN_MASKED:
                _secrets[value] = tuple(name for name in names if value in name and name != value)
            first = reason is not None and setting not in _warned
            if first:
                _warned.add(setting)
        if first:
            log.warning("%s is %s; choose a longer, random one", setting, reason)


def _starts(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


def _exposed(text: str, secret: str, holders: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """Where ``secret`` occurs in ``text`` other than inside an occurrence of a public name."""
    shields = [(start, start + len(name)) for name in holders for start in _starts(text, name)]
    for start in _starts(text, secret):
        end = start + len(secret)
        if not any(low <= start and end <= high for low, high in shields):
            yield start, end


def mask(text: str) -> str:
    with _lock:
        secrets = [(secret, holders) for secret, holders in _secrets.items() if secret in text]
    spans = sorted(span for secret, holders in secrets for span in _exposed(text, secret, holders))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, position = [], 0
    for start, end in merged:
        pieces += [text[position:start], MASK]
        position = end
    return "".join(pieces) + text[position:]


def _mask_traceback(record: logging.LogRecord) -> None:
    """Handlers format a record's exception after it was made: format it now, and keep the masked
    text (every formatter prints ``exc_text`` when it is set) only when there was a secret in it."""
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        masked = mask(text)
        if masked != text:
            record.exc_text = masked
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


def install_log_masking() -> None:
    """Mask registered secrets in every log record created from now on, whatever the logger,
    tracebacks included."""
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
            _mask_traceback(record)
        return record

    logging.setLogRecordFactory(masked_record)
