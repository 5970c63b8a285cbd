"""The rollout spec: one typed schema for a whole stack's configuration, and its validation.

A stack file (`stacks/Pulumi.<stack>.yaml`) declares up to seven structured keys in the project
namespace, each optional: `groups`, `azure`, `endpoints`, `docker`, `intune`, `jamf`, `devbox`.
`RolloutSpec.from_config()` turns them into frozen models or raises `SpecError`, whose every line
is `<config path>: <what is wrong>`, e.g. `intune.windows.msi.engine: must be one of wsl, hyperv,
windows`. Validation happens here, before any resource is constructed; components trust the spec.

Names in the stack file are camelCase (Pulumi convention); attributes are snake_case.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import UnionType
from typing import Annotated, Any, Literal, NoReturn, Self, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from components import installers
from components.admin_settings import AdminSettings
from components.secrets import SecretValue

PROJECT = "docker-desktop-rollout"
CONFIG_AREAS: tuple[str, ...] = ("groups", "azure", "endpoints", "docker", "intune", "jamf", "devbox")
CREDENTIAL_KEYS: dict[str, bool] = {
    "dockerHubUsername": False,
    "dockerHubToken": True,
    "jamfClientSecret": True,
}
"""Provider credentials (read by dynamic providers in `configure`, not by the program): name -> must be secret."""


class SpecModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )


# --- field types -------------------------------------------------------------------------------


def _pattern(regex: str, description: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {description} (got {value!r})")
        return value

    return AfterValidator(check)


def _lowercase_org(value: str) -> str:
    if value != value.lower():
        raise ValueError(f"Docker organization names are lowercase (got {value!r})")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,254}", value):
        raise ValueError(f"must be a Docker organization name: lowercase letters, digits, - and _ (got {value!r})")
    return value


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone such as Europe/Berlin (got {value!r})") from None
    return value


def _https_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value):
        raise ValueError(f"must be an http(s) URL (got {value!r})")
    return value.rstrip("/")


OrgName = Annotated[str, AfterValidator(_lowercase_org)]
Guid = Annotated[
    str, _pattern(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "a GUID")
]
DomainName = Annotated[
    str, _pattern(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", "a lowercase DNS domain name")
]
AzureName = Annotated[str, _pattern(r"[a-zA-Z0-9][a-zA-Z0-9-_.]{2,62}", "3-63 letters, digits, - _ . (Azure name)")]
Url = Annotated[str, AfterValidator(_https_url)]
TimeOfDay = Annotated[str, _pattern(r"([01][0-9]|2[0-3]):[0-5][0-9]", "a 24-hour time HH:MM")]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
GroupKey = Annotated[str, _pattern(r"[a-zA-Z][a-zA-Z0-9_-]{0,63}", "a group key (letters, digits, - _)")]


def _unique(items: Iterable[str], what: str, path: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise FieldProblems([(path, f"duplicate {what} {item!r}")])
        seen.add(item)


def _fail(path: str, message: str) -> NoReturn:
    """Reject from a model validator, naming the field (relative to the model) that is wrong."""
    raise FieldProblems([(path, message)])


# --- Entra groups, Azure, endpoints ------------------------------------------------------------


class GroupSpec(SpecModel):
    """An Entra ID group, referenced by its key from assignments and role assignments."""

    display_name: Annotated[str, Field(min_length=1, max_length=256)]
    object_id: Guid | None = None
    create: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _create_or_reference(self) -> Self:
        if self.create and self.object_id:
            _fail("objectId", "names an existing group: set create: false, or drop objectId to create it")
        return self


class KeyVaultRef(SpecModel):
    name: Annotated[str, _pattern(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", "a Key Vault name (3-24 chars)")]
    resource_group: AzureName


class AzureSpec(SpecModel):
    location: Annotated[str, _pattern(r"[a-z][a-z0-9]+", "an Azure region name such as westeurope")] = "westeurope"
    resource_group: AzureName
    key_vault: KeyVaultRef | None = None


class EndpointsSpec(SpecModel):
    """Where the vendor APIs live: the real services by default, the local sandbox in `sandbox`."""

    docker_hub: Url = "https://hub.docker.com"
    graph: Url = "https://graph.microsoft.com"
    dns_nameservers: list[Annotated[str, _pattern(r"[0-9a-fA-F:.]+", "an IP address")]] = []
    dns_port: Annotated[int, Field(ge=1, le=65535)] = 53


# --- Docker organization -----------------------------------------------------------------------

REPO_SCOPES: tuple[str, ...] = (
    "scope-image-pull", "scope-image-push", "scope-image-delete", "scope-repository-read",
    "scope-repository-edit", "scope-repository-admin", "scope-tag-read", "scope-tag-admin",
    "scope-webhook-read", "scope-webhook-edit", "scope-webhook-admin", "scope-repo-group-read",
    "scope-repo-group-edit", "scope-repo-group-admin", "scope-repository-settings-admin",
)  # fmt: skip
ORG_SCOPES: tuple[str, ...] = (
    "scope-member-read", "scope-member-edit", "scope-invite-read", "scope-invite-edit",
    "scope-group-read", "scope-group-edit", "scope-activity-read", "scope-siem_credentials-read",
    "scope-ram-read", "scope-ram-write", "scope-report-read", "scope-repository-create",
    "scope-repository-list", "scope-registry-usage-read", "scope-cloud-connect",
    "scope-audit_events-read", "scope-governance-policy-read", "scope-governance-policy-write",
)  # fmt: skip
MAX_REPOSITORIES_PER_TOKEN = 50
MAX_TOKEN_LIFETIME = timedelta(days=365)
TOKEN_LIMITS: dict[str, int] = {"team": 10, "business": 100}


class TokenResource(SpecModel):
    type: Literal["TYPE_REPO", "TYPE_ORG"]
    path: Annotated[str, Field(min_length=1)]
    scopes: Annotated[list[str], Field(min_length=1)]

    @model_validator(mode="after")
    def _scopes_fit_type(self) -> Self:
        allowed = REPO_SCOPES if self.type == "TYPE_REPO" else ORG_SCOPES
        for scope in self.scopes:
            if scope not in allowed:
                _fail("scopes", f"{scope!r} is not a {self.type} scope; allowed: {', '.join(allowed)}")
        _unique(self.scopes, "scope", "scopes")
        return self


class AccessTokenSpec(SpecModel):
    """An organization access token. Exactly one of `expiresAt` / `expiresInDays`, or neither (never expires)."""

    label: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=200)] = ""
    resources: Annotated[list[TokenResource], Field(min_length=1)]
    expires_at: datetime | None = None
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None
    rotate_before_days: Annotated[int, Field(ge=1, le=364)] | None = None
    key_vault_secret: Annotated[str, _pattern(r"[0-9a-zA-Z-]{1,127}", "a Key Vault secret name")] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        repos = [r for r in self.resources if r.type == "TYPE_REPO"]
        if len(repos) > MAX_REPOSITORIES_PER_TOKEN:
            _fail(
                "resources", f"{len(repos)} repositories; Docker allows at most {MAX_REPOSITORIES_PER_TOKEN} per token"
            )
        _unique((r.path for r in repos), "repository path", "resources")
        if self.expires_at is not None and self.expires_in_days is not None:
            _fail("expiresAt", "set expiresAt or expiresInDays, not both")
        if self.expires_at is not None:
            expires = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=UTC)
            now = datetime.now(UTC)
            if expires <= now:
                _fail("expiresAt", f"{self.expires_at.isoformat()} is in the past")
            if expires - now > MAX_TOKEN_LIFETIME:
                _fail("expiresAt", f"{self.expires_at.isoformat()} is more than a year ahead (Docker's maximum)")
        if self.rotate_before_days is not None:
            if self.expires_in_days is None:
                # A replacement made for an absolute expiresAt would expire on the same date: only a
                # relative lifetime gives the new token a later expiry.
                _fail("rotateBeforeDays", "needs expiresInDays (a rotated token gets a fresh lifetime)")
            if self.rotate_before_days >= self.expires_in_days:
                _fail(
                    "rotateBeforeDays",
                    f"{self.rotate_before_days} must be less than expiresInDays "
                    f"({self.expires_in_days}), or every run would rotate the token",
                )
        return self


class DnsZoneRef(SpecModel):
    resource_group: AzureName
    zone_name: DomainName


class DomainSpec(SpecModel):
    """A domain to verify: the TXT value is copied from Docker's Admin Console (no public API)."""

    name: DomainName
    verification_value: Annotated[str, _pattern(r"docker-verification=[A-Za-z0-9-]+", "docker-verification=<value>")]
    dns_zone: DnsZoneRef | None = None
    record_name: Annotated[str, Field(min_length=1)] = "@"
    keep_txt_values: list[Annotated[str, Field(min_length=1, max_length=1024)]] = []
    """Other TXT values at the same name (SPF, other vendors): Azure DNS manages the whole record set."""
    auto_provisioning: bool = False

    @model_validator(mode="after")
    def _record_in_zone(self) -> Self:
        if self.dns_zone is not None:
            zone = self.dns_zone.zone_name
            if self.name != zone and not self.name.endswith("." + zone):
                _fail("name", f"domain {self.name!r} is not inside DNS zone {zone!r}")
        if self.keep_txt_values and self.dns_zone is None:
            _fail("keepTxtValues", "only applies with dnsZone (the record set this stack manages)")
        if self.verification_value in self.keep_txt_values:
            _fail("keepTxtValues", "lists the verification value itself; keep only the other values")
        _unique(self.keep_txt_values, "TXT value", "keepTxtValues")
        if self.record_name in ("docker", "docker-verification", "www"):
            _fail("recordName", f"{self.record_name!r}: Docker looks for the TXT record at the domain itself; use '@'")
        return self


