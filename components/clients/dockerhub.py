"""The Docker Hub API client: organization access tokens, org settings, members, invites, audit logs.

```python
hub = DockerHubClient("https://hub.docker.com", "owner", "dckr_pat_...")
created = hub.create_org_access_token("acme", label="ci", description="", resources=[...], expires_at=None)
created.value                    # shown once by Docker; keep it secret
hub.list_org_access_tokens("acme")
```

Authentication (research §1.1): `POST /v2/auth/token {identifier, secret}` answers a JWT that lives
ten minutes. It is cached by a `CachedTokenSource` until a minute before the `exp` in its payload
(read without verifying the signature: only Docker verifies it), and `BearerAuth` mints a new one
once when a call answers 401. The mint goes through its own session, which carries no bearer.

Every call goes through `components.clients.request`, so errors are the shared tree (`NotFound`,
`AuthError`, `RateLimited`, `ApiError` with Docker's message in the excerpt, ...), and 429/5xx are
retried per `RetryPolicy`. Creating a token and bulk inviting are POSTs: a lost response or a 5xx
surfaces as `AmbiguousWriteError` / `ServerError`, never as a silent second POST; the caller decides
how to recover (the OAT provider looks the label up before creating again).

Lists follow Docker's absolute `next` links, re-rooted on `base_url` so a bearer never travels to a
host the client was not configured with.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from ._auth import AccessToken, BearerAuth, CachedTokenSource
from ._dockerhub_models import (
    AuditEvent,
    CreatedToken,
    CustomRegistry,
    ImageAccess,
    Invite,
    InviteResult,
    Member,
    OrgToken,
    RegistryAccess,
    TokenResource,
    format_timestamp,
    parse_timestamp,
)
from ._http import RetryPolicy, build_session, request
from ._redact import register_secret

__all__ = [
    "AuditEvent",
    "CreatedToken",
    "CustomRegistry",
    "DockerHubClient",
    "ImageAccess",
    "Invite",
    "InviteResult",
    "Member",
    "OrgToken",
    "RegistryAccess",
    "TokenResource",
    "format_timestamp",
    "parse_timestamp",
]

JWT_LIFETIME_S = 600.0
"""Docker documents ten minutes (§1.1); assumed when a JWT's payload cannot be read."""
JWT_REFRESH_MARGIN_S = 60.0
MAX_PAGES = 1000
"""A stop for a service that keeps answering `next`: 100 000 items at the default page size."""


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim (unix seconds) of a JWT, read without verifying it; None if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


