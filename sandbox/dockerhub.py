"""A Docker Hub stand-in: the subset of `https://hub.docker.com/v2` our client uses, with Docker's limits.

Facts come from `../shared/research/dockerhub.md` (cited as §n) and Docker's OpenAPI spec; where the
two disagree the stand-in does what the real service was observed to do (§2.1, §4).

Routes (all but the first need `Authorization: Bearer <JWT from /v2/auth/token>`):

    POST   /v2/auth/token                                  {identifier, secret} -> {access_token}
    POST   /v2/orgs/{org}/access-tokens                    create an OAT (owners; 10 team / 100 business)
    GET    /v2/orgs/{org}/access-tokens?page&page_size     {total, next, previous, results}
    GET|PATCH|DELETE /v2/orgs/{org}/access-tokens/{id}
    GET|PUT /v2/orgs/{org}/settings                        restricted_images (Image Access Management)
    GET|PUT /v2/orgs/{org}/settings/registry-access-management   (not in the spec, §4)
    GET    /v2/orgs/{org}/members?search&page&page_size&invites&type&role
    GET    /v2/orgs/{org}/invites                          {"data": [...]}
    POST   /v2/invites/bulk                                202 {"invitees": [...]}
    DELETE /v2/invites/{id}
    GET    /v2/auditlogs/{account}?action&name&actor&from&to&page&page_size

Secrets: users sign in with a password or a PAT (`identifier` = username), or with an OAT
(`identifier` = org name, §1.1). The bearer is an HS256 JWT signed with a per-instance key; it
carries `sub`, `iat`, `exp` (after `token_ttl` seconds) and `jti`. A bearer minted from an OAT may
not manage OATs or Image Access Management (§1.3); on member, invite, RAM and audit-log routes it
needs the matching `TYPE_ORG` scope (§2.2).

Error bodies follow the spec's schemas: `ValueError` `{fields, text}` for 400 and `Error`
`{detail, message}` for 401/403/404 on OAT and settings routes, `error` `{errinfo, detail,
message}` on auth, member and invite routes, `rpcStatus` `{code, message, details}` on audit logs,
and `{"detail": "Rate limit exceeded", "error": false}` for 429 (§1.4).

Shapes: the OAT create response has no `created_by`/`last_used_at` (as observed, §2.1); list
items carry the spec's `orgAccessToken` fields; GET and PATCH add `description` and `resources`.
Any member may read the org settings, only owners change them.

Choices where Docker documents nothing (§2.3, §8), so a client must not depend on them:
the OAT-limit error is a 400 `ValueError`; `expires_at` must be in the future; a repeated bulk
invite of a pending invitee answers `invited` with the existing invite; pages past the end are
empty; `page_size` is capped at 100.

Control methods for tests (thread-safe; the sandbox is the one place that knows OAT values):
`add_user`, `add_org`, `add_member`, `add_invite`, `set_verified_domains`, `record_event`,
`seed_token`, `tokens`, `token`, `deactivate_token`, `expire_token`, `delete_token`,
`revoke_bearers`, `rate_limit_fault`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import math
import re
import secrets
import string
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal, NotRequired, TypedDict
from urllib.parse import urlencode

from sandbox._server import Clock, HttpError, RateLimit, SandboxRequest, SandboxResponse, SandboxServer
from sandbox.faults import Fault

Plan = Literal["team", "business"]
MemberRole = Literal["owner", "member"]

OAT_LIMITS: Mapping[str, int] = {"team": 10, "business": 100}  # §2.3, expired and inactive count
MAX_REPO_RESOURCES = 50  # §2.3
MAX_DESCRIPTION = 200  # §2.3
DEFAULT_TOKEN_TTL = 600.0  # §1.1: the JWT "expires in 10 minutes"
DEFAULT_RATE_LIMIT = RateLimit(limit=1000, window=60.0)  # the real number is undocumented (§1.5)
RATE_LIMIT_BODY: Mapping[str, Any] = {"detail": "Rate limit exceeded", "error": False}

REPO_SCOPES = frozenset(
    {
        "scope-image-pull",
        "scope-image-push",
        "scope-image-delete",
        "scope-repository-read",
        "scope-repository-edit",
        "scope-repository-admin",
        "scope-tag-read",
        "scope-tag-admin",
        "scope-webhook-read",
        "scope-webhook-edit",
        "scope-webhook-admin",
        "scope-repo-group-read",
        "scope-repo-group-edit",
        "scope-repo-group-admin",
        "scope-repository-settings-admin",
    }
)
ORG_SCOPES = frozenset(
    {
        "scope-member-read",
        "scope-member-edit",
        "scope-invite-read",
        "scope-invite-edit",
        "scope-group-read",
        "scope-group-edit",
        "scope-activity-read",
        "scope-siem_credentials-read",
        "scope-ram-read",
        "scope-ram-write",
        "scope-report-read",
        "scope-repository-create",
        "scope-repository-list",
        "scope-registry-usage-read",
        # product scopes (§2.2); Docker does not say which resource type carries them
        "scope-cloud-connect",
        "scope-audit_events-read",
        "scope-governance-policy-read",
        "scope-governance-policy-write",
    }
)
SCOPES_BY_TYPE: Mapping[str, frozenset[str]] = {"TYPE_REPO": REPO_SCOPES, "TYPE_ORG": ORG_SCOPES}
INVITE_ROLES = frozenset({"owner", "editor", "member"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN_ALPHABET = string.ascii_letters + string.digits


class OrgConfig(TypedDict):
    owners: Sequence[str]
    plan: NotRequired[Plan]


@dataclass(frozen=True)
class TokenView:
    """A snapshot of an organization access token, value included, for test assertions."""

    id: str
    org: str
    label: str
    description: str
    value: str
    resources: tuple[Mapping[str, Any], ...]
    is_active: bool
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


@dataclass
class _Member:
    id: str
    username: str
    email: str
    role: MemberRole
    full_name: str
    date_joined: datetime
    groups: list[str] = field(default_factory=list)


@dataclass
class _Invite:
    id: str
    org: str
    invitee: str
    inviter_username: str
    team: str | None
    role: str
    created_at: datetime


@dataclass
class _Event:
    account: str
    action: str
    name: str
    actor: str
    data: dict[str, str]
    timestamp: datetime
    action_description: str


@dataclass
class _Org:
    name: str
    plan: Plan
    members: dict[str, _Member] = field(default_factory=dict)
    verified_domains: set[str] = field(default_factory=set)
    restricted_images: dict[str, bool] = field(
        default_factory=lambda: {
            "enabled": False,
            "allow_official_images": True,
            "allow_verified_publishers": True,
        }
    )
    registry_access: dict[str, Any] = field(
        default_factory=lambda: {
            "enabled": False,
            "standard_registries": [{"id": "DockerHub", "allowed": True}],
            "custom_registries": [],
        }
    )


@dataclass(frozen=True)
class _Principal:
    """Who a bearer speaks for: a user, or an OAT (`token_id`) of the org named in `subject`."""

    subject: str
    token_id: str | None = None


class _Style(enum.Enum):
    """Which of the spec's error schemas a route family answers with."""

    ERROR = "Error"  # OAT and settings routes: {detail, message}
    ORG = "error"  # auth, member and invite routes: {errinfo, detail, message}
    RPC = "rpcStatus"  # audit logs: {code, message, details}