class ImageAccessSpec(SpecModel):
    enabled: bool
    allow_official_images: bool = True
    allow_verified_publishers: bool = True


class CustomRegistry(SpecModel):
    address: Annotated[str, _pattern(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]*)?", "a registry address like ghcr.io")]
    friendly_name: Annotated[str, Field(min_length=1)]
    allowed: bool = True


class RegistryAccessSpec(SpecModel):
    enabled: bool
    allow_docker_hub: bool = True
    registries: list[CustomRegistry] = []

    @model_validator(mode="after")
    def _unique_registries(self) -> Self:
        _unique((r.address for r in self.registries), "registry address", "registries")
        return self


class OrgSettingsSpec(SpecModel):
    image_access: ImageAccessSpec | None = None
    registry_access: RegistryAccessSpec | None = None


class DockerOrgSpec(SpecModel):
    org: OrgName
    plan: Literal["team", "business"] = "business"
    allowed_orgs: list[OrgName] = []
    admin_settings: AdminSettings | None = None
    access_tokens: list[AccessTokenSpec] = []
    domains: list[DomainSpec] = []
    settings: OrgSettingsSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique((t.label for t in self.access_tokens), "token label", "accessTokens")
        _unique((d.name for d in self.domains), "domain", "domains")
        _unique(self.allowed_orgs, "organization", "allowedOrgs")
        limit = TOKEN_LIMITS[self.plan]
        if len(self.access_tokens) > limit:
            _fail("accessTokens", f"{len(self.access_tokens)} access tokens; the {self.plan} plan allows {limit}")
        return self

    @property
    def sign_in_orgs(self) -> list[str]:
        """The organizations users must sign in to: `allowedOrgs`, or the org itself."""
        return list(self.allowed_orgs) or [self.org]


