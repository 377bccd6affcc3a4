"""Client addresses behind proxies, and simple fixed-window rate limits in the cache (Redis)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
    address the outermost trusted proxy saw (X-Forwarded-For, counted from the right, so a
    client cannot forge it by sending its own header)."""
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def _key(scope: str, ident: str) -> str:
    return f"ratelimit:{scope}:{ident}"


def hit(scope: str, ident: str, *, window: int) -> int:
    """Count one event for (scope, ident) in the current window; returns the count so far."""
    key = _key(scope, ident)
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def count(scope: str, ident: str) -> int:
    return cache.get(_key(scope, ident), 0)


def limited(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one event and say whether it went over the limit."""
    return hit(scope, ident, window=window) > limit
