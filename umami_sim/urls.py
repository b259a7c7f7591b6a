"""How a send's ``url``, ``referrer`` and ``title`` become Umami's page columns."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

MAX_URL_LENGTH = 500
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_URI_RESERVED = frozenset(";/?:@&=+$,#")


class Page(NamedTuple):
    """The page columns of an event, in the store's ``page`` table order."""

    hostname: str
    url_path: str
    url_query: str
    referrer_path: str | None
    referrer_query: str | None
    referrer_domain: str | None
    page_title: str | None


class _Malformed(Exception):
    pass


def page(hostname: str | None, url: str | None, referrer: str | None, title: str | None) -> Page:
    base = f"https://{hostname}/" if hostname else "https://localhost/"
    current = urlsplit(urljoin(base, url)) if url is not None else None
    if current is None:
        url_path, url_query, url_domain = "", "", urlsplit(base).hostname or ""
    else:
        url_path = current.path or "/"
        if current.fragment:
            url_path += "#" + current.fragment
        url_query = current.query
        url_domain = current.hostname or ""
    url_domain = _strip_www(url_domain)
    referrer_path = referrer_query = referrer_domain = None
    if referrer:
        event_domain = _strip_www(hostname.lower()) if hostname else url_domain
        source = urlsplit(urljoin(f"https://{event_domain}/", referrer))
        referrer_path = _decode(source.path or "/", keep=_URI_RESERVED)[:MAX_URL_LENGTH]
        referrer_query = source.query[:MAX_URL_LENGTH]
        referrer_domain = _strip_www(source.hostname or "") or None
        if referrer_domain == event_domain:
            referrer_domain = None
    return Page(
        hostname=hostname or url_domain,
        url_path=_decode(url_path, keep=_URI_RESERVED)[:MAX_URL_LENGTH],
        url_query=url_query[:MAX_URL_LENGTH],
        referrer_path=referrer_path,
        referrer_query=referrer_query,
        referrer_domain=referrer_domain,
        page_title=None if title is None else _decode(title, keep=frozenset())[:MAX_URL_LENGTH],
    )


def _strip_www(domain: str) -> str:
    return domain[4:] if domain.startswith("www.") else domain


def _decode(text: str, keep: frozenset[str]) -> str:
    """JS ``decodeURI`` (keep=reserved) / ``decodeURIComponent`` (keep=empty); input kept if malformed."""

    def replace(match: re.Match[str]) -> str:
        try:
            decoded = bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Malformed from exc
        return "".join(f"%{ord(ch):02X}" if ch in keep else ch for ch in decoded)

    try:
        return _ESCAPES.sub(replace, text)
    except _Malformed:
        return text