# --- Intune ------------------------------------------------------------------------------------

SpecialTarget = Literal["allLicensedUsers", "allDevices"]


class AssignmentSpec(SpecModel):
    intent: Literal["required", "available", "uninstall"]
    target: Annotated[str, Field(min_length=1)]
    """A key of `groups`, or `allLicensedUsers` / `allDevices`."""
    exclude: bool = False


class MsiProxySpec(SpecModel):
    mode: Literal["system", "manual"] | None = None
    kerberos_ntlm: bool | None = None
    http: Url | None = None
    https: Url | None = None
    exclude: list[str] = []
    pac: Url | None = None
    embedded_pac: str | None = None


class DataRootsSpec(SpecModel):
    hyperv: str | None = None
    windows_containers: str | None = None
    wsl: str | None = None


class MsiSpec(SpecModel):
    """The Docker Desktop MSI deployed as a Win32 app, and every installer property Docker documents."""

    file: Annotated[str, _pattern(r".+\.msi", "a path to an .msi file")]
    display: Literal["interactive", "quiet", "qn", "passive"] = "qn"
    restart: Literal["default", "norestart", "forcerestart"] = "norestart"
    log_path: str | None = None
    desktop_shortcut: bool | None = None
    install_folder: str | None = None
    embed_admin_settings: bool = True
    always_run_service: bool | None = None
    disable_windows_containers: bool | None = None
    engine: Literal["wsl", "hyperv", "windows"] | None = None
    proxy: MsiProxySpec | None = None
    data_roots: DataRootsSpec | None = None
    disable_analytics: bool | None = None

    @model_validator(mode="after")
    def _interactive_is_not_for_mdm(self) -> Self:
        if self.display == "interactive":
            _fail("display", "'interactive' would wait for a user on every device; use qn, quiet or passive")
        return self


