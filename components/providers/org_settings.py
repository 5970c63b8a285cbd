"""Docker Hub org settings (Image and Registry Access Management) as a Pulumi resource.

`OrgSettings`
    Image Access Management and Registry Access Management of one org: a singleton per org (id =
    org name). Create and update PUT the declared parts, read GETs them (drift), delete restores
    the open defaults of the parts it managed (IAM: disabled, official images and verified
    publishers allowed; RAM: disabled, Docker Hub allowed, no custom registries). A part never
    declared is never touched. Custom registries compare as a set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckResult

from components.clients.dockerhub import (
    CustomRegistry,
    DockerHubClient,
    ImageAccess,
    RegistryAccess,
)
from components.providers._base import (
    Checks,
    Props,
    RolloutProvider,
    contains_unknown,
    is_unknown,
)
from components.providers._settings import Settings
from components.providers.dockerhub import DOCKER_HUB_SETTINGS, build_dockerhub_client

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
