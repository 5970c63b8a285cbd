"""`DockerOrganization` under the SDK's mock runtime, with the committed stack files as config.

A recording monitor keeps what the engine would see of each registration (type, name, parent,
dependencies, retain-on-delete, inputs with their secret wrappers). The mocks answer for the dynamic
resources the way the engine and the providers would: the token's `token` output is the engine's
secret (`additional_secret_outputs` is engine-side, so it is played here by wrapping it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks, rpc

from components import render as render_module
from components.cli.main import main
from components.docker_org import epoch_seconds, label_slug, zone_relative_name
from components.spec import PROJECT
from components.stack_config import load_stack
from tests.component.mocks import run_program
from tests.stacks import DELETE, REPO_ROOT, base_areas, edit

ORG = "docker-desktop-rollout:docker:Organization"
DOMAIN = "docker-desktop-rollout:docker:VerifiedDomain"
TOKEN = "pulumi-python:dynamic/dockerhub:OrgAccessToken"
SETTINGS = "pulumi-python:dynamic/dockerhub:OrgSettings"
CHECK = "pulumi-python:dynamic/dockerhub:DomainVerification"
VAULT_SECRET = "azure-native:keyvault:Secret"
RECORD_SET = "azure-native:dns:RecordSet"

CANARY = "dckr_oat_CANARY0000000000000000000000"
EXPIRES_AT = "2027-03-01T12:00:00Z"


@dataclass
class Registered:
    type: str
    name: str
    parent: str | None
    """`type::name` of the parent."""
    dependencies: list[str]
    """`type::name` of each explicit dependency."""
    retain_on_delete: bool
    inputs: dict[str, Any]


@dataclass
class TokenMocks(mocks.Mocks):
    """Outputs = inputs, plus what the dynamic providers compute; the token value is a secret canary."""

    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        self.inputs[args.name] = inputs
        outputs = dict(inputs)
        if args.typ == TOKEN:
            outputs.update(token_id=f"id-{args.name}", expires_at=EXPIRES_AT, token=rpc.wrap_rpc_secret(CANARY))
        if args.typ == CHECK:
            outputs.update(status="pending", found_values=[], verify_event_at=None)
        return f"{args.name}-id", outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class TreeMonitor(mocks.MockMonitor):
    def __init__(self, mocks_: TokenMocks) -> None:
        super().__init__(mocks_)
        self.requests: list[tuple[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.requests.append((response.urn, request))
        return response


def run_stack(stack_name: str) -> dict[str, Registered]:
    """Run the program with a committed stack file's config; the registrations by resource name."""
    from components import program

    values, secret_keys = load_stack(stack_name, REPO_ROOT / "stacks").pulumi_config()
    recording = TokenMocks()
    monitor = TreeMonitor(recording)
    pulumi.runtime.set_all_config(values, secret_keys)
    mocks.set_mocks(recording, project=PROJECT, stack=stack_name, preview=False, monitor=monitor)
    mocks.test(program.run)()  # type: ignore[no-untyped-call]

    by_urn = {urn: f"{request.type}::{request.name}" for urn, request in monitor.requests}
    registered: dict[str, Registered] = {}
    for _urn, request in monitor.requests:
        assert request.name not in registered, f"two resources named {request.name}"
        registered[request.name] = Registered(
            type=request.type,
            name=request.name,
            parent=by_urn.get(request.parent),
            dependencies=[by_urn[dependency] for dependency in request.dependencies if dependency in by_urn],
            retain_on_delete=bool(request.retainOnDelete),
            inputs=recording.inputs.get(request.name, {}),
        )
    return registered


def given(resource: Registered) -> dict[str, Any]:
    """The inputs the program set (the SDK drops None-valued props on the wire)."""
    return {k: v for k, v in resource.inputs.items() if v is not None}


def docker_tree(registered: dict[str, Registered]) -> set[tuple[str, str, str | None]]:
    """(type, name, parent) of the organization and everything below it."""
    inside = {f"{ORG}::rollout-docker"}
    tree: set[tuple[str, str, str | None]] = set()
    for resource in registered.values():  # registration order: parents come first
        if resource.parent in inside:
            inside.add(f"{resource.type}::{resource.name}")
            tree.add((resource.type, resource.name, resource.parent))
    return tree


@pytest.fixture(scope="module")
def prod() -> dict[str, Registered]:
    return run_stack("prod")


