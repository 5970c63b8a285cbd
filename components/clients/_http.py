"""The HTTP layer under every REST client: one session factory, one retry policy, one request call.

```python
session = build_session(auth=BearerAuth(source))
response = request(session, "POST", f"{base}/v2/orgs/{org}/access-tokens", json=payload)
```

A request goes through three stages:

1. The adapter mounted by `build_session` gives it the session's `(connect, read)` timeout, since
   requests has no session-wide timeout, and sends it under `RetryPolicy`.
2. `RetryPolicy` (a urllib3 `Retry`) decides after each failed attempt whether to try again:

   | failure                                        | GET, HEAD, PUT, DELETE, OPTIONS | POST, PATCH |
   |------------------------------------------------|---------------------------------|-------------|
   | could not connect (the request never left)     | retry                           | retry       |
   | 429 (the service did not process it)           | retry                           | retry       |
   | 500, 502, 503, 504                             | retry                           | surface     |
   | connection dropped or timed out after sending  | retry                           | surface     |

   A write that may have been applied surfaces instead of being sent twice: the caller looks the
   object up by its natural key (label, displayName, name) before creating it again.

   The wait before a retry is what the service asked for: `Retry-After` (seconds or an HTTP date),
   else, on a 429, Docker Hub's `X-Retry-After` or `X-RateLimit-Reset` (unix times). Without a hint it
   is `equal_jitter(backoff_seconds(n, ...))`. A service asking for more than `max_wait` is not waited
   for: one asking for an hour must not hang a `pulumi up`.
3. `request` turns what is left into the error tree of `_errors`: `TransportError`, or
   `AmbiguousWriteError` for a write whose response was lost, and `raise_for_status` for a status >= 400.

Messages and log lines carry no headers, no query strings and no secrets (see `_redact`).
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ProxyError, ResponseError
from urllib3.util.retry import Retry

from ._errors import AmbiguousWriteError, RateLimited, TransportError, error_class
from ._redact import install_log_redaction, redact, safe_url

if TYPE_CHECKING:
    from types import TracebackType

    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = [
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "backoff_seconds",
    "build_session",
    "default_user_agent",
    "equal_jitter",
    "may_resend_after",
    "may_retry_status",
    "parse_retry_after",
    "raise_for_status",
    "request",
    "server_wait",
]

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
RETRY_SERVER_STATUSES = frozenset({500, 502, 503, 504})
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)
BODY_EXCERPT_CHARS = 300
# Redaction runs over this much of an error body before the excerpt is cut, so that a secret is
# matched whole rather than cut in half at the excerpt's end.
_BODY_SCAN_BYTES = 64 * 1024
# Graph answers `request-id`, ARM `x-ms-request-id`; `client-request-id` only echoes the client's id.
_REQUEST_ID_HEADERS = ("request-id", "x-ms-request-id", "X-Request-Id", "client-request-id")
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
# The requests exceptions raised by the network. Any other (a bad URL, header or JSON body) is raised
# while the request is prepared, before anything is sent.
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def backoff_seconds(retry_number: int, base: float, cap: float) -> float:
    """Exponential backoff before retry `retry_number` (1 for the first retry), at most `cap`."""
    return float(min(cap, base * 2 ** (retry_number - 1)))


def equal_jitter(seconds: float) -> float:
    """A random wait between half and all of `seconds`, so that concurrent clients do not retry in step."""
    return seconds * random.uniform(0.5, 1.0)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or an HTTP date); None if unreadable."""
    if _NUMBER.match(value):
        return float(value)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - now)


def server_wait(headers: Mapping[str, str], status: int, now: float) -> float | None:
    """The wait in seconds the service asked for, or None when it did not say.

    `Retry-After` counts for any status. On a 429, Docker Hub's `X-Retry-After` (older docs) and
    then `X-RateLimit-Reset` are read as unix times.
    """
    retry_after = headers.get("Retry-After")
    if retry_after:
        wait = parse_retry_after(retry_after, now)
        if wait is not None:
            return wait
    if status == 429:
        for name in ("X-Retry-After", "X-RateLimit-Reset"):
            value = headers.get(name)
            if value and _NUMBER.match(value):
                return max(0.0, float(value) - now)
    return None