_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5}  # gRPC INVALID_ARGUMENT, UNAUTHENTICATED, ...


def _error(style: _Style, status: int, message: str) -> HttpError:
    if style is _Style.RPC:
        body: dict[str, Any] = {"code": _RPC_CODES.get(status, 2), "message": message, "details": []}
    elif style is _Style.ORG:
        body = {"errinfo": {}, "detail": message, "message": message}
    else:
        body = {"detail": message, "message": message}
    return HttpError(SandboxResponse.json(body, status))


def _bad_request(style: _Style, name: str, message: str) -> HttpError:
    """A 400 in the route family's schema: `ValueError` on OAT and settings routes (spec `BadRequest`)."""
    return _value_error({name: [message]}) if style is _Style.ERROR else _error(style, 400, f"{name}: {message}")


def _value_error(fields: Mapping[str, list[str]]) -> HttpError:
    text = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
    return HttpError(SandboxResponse.json({"fields": dict(fields), "text": text}, 400))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timestamp_seconds(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(text: Any) -> datetime | None:
    """An RFC 3339 timestamp with a zone, or None when `text` is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# -- JWT (HS256), written here rather than borrowed so the stand-in checks bearers independently --


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwt_sign(claims: Mapping[str, Any], key: bytes) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def _jwt_claims(token: str, key: bytes, now: float) -> dict[str, Any] | None:
    """The claims of a correctly signed, unexpired HS256 token; None otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload, signature = parts
    expected = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _b64url_decode(signature)):
            return None
        if json.loads(_b64url_decode(header)).get("alg") != "HS256":
            return None
        claims = json.loads(_b64url_decode(payload))
    except (ValueError, AttributeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int | float):
        return None
    return claims if now < claims["exp"] else None