@pytest.fixture(scope="module")
def sandbox() -> dict[str, Registered]:
    return run_stack("sandbox")


# --- the tree -----------------------------------------------------------------------------------------


def test_prod_tree(prod: dict[str, Registered]) -> None:
    org = f"{ORG}::rollout-docker"
    acme = f"{DOMAIN}::rollout-docker-domain-acme.com"
    labs = f"{DOMAIN}::rollout-docker-domain-acme-labs.io"
    assert prod["rollout-docker"].parent == "docker-desktop-rollout:index:EnterpriseRollout::rollout"
    assert docker_tree(prod) == {
        (TOKEN, "rollout-docker-token-prod-ci-pull", org),
        (VAULT_SECRET, "rollout-docker-token-prod-ci-pull-vault", org),
        (TOKEN, "rollout-docker-token-prod-release-push", org),
        (VAULT_SECRET, "rollout-docker-token-prod-release-push-vault", org),
        (TOKEN, "rollout-docker-token-siem-audit", org),
        (VAULT_SECRET, "rollout-docker-token-siem-audit-vault", org),
        (DOMAIN, "rollout-docker-domain-acme.com", org),
        (RECORD_SET, "rollout-docker-domain-acme.com-txt", acme),
        (CHECK, "rollout-docker-domain-acme.com-check", acme),
        (DOMAIN, "rollout-docker-domain-acme-labs.io", org),
        (RECORD_SET, "rollout-docker-domain-acme-labs.io-txt", labs),
        (CHECK, "rollout-docker-domain-acme-labs.io-check", labs),
        (SETTINGS, "rollout-docker-settings", org),
    }


def test_sandbox_tree_has_no_azure_resources(sandbox: dict[str, Registered]) -> None:
    org = f"{ORG}::rollout-docker"
    domain = f"{DOMAIN}::rollout-docker-domain-sandbox.example.com"
    assert docker_tree(sandbox) == {
        (TOKEN, "rollout-docker-token-ci-pull", org),
        (TOKEN, "rollout-docker-token-audit-reader", org),
        (DOMAIN, "rollout-docker-domain-sandbox.example.com", org),
        (CHECK, "rollout-docker-domain-sandbox.example.com-check", domain),
        (SETTINGS, "rollout-docker-settings", org),
    }


# --- tokens and their vault secrets -------------------------------------------------------------------


def test_token_inputs_follow_the_spec(prod: dict[str, Registered], sandbox: dict[str, Registered]) -> None:
    assert given(prod["rollout-docker-token-prod-ci-pull"]) == {
        "org": "acmecorp",
        "label": "prod-ci-pull",
        "description": "Production CI pulls from the golden repositories",
        "resources": [
            {"type": "TYPE_REPO", "path": "acmecorp/golden-base", "scopes": ["scope-image-pull"]},
            {"type": "TYPE_REPO", "path": "acmecorp/golden-runtime", "scopes": ["scope-image-pull"]},
        ],
        "expires_in_days": 90,
        "rotate_before_days": 14,
    }
    assert given(sandbox["rollout-docker-token-audit-reader"]) == {
        "org": "acme-sandbox",
        "label": "audit-reader",
        "description": "Reads the audit log for domain verification events",
        "resources": [
            {"type": "TYPE_ORG", "path": "acme-sandbox", "scopes": ["scope-activity-read", "scope-member-read"]}
        ],
        "expires_in_days": 180,
    }


def test_vault_secret_holds_the_token_as_a_secret(prod: dict[str, Registered]) -> None:
    secret = prod["rollout-docker-token-siem-audit-vault"]
    assert secret.dependencies == [f"{TOKEN}::rollout-docker-token-siem-audit"]
    inputs = secret.inputs
    assert (inputs["resourceGroupName"], inputs["vaultName"], inputs["secretName"]) == (
        "rg-docker-rollout-prod",
        "kv-acme-docker-prod",
        "dockerhub-siem-audit",
    )
    # The SDK marks the whole `properties` object secret, since it holds a secret Output.
    assert rpc.is_rpc_secret(inputs["properties"]), "the vault secret's value must be a secret input"
    assert rpc.unwrap_rpc_secret(inputs["properties"]) == {
        "value": CANARY,
        "contentType": "Docker organization access token siem-audit; docker login --username acmecorp",
        "attributes": {"enabled": True, "expires": int(datetime(2027, 3, 1, 12, tzinfo=UTC).timestamp())},
    }
    assert inputs["tags"] == {
        "managed-by": "docker-desktop-rollout",
        "docker-org": "acmecorp",
        "docker-token-label": "siem-audit",
    }


