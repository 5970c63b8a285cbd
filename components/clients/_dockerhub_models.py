"""What the Docker Hub client hands back: frozen dataclasses, and their parsing from Docker's JSON.

Parsing is defensive where Docker's answers are known to vary (`../shared/research/dockerhub.md`):
the OAT create response has no `created_by` or `last_used_at` (§2.1); list items carry neither
`description` nor `resources` (spec `orgAccessToken`); lists count with `total` or `count` (§4);
timestamps come with or without fractional seconds. A field Docker may leave out is `None` here
("the service did not say"), never a made-up default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AuditEvent",
    "CreatedToken",
    "CustomRegistry",
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


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from Docker's RFC 3339 text (`Z`, offset, or naive taken as UTC); else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """`moment` as Docker writes expiries: UTC, whole seconds, `Z` (`2027-01-31T00:00:00Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TokenResource:
    """What an organization access token may reach: a repository (glob) or the org, with scopes."""

    type: str
    path: str
    scopes: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenResource:
        return cls(str(data["type"]), str(data["path"]), tuple(str(scope) for scope in data.get("scopes") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "path": self.path, "scopes": list(self.scopes)}


@dataclass(frozen=True)
class OrgToken:
    """An organization access token as Docker describes it; never its value.

    `description` is None when the answer did not carry it (list items); `resources` is empty then.
    """

    id: str
    label: str
    description: str | None
    is_active: bool
    created_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    resources: tuple[TokenResource, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrgToken:
        description = data.get("description")
        return cls(
            id=str(data["id"]),
            label=str(data.get("label") or ""),
            description=description if isinstance(description, str) else None,
            is_active=data.get("is_active") is not False,
            created_at=parse_timestamp(data.get("created_at")),
            expires_at=parse_timestamp(data.get("expires_at")),
            last_used_at=parse_timestamp(data.get("last_used_at")),
            resources=tuple(TokenResource.from_json(item) for item in data.get("resources") or ()),
        )


@dataclass(frozen=True)
class CreatedToken:
    """A token just created, with its value: Docker shows the value this once and never again."""

    token: OrgToken
    value: str = field(repr=False)


@dataclass(frozen=True)
class ImageAccess:
    """Image Access Management (`restricted_images`): when enabled, only the allowed kinds of images."""

    enabled: bool
    allow_official_images: bool
    allow_verified_publishers: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageAccess:
        flags = data.get("restricted_images") or {}
        return cls(
            enabled=bool(flags.get("enabled")),
            allow_official_images=bool(flags.get("allow_official_images")),
            allow_verified_publishers=bool(flags.get("allow_verified_publishers")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "restricted_images": {
                "enabled": self.enabled,
                "allow_official_images": self.allow_official_images,
                "allow_verified_publishers": self.allow_verified_publishers,
            }
        }


@dataclass(frozen=True)
class CustomRegistry:
    address: str
    friendly_name: str
    allowed: bool


DOCKER_HUB_REGISTRY_ID = "DockerHub"
"""The one standard registry Registry Access Management knows (research §4)."""


@dataclass(frozen=True)
class RegistryAccess:
    """Registry Access Management: when enabled, Docker Desktop pulls only from allowed registries.

    Docker models Docker Hub as a "standard registry" entry; here it is the flag `allow_docker_hub`
    (allowed when Docker says nothing about it).
    """

    enabled: bool
    allow_docker_hub: bool
    registries: tuple[CustomRegistry, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegistryAccess:
        hub = next(
            (item for item in data.get("standard_registries") or () if item.get("id") == DOCKER_HUB_REGISTRY_ID),
            None,
        )
        return cls(
            enabled=bool(data.get("enabled")),
            allow_docker_hub=True if hub is None else bool(hub.get("allowed")),
            registries=tuple(
                CustomRegistry(str(item["address"]), str(item.get("friendly_name") or ""), bool(item.get("allowed")))
                for item in data.get("custom_registries") or ()
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "standard_registries": [{"id": DOCKER_HUB_REGISTRY_ID, "allowed": self.allow_docker_hub}],
            "custom_registries": [
                {"address": r.address, "friendly_name": r.friendly_name, "allowed": r.allowed} for r in self.registries
            ],
        }


@dataclass(frozen=True)
class Member:
    """An org member. `role` is lower-case (`owner`, `editor`, `member`); Docker capitalises it."""

    username: str
    email: str
    role: str
    is_guest: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        return cls(
            username=str(data.get("username") or ""),
            email=str(data.get("email") or ""),
            role=str(data.get("role") or "").lower(),
            is_guest=data.get("is_guest") is True,
        )


@dataclass(frozen=True)
class Invite:
    """A pending invite. Docker's invite list does not say the role (research §4), hence optional."""

    id: str
    invitee: str
    role: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Invite:
        role = data.get("role")
        return cls(
            id=str(data["id"]),
            invitee=str(data.get("invitee") or ""),
            role=role if isinstance(role, str) else None,
            created_at=parse_timestamp(data.get("created_at")),
        )


@dataclass(frozen=True)
class InviteResult:
    """One invitee's outcome of a bulk invite: `invited`, `existing_org_member`, `invalid_email_or_docker_id`."""

    invitee: str
    status: str


@dataclass(frozen=True)
class AuditEvent:
    action: str
    name: str
    actor: str
    timestamp: datetime
    data: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditEvent:
        timestamp = parse_timestamp(data.get("timestamp"))
        if timestamp is None:
            raise ValueError(f"audit event without a readable timestamp: {data.get('timestamp')!r}")
        return cls(
            action=str(data.get("action") or ""),
            name=str(data.get("name") or ""),
            actor=str(data.get("actor") or ""),
            timestamp=timestamp,
            data=dict(data.get("data") or {}),
        )