class DockerHubClient:
    """One Docker Hub account (a username with a password or PAT) against `base_url`.

    `retry` is the retry policy of both sessions (default `RetryPolicy()`), `clock` the time source of
    the JWT cache, `page_size` the page size asked of paginated lists. Thread-safe: a provider process
    shares one client between concurrent RPCs.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        secret: str,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        page_size: int = 100,
    ) -> None:
        register_secret(secret)
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.page_size = page_size
        self._secret = secret
        self._clock = clock
        self._auth_session = build_session(retry=retry)
        self._tokens = CachedTokenSource(self._mint, JWT_REFRESH_MARGIN_S, clock=clock)
        self._session = build_session(retry=retry, auth=BearerAuth(self._tokens))

    def __repr__(self) -> str:
        return f"DockerHubClient({self.base_url!r}, {self.username!r})"

    # -- plumbing --------------------------------------------------------------------------------

    def _mint(self) -> AccessToken:
        response = request(
            self._auth_session,
            "POST",
            f"{self.base_url}/v2/auth/token",
            json={"identifier": self.username, "secret": self._secret},
        )
        value = str(response.json()["access_token"])
        register_secret(value)
        expiry = jwt_expiry(value)
        return AccessToken(value, expiry if expiry is not None else self._clock() + JWT_LIFETIME_S)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return request(self._session, method, self._url(path), **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, path, **kwargs).json()

    def _rooted(self, link: str) -> str:
        """Docker's absolute `next` link, on our `base_url`'s scheme and host."""
        parts = urllib.parse.urlsplit(link)
        base = urllib.parse.urlsplit(self.base_url)
        return urllib.parse.urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def _pages(self, path: str) -> Iterator[Mapping[str, Any]]:
        """The `results` items of a `{count|total, next, previous, results}` list, page after page."""
        url: str | None = self._url(f"{path}?{urllib.parse.urlencode({'page': 1, 'page_size': self.page_size})}")
        seen = 0
        for _ in range(MAX_PAGES):
            if url is None:
                return
            body = request(self._session, "GET", url).json()
            results = body.get("results") or []
            yield from results
            seen += len(results)
            total = body.get("total", body.get("count"))
            done = not results or (isinstance(total, int | float) and seen >= total)
            url = None if done or not body.get("next") else self._rooted(str(body["next"]))

    # -- organization access tokens (research §2) --------------------------------------------------

    def create_org_access_token(
        self,
        org: str,
        *,
        label: str,
        description: str,
        resources: Sequence[TokenResource],
        expires_at: datetime | None,
    ) -> CreatedToken:
        """Create a token; the answer holds its value, which Docker never shows again.

        Not retried after a 5xx or a lost response (`ServerError`, `AmbiguousWriteError`): the token
        may exist then, and a second POST would make a second one.
        """
        body: dict[str, Any] = {
            "label": label,
            "description": description,
            "resources": [resource.to_json() for resource in resources],
        }
        if expires_at is not None:
            body["expires_at"] = format_timestamp(expires_at)
        data = self._json("POST", f"/v2/orgs/{org}/access-tokens", json=body)
        value = str(data["token"])
        register_secret(value)
        return CreatedToken(OrgToken.from_json(data), value)

    def get_org_access_token(self, org: str, token_id: str) -> OrgToken:
        return OrgToken.from_json(self._json("GET", f"/v2/orgs/{org}/access-tokens/{token_id}"))

    def list_org_access_tokens(self, org: str) -> list[OrgToken]:
        """Every token of `org` (list items: no description, no resources)."""
        return [OrgToken.from_json(item) for item in self._pages(f"/v2/orgs/{org}/access-tokens")]

    def update_org_access_token(
        self,
        org: str,
        token_id: str,
        *,
        label: str | None = None,
        description: str | None = None,
        resources: Sequence[TokenResource] | None = None,
        is_active: bool | None = None,
    ) -> OrgToken:
        """PATCH the fields given (None: unchanged). Expiry cannot be changed after creation (§2.3)."""
        body: dict[str, Any] = {}
        if label is not None:
            body["label"] = label
        if description is not None:
            body["description"] = description
        if resources is not None:
            body["resources"] = [resource.to_json() for resource in resources]
        if is_active is not None:
            body["is_active"] = is_active
        return OrgToken.from_json(self._json("PATCH", f"/v2/orgs/{org}/access-tokens/{token_id}", json=body))

    def delete_org_access_token(self, org: str, token_id: str) -> None:
        self._call("DELETE", f"/v2/orgs/{org}/access-tokens/{token_id}")

    # -- org settings (research §4) ----------------------------------------------------------------

    def get_image_access(self, org: str) -> ImageAccess:
        return ImageAccess.from_json(self._json("GET", f"/v2/orgs/{org}/settings"))

    def put_image_access(self, org: str, value: ImageAccess) -> ImageAccess:
        return ImageAccess.from_json(self._json("PUT", f"/v2/orgs/{org}/settings", json=value.to_json()))

    def get_registry_access(self, org: str) -> RegistryAccess:
        return RegistryAccess.from_json(self._json("GET", f"/v2/orgs/{org}/settings/registry-access-management"))

    def put_registry_access(self, org: str, value: RegistryAccess) -> RegistryAccess:
        """PUT, then GET: the route is not in Docker's spec and the PUT answer is not relied on (§5.5)."""
        self._call("PUT", f"/v2/orgs/{org}/settings/registry-access-management", json=value.to_json())
        return self.get_registry_access(org)

    # -- members and invites (research §4) ---------------------------------------------------------

    def list_members(self, org: str) -> list[Member]:
        return [Member.from_json(item) for item in self._pages(f"/v2/orgs/{org}/members")]

    def list_invites(self, org: str) -> list[Invite]:
        """Pending invites; Docker does not paginate this list."""
        return [Invite.from_json(item) for item in self._json("GET", f"/v2/orgs/{org}/invites").get("data") or ()]

    def bulk_invite(
        self,
        org: str,
        invitees: Sequence[str],
        *,
        role: str = "member",
        team: str | None = None,
        dry_run: bool = False,
    ) -> list[InviteResult]:
        """Invite emails or Docker IDs. Not retried after a 5xx or lost response (see the module doc)."""
        body: dict[str, Any] = {"org": org, "invitees": list(invitees), "role": role, "dry_run": dry_run}
        if team is not None:
            body["team"] = team
        answer = self._json("POST", "/v2/invites/bulk", json=body)
        return [
            InviteResult(str(item.get("invitee") or ""), str(item.get("status") or ""))
            for item in answer.get("invitees") or ()
        ]

    # -- audit logs (research §3.3) ----------------------------------------------------------------

    def list_audit_events(
        self, account: str, *, action: str | None = None, since: datetime | None = None
    ) -> list[AuditEvent]:
        """Events of `account`, newest first; `action` like `org.domain.verify`, `since` inclusive.

        The audit-log answer has no `next` link: pages are read until one comes back empty (a short
        page may only mean Docker caps the page size below ours).
        """
        query: dict[str, Any] = {"page_size": self.page_size}
        if action is not None:
            query["action"] = action
        if since is not None:
            query["from"] = format_timestamp(since)
        events: list[AuditEvent] = []
        for page in range(1, MAX_PAGES + 1):
            params = urllib.parse.urlencode({**query, "page": page})
            logs = self._json("GET", f"/v2/auditlogs/{account}?{params}").get("logs") or []
            if not logs:
                break
            events += [AuditEvent.from_json(item) for item in logs]
        return events