def outside_secrets(value: Any) -> str:
    """`repr` of `value` with every secret-wrapped part left out."""
    if rpc.is_rpc_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return repr({key: outside_secrets(item) for key, item in value.items()})
    if isinstance(value, list):
        return repr([outside_secrets(item) for item in value])
    return repr(value)


def test_the_token_value_is_an_input_of_the_vault_secrets_only_and_always_secret(prod: dict[str, Registered]) -> None:
    holders = [r.name for r in prod.values() if CANARY in repr(r.inputs)]
    assert sorted(holders) == [
        "rollout-docker-token-prod-ci-pull-vault",
        "rollout-docker-token-prod-release-push-vault",
        "rollout-docker-token-siem-audit-vault",
    ]
    assert [r.name for r in prod.values() if CANARY in outside_secrets(r.inputs)] == []


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_render_never_prints_the_token_value(
    stack: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rollout render` under mocks that hand out the canary as the engine would: a secret output."""
    answer = render_module._ReviewMocks.new_resource
    reached: set[str] = set()

    def with_token(self: Any, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        id_, outputs = answer(self, args)
        if args.typ == TOKEN:
            outputs.update(token=rpc.wrap_rpc_secret(CANARY), expires_at=EXPIRES_AT)
        if CANARY in repr(args.inputs):
            reached.add(args.typ)
        return id_, outputs

    monkeypatch.setattr(render_module._ReviewMocks, "new_resource", with_token)
    for output_format in ("md", "json"):
        assert main(["render", "--stack", stack, "--project-dir", str(REPO_ROOT), "--format", output_format]) == 0
        out = capsys.readouterr().out
        assert "azure-native:keyvault:Secret" in out
        assert ("properties=[secret]" if output_format == "md" else '"properties": "[secret]"') in out
        assert CANARY not in out
    assert reached == {VAULT_SECRET}, "the canary must reach render's inputs for this test to prove anything"


def test_an_absolute_expiry_reaches_the_token_and_the_vault_as_utc() -> None:
    """A zone-less `expiresAt` is UTC (the spec's rule): the token gets it with its zone, the vault its epoch."""
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(tzinfo=None, microsecond=0)
    areas = edit(base_areas(), "docker.accessTokens[0].expiresInDays", DELETE)
    areas = edit(areas, "docker.accessTokens[0].rotateBeforeDays", DELETE)
    areas = edit(areas, "docker.accessTokens[0].expiresAt", expires.isoformat())
    recorded = {r.name: r for r in run_program(areas).registrations}
    token = recorded["rollout-docker-token-ci-pull"]
    assert token.inputs["expires_at"] == expires.replace(tzinfo=UTC).isoformat()
    assert "expires_in_days" not in token.inputs
    properties = rpc.unwrap_rpc_secret(recorded["rollout-docker-token-ci-pull-vault"].inputs["properties"])
    assert properties["attributes"]["expires"] == int(expires.replace(tzinfo=UTC).timestamp())


# --- domains ------------------------------------------------------------------------------------------


def test_txt_record_set_inputs(prod: dict[str, Registered]) -> None:
    record = prod["rollout-docker-domain-acme.com-txt"]
    assert record.inputs == {
        "resourceGroupName": "rg-dns-prod",
        "zoneName": "acme.com",
        "relativeRecordSetName": "@",
        "recordType": "TXT",
        "ttl": 3600,
        "txtRecords": [
            {"value": ["docker-verification=7d3c9a12-4f6e-4b0a-9c1d-2e3f4a5b6c7d"]},
            {"value": ["v=spf1 include:spf.protection.outlook.com -all"]},
            {"value": ["MS=ms48213377"]},
        ],
        "metadata": {"managed_by": "docker-desktop-rollout", "purpose": "docker_domain_verification"},
    }
    assert record.retain_on_delete, "deleting a shared apex TXT set would delete SPF with it"


def test_verification_checks_after_the_record_with_the_stack_endpoints(
    prod: dict[str, Registered], sandbox: dict[str, Registered]
) -> None:
    check = prod["rollout-docker-domain-acme.com-check"]
    assert check.dependencies == [f"{RECORD_SET}::rollout-docker-domain-acme.com-txt"]
    assert given(check) == {
        "domain": "acme.com",
        "expected_value": "docker-verification=7d3c9a12-4f6e-4b0a-9c1d-2e3f4a5b6c7d",
        "record_name": "@",
        "nameservers": [],
        "port": 53,
        "org": "acmecorp",
        "timeout_seconds": 3.0,
    }
    local = sandbox["rollout-docker-domain-sandbox.example.com-check"]
    assert local.dependencies == []
    assert (local.inputs["nameservers"], local.inputs["port"], local.inputs["org"]) == (
        ["127.0.0.1"],
        8753,
        "acme-sandbox",
    )


def test_settings_inputs_are_snake_case(prod: dict[str, Registered]) -> None:
    inputs = prod["rollout-docker-settings"].inputs
    assert inputs["org"] == "acmecorp"
    assert inputs["image_access"] == {"enabled": True, "allow_official_images": True, "allow_verified_publishers": True}
    assert inputs["registry_access"] == {
        "enabled": True,
        "allow_docker_hub": True,
        "registries": [
            {"address": "acme.azurecr.io", "friendly_name": "ACME ACR", "allowed": True},
            {"address": "mcr.microsoft.com", "friendly_name": "Microsoft Container Registry", "allowed": True},
        ],
    }


def test_sandbox_render_lists_the_manual_domain_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "sandbox", "--project-dir", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    section = out.split("### docker: Verified domain sandbox.example.com\n\n```text\n", 1)[1].split("```", 1)[0]
    assert section.splitlines() == [
        "Manual: add TXT sandbox.example.com = docker-verification=0c2f3e1a-sandbox at your DNS host "
        "(no dnsZone: DNS is managed outside this stack)",
        "Checked when created or changed and on every `pulumi refresh` (or `pulumi up --refresh`): DNS status "
        "verified, mismatch or pending, and the acme-sandbox audit log's domain verify event when Docker Hub "
        "credentials can read it",
        "Manual (Docker has no domain API): Admin Console > Domain management > Verify, once the TXT record "
        "resolves (DNS propagation can take up to 72 hours); if the organization belongs to a company, "
        "verify at company level",
        "Auto-provisioning: not requested (autoProvisioning: false)",
        "Recurring: Admin Console > Domain management > Domain audit > Export Users, then "
        "`rollout docker invite-uncaptured <export.csv> --org acme-sandbox` (dry run; --apply sends)",
    ]
    assert "ci-pull: TYPE_REPO acme-sandbox/base: scope-image-pull" in out
    assert "value kept only in Pulumi state (set keyVaultSecret to hand it to CI)" in out
    assert "Organization settings" in out


def test_prod_render_names_the_zone_and_auto_provisioning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "prod", "--project-dir", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    assert (
        "TXT acme.com = docker-verification=7d3c9a12-4f6e-4b0a-9c1d-2e3f4a5b6c7d: Azure DNS zone acme.com "
        "(rg-dns-prod), TTL 3600, managed by this stack\n"
        "The same record set keeps: v=spf1 include:spf.protection.outlook.com -all; MS=ms48213377\n"
    ) in out
    assert "Manual: Admin Console > Domain management > Actions > Enable auto-provisioning" in out
    assert "value -> Key Vault secret dockerhub-prod-ci-pull" in out


# --- naming helpers -----------------------------------------------------------------------------------


def test_label_slug_is_stable_and_keeps_labels_apart() -> None:
    assert label_slug("ci-pull") == "ci-pull"
    assert label_slug("CI pull") == "ci-pull-" + label_slug("CI pull").rsplit("-", 1)[1]
    assert label_slug("CI pull") != label_slug("ci pull") != label_slug("ci-pull")
    assert label_slug("CI pull") == label_slug("CI pull")
    assert label_slug("!!!").startswith("token-")


def test_zone_relative_name_and_epoch() -> None:
    assert zone_relative_name("acme.com", "acme.com") == "@"
    assert zone_relative_name("dev.acme.com", "acme.com") == "dev"
    assert epoch_seconds(None) is None
    assert epoch_seconds("1970-01-02T00:00:00Z") == 86400
    assert epoch_seconds("1970-01-02T00:00:00") == 86400