class StoreAppSpec(SpecModel):
    """The Microsoft Store (winget) Docker Desktop app: no upload, Intune upgrades it."""

    package_identifier: Annotated[
        str, _pattern(r"[A-Z0-9]{12,14}", "a Microsoft Store product id like XP8CBJ40XLBWKX")
    ] = "XP8CBJ40XLBWKX"
    run_as: Literal["system", "user"] = "system"


class WindowsAppSpec(SpecModel):
    display_name: str = "Docker Desktop"
    publisher: str = "Docker Inc."
    msi: MsiSpec | None = None
    store: StoreAppSpec | None = None
    assignments: list[AssignmentSpec] = []
    docker_users_script: bool = True
    allowed_orgs_policy: bool = True
    restart_grace_period_minutes: Annotated[int, Field(ge=1, le=20160)] = 1440

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.msi is None) == (self.store is None):
            _fail("msi" if self.msi is None else "store", "declare exactly one of msi or store")
        return self


class MacPkgSpec(SpecModel):
    file: Annotated[str, _pattern(r".+\.pkg", "a path to a .pkg file")]
    bundle_id: str = "com.docker.docker"
    version: Annotated[str, _pattern(r"[0-9]+(\.[0-9]+){1,3}", "a version like 4.49.0")]
    minimum_os: Literal["v12_0", "v13_0", "v14_0", "v15_0"] = "v13_0"


class MacAppSpec(SpecModel):
    display_name: str = "Docker Desktop"
    publisher: str = "Docker Inc."
    pkg: MacPkgSpec
    assignments: list[AssignmentSpec] = []
    allowed_orgs_profile: bool = True


class IntuneSpec(SpecModel):
    windows: WindowsAppSpec | None = None
    macos: MacAppSpec | None = None


# --- Jamf Pro ----------------------------------------------------------------------------------


class JamfPackageSpec(SpecModel):
    file: Annotated[str, _pattern(r".+\.pkg", "a path to a .pkg file")]
    name: str = "Docker Desktop"
    category: str | None = None
    priority: Annotated[int, Field(ge=1, le=20)] = 10


class JamfSmartGroupSpec(SpecModel):
    name: str = "Docker Desktop - not installed"


class JamfPolicySpec(SpecModel):
    name: str = "Deploy Docker Desktop"
    frequency: Literal[
        "Once per computer", "Once per user per computer", "Once per user", "Once every day",
        "Once every week", "Once every month", "Ongoing",
    ] = "Once per computer"  # fmt: skip
    trigger: Literal["recurring check-in", "enrollment complete", "startup", "login"] = "recurring check-in"
    self_service: bool = False


class JamfProfileSpec(SpecModel):
    name: str = "Docker Desktop sign-in enforcement"
    level: Literal["computer", "user"] = "computer"
    distribution_method: Literal["Install Automatically", "Make Available in Self Service"] = "Install Automatically"


class JamfSpec(SpecModel):
    url: Url
    client_id: Annotated[str, Field(min_length=1)]
    package: JamfPackageSpec
    smart_group: JamfSmartGroupSpec = JamfSmartGroupSpec()
    policy: JamfPolicySpec = JamfPolicySpec()
    configuration_profile: JamfProfileSpec | None = JamfProfileSpec()


# --- Microsoft Dev Box -------------------------------------------------------------------------

SKU_PATTERN = re.compile(r"general_[ia]_(?P<cores>8|16|32)c(?P<memory>32|64|128)gb(?P<disk>256|512|1024|2048)ssd_v2")


