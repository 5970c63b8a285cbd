"""Docker Hub organization access tokens (OATs) as a Pulumi resource.

`OrgAccessToken`
    The token value is returned once, by the create call, and lives only in the secret output
    `token` (the resource registers `additional_secret_outputs=["token"]`); read and update carry it
    forward from state, they never see it again. `org`, `expires_at` and `expires_in_days` cannot be
    patched and replace the token, creating the new one before deleting the old one, so consumers
    never see a gap. `label`, `description`, `resources` (a set, scopes a set) are patched, and a
    token deactivated outside Pulumi is re-activated. A token already expired, or (with
    `rotate_before_days`) within that many days of its expiry, is replaced by the next `pulumi up`:
    a scheduled `up` rotates it.

    Labels are the token's natural key: `check` fails when another token of the org already has the
    label this resource claims (one read-only list call). It skips that lookup when the resource
    already holds the label (same org and label as before: the engine sends the previous *inputs*
    to check, which never carry the token id, so "the token with my label" is the resource's own),
    when `org` or `label` is unknown (preview), and when no credentials are configured (a preview
    without them), so a PR preview needs no secrets.

    A create whose answer is lost (`AmbiguousWriteError`) or is a 5xx (`ServerError`) may still
    have made a token, whose value nobody will ever see. It is not blindly repeated: the org's
    tokens with this label that were not there before the create are polled for a few seconds
    (Docker's lists may lag), deleted, and the create is tried once more. If that answer is lost
    too, any new token is deleted again and the create fails, leaving no token for the label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure, CheckResult, DiffResult

from components.clients import AmbiguousWriteError, NotFound, ServerError
from components.clients.dockerhub import (
    CreatedToken,
    DockerHubClient,
    OrgToken,
    TokenResource,
    format_timestamp,
    parse_timestamp,
)
from components.providers._base import (
    Checks,
    Props,
    RolloutProvider,
    changed_fields,
    contains_unknown,
    is_unknown,
    user_props,
)
from components.providers._settings import SettingError, Settings
from components.providers.dockerhub import DOCKER_HUB_SETTINGS, build_dockerhub_client

MAX_LABEL = 100
MAX_DESCRIPTION = 200  # research §2.3
ORPHAN_WAIT_S = 5.0
"""How long a create with a lost answer looks for the token it may have made (lists may lag)."""
ORPHAN_POLL_S = 0.25
TOKEN_OUTPUTS = frozenset({"token_id", "token", "expires_at", "is_active", "created_at", "last_used_at"})


class OrgAccessTokenCreateError(RuntimeError):
    """Both create attempts got no definite answer; any token they made was deleted."""


def _timestamp_text(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _canonical_resources(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources as compared and stored: scopes sorted and unique, resources sorted by (type, path)."""
    items = [{"type": item["type"], "path": item["path"], "scopes": sorted(set(item["scopes"]))} for item in resources]
    return sorted(items, key=lambda item: (item["type"], item["path"]))


def _resources_of(props: Props) -> tuple[TokenResource, ...]:
    return tuple(TokenResource(r["type"], r["path"], tuple(r["scopes"])) for r in props["resources"])


def _canonical_inputs(props: Props) -> Props:
    """Valid inputs in their stored form: canonical resources, `expires_at` as Docker writes it."""
    canonical = dict(props)
    if not contains_unknown(props["resources"]):
        canonical["resources"] = _canonical_resources(props["resources"])
    expires_at = props.get("expires_at")
    if isinstance(expires_at, str):
        moment = parse_timestamp(expires_at)
        if moment is not None:
            canonical["expires_at"] = format_timestamp(moment)
    return canonical


def _expiry_forces_replacement(old: Props, new: Props, now: datetime) -> bool:
    """Whether only a new token can satisfy `new`: another expiry, an expired token, or rotation due."""
    wanted = new.get("expires_at")
    current = parse_timestamp(old.get("expires_at"))
    if is_unknown(wanted):
        return True
    if wanted is not None:
        if parse_timestamp(wanted) != current:
            return True
    elif new.get("expires_in_days") is None and current is not None:
        return True  # now declared never to expire
    if current is None:
        return False
    if current <= now:
        return True
    rotate = new.get("rotate_before_days")
    return isinstance(rotate, int) and now >= current - timedelta(days=rotate)