def may_retry_status(method: str, status: int) -> bool:
    """Whether an answer with `status` may be retried: a 429 always, a 5xx only for idempotent methods."""
    return status == 429 or (status in RETRY_SERVER_STATUSES and method.upper() in IDEMPOTENT_METHODS)


def _before_sending(error: BaseException) -> bool:
    """Whether a urllib3 `error` happened while connecting, so the request never left."""
    if isinstance(error, ProxyError):
        error = error.original_error
    return isinstance(error, ConnectTimeoutError)  # NewConnectionError and NameResolutionError too


def may_resend_after(method: str, error: BaseException) -> bool:
    """Whether a request that failed with the urllib3 `error` may be sent again.

    Only a connect failure proves the service never saw the request. After that point (a dropped
    connection, a read timeout, a TLS error mid-stream) only an idempotent method is safe to repeat.
    """
    return method.upper() in IDEMPOTENT_METHODS or _before_sending(error)


class RetryPolicy(Retry):
    """The one retry policy of every client; see the module docstring for what it retries.

    `total` is the number of retries after the first attempt (4: five attempts in all). `max_wait` is
    the longest wait a service may ask for; beyond it the request gives up at once. Without a hint
    the wait is `jitter_fn(backoff_seconds(n, backoff_base, backoff_cap))`. Tests pass `sleep_fn`,
    `jitter_fn` and `clock` to observe and pin the waits. Other keyword arguments belong to urllib3's
    `Retry` (it passes them all back in `new`); `allowed_methods` and `raise_on_status` are fixed,
    because the per-method decisions are made here and the final error answer must reach
    `raise_for_status`.
    """

    def __init__(
        self,
        total: bool | int | None = 4,
        *,
        max_wait: float = 120.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep_fn: Callable[[float], None] = time.sleep,
        jitter_fn: Callable[[float], float] = equal_jitter,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        kwargs["allowed_methods"] = None
        kwargs["raise_on_status"] = False
        super().__init__(total, **kwargs)
        self.max_wait = max_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep_fn = sleep_fn
        self.jitter_fn = jitter_fn
        self.clock = clock

    def new(self, **kw: Any) -> Self:
        own = {
            "max_wait": self.max_wait,
            "backoff_base": self.backoff_base,
            "backoff_cap": self.backoff_cap,
            "sleep_fn": self.sleep_fn,
            "jitter_fn": self.jitter_fn,
            "clock": self.clock,
        }
        return super().new(**(own | kw))

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return may_retry_status(method, status_code)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if error is not None and method is not None and not may_resend_after(method, error):
            raise error.with_traceback(_stacktrace)
        if response is not None:
            wait = self._requested_wait(response)
            if wait is not None and wait > self.max_wait:
                log.debug(
                    "giving up on %s %s: the service asked to wait %.0f s, more than %.0f s",
                    method,
                    safe_url(url or ""),
                    wait,
                    self.max_wait,
                )
                # urllib3 answers this by returning the response, because raise_on_status is off.
                reason = ResponseError(f"asked to wait {wait:.0f} s")
                raise MaxRetryError(_pool, url, reason)  # type: ignore[arg-type]  # urllib3 does too
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self._requested_wait(response) if response is not None else None
        if wait is None:
            wait = self.jitter_fn(backoff_seconds(len(self.history), self.backoff_base, self.backoff_cap))
        last = self.history[-1]
        log.debug(
            "retry %d of %s %s after %s in %.2f s",
            len(self.history),
            last.method,
            safe_url(last.url or ""),
            last.status or type(last.error).__name__,
            wait,
        )
        self.sleep_fn(wait)

    def _requested_wait(self, response: BaseHTTPResponse) -> float | None:
        return server_wait(response.headers, response.status, self.clock())


class _DefaultTimeoutAdapter(HTTPAdapter):
    """Sends with `timeout` unless the caller gave one."""

    def __init__(self, timeout: tuple[float, float], retry: Retry) -> None:
        super().__init__(max_retries=retry)
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        chosen = self.timeout if timeout is None else timeout
        return super().send(request, stream, chosen, verify, cert, proxies)


@functools.cache
def default_user_agent() -> str:
    """`docker-desktop-rollout/<version> python-requests/<version>`."""
    import importlib.metadata  # here, not at import: it is the slowest import of this package

    try:
        version = importlib.metadata.version("docker-desktop-rollout")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        version = "0+unknown"
    return f"docker-desktop-rollout/{version} python-requests/{requests.__version__}"


def build_session(
    *,
    user_agent: str | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    auth: requests.auth.AuthBase | None = None,
) -> requests.Session:
    """A session for one service: default timeout, the retry policy, a User-Agent and optional auth.

    `user_agent` defaults to `default_user_agent()`, `retry` to `RetryPolicy()`. Building a session
    also routes urllib3's log lines through redaction.
    """
    install_log_redaction()
    session = requests.Session()
    adapter = _DefaultTimeoutAdapter(timeout, retry if retry is not None else RetryPolicy())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent if user_agent is not None else default_user_agent()
    session.auth = auth
    return session


def _body_excerpt(response: requests.Response) -> str:
    text = response.content[:_BODY_SCAN_BYTES].decode("utf-8", errors="replace")
    return redact(" ".join(text.split()))[:BODY_EXCERPT_CHARS]


def raise_for_status(response: requests.Response) -> None:
    """Raise the member of the error tree for an error answer (status >= 400); pass otherwise."""
    status = response.status_code
    if status < 400:
        return
    method = response.request.method or "?"
    url = safe_url(response.url)
    request_id = next((response.headers[name] for name in _REQUEST_ID_HEADERS if response.headers.get(name)), None)
    excerpt = _body_excerpt(response)
    if status == 429:
        wait = server_wait(response.headers, status, time.time())
        raise RateLimited(status, method, url, request_id=request_id, body_excerpt=excerpt, retry_after=wait)
    raise error_class(status)(status, method, url, request_id=request_id, body_excerpt=excerpt)


def _transport_error(method: str, url: str, exc: requests.RequestException) -> TransportError:
    """The typed error for a request that got no response, with a cause that names no URL."""
    cause: BaseException = exc
    if exc.args and isinstance(exc.args[0], BaseException):
        cause = exc.args[0]  # requests wraps the urllib3 error ...
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        cause = cause.reason  # ... which may wrap the last attempt's error, next to the URL
    detail = f"{type(cause).__name__}: {redact(str(cause))}"
    sent = isinstance(exc, _NETWORK_ERRORS) and not _before_sending(cause)
    if sent and method not in IDEMPOTENT_METHODS:
        reason = f"the response was lost and the request may have been applied ({detail})"
        return AmbiguousWriteError(method, safe_url(url), reason)
    return TransportError(method, safe_url(url), detail)


def request(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """Send a request through `session`; return the response, or raise from the error tree.

    `kwargs` are those of `requests.Session.request`. A status >= 400 raises through
    `raise_for_status`; no response at all raises `TransportError`, or `AmbiguousWriteError` when
    a POST/PATCH may have reached the service.
    """
    method = method.upper()
    started = time.monotonic()
    try:
        response = session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        error = _transport_error(method, url, exc)
        elapsed = time.monotonic() - started
        log.debug("%s %s failed after %.3f s: %s", method, error.url, elapsed, error.reason)
        # `from None`: the requests exception names the URL with its query string, and the Pulumi
        # provider host reports whole tracebacks.
        raise error from None
    log.debug("%s %s -> %d in %.3f s", method, safe_url(url), response.status_code, time.monotonic() - started)
    raise_for_status(response)
    return response
