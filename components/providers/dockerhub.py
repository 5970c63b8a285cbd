"""Docker Hub as Pulumi resources: organization access tokens (OATs) and org settings.

Both providers reach Docker Hub through `build_dockerhub_client(settings)` with `DOCKER_HUB_SETTINGS`:
the endpoint (stack config `endpoints.dockerHub`, env `DOCKER_HUB_URL`, default the real service),
an org owner's username (`dockerHubUsername` / `DOCKER_HUB_USERNAME`) and their PAT or password
(`dockerHubToken` / `DOCKER_HUB_TOKEN`, a secret). An owner's PAT, not an OAT: OATs cannot manage
OATs or Image Access Management (research §1.3).

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

`OrgSettings`
    Image Access Management and Registry Access Management of one org: a singleton per org (id =
    org name). Create and update PUT the declared parts, read GETs them (drift), delete restores
    the open defaults of the parts it managed (IAM: disabled, official images and verified
    publishers allowed; RAM: disabled, Docker Hub allowed, no custom registries). A part never
    declared is never touched. Custom registries compare as a set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure, CheckResult, DiffResult

from components.clients import AmbiguousWriteError, NotFound, ServerError
from components.clients.dockerhub import (
    CreatedToken,
    CustomRegistry,
    DockerHubClient,
    ImageAccess,
    OrgToken,
    RegistryAccess,
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
from components.providers._settings import Setting, SettingError, Settings

__all__ = [
    "DOCKER_HUB_SETTINGS",
    "DOCKER_HUB_TOKEN",
    "DOCKER_HUB_URL",
    "DOCKER_HUB_USERNAME",
    "OrgAccessToken",
    "OrgAccessTokenArgs",
    "OrgAccessTokenCreateError",
    "OrgAccessTokenProvider",
    "OrgSettings",
    "OrgSettingsArgs",
    "OrgSettingsProvider",
    "build_dockerhub_client",
]

# --- settings shared by every Docker Hub provider ---------------------------------------------------

DOCKER_HUB_URL = Setting("endpoints.dockerHub", env="DOCKER_HUB_URL", default="https://hub.docker.com")
DOCKER_HUB_USERNAME = Setting("dockerHubUsername", env="DOCKER_HUB_USERNAME")
DOCKER_HUB_TOKEN = Setting("dockerHubToken", env="DOCKER_HUB_TOKEN", secret=True)
DOCKER_HUB_SETTINGS: tuple[Setting, ...] = (DOCKER_HUB_URL, DOCKER_HUB_USERNAME, DOCKER_HUB_TOKEN)


def build_dockerhub_client(settings: Settings) -> DockerHubClient:
    """The client for resolved `DOCKER_HUB_SETTINGS`."""
    return DockerHubClient(
        settings[DOCKER_HUB_URL.key], settings[DOCKER_HUB_USERNAME.key], settings[DOCKER_HUB_TOKEN.key]
    )


# --- organization access tokens ---------------------------------------------------------------------

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


# --- org settings -----------------------------------------------------------------------------------

IMAGE_ACCESS_KEYS = ("enabled", "allow_official_images", "allow_verified_publishers")
REGISTRY_ACCESS_KEYS = ("enabled", "allow_docker_hub", "registries")
REGISTRY_KEYS = ("address", "friendly_name", "allowed")
OPEN_IMAGE_ACCESS = ImageAccess(enabled=False, allow_official_images=True, allow_verified_publishers=True)
OPEN_REGISTRY_ACCESS = RegistryAccess(enabled=False, allow_docker_hub=True, registries=())


def _image_access_props(value: ImageAccess) -> dict[str, Any]:
    return {key: getattr(value, key) for key in IMAGE_ACCESS_KEYS}


def _registry_access_props(value: RegistryAccess) -> dict[str, Any]:
    registries = [{key: getattr(r, key) for key in REGISTRY_KEYS} for r in value.registries]
    return {
        "enabled": value.enabled,
        "allow_docker_hub": value.allow_docker_hub,
        "registries": sorted(registries, key=lambda r: r["address"]),
    }


def _image_access_of(props: dict[str, Any]) -> ImageAccess:
    return ImageAccess(**{key: props[key] for key in IMAGE_ACCESS_KEYS})


def _registry_access_of(props: dict[str, Any]) -> RegistryAccess:
    return RegistryAccess(
        enabled=props["enabled"],
        allow_docker_hub=props["allow_docker_hub"],
        registries=tuple(CustomRegistry(**{key: r[key] for key in REGISTRY_KEYS}) for r in props["registries"]),
    )


def _validate_object(
    checks: Checks, field: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...]
) -> Checks | None:
    """Checks over `value`'s keys as `field.key`; None (after recording why) when it is not an object."""
    allowed = ", ".join(sorted(required + optional))
    if not isinstance(value, dict):
        checks.fail(field, f"{field} must be an object with keys {allowed}")
        return None
    nested = Checks({f"{field}.{key}": item for key, item in value.items()})
    for key in sorted(set(value) - set(required) - set(optional)):
        nested.fail(f"{field}.{key}", f"{field}.{key} is not a setting; allowed: {allowed}")
    for key in required:
        nested.boolean(f"{field}.{key}")
    return nested


def _validate_image_access(value: Any, checks: Checks) -> None:
    nested = _validate_object(checks, "image_access", value, ("enabled",), IMAGE_ACCESS_KEYS[1:])
    if nested is None:
        return
    for key in IMAGE_ACCESS_KEYS[1:]:
        nested.boolean(f"image_access.{key}", required=False)
    checks.failures += nested.failures