class OrgAccessTokenProvider(RolloutProvider[DockerHubClient]):
    """The dynamic provider behind `OrgAccessToken` (see the module docstring).

    `orphan_wait_s` bounds the search for a token made by a create whose answer was lost.
    """

    settings = DOCKER_HUB_SETTINGS
    replace_on = frozenset({"org", "expires_in_days"})
    outputs = TOKEN_OUTPUTS

    def __init__(self, orphan_wait_s: float = ORPHAN_WAIT_S) -> None:
        super().__init__()
        self.orphan_wait_s = orphan_wait_s

    @classmethod
    def build_client(cls, settings: Settings) -> DockerHubClient:
        return build_dockerhub_client(settings)

    # -- check -----------------------------------------------------------------------------------

    def validate(self, props: Props, checks: Checks) -> None:
        checks.text("org")
        checks.text("label")
        checks.text("description", required=False)
        for field, limit in (("label", MAX_LABEL), ("description", MAX_DESCRIPTION)):
            value = props.get(field)
            if isinstance(value, str) and len(value) > limit:
                checks.fail(field, f"{field} must be at most {limit} characters (got {len(value)})")
        _validate_resources(props.get("resources"), checks)
        _validate_expiry(props, checks, datetime.now(UTC))

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = super().check(olds, news)
        if checked.failures:
            return checked
        inputs = _canonical_inputs(checked.inputs)
        taken = self._label_taken(user_props(olds), inputs)
        return CheckResult(inputs, [taken] if taken else [])

    def _label_taken(self, old: Props, new: Props) -> CheckFailure | None:
        """A failure when another token of the org has the label this resource claims (see module doc)."""
        org, label = new["org"], new["label"]
        if is_unknown(org) or is_unknown(label) or (old.get("org"), old.get("label")) == (org, label):
            return None
        try:
            client = self.client()
        except SettingError:
            return None  # no credentials: a preview without secrets
        try:
            holders = [token.id for token in client.list_org_access_tokens(org) if token.label == label]
        except NotFound:
            return CheckFailure("org", f"org: organization {org!r} was not found (or its tokens are not visible)")
        if not holders:
            return None
        return CheckFailure(
            "label",
            f"label {label!r} is already used by the organization access token {', '.join(holders)} in {org}; "
            "labels must be unique: delete that token or choose another label",
        )

    # -- diff --------------------------------------------------------------------------------------

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = user_props(olds), user_props(news)
        changed = changed_fields(old, new, ignore=self.outputs)
        replaces = {field for field in changed if field in self.replace_on}
        if _expiry_forces_replacement(old, new, datetime.now(UTC)):
            replaces.add("expires_at")
        reactivate = old.get("is_active") is False
        return DiffResult(
            changes=bool(changed or replaces or reactivate),
            replaces=sorted(replaces),
            delete_before_replace=False if replaces else None,
        )

    # -- CRUD --------------------------------------------------------------------------------------

    def create_object(self, client: DockerHubClient, props: Props) -> tuple[str, Props]:
        org, label = props["org"], props["label"]
        expires_at = parse_timestamp(props.get("expires_at"))
        if props.get("expires_in_days") is not None:
            expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=props["expires_in_days"])

        def create() -> CreatedToken:
            return client.create_org_access_token(
                org,
                label=label,
                description=props.get("description") or "",
                resources=_resources_of(props),
                expires_at=expires_at,
            )

        before = {token.id for token in client.list_org_access_tokens(org) if token.label == label}
        try:
            created = create()
        except (AmbiguousWriteError, ServerError):
            self._remove_orphans(client, org, label, before)
            try:
                created = create()
            except (AmbiguousWriteError, ServerError) as error:
                self._remove_orphans(client, org, label, before)
                raise OrgAccessTokenCreateError(
                    f"creating the organization access token {label!r} in {org} got no definite answer twice; any "
                    "token either attempt made was deleted, so the org holds no token for this label. Run the "
                    f"update again. The last answer: {error}"
                ) from None
        token = created.token
        return token.id, {
            "token_id": token.id,
            "token": created.value,
            "is_active": token.is_active,
            "expires_at": _timestamp_text(token.expires_at),
            "created_at": _timestamp_text(token.created_at),
            "last_used_at": _timestamp_text(token.last_used_at),
        }

    def _remove_orphans(self, client: DockerHubClient, org: str, label: str, before: set[str]) -> None:
        """Delete tokens with `label` that were not in `before`, polling up to `orphan_wait_s` for one."""
        deadline = time.monotonic() + self.orphan_wait_s
        while True:
            orphans = [t.id for t in client.list_org_access_tokens(org) if t.label == label and t.id not in before]
            if orphans or time.monotonic() >= deadline:
                break
            time.sleep(ORPHAN_POLL_S)
        for orphan in orphans:
            try:
                client.delete_org_access_token(org, orphan)
            except NotFound:
                continue

    def read_object(self, client: DockerHubClient, id_: str, props: Props) -> Props:
        return _live_token(client.get_org_access_token(props["org"], id_))

    def update_object(self, client: DockerHubClient, id_: str, olds: Props, news: Props) -> Props:
        changes: dict[str, Any] = {}
        for field in ("label", "description"):
            if olds.get(field) != news.get(field):
                changes[field] = news.get(field) or ""
        if olds.get("resources") != news["resources"]:
            changes["resources"] = _resources_of(news)
        if olds.get("is_active") is False:
            changes["is_active"] = True
        if not changes:
            return {}
        return _live_token(client.update_org_access_token(news["org"], id_, **changes))

    def delete_object(self, client: DockerHubClient, id_: str, props: Props) -> None:
        client.delete_org_access_token(props["org"], id_)


