"""User-Agent handling: the bot filter and the browser / OS / device a session records.

Names follow what Umami v3.1.0 stores (``chrome``, ``edge-chromium``, ``ios``; ``Windows 10``,
``Android OS``, ``Mac OS``), as seen in the contract captures. Device: phones are ``mobile``, tablets
``tablet``; anything else is ``desktop``, or ``laptop`` when the sender reports a screen no wider than
1920 px (a 1920x1080 desktop shows as laptop; no screen at all shows as desktop).
"""

from __future__ import annotations

import re
from functools import lru_cache

_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|^curl/|^wget/|python-requests|python-urllib|python-httpx|aiohttp"
    r"|go-http-client|^java/|okhttp|axios/|node-fetch|undici|libwww|scrapy|headlesschrome|phantomjs"
    r"|lighthouse|facebookexternalhit|^mozilla/5\.0 \(compatible; [^)]*bot",
    re.IGNORECASE,
)

_BROWSERS: tuple[tuple[str, str], ...] = (
    (r"Edg(A|iOS)?/", "edge-chromium"),
    (r"Edge/", "edge"),
    (r"OPR/|Opera", "opera"),
    (r"SamsungBrowser/", "samsung"),
    (r"YaBrowser/", "yandexbrowser"),
    (r"CriOS/", "crios"),
    (r"FxiOS/", "fxios"),
    (r"Firefox/", "firefox"),
    (r"Chrome/|Chromium/", "chrome"),
    (r"(iPhone|iPad|iPod).*Version/[\d.]+.*Safari/", "ios"),
    (r"Version/[\d.]+.*Safari/", "safari"),
    (r"MSIE |Trident/", "ie"),
)

_SYSTEMS: tuple[tuple[str, str], ...] = (
    (r"Android", "Android OS"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"CrOS", "Chrome OS"),
    (r"Windows NT 10\.0", "Windows 10"),
    (r"Windows NT 6\.3", "Windows 8.1"),
    (r"Windows NT 6\.2", "Windows 8"),
    (r"Windows NT 6\.1", "Windows 7"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "Mac OS"),
    (r"Linux|X11", "Linux"),
)


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers and HTTP libraries; a missing User-Agent is not a bot."""
    return bool(user_agent) and _BOT.search(user_agent) is not None


@lru_cache(maxsize=4096)
def client_info(user_agent: str | None, screen: str | None) -> tuple[str | None, str | None, str]:
    """(browser, os, device) for a User-Agent and the reported screen ("1920x1080")."""
    ua = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, ua)), None)
    return browser, system, _device(ua, screen)


def _device(ua: str, screen: str | None) -> str:
    if re.search(r"iPad|Tablet", ua) or (re.search(r"Android", ua) and "Mobile" not in ua):
        return "tablet"
    if re.search(r"iPhone|iPod|Mobile", ua):
        return "mobile"
    width = (screen or "").split("x")[0]
    if width.isdigit() and int(width) <= 1920:
        return "laptop"
    return "desktop"