class MarketplaceImageSpec(SpecModel):
    publisher: str = "dockerinc1694120899427"
    offer: str = "devbox_azuremachine"
    plan: str = "devboxlicensefpromo"
    accept_terms: bool = True


class DefinitionSpec(SpecModel):
    name: AzureName
    sku: str
    os_storage_type: Literal["ssd_256gb", "ssd_512gb", "ssd_1024gb", "ssd_2048gb"]
    hibernate: bool = False

    @model_validator(mode="after")
    def _sku_and_disk(self) -> Self:
        match = SKU_PATTERN.fullmatch(self.sku)
        if match is None:
            _fail("sku", f"{self.sku!r} is not a Dev Box SKU such as general_i_8c32gb256ssd_v2")
        if self.os_storage_type != f"ssd_{match['disk']}gb":
            _fail("osStorageType", f"{self.os_storage_type} does not match the {match['disk']} GB disk of {self.sku}")
        if self.hibernate and match["cores"] == "32":
            _fail("hibernate", "hibernation is not supported on 32-core Dev Box SKUs")
        return self


class NetworkSpec(SpecModel):
    name: AzureName
    type: Literal["managed", "unmanaged"] = "managed"
    regions: list[str] = []
    subnet_id: Annotated[str, _pattern(r"/subscriptions/.+/subnets/[^/]+", "an Azure subnet resource id")] | None = None
    domain_join_type: Literal["AzureADJoin", "HybridAzureADJoin"] = "AzureADJoin"
    domain_name: DomainName | None = None
    domain_username: str | None = None
    domain_password: SecretValue | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.type == "managed":
            if not self.regions:
                _fail("regions", "a managed network needs regions")
            if self.subnet_id:
                _fail("subnetId", "is only for unmanaged networks")
        elif not self.subnet_id:
            _fail("subnetId", "an unmanaged network needs subnetId")
        hybrid = self.domain_join_type == "HybridAzureADJoin"
        if hybrid and not (self.domain_name and self.domain_username and self.domain_password):
            _fail("domainJoinType", "HybridAzureADJoin needs domainName, domainUsername and domainPassword")
        if hybrid and self.type == "managed":
            _fail("domainJoinType", "HybridAzureADJoin needs an unmanaged network (your own VNet)")
        return self


class ScheduleSpec(SpecModel):
    time: TimeOfDay
    time_zone: TimeZone
    enabled: bool = True


class PoolSpec(SpecModel):
    name: AzureName
    definition: str
    network: str
    local_administrator: bool = False
    single_sign_on: bool = True
    stop_on_disconnect_minutes: Annotated[int, Field(ge=60, le=480)] | None = None
    schedule: ScheduleSpec | None = None


class RoleSpec(SpecModel):
    group: GroupKey
    role: Literal["devBoxUser", "projectAdmin"]


class ProjectSpec(SpecModel):
    name: AzureName
    description: str | None = None
    max_dev_boxes_per_user: Annotated[int, Field(ge=0, le=1000)] | None = None
    pools: list[PoolSpec] = []
    roles: list[RoleSpec] = []


class DevCenterSpec(SpecModel):
    name: Annotated[str, _pattern(r"[a-zA-Z0-9][a-zA-Z0-9-]{2,25}", "3-26 letters, digits and -")]
    definitions: list[DefinitionSpec] = []
    networks: list[NetworkSpec] = []
    projects: list[ProjectSpec] = []

    @model_validator(mode="after")
    def _references(self) -> Self:
        _unique((d.name for d in self.definitions), "definition", "definitions")
        _unique((n.name for n in self.networks), "network", "networks")
        _unique((p.name for p in self.projects), "project", "projects")
        definitions = {d.name for d in self.definitions}
        networks = {n.name for n in self.networks}
        for p, project in enumerate(self.projects):
            _unique((pool.name for pool in project.pools), "pool", f"projects[{p}].pools")
            for i, pool in enumerate(project.pools):
                if pool.definition not in definitions:
                    _fail(
                        f"projects[{p}].pools[{i}].definition",
                        f"{pool.definition!r} is not declared in this dev center's definitions "
                        f"(declared: {', '.join(sorted(definitions)) or 'none'})",
                    )
                if pool.network not in networks:
                    _fail(
                        f"projects[{p}].pools[{i}].network",
                        f"{pool.network!r} is not declared in this dev center's networks "
                        f"(declared: {', '.join(sorted(networks)) or 'none'})",
                    )
        return self


