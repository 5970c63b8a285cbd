"""REST clients of the rollout, and the HTTP layer they share. No Pulumi here.

The layer every client stands on:

- `build_session(...)` and `request(session, method, url, **kwargs)`: timeouts, the one
  `RetryPolicy`, and conversion of failures into the error tree (`_http`);
- `ClientError` and its subclasses (`_errors`);
- token sources and `BearerAuth` (`_auth`);
- `redact`, `register_secret`, `safe_url`: keeping secrets out of messages (`_redact`).
"""

from ._auth import (
    ARM_SCOPE,
    GRAPH_SCOPE,
    AccessToken,
    AzureTokenSource,
    BearerAuth,
    CachedTokenSource,
    StaticTokenSource,
    TokenSource,
)
from ._errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    ClientError,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)
from ._http import (
    DEFAULT_TIMEOUT,
    IDEMPOTENT_METHODS,
    RetryPolicy,
    build_session,
    default_user_agent,
    raise_for_status,
    request,
)
from ._redact import redact, register_secret, safe_url

__all__ = [
    "ARM_SCOPE",
    "DEFAULT_TIMEOUT",
    "GRAPH_SCOPE",
    "IDEMPOTENT_METHODS",
    "AccessToken",
    "AmbiguousWriteError",
    "ApiError",
    "AuthError",
    "AzureTokenSource",
    "BearerAuth",
    "CachedTokenSource",
    "ClientError",
    "Conflict",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "StaticTokenSource",
    "TokenSource",
    "TransportError",
    "build_session",
    "default_user_agent",
    "raise_for_status",
    "redact",
    "register_secret",
    "request",
    "safe_url",
]
