"""Invalid configurations: each is rejected by `rollout validate` naming the field, and never reaches
a resource constructor when the Pulumi program itself runs (under mocks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.cli.main import main
from tests.stacks import DELETE, base_areas, edit, write_stack

Areas = dict[str, Any]


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Areas], Areas]
    path: str
    fragment: str
    credentials: dict[str, Any] | None = None
    offline_only: bool = False
    """Rules only the stack file shows: plaintext secrets (the CLI hands the program decrypted values) and
    unknown keys (`pulumi.Config` cannot list keys, so the program never sees them)."""


def set_(path: str, value: Any) -> Callable[[Areas], Areas]:
    return lambda areas: edit(areas, path, value)


def token(**changes: Any) -> Callable[[Areas], Areas]:
    def mutate(areas: Areas) -> Areas:
        result = areas
        for key, value in changes.items():
            result = edit(result, f"docker.accessTokens[0].{key}", value)
        return result

    return mutate


def repo(path: str, scopes: list[str]) -> dict[str, Any]:
    return {"type": "TYPE_REPO", "path": path, "scopes": scopes}


IN_TWO_YEARS = (datetime.now(UTC) + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
POOL = "devbox.devCenters[0].projects[0].pools[0]"
DEFINITION = "devbox.devCenters[0].definitions[0]"
NETWORK = "devbox.devCenters[0].networks[0]"
TOKEN = "docker.accessTokens[0]"

CASES = [
    Case("org-uppercase", set_("docker.org", "AcmeCorp"), "docker.org", "lowercase"),
    Case("plan-unknown", set_("docker.plan", "enterprise"), "docker.plan", "must be one of team, business"),
    Case(
        "allowed-orgs-duplicate",
        set_("docker.allowedOrgs", ["acme", "acme"]),
        "docker.allowedOrgs",
        "duplicate organization 'acme'",
    ),
    Case("unknown-area", set_("dockr", {"org": "x"}), "dockr", "unknown configuration key", offline_only=True),
    Case("token-no-resources", token(resources=[]), f"{TOKEN}.resources", "at least 1 item"),
    Case(
        "token-unknown-scope",
        token(resources=[repo("acmecorp/base", ["scope-image-pul"])]),
        f"{TOKEN}.resources[0].scopes",
        "'scope-image-pul' is not a TYPE_REPO scope",
    ),
    Case(
        "token-org-scope-on-repo",
        token(resources=[repo("acmecorp/base", ["scope-member-read"])]),
        f"{TOKEN}.resources[0].scopes",
        "not a TYPE_REPO scope",
    ),
    Case(
        "token-resource-type",
        token(resources=[{"type": "TYPE_TEAM", "path": "x", "scopes": ["scope-image-pull"]}]),
        f"{TOKEN}.resources[0].type",
        "must be one of TYPE_REPO, TYPE_ORG",
    ),
    Case(
        "token-51-repos",
        token(resources=[repo(f"acmecorp/r{i}", ["scope-image-pull"]) for i in range(51)]),
        f"{TOKEN}.resources",
        "51 repositories; Docker allows at most 50",
    ),
    Case(
        "token-duplicate-repo",
        token(resources=[repo("acmecorp/a", ["scope-image-pull"]), repo("acmecorp/a", ["scope-image-push"])]),
        f"{TOKEN}.resources",
        "duplicate repository path 'acmecorp/a'",
    ),
    Case(
        "token-expired",
        token(expiresInDays=DELETE, rotateBeforeDays=DELETE, expiresAt="2020-01-01T00:00:00Z"),
        f"{TOKEN}.expiresAt",
        "is in the past",
    ),
    Case(
        "token-expiry-too-far",
        token(expiresInDays=DELETE, rotateBeforeDays=DELETE, expiresAt=IN_TWO_YEARS),
        f"{TOKEN}.expiresAt",
        "more than a year ahead",
    ),
    Case(
        "token-two-expiries",
        token(expiresAt=IN_TWO_YEARS),
        f"{TOKEN}.expiresAt",
        "set expiresAt or expiresInDays, not both",
    ),
    Case("token-expiry-days-range", token(expiresInDays=400), f"{TOKEN}.expiresInDays", "less than or equal to 365"),
    Case(
        "token-rotate-too-late",
        token(rotateBeforeDays=90),
        f"{TOKEN}.rotateBeforeDays",
        "must be less than expiresInDays",
    ),
    Case("token-rotate-no-expiry", token(expiresInDays=DELETE), f"{TOKEN}.rotateBeforeDays", "needs expiresInDays"),
    Case("token-label-long", token(label="x" * 101), f"{TOKEN}.label", "at most 100 characters"),
    Case("token-description-long", token(description="d" * 201), f"{TOKEN}.description", "at most 200 characters"),
    Case(
        "token-unknown-field",
        token(lable="typo"),
        f"{TOKEN}.lable",
        "unknown field; allowed: label, description, resources",
    ),
    Case(
        "token-vault-name", token(keyVaultSecret="has_underscore"), f"{TOKEN}.keyVaultSecret", "Key Vault secret name"
    ),
    Case(
        "token-vault-needs-azure",
        set_("azure.keyVault", DELETE),
        f"{TOKEN}.keyVaultSecret",
        "needs azure.keyVault",
    ),
    Case(
        "token-duplicate-label",
        lambda a: edit(a, "docker.accessTokens", a["docker"]["accessTokens"] * 2),
        "docker.accessTokens",
        "duplicate token label 'ci-pull'",
    ),
    Case(
        "token-team-limit",
        lambda a: edit(
            edit(a, "docker.plan", "team"),
            "docker.accessTokens",
            [dict(a["docker"]["accessTokens"][0], label=f"t{i}", keyVaultSecret=f"s{i}") for i in range(11)],
        ),
        "docker.accessTokens",
        "11 access tokens; the team plan allows 10",
    ),
    Case("domain-name", set_("docker.domains[0].name", "Acme.COM"), "docker.domains[0].name", "lowercase DNS domain"),
    Case(
        "domain-txt-value",
        set_("docker.domains[0].verificationValue", "abc"),
        "docker.domains[0].verificationValue",
        "docker-verification=<value>",
    ),
    Case(
        "domain-outside-zone",
        set_("docker.domains[0].name", "other.org"),
        "docker.domains[0].name",
        "not inside DNS zone",
    ),
    Case(
        "domain-record-name",
        set_("docker.domains[0].recordName", "docker-verification"),
        "docker.domains[0].recordName",
        "use '@'",
    ),
    Case(
        "domain-keep-txt-without-zone",
        lambda a: edit(
            edit(a, "docker.domains[0].dnsZone", DELETE), "docker.domains[0].keepTxtValues", ["v=spf1 -all"]
        ),
        "docker.domains[0].keepTxtValues",
        "only applies with dnsZone",
    ),
    Case(
        "domain-keep-txt-duplicates-value",
        set_("docker.domains[0].keepTxtValues", ["docker-verification=7d3c9a12"]),
        "docker.domains[0].keepTxtValues",
        "lists the verification value itself",
    ),
    Case(
        "admin-settings-unknown-key",
        set_("docker.adminSettings.enhancedIsolation", {"value": True, "locked": True}),
        "docker.adminSettings.enhancedIsolation",
        "unknown field",
    ),
    Case(
        "msi-engine",
        set_("intune.windows.msi.engine", "docker"),
        "intune.windows.msi.engine",
        "must be one of wsl, hyperv, windows",
    ),
    Case(
        "msi-display-interactive",
        set_("intune.windows.msi.display", "interactive"),
        "intune.windows.msi.display",
        "would wait for a user",
    ),
    Case(
        "msi-display-unknown",
        set_("intune.windows.msi.display", "silent"),
        "intune.windows.msi.display",
        "must be one of interactive, quiet, qn, passive",
    ),
    Case("msi-file", set_("intune.windows.msi.file", "Docker.exe"), "intune.windows.msi.file", "an .msi file"),
    Case(
        "windows-both-sources",
        set_("intune.windows.store", {"packageIdentifier": "XP8CBJ40XLBWKX"}),
        "intune.windows.store",
        "exactly one of msi or store",
    ),
    Case("windows-no-source", set_("intune.windows.msi", DELETE), "intune.windows.msi", "exactly one of msi or store"),
    Case(
        "msi-pac-system-mode",
        set_("intune.windows.msi.proxy", {"mode": "system", "pac": "http://proxy/p.pac"}),
        "intune.windows.msi",
        "OVERRIDEPROXYPAC",
    ),
    Case(
        "msi-pac-and-embedded",
        set_(
            "intune.windows.msi.proxy", {"mode": "manual", "pac": "http://proxy/p.pac", "embeddedPac": "function F(){}"}
        ),
        "intune.windows.msi",
        "OVERRIDEPROXYEMBEDDEDPAC",
    ),
    Case(
        "assignment-unknown-group",
        set_("intune.windows.assignments[0].target", "everyone"),
        "intune.windows.assignments[0].target",
        "group 'everyone' is not declared under groups",
    ),
    Case(
        "assignment-intent",
        set_("intune.windows.assignments[0].intent", "install"),
        "intune.windows.assignments[0].intent",
        "must be one of required, available, uninstall",
    ),
    Case(
        "assignment-exclude-all-devices",
        set_("intune.windows.assignments[0]", {"intent": "required", "target": "allDevices", "exclude": True}),
        "intune.windows.assignments[0].target",
        "allDevices cannot be excluded",
    ),
    Case(
        "assignment-twice",
        set_(
            "intune.windows.assignments",
            [{"intent": "required", "target": "developers"}, {"intent": "available", "target": "developers"}],
        ),
        "intune.windows.assignments[1].target",
        "assigned twice",
    ),
    Case(
        "macos-and-jamf",
        set_("intune.macos", {"pkg": {"file": "Docker.pkg", "version": "4.49.0"}}),
        "jamf",
        "declare one of the two",
    ),
    Case("intune-without-docker", set_("docker", DELETE), "docker", "required by intune/jamf"),
    Case(
        "macos-version",
        lambda a: edit(edit(a, "jamf", DELETE), "intune.macos", {"pkg": {"file": "Docker.pkg", "version": "latest"}}),
        "intune.macos.pkg.version",
        "a version like 4.49.0",
    ),
    Case("jamf-url", set_("jamf.url", "ftp://acme"), "jamf.url", "must be an http(s) URL"),
    Case("jamf-priority", set_("jamf.package.priority", 0), "jamf.package.priority", "greater than or equal to 1"),
    Case(
        "jamf-frequency",
        set_("jamf.policy", {"frequency": "Daily"}),
        "jamf.policy.frequency",
        "must be one of Once per computer",
    ),
    Case("devbox-sku", set_(f"{DEFINITION}.sku", "Standard_D4s_v5"), f"{DEFINITION}.sku", "is not a Dev Box SKU"),
    Case(
        "devbox-disk-mismatch",
        set_(f"{DEFINITION}.osStorageType", "ssd_512gb"),
        f"{DEFINITION}.osStorageType",
        "does not match the 256 GB",
    ),
    Case(
        "devbox-hibernate-32-core",
        lambda a: edit(
            a,
            DEFINITION,
            {"name": "big", "sku": "general_i_32c128gb512ssd_v2", "osStorageType": "ssd_512gb", "hibernate": True},
        ),
        f"{DEFINITION}.hibernate",
        "hibernation is not supported",
    ),
    Case(
        "pool-definition",
        set_(f"{POOL}.definition", "nope"),
        f"{POOL}.definition",
        "'nope' is not declared in this dev center's definitions",
    ),
    Case(
        "pool-network",
        set_(f"{POOL}.network", "nope"),
        f"{POOL}.network",
        "'nope' is not declared in this dev center's networks",
    ),
    Case(
        "network-managed-regions",
        set_(f"{NETWORK}.regions", []),
        f"{NETWORK}.regions",
        "a managed network needs regions",
    ),
    Case(
        "network-unmanaged-subnet",
        set_(NETWORK, {"name": "managed-weu", "type": "unmanaged"}),
        f"{NETWORK}.subnetId",
        "needs subnetId",
    ),
    Case(
        "network-hybrid-managed",
        set_(
            NETWORK,
            {
                "name": "managed-weu",
                "regions": ["westeurope"],
                "domainJoinType": "HybridAzureADJoin",
                "domainName": "corp.acme.com",
                "domainUsername": "join@corp.acme.com",
                "domainPassword": {"secure": "v1:abc"},
            },
        ),
        f"{NETWORK}.domainJoinType",
        "needs an unmanaged network",
    ),
    Case(
        "network-plaintext-password",
        set_(
            NETWORK,
            {
                "name": "managed-weu",
                "type": "unmanaged",
                "subnetId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
                "domainJoinType": "HybridAzureADJoin",
                "domainName": "corp.acme.com",
                "domainUsername": "join@corp.acme.com",
                "domainPassword": "hunter2",
            },
        ),
        f"{NETWORK}.domainPassword",
        "must be a secret",
        offline_only=True,
    ),
    Case("schedule-time", set_(f"{POOL}.schedule.time", "25:00"), f"{POOL}.schedule.time", "a 24-hour time HH:MM"),
    Case(
        "schedule-timezone",
        set_(f"{POOL}.schedule.timeZone", "Mars/Olympus"),
        f"{POOL}.schedule.timeZone",
        "IANA time zone",
    ),
    Case(
        "pool-stop-on-disconnect",
        set_(f"{POOL}.stopOnDisconnectMinutes", 30),
        f"{POOL}.stopOnDisconnectMinutes",
        "greater than or equal to 60",
    ),
    Case(
        "role-unknown-group",
        set_("devbox.devCenters[0].projects[0].roles[0].group", "ghosts"),
        "devbox.devCenters[0].projects[0].roles[0].group",
        "group 'ghosts' is not declared",
    ),
    Case(
        "role-name",
        set_("devbox.devCenters[0].projects[0].roles[0].role", "owner"),
        "devbox.devCenters[0].projects[0].roles[0].role",
        "must be one of devBoxUser, projectAdmin",
    ),
    Case("devcenter-name", set_("devbox.devCenters[0].name", "d" * 40), "devbox.devCenters[0].name", "3-26 letters"),
    Case("devcenters-empty", set_("devbox.devCenters", []), "devbox.devCenters", "at least 1 item"),
    Case(
        "max-dev-boxes",
        set_("devbox.devCenters[0].projects[0].maxDevBoxesPerUser", -1),
        "devbox.devCenters[0].projects[0].maxDevBoxesPerUser",
        "greater than or equal to 0",
    ),
    Case("group-object-id", set_("groups.developers.objectId", "not-a-guid"), "groups.developers.objectId", "a GUID"),
    Case(
        "group-create-and-id",
        set_("groups.developers.create", True),
        "groups.developers.objectId",
        "names an existing group",
    ),
    Case("azure-location", set_("azure.location", "West Europe"), "azure.location", "an Azure region name"),
    Case("endpoint-url", set_("endpoints", {"dockerHub": "hub.docker.com"}), "endpoints.dockerHub", "http(s) URL"),
    Case(
        "credential-plaintext",
        lambda a: a,
        "dockerHubToken",
        "must be a secret",
        credentials={"dockerHubToken": "dckr_pat_plaintext"},
        offline_only=True,
    ),
]


def test_the_base_config_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "base", base_areas(), credentials={"dockerHubToken": {"secure": "v1:x"}})
    assert main(["validate", "--stack", "base", "--stacks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "stack base: valid (docker, intune, jamf, devbox)\n"


def test_there_are_at_least_forty_distinct_invalid_configurations() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_validate_rejects_naming_the_field(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "bad", case.mutate(base_areas()), credentials=case.credentials)
    assert main(["validate", "--stack", "bad", "--stacks-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    problems = [line.strip() for line in err.splitlines()[1:]]
    assert any(line.startswith(f"{case.path}: ") and case.fragment in line for line in problems), err


@pytest.mark.parametrize("case", [c for c in CASES if not c.offline_only], ids=lambda c: c.id)
def test_program_stops_before_any_resource(case: Case) -> None:
    """Under the CLI the same config makes the program fail with the same message, having registered nothing."""
    import pulumi

    from tests.component.mocks import RecordingMocks, run_program

    recording = RecordingMocks()
    with pytest.raises(pulumi.RunError) as raised:
        run_program(case.mutate(base_areas()), recording=recording)
    assert f"{case.path}: " in str(raised.value) and case.fragment in str(raised.value)
    assert recording.registrations == []


def test_the_program_registers_resources_for_the_base_config() -> None:
    """The control for the test above: the same harness does see resources when the config is valid."""
    from tests.component.mocks import run_program

    recording = run_program(base_areas())
    assert {r.type for r in recording.registrations} >= {"docker-desktop-rollout:index:EnterpriseRollout"}