def _live_token(token: OrgToken) -> Props:
    """What Docker says about the token, in the outputs' form. What it leaves out (a description,
    resources) is not reported, so the base keeps the value from state or inputs."""
    live: Props = {
        "token_id": token.id,
        "label": token.label,
        "is_active": token.is_active,
        "expires_at": _timestamp_text(token.expires_at),
        "created_at": _timestamp_text(token.created_at),
        "last_used_at": _timestamp_text(token.last_used_at),
    }
    if token.description is not None:
        live["description"] = token.description
    if token.resources:
        live["resources"] = _canonical_resources([r.to_json() for r in token.resources])
    return live


def _validate_resources(resources: Any, checks: Checks) -> None:
    """Each resource a known type with a path and scopes of that type; at most 50 repositories."""
    from components.spec import MAX_REPOSITORIES_PER_TOKEN, ORG_SCOPES, REPO_SCOPES  # pydantic: not at import

    allowed_by_type = {"TYPE_REPO": REPO_SCOPES, "TYPE_ORG": ORG_SCOPES}
    if is_unknown(resources):
        return
    if not resources:
        checks.fail("resources", "resources must list at least one resource ({type, path, scopes})")
        return
    if not isinstance(resources, list):
        checks.fail("resources", "resources must be a list of {type, path, scopes} objects")
        return
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(resources):
        where = f"resources[{index}]"
        if is_unknown(item):
            continue
        if not isinstance(item, dict):
            checks.fail(where, f"{where} must be an object with type, path and scopes")
            continue
        nested = Checks({f"{where}.{key}": value for key, value in item.items()})
        nested.one_of(f"{where}.type", allowed_by_type)
        nested.text(f"{where}.path")
        nested.text_list(f"{where}.scopes")
        checks.failures += nested.failures
        kind, path, scopes = item.get("type"), item.get("path"), item.get("scopes")
        allowed = allowed_by_type.get(kind) if isinstance(kind, str) else None
        if isinstance(scopes, list) and not scopes:
            checks.fail(f"{where}.scopes", f"{where}.scopes must list at least one scope")
        if allowed is not None and isinstance(scopes, list):
            for position, scope in enumerate(scopes):
                if isinstance(scope, str) and scope not in allowed:
                    other = next((t for t, s in allowed_by_type.items() if scope in s), None)
                    got = f"{scope!r}, a {other} scope" if other else repr(scope)
                    field = f"{where}.scopes[{position}]"
                    checks.fail(field, f"{field} must be one of: {', '.join(sorted(allowed))} (got {got})")
        if isinstance(kind, str) and isinstance(path, str) and not is_unknown(path):
            first = seen.setdefault((kind, path), index)
            if first != index:
                checks.fail(f"{where}.path", f"{where}.path repeats resources[{first}] ({kind} {path!r})")
    repositories = sum(1 for item in resources if isinstance(item, dict) and item.get("type") == "TYPE_REPO")
    if repositories > MAX_REPOSITORIES_PER_TOKEN:
        checks.fail(
            "resources",
            f"resources must name at most {MAX_REPOSITORIES_PER_TOKEN} repositories (TYPE_REPO) per token "
            f"(got {repositories})",
        )


