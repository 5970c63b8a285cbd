"""The error tree of every REST client in this project.

```text
ClientError
 ├── TransportError            no HTTP response (connect/read failure, timeout)
 │    └── AmbiguousWriteError  a non-idempotent request may or may not have been applied
 └── ApiError                  the service answered with a status >= 400
      ├── AuthError            401, 403
      ├── NotFound             404
      ├── Conflict             409
      ├── RateLimited          429 after the retry budget was spent, or a too-long Retry-After
      └── ServerError          5xx after the retry budget was spent (POST/PATCH: at once)
```

`error_class(status)` picks the class for a status; `components.clients._http.raise_for_status`
builds the error from a response.

Messages carry method, URL (query string removed: it may hold a SAS signature), status, the
service's request id and a short, redacted excerpt of the body. They never carry request headers,
so an `Authorization` value cannot reach a log line or a Pulumi error.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error raised by `components.clients`."""


class TransportError(ClientError):
    """The request got no HTTP response."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        super().__init__(f"{method} {url}: {reason}")


class AmbiguousWriteError(TransportError):
    """A POST/PATCH lost its response: the service may have applied it. Never retried blindly."""


class ApiError(ClientError):
    """The service answered with an error status."""

    def __init__(
        self,
        status: int,
        method: str,
        url: str,
        *,
        request_id: str | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body_excerpt = body_excerpt
        detail = f" (request id {request_id})" if request_id else ""
        body = f": {body_excerpt}" if body_excerpt else ""
        super().__init__(f"{method} {url} returned {status}{detail}{body}")


class AuthError(ApiError):
    """401 or 403: the credential is missing, wrong, expired or lacks a scope."""


class NotFound(ApiError):
    """404: the object does not exist (or is not visible to this credential)."""


class Conflict(ApiError):
    """409: the object already exists or is in a conflicting state."""


class RateLimited(ApiError):
    """429 that outlasted the retry budget, or asked for a longer wait than the retry policy allows.

    `retry_after` is the wait the service asked for, in seconds, when it said.
    """

    def __init__(
        self,
        status: int,
        method: str,
        url: str,
        *,
        request_id: str | None = None,
        body_excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, method, url, request_id=request_id, body_excerpt=body_excerpt)
        self.retry_after = retry_after

    def __str__(self) -> str:
        message = super().__str__()
        if self.retry_after is None:
            return message
        return f"{message} [the service asked to wait {self.retry_after:.0f} s]"


class ServerError(ApiError):
    """5xx that outlasted the retry budget; for a POST/PATCH the first one, as it may have been applied."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    """The member of the tree that stands for an error `status` (>= 400)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
