"""HTTP to the API: requests, typed errors, and the waits between retries (``Retry-After`` or backoff)."""

import email.utils
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from http.client import HTTPResponse
from typing import Any, Dict, Iterator, Optional

from ._errors import ApiError
from ._wire import Id

log: logging.Logger = logging.getLogger("game_persist")

# The answers that say "come back later" and may name when (RFC 9110 10.2.3, RFC 6585 4): a read retries
# on these, honouring Retry-After; the batch sender retries on more (its requests are idempotent by key).
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """A ``Retry-After`` header as seconds from ``now`` (default: the current time): delay-seconds
    (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``; a date passed is 0). None when the
    header is absent or malformed, so the caller falls back to its backoff."""
    if value is None:
        return None
    v = value.strip()
    if v.isascii() and v.isdigit():
        return float(int(v))
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):  # TypeError on 3.9, ValueError from 3.10
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter for retry ``attempt`` (1, 2, ...): about 0.2, 0.4, 0.8 ... 5 s."""
    return min(0.1 * 2**attempt, 5.0) * (0.5 + random.random())


class Transport:
    """The API's base URL and key, and the request helpers the publisher and the reads share."""

    def __init__(self, base_url: str, api_key: str, timeout: float, max_retries: int, max_retry_after: float) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_retry_after < 0:
            raise ValueError("max_retry_after must be >= 0")
        self._base = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {api_key}", "accept": "application/json"}
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after

    def _retry_delay(self, err: Optional[ApiError], attempt: int) -> float:
        """How long to wait before retry ``attempt``: what the API's Retry-After said on a 429 or 503
        (capped at ``max_retry_after``), else the backoff."""
        if err is not None and err.status in RETRY_AFTER_STATUSES and err.retry_after is not None:
            return min(err.retry_after, self._max_retry_after)
        return backoff(attempt)

    def _open(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> HTTPResponse:
        """Sends a request and returns the open response; a GET answered 429 or 503 is retried (up to
        ``max_retries``) after the wait the answer names. Any other error status raises ApiError."""
        h = dict(self._headers)
        if body is not None:
            h["content-type"] = "application/json"
        h.update(headers or {})
        attempt = 0
        while True:
            req = urllib.request.Request(self._base + path, data=body, method=method, headers=h)
            try:
                res: HTTPResponse = urllib.request.urlopen(req, timeout=timeout or self._timeout)
                return res
            except urllib.error.HTTPError as e:
                err = api_error(e)
                if method != "GET" or err.status not in RETRY_AFTER_STATUSES or attempt >= self._max_retries:
                    raise err from None
            attempt += 1
            delay = self._retry_delay(err, attempt)
            log.warning("%s %s answered %d %s; retry %d of %d in %.2f s", method, path.split("?")[0], err.status, err.code, attempt, self._max_retries, delay)
            time.sleep(delay)

    def _request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> Any:
        with self._open(method, path, body, headers, timeout) as res:
            return json.loads(res.read() or b"null")

    def _get(self, path: str, query: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        if query:
            path += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        return self._request("GET", path, timeout=timeout)

    def _get_or_none(self, path: str, query: Optional[Dict[str, Any]] = None) -> Any:
        try:
            return self._get(path, query)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def _pages(self, path: str, query: Dict[str, Any], items: str, cursor_param: str, next_key: str) -> Iterator[Dict[str, Any]]:
        """Every item of a paged route: each page's ``items``, following ``next_key`` as ``cursor_param``."""
        cursor: Optional[str] = None
        while True:
            q = {k: v for k, v in dict(query, **{cursor_param: cursor}).items() if v is not None}
            page = self._get(path, q)
            yield from page[items]
            cursor = page.get(next_key)
            if not cursor:
                return


def api_error(e: urllib.error.HTTPError) -> ApiError:
    """The API's error body (``{"error": {"code", "message"}}``) and Retry-After as an ApiError."""
    retry_after = retry_after_seconds(e.headers.get("retry-after")) if e.headers is not None else None
    try:
        raw = e.read()
    finally:
        e.close()
    try:
        err = json.loads(raw)["error"]
        return ApiError(e.code, err.get("code", "error"), err.get("message", ""), retry_after)
    except (ValueError, KeyError, TypeError):
        return ApiError(e.code, "http_error", raw[:200].decode("utf-8", "replace"), retry_after)


def quote(v: Id) -> str:
    return urllib.parse.quote(str(v), safe="")