def _validate_expiry(props: Props, checks: Checks, now: datetime) -> None:
    """`expires_at` (absolute, future, within Docker's maximum) xor `expires_in_days`; rotation inside it."""
    from components.spec import MAX_TOKEN_LIFETIME  # pydantic: not at import

    checks.integer("expires_in_days", minimum=1, maximum=MAX_TOKEN_LIFETIME.days, required=False)
    checks.integer("rotate_before_days", minimum=1, required=False)
    expires_at, in_days, rotate = (props.get(key) for key in ("expires_at", "expires_in_days", "rotate_before_days"))
    if expires_at is not None and in_days is not None:
        checks.fail("expires_in_days", "set expires_at or expires_in_days, not both")
    if expires_at is not None and not is_unknown(expires_at):
        moment = parse_timestamp(expires_at)
        if moment is None:
            checks.fail("expires_at", "expires_at must be an ISO 8601 date-time in UTC, such as 2027-01-31T00:00:00Z")
        elif moment <= now:
            checks.fail("expires_at", f"expires_at must be in the future (got {expires_at})")
        elif moment - now > MAX_TOKEN_LIFETIME:
            checks.fail(
                "expires_at",
                f"expires_at must be at most {MAX_TOKEN_LIFETIME.days} days ahead, Docker's longest token "
                f"lifetime (got {expires_at})",
            )
    if rotate is None or is_unknown(rotate):
        return
    if in_days is None:
        checks.fail(
            "rotate_before_days",
            "rotate_before_days needs expires_in_days: a token rotated before a fixed expires_at would get "
            "the same expiry and be rotated again on every run",
        )
    elif isinstance(in_days, int) and isinstance(rotate, int) and rotate >= in_days:
        checks.fail(
            "rotate_before_days",
            f"rotate_before_days ({rotate}) must be less than expires_in_days ({in_days}), "
            "or every run would rotate the token",
        )


@dataclass(frozen=True)
class OrgAccessTokenArgs:
    """An organization access token. `resources`: `[{"type", "path", "scopes"}]`.

    Expiry: `expires_at` (ISO 8601 UTC, absolute) or `expires_in_days` (counted from creation), or
    neither (never expires). `rotate_before_days` (with `expires_in_days`) replaces the token that
    many days before it expires.
    """

    org: pulumi.Input[str]
    label: str
    description: str
    resources: list[dict[str, Any]]
    expires_at: str | None = None
    expires_in_days: int | None = None
    rotate_before_days: int | None = None


class OrgAccessToken(pulumi.dynamic.Resource, module="dockerhub", name="OrgAccessToken"):
    """An organization access token; its value is the secret output `token`."""

    token_id: pulumi.Output[str]
    token: pulumi.Output[str]
    expires_at: pulumi.Output[str | None]
    is_active: pulumi.Output[bool]
    created_at: pulumi.Output[str]
    last_used_at: pulumi.Output[str | None]

    def __init__(
        self, resource_name: str, args: OrgAccessTokenArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        props: dict[str, Any] = {
            **dict.fromkeys(sorted(TOKEN_OUTPUTS)),
            "org": args.org,
            "label": args.label,
            "description": args.description,
            "resources": args.resources,
            "expires_at": args.expires_at,
            "expires_in_days": args.expires_in_days,
            "rotate_before_days": args.rotate_before_days,
        }
        super().__init__(OrgAccessTokenProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret))