def _validate_registry_access(value: Any, checks: Checks) -> None:
    nested = _validate_object(checks, "registry_access", value, ("enabled",), REGISTRY_ACCESS_KEYS[1:])
    if nested is None:
        return
    nested.boolean("registry_access.allow_docker_hub", required=False)
    checks.failures += nested.failures
    registries = value.get("registries")
    if registries is None or is_unknown(registries):
        return
    if not isinstance(registries, list):
        checks.fail("registry_access.registries", "registry_access.registries must be a list of registries")
        return
    addresses: dict[str, int] = {}
    for index, registry in enumerate(registries):
        where = f"registry_access.registries[{index}]"
        if is_unknown(registry):
            continue
        entry = _validate_object(checks, where, registry, (), REGISTRY_KEYS)
        if entry is None:
            continue
        entry.text(f"{where}.address")
        entry.text(f"{where}.friendly_name")
        entry.boolean(f"{where}.allowed", required=False)
        checks.failures += entry.failures
        address = registry.get("address")
        if isinstance(address, str) and address:
            first = addresses.setdefault(address, index)
            if first != index:
                checks.fail(f"{where}.address", f"{where}.address repeats registries[{first}] ({address!r})")


def _settings_inputs(props: Props) -> Props:
    """Valid inputs in their stored form: defaults filled in, registries sorted by address."""
    canonical = dict(props)
    image = props.get("image_access")
    if isinstance(image, dict) and not contains_unknown(image):
        canonical["image_access"] = {key: image.get(key, True) for key in IMAGE_ACCESS_KEYS}
    registry = props.get("registry_access")
    if isinstance(registry, dict) and not contains_unknown(registry):
        registries = [
            {"address": r["address"], "friendly_name": r["friendly_name"], "allowed": r.get("allowed", True)}
            for r in registry.get("registries") or []
        ]
        canonical["registry_access"] = {
            "enabled": registry["enabled"],
            "allow_docker_hub": registry.get("allow_docker_hub", True),
            "registries": sorted(registries, key=lambda r: r["address"]),
        }
    return canonical


class OrgSettingsProvider(RolloutProvider[DockerHubClient]):
    """The dynamic provider behind `OrgSettings` (see the module docstring)."""

    settings = DOCKER_HUB_SETTINGS
    replace_on = frozenset({"org"})
    parts: ClassVar[tuple[str, ...]] = ("image_access", "registry_access")

    @classmethod
    def build_client(cls, settings: Settings) -> DockerHubClient:
        return build_dockerhub_client(settings)

    def validate(self, props: Props, checks: Checks) -> None:
        checks.text("org")
        image, registry = props.get("image_access"), props.get("registry_access")
        if image is None and registry is None:
            checks.fail("image_access", "image_access or registry_access (or both) must be declared")
        if image is not None and not is_unknown(image):
            _validate_image_access(image, checks)
        if registry is not None and not is_unknown(registry):
            _validate_registry_access(registry, checks)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = super().check(olds, news)
        return checked if checked.failures else CheckResult(_settings_inputs(checked.inputs), [])

    @staticmethod
    def _put(client: DockerHubClient, org: str, part: str, value: dict[str, Any] | None) -> dict[str, Any]:
        """PUT one part (`None`: its open default); Docker's resulting value in the props' form."""
        if part == "image_access":
            image = OPEN_IMAGE_ACCESS if value is None else _image_access_of(value)
            return _image_access_props(client.put_image_access(org, image))
        registry = OPEN_REGISTRY_ACCESS if value is None else _registry_access_of(value)
        return _registry_access_props(client.put_registry_access(org, registry))

    def create_object(self, client: DockerHubClient, props: Props) -> tuple[str, Props]:
        org = props["org"]
        return org, {part: self._put(client, org, part, props[part]) for part in self.parts if props.get(part)}

    def read_object(self, client: DockerHubClient, id_: str, props: Props) -> Props:
        live: Props = {}
        if props.get("image_access"):
            live["image_access"] = _image_access_props(client.get_image_access(id_))
        if props.get("registry_access"):
            live["registry_access"] = _registry_access_props(client.get_registry_access(id_))
        return live

    def update_object(self, client: DockerHubClient, id_: str, olds: Props, news: Props) -> Props:
        live: Props = {}
        for part in self.parts:
            wanted, current = news.get(part), olds.get(part)
            if wanted and wanted != current:
                live[part] = self._put(client, id_, part, wanted)
            elif not wanted and current:
                self._put(client, id_, part, None)  # no longer managed: back to the open default
        return live

    def delete_object(self, client: DockerHubClient, id_: str, props: Props) -> None:
        for part in self.parts:
            if props.get(part):
                self._put(client, id_, part, None)


@dataclass(frozen=True)
class OrgSettingsArgs:
    """Org settings; dict keys are snake_case.

    `image_access`: `{"enabled", "allow_official_images", "allow_verified_publishers"}`;
    `registry_access`: `{"enabled", "allow_docker_hub", "registries": [{"address", "friendly_name", "allowed"}]}`.
    Omitted flags default to allowed (True); a part left out (None) is not managed.
    """

    org: pulumi.Input[str]
    image_access: dict[str, Any] | None = None
    registry_access: dict[str, Any] | None = None


class OrgSettings(pulumi.dynamic.Resource, module="dockerhub", name="OrgSettings"):
    """Image and Registry Access Management of one org (a singleton per org; id = org name)."""

    org: pulumi.Output[str]
    image_access: pulumi.Output[dict[str, Any] | None]
    registry_access: pulumi.Output[dict[str, Any] | None]

    def __init__(self, resource_name: str, args: OrgSettingsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"org": args.org, "image_access": args.image_access, "registry_access": args.registry_access}
        super().__init__(OrgSettingsProvider(), resource_name, props, opts)