class DockerHubSandbox(SandboxServer):
    """Docker Hub on a local port; see the module docstring for routes and control methods."""

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        orgs: Mapping[str, OrgConfig] | None = None,
        *,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        consistency_delay: float = 0.0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(host, port, rate_limit=rate_limit, consistency_delay=consistency_delay, clock=clock)
        self.token_ttl = token_ttl
        self._jwt_key = secrets.token_bytes(32)
        self._users: dict[str, set[str]] = {}
        self._orgs: dict[str, _Org] = {}
        self._tokens: dict[str, TokenView] = {}
        self._invites: dict[str, _Invite] = {}
        self._events: list[_Event] = []
        for username, secret in (users or {}).items():
            self.add_user(username, secret)
        for name, config in (orgs or {}).items():
            self.add_org(name, owners=config["owners"], plan=config.get("plan", "team"))

        org = r"/v2/orgs/(?P<org>[^/]+)"
        self.route("POST", r"/v2/auth/token/?", self._create_bearer)
        self.route("POST", org + r"/access-tokens/?", self._create_token)
        self.route("GET", org + r"/access-tokens/?", self._list_tokens)
        self.route("GET", org + r"/access-tokens/(?P<token_id>[^/]+)/?", self._get_token)
        self.route("PATCH", org + r"/access-tokens/(?P<token_id>[^/]+)/?", self._patch_token)
        self.route("DELETE", org + r"/access-tokens/(?P<token_id>[^/]+)/?", self._delete_token)
        self.route("GET", org + r"/settings/?", self._get_settings)
        self.route("PUT", org + r"/settings/?", self._put_settings)
        self.route("GET", org + r"/settings/registry-access-management/?", self._get_ram)
        self.route("PUT", org + r"/settings/registry-access-management/?", self._put_ram)
        self.route("GET", org + r"/members/?", self._list_members)
        self.route("GET", org + r"/invites/?", self._list_invites)
        self.route("POST", r"/v2/invites/bulk/?", self._bulk_invite)
        self.route("DELETE", r"/v2/invites/(?P<invite_id>[^/]+)/?", self._cancel_invite)
        self.route("GET", r"/v2/auditlogs/(?P<account>[^/]+)/?", self._list_events)

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return dict(RATE_LIMIT_BODY)
        phrase = HTTPStatus(status).phrase
        return {"detail": phrase, "message": phrase}

    # == control methods =========================================================================

    def add_user(self, username: str, secret: str) -> None:
        """Let `username` sign in with `secret` (a password or a `dckr_pat_` PAT); repeatable."""
        with self.lock:
            self._users.setdefault(username, set()).add(secret)

    def add_org(self, name: str, *, owners: Sequence[str], plan: Plan = "team") -> None:
        if plan not in OAT_LIMITS:
            raise ValueError(f"plan must be one of {sorted(OAT_LIMITS)}, got {plan!r}")
        with self.lock:
            self._orgs[name] = _Org(name, plan)
            for owner in owners:
                self.add_member(name, owner, role="owner")

    def add_member(
        self,
        org: str,
        username: str,
        *,
        email: str | None = None,
        role: MemberRole = "member",
        full_name: str = "",
        groups: Sequence[str] = (),
    ) -> None:
        with self.lock:
            self._orgs[org].members[username] = _Member(
                id=uuid.uuid4().hex,
                username=username,
                email=email or f"{username}@example.com",
                role=role,
                full_name=full_name,
                date_joined=self._now(),
                groups=list(groups),
            )

    def add_invite(self, org: str, invitee: str, *, inviter: str, team: str | None = None, role: str = "member") -> str:
        """Seed a pending invite; returns its id."""
        with self.lock:
            invite = _Invite(str(uuid.uuid4()), org, invitee, inviter, team, role, self._now())
            self._invites[invite.id] = invite
            return invite.id

    def set_verified_domains(self, org: str, domains: Iterable[str]) -> None:
        """Members whose email lies outside these domains are reported with `is_guest: true` (§3.3)."""
        with self.lock:
            self._orgs[org].verified_domains = {domain.lower() for domain in domains}

    def record_event(
        self,
        account: str,
        action: str,
        *,
        name: str | None = None,
        actor: str = "",
        data: Mapping[str, str] | None = None,
        timestamp: datetime | None = None,
        description: str = "",
    ) -> None:
        """Seed an audit-log event, e.g. `record_event("acme", "org.domain.verify", data={...})`."""
        with self.lock:
            self._events.append(
                _Event(
                    account=account,
                    action=action,
                    name=name if name is not None else account,
                    actor=actor,
                    data=dict(data or {}),
                    timestamp=timestamp or self._now(),
                    action_description=description,
                )
            )

    def seed_token(
        self,
        org: str,
        label: str,
        *,
        resources: Sequence[Mapping[str, Any]] | None = None,
        description: str = "",
        expires_at: datetime | None = None,
        is_active: bool = True,
        created_by: str = "sandbox",
    ) -> TokenView:
        """Store a token directly, without the API's validation or limit; returns it with its value."""
        with self.lock:
            if org not in self._orgs:
                raise KeyError(org)
            token = TokenView(
                id=str(uuid.uuid4()),
                org=org,
                label=label,
                description=description,
                value=self._new_token_value(),
                resources=tuple(
                    resources or ({"type": "TYPE_REPO", "path": f"{org}/*", "scopes": ["scope-image-pull"]},)
                ),
                is_active=is_active,
                created_by=created_by,
                created_at=self._now(),
                expires_at=expires_at,
                last_used_at=None,
            )
            self._tokens[token.id] = token
            return token

    def tokens(self, org: str | None = None) -> list[TokenView]:
        """Every stored token (of `org`, if given), in creation order, values included."""
        with self.lock:
            return [token for token in self._tokens.values() if org is None or token.org == org]

    def token(self, token_id: str) -> TokenView:
        with self.lock:
            return self._tokens[token_id]

    def deactivate_token(self, token_id: str) -> None:
        with self.lock:
            self._tokens[token_id] = replace(self._tokens[token_id], is_active=False)

    def expire_token(self, token_id: str) -> None:
        """Move the token's expiry one second into the past."""
        with self.lock:
            expired = self._now() - timedelta(seconds=1)
            self._tokens[token_id] = replace(self._tokens[token_id], expires_at=expired)

    def delete_token(self, token_id: str) -> None:
        """Remove the token behind the API's back, as an owner clicking in the Admin Console would."""
        with self.lock:
            del self._tokens[token_id]

    def revoke_bearers(self) -> None:
        """Invalidate every JWT issued so far (a new signing key), to exercise a client's re-mint."""
        with self.lock:
            self._jwt_key = secrets.token_bytes(32)

    def rate_limit_fault(
        self,
        *,
        times: int = 1,
        retry_after: int = 1,
        header: Literal["Retry-After", "X-Retry-After"] = "Retry-After",
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """A 429 as Docker sends it (§1.5): `Retry-After` in seconds, or the older `X-Retry-After`
        as a unix timestamp `retry_after` seconds from now."""
        value = str(retry_after) if header == "Retry-After" else str(math.ceil(self.clock() + retry_after))
        return Fault.status(429, times=times, headers={header: value}, method=method, path=path)

    # == helpers ================================================================================

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    @staticmethod
    def _new_token_value() -> str:
        return "dckr_oat_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(28))

    def _authenticate(self, request: SandboxRequest, style: _Style) -> _Principal:
        scheme, _, bearer = (request.header("Authorization") or "").partition(" ")
        claims = _jwt_claims(bearer.strip(), self._jwt_key, self.clock()) if scheme.lower() == "bearer" else None
        if claims is None:
            raise _error(style, 401, "Authentication credentials were not provided or are invalid or expired.")
        token_id = claims.get("oat")
        return _Principal(str(claims["sub"]), str(token_id) if token_id else None)

    def _org(self, name: str, style: _Style) -> _Org:
        org = self._orgs.get(name)
        if org is None:
            raise _error(style, 404, f"organization {name!r} not found")
        return org

    def _authorize(
        self, principal: _Principal, org: _Org, style: _Style, *, owner: bool, oat_scope: str | None
    ) -> None:
        """Owners (or any member when `owner` is False); OAT bearers only with `oat_scope` granted."""
        if principal.token_id is not None:
            if oat_scope is None:
                raise _error(style, 403, "token issued from organization access token is not allowed")
            token = self._tokens.get(principal.token_id)
            granted = (
                token is not None
                and token.org == org.name
                and any(
                    resource.get("type") == "TYPE_ORG" and oat_scope in resource.get("scopes", ())
                    for resource in token.resources
                )
            )
            if not granted:
                raise _error(style, 403, f"the organization access token lacks {oat_scope}")
            return
        member = org.members.get(principal.subject)
        if member is None or (owner and member.role != "owner"):
            raise _error(style, 403, "You don't have permission to perform this action.")

    def _json_object(self, request: SandboxRequest, style: _Style) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _bad_request(style, "body", "a JSON object is required")
        return body

    def _page(self, request: SandboxRequest, style: _Style, default_size: int) -> tuple[int, int]:
        try:
            page = int(request.query_value("page") or 1)
            size = int(request.query_value("page_size") or default_size)
        except ValueError:
            raise _bad_request(style, "page", "page and page_size must be integers") from None
        if page < 1 or size < 1:
            raise _bad_request(style, "page", "page and page_size must be positive")
        return page, min(size, 100)

    def _links(self, request: SandboxRequest, page: int, size: int, total: int) -> tuple[str | None, str | None]:
        """Absolute `next`/`previous` URLs, keeping the request's other query parameters (§4)."""
        base = f"http://{request.header('Host') or f'{self.host}:{self.port}'}{request.path}"

        def link(number: int) -> str:
            query = {name: values[-1] for name, values in request.query.items()}
            query.update(page=str(number), page_size=str(size))
            return f"{base}?{urlencode(query)}"

        next_link = link(page + 1) if page * size < total else None
        previous_link = link(page - 1) if page > 1 else None
        return next_link, previous_link

    def _audit(self, org: str, action: str, actor: str, token: TokenView, verb: str) -> None:
        self.record_event(
            org,
            action,
            actor=actor,
            data={"label": token.label, "token_id": token.id},
            description=f"{verb} the organization access token {token.label}",
        )

    # == auth ===================================================================================

    def _create_bearer(self, request: SandboxRequest) -> SandboxResponse:
        body = self._json_object(request, _Style.ORG)
        identifier, secret = body.get("identifier"), body.get("secret")
        if not isinstance(identifier, str) or not isinstance(secret, str):
            raise _bad_request(_Style.ORG, "identifier", "identifier and secret are required")
        claims: dict[str, Any] = {"sub": identifier}
        if secret.startswith("dckr_oat_"):
            token = next((t for t in self._tokens.values() if t.value == secret and t.org == identifier), None)
            expires_at = None if token is None else token.expires_at
            if token is None or not token.is_active or (expires_at is not None and expires_at <= self._now()):
                raise _error(_Style.ORG, 401, "Incorrect organization name or access token.")
            self._tokens[token.id] = replace(token, last_used_at=self._now())
            claims["oat"] = token.id
        elif secret not in self._users.get(identifier, set()):
            raise _error(_Style.ORG, 401, "Incorrect username or password.")
        now = self.clock()
        claims.update(iat=int(now), exp=math.ceil(now + self.token_ttl), jti=uuid.uuid4().hex)
        return SandboxResponse.json({"access_token": _jwt_sign(claims, self._jwt_key)})

    # == organization access tokens =============================================================

    def _token_json(self, token: TokenView) -> dict[str, Any]:
        """A token as GET and PATCH return it: the spec's fields plus `description`, never the value."""
        return {
            "id": token.id,
            "label": token.label,
            "description": token.description,
            "created_by": token.created_by,
            "is_active": token.is_active,
            "created_at": _timestamp(token.created_at),
            "expires_at": _timestamp_seconds(token.expires_at),
            "last_used_at": None if token.last_used_at is None else _timestamp(token.last_used_at),
            "resources": [dict(resource) for resource in token.resources],
        }

    def _visible_token(self, request: SandboxRequest) -> TokenView:
        token = self._tokens.get(request.path_params["token_id"])
        if token is None or token.org != request.path_params["org"] or not self.consistency.visible(("oat", token.id)):
            raise _error(_Style.ERROR, 404, "access token not found")
        return token

    def _validate_resources(self, org: str, raw: Any, fields: dict[str, list[str]]) -> tuple[dict[str, Any], ...]:
        if not isinstance(raw, list) or not raw:
            fields["resources"] = ["at least one resource is required"]
            return ()
        resources: list[dict[str, Any]] = []
        repo_path = re.compile(rf"{re.escape(org)}/[A-Za-z0-9._*-]+")
        for index, item in enumerate(raw):
            where = f"resources[{index}]"
            if not isinstance(item, dict):
                fields[where] = ["must be an object with type, path and scopes"]
                continue
            kind, path, scopes = item.get("type"), item.get("path"), item.get("scopes")
            allowed = SCOPES_BY_TYPE.get(kind) if isinstance(kind, str) else None
            if allowed is None:
                fields[f"{where}.type"] = [f"must be one of {sorted(SCOPES_BY_TYPE)}"]
                continue
            if not isinstance(path, str) or not path:
                fields[f"{where}.path"] = ["is required"]
            elif kind == "TYPE_REPO" and path != "*/*/public" and not repo_path.fullmatch(path):
                fields[f"{where}.path"] = [f"must be {org}/<repository>, a glob like {org}/*, or */*/public"]
            if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
                fields[f"{where}.scopes"] = ["at least one scope is required"]
            elif unknown := sorted(set(scopes) - allowed):
                fields[f"{where}.scopes"] = [f"unknown {kind} scopes: {', '.join(unknown)}"]
            resources.append({"type": kind, "path": path, "scopes": list(scopes) if isinstance(scopes, list) else []})
        if sum(1 for resource in resources if resource["type"] == "TYPE_REPO") > MAX_REPO_RESOURCES:
            fields["resources"] = [f"at most {MAX_REPO_RESOURCES} repositories per token"]
        return tuple(resources)

    @staticmethod
    def _validate_text(body: Mapping[str, Any], fields: dict[str, list[str]], *, label_required: bool) -> None:
        if "label" in body or label_required:
            label = body.get("label")
            if not isinstance(label, str) or not label.strip():
                fields["label"] = ["This field is required." if label is None else "must be a non-empty string"]
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
            fields["description"] = [f"must be a string of at most {MAX_DESCRIPTION} characters"]

    def _create_token(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        body = self._json_object(request, _Style.ERROR)

        fields: dict[str, list[str]] = {}
        self._validate_text(body, fields, label_required=True)
        resources = self._validate_resources(org.name, body.get("resources"), fields)
        expires_at = None
        if body.get("expires_at") is not None:
            expires_at = _parse_datetime(body["expires_at"])
            if expires_at is None:
                fields["expires_at"] = ["must be an RFC 3339 date-time with a time zone"]
            elif expires_at <= self._now():
                fields["expires_at"] = ["must be in the future"]
        if fields:
            raise _value_error(fields)
        limit = OAT_LIMITS[org.plan]
        if len(self.tokens(org.name)) >= limit:
            raise _value_error(
                {
                    "non_field_errors": [
                        f"the {org.plan} plan allows {limit} organization access tokens; "
                        "expired and inactive tokens count until deleted"
                    ]
                }
            )

        token = TokenView(
            id=str(uuid.uuid4()),
            org=org.name,
            label=body["label"],
            description=body.get("description") or "",
            value=self._new_token_value(),
            resources=resources,
            is_active=True,
            created_by=principal.subject,
            created_at=self._now(),
            expires_at=expires_at,
            last_used_at=None,
        )
        self._tokens[token.id] = token
        self.consistency.written(("oat", token.id))
        self._audit(org.name, "org.access_token.create", principal.subject, token, "created")
        # The real create response has no created_by / last_used_at (§2.1, docker/docs#24406).
        created = {
            "id": token.id,
            "label": token.label,
            "description": token.description,
            "resources": [dict(resource) for resource in resources],
            "token": token.value,
            "is_active": True,
            "expires_at": _timestamp_seconds(expires_at),
            "created_at": _timestamp(token.created_at),
        }
        return SandboxResponse.json(created, 201)

    def _list_tokens(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        page, size = self._page(request, _Style.ERROR, default_size=10)
        visible = [t for t in self.tokens(org.name) if self.consistency.visible(("oat", t.id))]
        next_link, previous_link = self._links(request, page, size, len(visible))
        results = []
        for token in visible[(page - 1) * size : page * size]:
            item = self._token_json(token)
            del item["description"], item["resources"]  # list items are the spec's orgAccessToken
            results.append(item)
        return SandboxResponse.json(
            {"total": len(visible), "next": next_link, "previous": previous_link, "results": results}
        )

    def _get_token(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        return SandboxResponse.json(self._token_json(self._visible_token(request)))

    def _patch_token(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        token = self._tokens.get(request.path_params["token_id"])
        if token is None or token.org != org.name:
            raise _error(_Style.ERROR, 404, "access token not found")
        body = self._json_object(request, _Style.ERROR)

        fields: dict[str, list[str]] = {}
        if "expires_at" in body:
            fields["expires_at"] = ["expiration cannot be changed after creation"]
        self._validate_text(body, fields, label_required=False)
        changes: dict[str, Any] = {}
        if "resources" in body:
            changes["resources"] = self._validate_resources(org.name, body["resources"], fields)
        if "is_active" in body:
            if isinstance(body["is_active"], bool):
                changes["is_active"] = body["is_active"]
            else:
                fields["is_active"] = ["must be a boolean"]
        if token.expires_at is not None and token.expires_at <= self._now():
            fields["non_field_errors"] = ["expired tokens can only be deleted"]
        if fields:
            raise _value_error(fields)
        for name in ("label", "description"):
            if body.get(name) is not None:
                changes[name] = body[name]
        token = replace(token, **changes)
        self._tokens[token.id] = token
        self._audit(org.name, "org.access_token.update", principal.subject, token, "updated")
        return SandboxResponse.json(self._token_json(token))

    def _delete_token(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        token = self._tokens.get(request.path_params["token_id"])
        if token is None or token.org != org.name:
            raise _error(_Style.ERROR, 404, "access token not found")
        del self._tokens[token.id]
        self._audit(org.name, "org.access_token.delete", principal.subject, token, "deleted")
        return SandboxResponse.empty(204)

    # == org settings ===========================================================================

    def _get_settings(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=False, oat_scope=None)  # §1.3: no OATs
        return SandboxResponse.json({"restricted_images": dict(org.restricted_images)})

    def _put_settings(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope=None)
        body = self._json_object(request, _Style.ERROR)
        restricted = body.get("restricted_images")
        if not isinstance(restricted, dict):
            raise _value_error({"restricted_images": ["This field is required."]})
        fields = {
            f"restricted_images.{name}": ["a boolean is required"]
            for name in ("enabled", "allow_official_images", "allow_verified_publishers")
            if not isinstance(restricted.get(name), bool)
        }
        if fields:
            raise _value_error(fields)
        org.restricted_images = {name: restricted[name] for name in org.restricted_images}
        return SandboxResponse.json({"restricted_images": dict(org.restricted_images)})

    def _get_ram(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=False, oat_scope="scope-ram-read")
        return SandboxResponse.json(json.loads(json.dumps(org.registry_access)))

    def _put_ram(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ERROR)
        org = self._org(request.path_params["org"], _Style.ERROR)
        self._authorize(principal, org, _Style.ERROR, owner=True, oat_scope="scope-ram-write")
        body = self._json_object(request, _Style.ERROR)
        fields: dict[str, list[str]] = {}
        if not isinstance(body.get("enabled"), bool):
            fields["enabled"] = ["a boolean is required"]
        standard = self._registry_list(body, "standard_registries", {"id": str, "allowed": bool}, fields)
        custom = self._registry_list(
            body, "custom_registries", {"address": str, "friendly_name": str, "allowed": bool}, fields
        )
        if fields:
            raise _value_error(fields)
        org.registry_access = {
            "enabled": body["enabled"],
            "standard_registries": standard,
            "custom_registries": custom,
        }
        return SandboxResponse.json(json.loads(json.dumps(org.registry_access)))

    @staticmethod
    def _registry_list(
        body: Mapping[str, Any], name: str, shape: Mapping[str, type], fields: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        items = body.get(name)
        if isinstance(items, list) and all(
            isinstance(item, dict) and all(isinstance(item.get(key), kind) for key, kind in shape.items())
            for item in items
        ):
            return [{key: item[key] for key in shape} for item in items]
        keys = ", ".join(f"{key}: {kind.__name__}" for key, kind in shape.items())
        fields[name] = [f"a list of objects {{{keys}}} is required"]
        return []

    # == members and invites ====================================================================

    def _is_guest(self, org: _Org, email: str) -> bool:
        domain = email.rpartition("@")[2].lower()
        return bool(org.verified_domains) and domain not in org.verified_domains

    def _list_members(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ORG)
        org = self._org(request.path_params["org"], _Style.ORG)
        self._authorize(principal, org, _Style.ORG, owner=False, oat_scope="scope-member-read")
        page, size = self._page(request, _Style.ORG, default_size=25)
        kind = request.query_value("type") or "member"
        role = (request.query_value("role") or "").lower()
        search = (request.query_value("search") or "").lower()
        with_invitees = kind in ("all", "invitee") or request.query_value("invites") == "true"

        rows: list[dict[str, Any]] = []
        if kind != "invitee":
            rows += [
                {
                    "id": m.id,
                    "username": m.username,
                    "full_name": m.full_name,
                    "email": m.email,
                    "role": m.role.capitalize(),
                    "groups": list(m.groups),
                    "is_guest": self._is_guest(org, m.email),
                    "type": "User",
                    "date_joined": _timestamp(m.date_joined),
                }
                for m in org.members.values()
                if not role or m.role == role
            ]
        if with_invitees and not role:
            for invite in self._pending_invites(org.name):
                email = invite.invitee if _EMAIL.match(invite.invitee) else ""
                rows.append(
                    {
                        "id": invite.id,
                        "username": "" if email else invite.invitee,
                        "full_name": "",
                        "email": email,
                        "role": "Invitee",
                        "groups": [invite.team] if invite.team else [],
                        "is_guest": bool(email) and self._is_guest(org, email),
                        "type": "User",
                    }
                )
        if search:
            rows = [r for r in rows if any(search in str(r[key]).lower() for key in ("username", "full_name", "email"))]
        next_link, previous_link = self._links(request, page, size, len(rows))
        return SandboxResponse.json(
            {
                "count": len(rows),
                "next": next_link,
                "previous": previous_link,
                "results": rows[(page - 1) * size : page * size],
            }
        )

    def _pending_invites(self, org: str) -> list[_Invite]:
        return [invite for invite in self._invites.values() if invite.org == org]

    @staticmethod
    def _invite_json(invite: _Invite) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": invite.id,
            "inviter_username": invite.inviter_username,
            "invitee": invite.invitee,
            "org": invite.org,
            "created_at": _timestamp(invite.created_at),
        }
        if invite.team:
            body["team"] = invite.team
        return body

    def _list_invites(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ORG)
        org = self._org(request.path_params["org"], _Style.ORG)
        self._authorize(principal, org, _Style.ORG, owner=True, oat_scope="scope-invite-read")
        return SandboxResponse.json({"data": [self._invite_json(i) for i in self._pending_invites(org.name)]})

    def _bulk_invite(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ORG)
        body = self._json_object(request, _Style.ORG)
        invitees, role, team = body.get("invitees"), body.get("role") or "member", body.get("team")
        if not isinstance(body.get("org"), str):
            raise _bad_request(_Style.ORG, "org", "is required")
        if not isinstance(invitees, list) or not invitees or not all(isinstance(i, str) for i in invitees):
            raise _bad_request(_Style.ORG, "invitees", "must be a non-empty list of emails or Docker IDs")
        if role not in INVITE_ROLES:
            raise _bad_request(_Style.ORG, "role", f"must be one of {sorted(INVITE_ROLES)}")
        if team is not None and not isinstance(team, str):
            raise _bad_request(_Style.ORG, "team", "must be a string")
        org = self._org(body["org"], _Style.ORG)
        self._authorize(principal, org, _Style.ORG, owner=True, oat_scope="scope-invite-edit")
        dry_run = body.get("dry_run") is True
        inviter = principal.subject

        known_users = set(self._users) | {u for o in self._orgs.values() for u in o.members}
        member_keys = {key.lower() for m in org.members.values() for key in (m.username, m.email)}
        results: list[dict[str, Any]] = []
        for invitee in invitees:
            if invitee.lower() in member_keys:
                results.append({"invitee": invitee, "status": "existing_org_member"})
                continue
            if not _EMAIL.match(invitee) and invitee not in known_users:
                results.append({"invitee": invitee, "status": "invalid_email_or_docker_id"})
                continue
            existing = next((i for i in self._pending_invites(org.name) if i.invitee.lower() == invitee.lower()), None)
            result: dict[str, Any] = {"invitee": invitee, "status": "invited"}
            if existing is not None:
                result["invite"] = self._invite_json(existing)
            elif not dry_run:
                invite = _Invite(str(uuid.uuid4()), org.name, invitee, inviter, team, role, self._now())
                self._invites[invite.id] = invite
                result["invite"] = self._invite_json(invite)
            results.append(result)
        return SandboxResponse.json({"invitees": results}, 202)

    def _cancel_invite(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.ORG)
        invite = self._invites.get(request.path_params["invite_id"])
        if invite is None:
            raise _error(_Style.ORG, 404, "invite not found")
        org = self._org(invite.org, _Style.ORG)
        self._authorize(principal, org, _Style.ORG, owner=True, oat_scope="scope-invite-edit")
        del self._invites[invite.id]
        return SandboxResponse.empty(204)

    # == audit logs =============================================================================

    def _list_events(self, request: SandboxRequest) -> SandboxResponse:
        principal = self._authenticate(request, _Style.RPC)
        org = self._org(request.path_params["account"], _Style.RPC)
        self._authorize(principal, org, _Style.RPC, owner=True, oat_scope="scope-activity-read")
        page, size = self._page(request, _Style.RPC, default_size=25)
        bounds: dict[str, datetime] = {}
        for name in ("from", "to"):
            raw = request.query_value(name)
            if raw is not None:
                moment = _parse_datetime(raw)
                if moment is None:
                    raise _bad_request(_Style.RPC, name, "must be an RFC 3339 date-time")
                bounds[name] = moment
        wanted = {name: request.query_value(name) for name in ("action", "name", "actor")}
        events = [
            event
            for event in self._events
            if event.account == org.name
            and all(value is None or getattr(event, key) == value for key, value in wanted.items())
            and ("from" not in bounds or event.timestamp >= bounds["from"])
            and ("to" not in bounds or event.timestamp <= bounds["to"])
        ]
        events.sort(key=lambda event: event.timestamp, reverse=True)
        logs = [
            {
                "account": event.account,
                "action": event.action,
                "name": event.name,
                "actor": event.actor,
                "data": dict(event.data),
                "timestamp": _timestamp_seconds(event.timestamp),
                "action_description": event.action_description,
            }
            for event in events[(page - 1) * size : page * size]
        ]
        return SandboxResponse.json({"logs": logs})