class DevBoxSpec(SpecModel):
    resource_group: AzureName
    image: MarketplaceImageSpec = MarketplaceImageSpec()
    dev_centers: Annotated[list[DevCenterSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        _unique((d.name for d in self.dev_centers), "dev center", "devCenters")
        return self


# --- the whole stack ---------------------------------------------------------------------------


class RolloutSpec(SpecModel):
    groups: dict[GroupKey, GroupSpec] = {}
    azure: AzureSpec | None = None
    endpoints: EndpointsSpec = EndpointsSpec()
    docker: DockerOrgSpec | None = None
    intune: IntuneSpec | None = None
    jamf: JamfSpec | None = None
    devbox: DevBoxSpec | None = None

    @model_validator(mode="after")
    def _cross_area_rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        problems += _check_assignments(self)
        problems += _check_roles(self)
        problems += _check_azure_needs(self)
        problems += _check_msi_rules(self)
        if self.intune and self.intune.macos and self.jamf:
            problems.append(("jamf", "intune.macos already deploys Docker Desktop to macOS; declare one of the two"))
        if (self.intune or self.jamf) and self.docker is None:
            problems.append(("docker", "required by intune/jamf: the installers enforce sign-in to docker.org"))
        if problems:
            raise FieldProblems(problems)
        return self

    @classmethod
    def from_config(
        cls, areas: Mapping[str, Any], *, credentials: Mapping[str, Any] | None = None, offline: bool = False
    ) -> RolloutSpec:
        """Validate the structured config areas (already parsed from YAML/JSON).

        `offline=True` is for reading the committed stack file without the CLI: secrets must then
        be `{secure: ...}` ciphertext, and so must secret provider credentials.
        """
        allowed = ", ".join((*CONFIG_AREAS, *CREDENTIAL_KEYS))
        problems = [
            (key, f"unknown configuration key; allowed: {allowed}") for key in sorted(set(areas) - set(CONFIG_AREAS))
        ]
        for key, value in (credentials or {}).items():
            if offline and CREDENTIAL_KEYS.get(key) and not (isinstance(value, dict) and set(value) == {"secure"}):
                problems.append((key, f"must be a secret: use `pulumi config set --secret {key} <value>`"))
        try:
            spec = cls.model_validate(
                {k: v for k, v in areas.items() if k in CONFIG_AREAS}, context={"offline": offline}
            )
        except ValidationError as exc:
            problems += SpecError.from_validation_error(exc).problems
        if problems:
            raise SpecError(problems)
        return spec


def _group_problem(spec: RolloutSpec, target: str, where: str) -> list[tuple[str, str]]:
    if target in spec.groups:
        return []
    declared = ", ".join(sorted(spec.groups)) or "none"
    return [(where, f"group {target!r} is not declared under groups (declared: {declared})")]


def _check_assignments(spec: RolloutSpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    platforms: list[tuple[str, list[AssignmentSpec]]] = []
    if spec.intune and spec.intune.windows:
        platforms.append(("intune.windows", spec.intune.windows.assignments))
    if spec.intune and spec.intune.macos:
        platforms.append(("intune.macos", spec.intune.macos.assignments))
    special = ("allLicensedUsers", "allDevices")
    for prefix, assignments in platforms:
        seen: set[str] = set()
        for index, assignment in enumerate(assignments):
            where = f"{prefix}.assignments[{index}].target"
            if assignment.target in special:
                if assignment.exclude:
                    problems.append((where, f"{assignment.target} cannot be excluded; exclude a group instead"))
            else:
                problems += _group_problem(spec, assignment.target, where)
            if assignment.target in seen:
                problems.append((where, f"{assignment.target!r} is assigned twice; Intune keeps one intent per target"))
            seen.add(assignment.target)
    return problems


def _check_roles(spec: RolloutSpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if spec.devbox is None:
        return problems
    for c, center in enumerate(spec.devbox.dev_centers):
        for p, project in enumerate(center.projects):
            for r, role in enumerate(project.roles):
                where = f"devbox.devCenters[{c}].projects[{p}].roles[{r}].group"
                problems += _group_problem(spec, role.group, where)
    return problems


def _check_azure_needs(spec: RolloutSpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if spec.docker is None:
        return problems
    for index, token in enumerate(spec.docker.access_tokens):
        if token.key_vault_secret and (spec.azure is None or spec.azure.key_vault is None):
            problems.append(
                (f"docker.accessTokens[{index}].keyVaultSecret", "needs azure.keyVault to name the vault to write to")
            )
    return problems


def _check_msi_rules(spec: RolloutSpec) -> list[tuple[str, str]]:
    """Docker's MSI rules (installers.check_msi_options), reported at the config path of the MSI."""
    if not (spec.intune and spec.intune.windows and spec.intune.windows.msi and spec.docker):
        return []
    try:
        installers.check_msi_options(msi_options(spec.intune.windows.msi, spec.docker))
    except installers.InstallerRuleError as exc:
        return [("intune.windows.msi", str(exc))]
    return []


def msi_options(msi: MsiSpec, docker: DockerOrgSpec) -> installers.MsiOptions:
    """The installer properties the MSI spec and the Docker org imply."""
    proxy = None
    if msi.proxy is not None:
        proxy = installers.MsiProxy(
            mode=msi.proxy.mode,
            enable_kerberos_ntlm=msi.proxy.kerberos_ntlm,
            http=msi.proxy.http,
            https=msi.proxy.https,
            exclude=tuple(msi.proxy.exclude),
            pac=msi.proxy.pac,
            embedded_pac=msi.proxy.embedded_pac,
        )
    roots = msi.data_roots or DataRootsSpec()
    return installers.MsiOptions(
        desktop_shortcut=msi.desktop_shortcut,
        install_folder=msi.install_folder,
        admin_settings=docker.admin_settings if msi.embed_admin_settings else None,
        allowed_org=docker.org,
        always_run_service=msi.always_run_service,
        disable_windows_containers=msi.disable_windows_containers,
        engine=msi.engine,
        proxy=proxy,
        hyperv_data_root=roots.hyperv,
        windows_containers_data_root=roots.windows_containers,
        wsl_data_root=roots.wsl,
        disable_analytics=msi.disable_analytics,
    )


# --- errors ------------------------------------------------------------------------------------


class FieldProblems(ValueError):
    """Raised inside model validators: problems whose config path is relative to the model validated."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


class SpecError(ValueError):
    """Invalid stack configuration. `problems` lists (config path, message), one per mistake."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> SpecError:
        problems: list[tuple[str, str]] = []
        for error in exc.errors(include_url=False):
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, FieldProblems):
                base = _config_path(error["loc"])
                problems += [(_join_path(base, path), message) for path, message in cause.problems]
                continue
            problems.append((_config_path(error["loc"]), _message(error)))
        return cls(problems)


def _join_path(base: str, relative: str) -> str:
    if base == "(root)":
        return relative
    return f"{base}{relative}" if relative.startswith("[") else f"{base}.{relative}"


def _config_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "constrained-")) or part in ("str", "int", "bool", "float"):
            continue  # pydantic's internal union/validator branch names
        else:
            path += f".{part}" if path else part
    return path or "(root)"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"must be one of {', '.join(allowed)} (got {error.get('input')!r})"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed_fields = _fields_at(error["loc"][:-1])
        return "unknown field" + (f"; allowed: {', '.join(allowed_fields)}" if allowed_fields else "")
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    return re.sub(r"^(Input|String|List|Value|Dictionary) should", "must", str(error["msg"]))


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The config names a model accepts at `loc` (for 'unknown field' messages); [] if not a model."""
    node: Any = RolloutSpec
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel) and isinstance(part, str):
            field = next((f for name, f in node.model_fields.items() if part in (name, f.alias)), None)
            if field is None:
                return []
            node = field.annotation
        elif get_origin(node) in (list, dict):
            node = get_args(node)[-1]  # list[T] -> T, dict[K, V] -> V
        else:
            return []
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return [f.serialization_alias or f.alias or name for name, f in node.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] and Annotated[...] down to the type that holds fields or items."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
