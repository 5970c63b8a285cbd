"""Bearer tokens: where a token comes from, and how it rides on a request.

- `TokenSource`: anything with `token(force_refresh=False) -> AccessToken`.
- `StaticTokenSource`: one fixed value (the sandbox).
- `CachedTokenSource`: wraps a `mint` function (Docker Hub's `POST /v2/auth/token`, Jamf Pro's OAuth
  client credentials) and mints again shortly before expiry. One instance serves the concurrent
  RPCs of a provider process, so minting happens under a lock, once.
- `AzureTokenSource`: a `CachedTokenSource` over azure-identity, for Graph and ARM.
- `BearerAuth`: puts the token on each request; on a 401 it refreshes once and re-sends once.

Every token value handed out is registered with `_redact`, so it cannot reach a message or a log line.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import requests
import requests.auth

from ._redact import register_secret

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = [
    "ARM_SCOPE",
    "GRAPH_SCOPE",
    "AccessToken",
    "AzureTokenSource",
    "BearerAuth",
    "CachedTokenSource",
    "StaticTokenSource",
    "TokenSource",
]

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it expires (unix time, seconds). The value stays out of `repr`."""

    value: str = field(repr=False)
    expires_at: float


class TokenSource(Protocol):
    def token(self, force_refresh: bool = False) -> AccessToken:
        """The current token; with `force_refresh`, a newly minted one if the source can mint."""
        ...


class StaticTokenSource:
    """Always the same token, which never expires: for the sandbox and for tests."""

    def __init__(self, value: str) -> None:
        register_secret(value)
        self._token = AccessToken(value, math.inf)

    def token(self, force_refresh: bool = False) -> AccessToken:
        return self._token


class CachedTokenSource:
    """Mints with `mint`, and keeps the token until `refresh_margin_s` before it expires.

    A token that lives less than twice the margin is kept for half its lifetime instead, so a
    short-lived token does not make every request mint.
    """

    def __init__(
        self,
        mint: Callable[[], AccessToken],
        refresh_margin_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._mint = mint
        self._margin = refresh_margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._refresh_at = -math.inf

    def token(self, force_refresh: bool = False) -> AccessToken:
        with self._lock:
            now = self._clock()
            if self._token is None or force_refresh or now >= self._refresh_at:
                token = self._mint()
                register_secret(token.value)
                lifetime = token.expires_at - now
                self._refresh_at = token.expires_at - min(self._margin, lifetime / 2)
                self._token = token
            return self._token


class AzureTokenSource(CachedTokenSource):
    """Tokens for `scope` (`GRAPH_SCOPE`, `ARM_SCOPE`) from an azure-identity credential.

    The default credential is `DefaultAzureCredential` without the interactive browser: environment
    variables, workload identity federation (CI), managed identity, then the Azure CLI. It is built,
    and azure.identity imported, on the first mint, so importing this module stays cheap. The cache
    matters: the Azure CLI credential runs `az` on every `get_token`.
    """

    def __init__(self, scope: str, credential: TokenCredential | None = None) -> None:
        super().__init__(self._mint_from_azure)
        self.scope = scope
        self._credential = credential

    def _mint_from_azure(self) -> AccessToken:
        # Runs under the cache's lock, so the default credential is built once.
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        token = self._credential.get_token(self.scope)
        return AccessToken(token.token, float(token.expires_on))


def _replayable(request: requests.PreparedRequest) -> bool:
    """Whether the body can be sent again: a file or generator body was consumed by the first send."""
    return request.body is None or isinstance(request.body, (bytes, str))


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>` from `source`, with one refresh and one re-send on a 401.

    On a 401 the source is asked for its current token first: another request may already have
    refreshed it. Only if that is the token that failed is a refresh forced. If the source has
    nothing newer (a static token), the body cannot be replayed, or the 401 comes from another host
    after a redirect (requests strips the token there), the 401 is returned as is. The
    re-sent request goes straight to the adapter, which runs no hooks, so a second 401 is returned
    too, and `request()` raises `AuthError` for it: one refresh, never a loop.
    """

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        self._authorize(r, self.source.token())
        r.hooks["response"].append(self._refresh_on_401)
        return r

    @staticmethod
    def _authorize(r: requests.PreparedRequest, token: AccessToken) -> None:
        register_secret(token.value)
        r.headers["Authorization"] = f"Bearer {token.value}"

    def _refresh_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        failed = response.request.headers.get("Authorization")
        # No Authorization: requests stripped it on a redirect to another host, which must not get one.
        if response.status_code != 401 or failed is None or not _replayable(response.request):
            return response
        token = self.source.token()
        if f"Bearer {token.value}" == failed:
            token = self.source.token(force_refresh=True)
            if f"Bearer {token.value}" == failed:
                return response
        response.close()
        again = response.request.copy()
        self._authorize(again, token)
        resent: requests.Response = response.connection.send(again, **kwargs)
        resent.history.append(response)
        resent.request = again
        return resent
